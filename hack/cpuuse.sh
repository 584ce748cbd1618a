#!/usr/bin/env bash
# Run a command and print how many cores it keeps busy over time: a
# profile says where the CPU goes, this says where the cores sit idle
# (a serial step, workers waiting for work), which is time only more
# parallelism wins back.
#
#   hack/cpuuse.sh [-i SECONDS] COMMAND [ARG...]
#
# Prints, every SECONDS (default 0.1), the seconds since the start and the
# CPU use of the command's process over the interval (all its threads, not
# its children), in percent of one core: 200 is two cores busy. It reads
# user and system time from /proc in ticks of 1/100 s, so short intervals
# read a few percent either way. The command's own output goes to stderr.
# docs/performance.md, section 14, was measured with it.
set -euo pipefail
interval=0.1
if [[ ${1:-} == -i ]]; then
	interval=$2
	shift 2
fi
if [[ $# -lt 1 ]]; then
	echo "usage: $0 [-i SECONDS] COMMAND [ARG...]" >&2
	exit 2
fi
hz=$(getconf CLK_TCK)
start=$(date +%s.%N)
"$@" >&2 &
pid=$!
prev=0 then=$start
while stat=$(cat "/proc/$pid/stat" 2>/dev/null); do
	# Fields 14 and 15 (utime, stime) count after the command name, which
	# may hold spaces: read them after its closing parenthesis.
	read -r -a f <<<"${stat##*) }"
	ticks=$((f[11] + f[12])) now=$(date +%s.%N)
	awk -v now="$now" -v then="$then" -v start="$start" -v d="$((ticks - prev))" -v hz="$hz" \
		'BEGIN { if (now > then) printf "%6.2f %4.0f\n", now - start, 100 * d / hz / (now - then) }'
	prev=$ticks then=$now
	sleep "$interval"
	[[ -n $(jobs -r) ]] || break
done
wait "$pid"
