#!/usr/bin/env bash
# Regenerates cmd/intentc/default.pgo, the CPU profile `go build` uses for
# profile-guided optimisation of intentc (-pgo=auto; docs/performance.md).
#
#   hack/pgo.sh        (make pgo)
#
# The profile is merged from the runs the compiler should be fastest at,
# on the generated fleets of make bench: intentc compile of N=10000 services
# over 3 clusters (parse, resolve, emit, render, every OPA check, the
# cross-layer proof, write), of N=1000 over 20, and intentc lint of N=1000
# over 3. The binary that takes them is built without a profile, so that
# one profile does not shape the next. Regenerate it when the hot paths
# change (a new backend, a rule set, an OPA upgrade): a stale profile costs
# speed, never correctness.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
tmp=${TMPDIR:-/tmp}
[[ -d /dev/shm && -w /dev/shm ]] && tmp=/dev/shm
work=$(mktemp -d "$tmp/intentc-pgo.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$root"
go build -pgo=off -trimpath -o "$work/intentc" ./cmd/intentc
go build -trimpath -o "$work/fleetgen" ./bench/fleetgen

profiles=()
run() { # NAME N C COMMAND...
	local name=$1 n=$2 c=$3
	shift 3
	"$work/fleetgen" -n "$n" -c "$c" -o "$work/fleet-$name" >/dev/null
	"$work/intentc" "$@" "$work/fleet-$name" --cpuprofile "$work/$name.prof" >/dev/null 2>&1 || {
		echo "pgo: intentc $* on N=$n C=$c failed" >&2
		exit 1
	}
	profiles+=("$work/$name.prof")
	rm -rf "$work/fleet-$name" "$work/out"
}
run compile-10000x3 10000 3 compile -o "$work/out"
run compile-1000x20 1000 20 compile -o "$work/out"
run lint-1000x3 1000 3 lint
go tool pprof -proto "${profiles[@]}" >"$work/merged.pgo" 2>/dev/null
mv "$work/merged.pgo" cmd/intentc/default.pgo
echo "wrote cmd/intentc/default.pgo ($(wc -c <cmd/intentc/default.pgo) bytes) from ${#profiles[@]} profiles"
