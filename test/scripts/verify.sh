#!/usr/bin/env bash
# verify: fails when `make generate` or `go mod tidy` would change anything.
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Snapshot the tracked and untracked state of what generation touches.
sched=extender/cmd/railnet-scheduler
snap() { find api charts/railnet/crds go.mod go.sum $sched/go.mod $sched/go.sum -type f \( -name '*.go' -o -name '*.yaml' -o -name 'go.mod' -o -name 'go.sum' \) -print0 | sort -z | xargs -0 sha256sum; }
snap >"$tmp/before"
cp go.mod go.sum "$tmp/"
make -s generate >/dev/null
go mod tidy
(cd "$sched" && GOWORK=off go mod tidy)
snap >"$tmp/after"
if ! diff -u "$tmp/before" "$tmp/after"; then
	echo "verify: generated files or go.mod/go.sum are stale; run 'make generate && go mod tidy' (and go mod tidy in $sched) and commit the result" >&2
	git --no-pager diff --stat -- api charts go.mod go.sum "$sched" >&2 || true
	exit 1
fi
echo "verify: generated files and go.mod are up to date"
