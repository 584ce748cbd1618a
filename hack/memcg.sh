#!/usr/bin/env bash
# Run a command in a fresh memory cgroup, as a CI job's container or a pod
# would: the kernel kills the process when it goes over the limit.
#
#   hack/memcg.sh LIMIT_MIB COMMAND [ARG...]
#
# Prints the command's exit code, the group's peak usage (which counts the
# page cache of the files it writes) and whether the kernel killed it.
# Needs root and a writable cgroup hierarchy (v1 memory controller or v2).
# docs/performance.md, "Memory limits", was measured with it.
set -euo pipefail
if [ $# -lt 2 ]; then
	echo "usage: $0 LIMIT_MIB COMMAND [ARG...]" >&2
	exit 2
fi
limit=$(($1 * 1024 * 1024))
shift
if [ -d /sys/fs/cgroup/memory ]; then # v1
	cg=/sys/fs/cgroup/memory/intentc-memcg-$$
	mkdir "$cg"
	echo "$limit" >"$cg/memory.limit_in_bytes"
	peak() { cat "$cg/memory.max_usage_in_bytes"; }
	killed() { awk '$1 == "oom_kill" { print $2 }' "$cg/memory.oom_control"; }
else # v2
	cg=/sys/fs/cgroup/intentc-memcg-$$
	mkdir "$cg"
	echo "$limit" >"$cg/memory.max"
	echo 0 >"$cg/memory.swap.max" 2>/dev/null || true
	peak() { cat "$cg/memory.peak"; }
	killed() { awk '$1 == "oom_kill" { print $2 }' "$cg/memory.events"; }
fi
trap 'rmdir "$cg"' EXIT
rc=0
sh -c 'echo $$ >"$1/cgroup.procs"; shift; exec "$@"' sh "$cg" "$@" || rc=$?
echo "exit $rc, peak $(($(peak) / 1024 / 1024)) MiB, killed by the kernel: $(killed)" >&2
exit "$rc"
