#!/usr/bin/env bash
# Fails when something a test started is left behind: a control plane process
# (its flags point into a railnet-ground-* temporary folder), a real node's
# process (containerd, a shim, the kubelet, nodeinit: their flags or binaries
# point into a railnet-node-* or railnet-story-* folder), a railnet-*
# temporary folder (a test cluster's, a node's, a build's, a story's), a real
# node's cgroup root (/sys/fs/cgroup/*/railnet-node-*), its nodes' bridge
# (rnb-*), a mount under a railnet-* folder, or a network namespace a test made
# with the CNI plugins' testutils.NewNS (cnitest-* under /run/netns; a killed
# test run leaves them: they hold interfaces and addresses until removed with
# `ip netns delete`). RAILNET_NETNS_DIRS overrides the folders looked in.
# The CLI's own cluster (~/.cache/railnet/cluster) is not a test's.
set -uo pipefail
leftover=$(ps -eo pid=,stat=,args= | awk '$2 !~ /^Z/ && /railnet-(ground|node|story)-/ && !/awk/ && !/check-leftovers/')
dirs=$(find "${TMPDIR:-/tmp}" -maxdepth 1 -type d -name 'railnet-*' 2>/dev/null)
cgroups=$(find /sys/fs/cgroup -mindepth 2 -maxdepth 2 -type d -name 'railnet-node-*' 2>/dev/null)
bridges=$(ip -o link show type bridge 2>/dev/null | awk -F': ' '$2 ~ /^rnb-/ {print $2}')
mounts=$(awk '$2 ~ /\/railnet-/ {print $2}' /proc/self/mounts)
# /var/run is usually /run: each folder once, by its real path.
netnsdirs=${RAILNET_NETNS_DIRS:-/run/netns /var/run/netns ${XDG_RUNTIME_DIR:+$XDG_RUNTIME_DIR/netns}}
netns=$(for d in $netnsdirs; do [ -d "$d" ] && find "$(readlink -f "$d")" -maxdepth 1 -name 'cnitest-*'; done 2>/dev/null | sort -u)
status=0
report() {
	if [ -n "$2" ]; then
		echo "check-leftovers: $1:" >&2
		echo "$2" >&2
		status=1
	fi
}
report "test processes still running" "$leftover"
report "test folders left behind" "$dirs"
report "real-node cgroups left behind" "$cgroups"
report "real-node bridges left behind" "$bridges"
report "mounts left behind" "$mounts"
report "test network namespaces left behind (ip netns delete NAME)" "$netns"
[ "$status" -eq 0 ] && echo "check-leftovers: no test process, folder, cgroup, bridge, mount or network namespace left"
exit "$status"
