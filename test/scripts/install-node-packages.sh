#!/usr/bin/env bash
# Installs the Debian packages the test ground's real nodes and the tests
# need, when missing: containerd and runc (each real node's runtime),
# busybox-static (the workload image), iptables (kube-proxy on the nodes),
# util-linux (nsenter), iproute2, make,
# git. apt-get update runs first, and only when something is missing.
set -euo pipefail
missing=()
for pkg in make git iproute2 util-linux containerd runc busybox-static iptables; do
	dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if ((${#missing[@]})); then
	if [ "$(id -u)" -ne 0 ]; then
		echo "install-node-packages: missing ${missing[*]}; run as root (the real nodes need root anyway)" >&2
		exit 1
	fi
	apt-get update
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
fi
