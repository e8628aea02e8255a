#!/usr/bin/env bash
# Fails when a control plane process started by a test (its flags point into
# a railnet-ground-* temporary folder) is still running, or a railnet-*
# temporary folder (a test cluster's, a build's, a story's) is left behind.
# The CLI's own cluster (~/.cache/railnet/cluster) is not a test's.
set -uo pipefail
leftover=$(ps -eo pid=,stat=,args= | awk '$2 !~ /^Z/ && /railnet-ground-/ && !/awk/ && !/check-leftovers/')
dirs=$(find "${TMPDIR:-/tmp}" -maxdepth 1 -type d -name 'railnet-*' 2>/dev/null)
status=0
if [ -n "$leftover" ]; then
	echo "check-leftovers: test control plane processes still running:" >&2
	echo "$leftover" >&2
	status=1
fi
if [ -n "$dirs" ]; then
	echo "check-leftovers: test folders left behind:" >&2
	echo "$dirs" >&2
	status=1
fi
[ "$status" -eq 0 ] && echo "check-leftovers: no test process or folder left"
exit "$status"
