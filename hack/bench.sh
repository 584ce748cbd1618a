#!/usr/bin/env bash
# Whole-process benchmark of intentc on generated fleets, beside conftest
# running the same rules on the same output (`make bench`; docs/performance.md).
#
#   hack/bench.sh                          every size: N=1000,10000 x C=3,20
#   BENCH_SIZES="1000x3 10000x3" hack/bench.sh
#   BENCH_CONFTEST=0 hack/bench.sh         intentc only
#   BENCH_RUNS=5 BENCH_LARGE_RUNS=1 ...    runs of each intentc command on fleets
#                                          of up to 1,000 services, and above
#                                          (3 and 3; the median is shown)
#   INTENTC=path/to/intentc hack/bench.sh  time that build instead
#
# For each fleet (bench/fleetgen: N services over C clusters, seeded, the same
# bytes on every machine) it times, as a user runs them, one process each:
#
#   compile   intentc compile FLEET -o OUT   parse, resolve, emit, every OPA
#             check, the cross-layer proof, write (a fresh OUT each run)
#   unproven  the same with --prove=false: compile, check and write, what
#             the issue's compile target and the conftest ratio are about;
#             the difference is what the proof adds
#   lint      intentc lint FLEET             the same without writing, plus
#             the fleet's files read as manifests
#   conftest  conftest test --combine -p POLICY -d MESH OUT
#             the built-in rules (policies/, without tests) applied to the
#             generated tree as intentc applies them: object rules to every
#             document, bundle rules to each clusters/<name>/ (the policy of
#             testdata/lint/conftest-equivalent, which lint's tests hold to
#             intentc's findings), with the fleet's mesh data (fleetgen -mesh)
#
# and prints objects (generated files but kustomizations and the marker),
# wall and CPU time (/usr/bin/time -v, Debian's `time`), objects/s, peak RSS,
# conftest's time over intentc compile's, and for each cluster count how
# each command scales from the smallest fleet to the largest (wall, CPU and
# peak RSS, the issue's 11x). A scaling ratio compares runs minutes apart, and
# this VM's speed drifts by a fifth within an hour: so each cluster count's
# fleets are measured back to back, smallest first, and the smallest is
# measured again (compile, unproven and lint) right after the largest; its
# figure in a scaling line is the median of all its runs, before and
# after, which cancels a steady drift. Then the pre-commit case:
# `intentc lint examples/cross-cloud`, median wall time of BENCH_LINT_RUNS.
#
# conftest is no dependency of intentc: it is installed with go install
# (@latest, or CONFTEST_VERSION) into a scratch GOBIN and kept in
# ${INTENTC_CACHE:-~/.cache/intentc}/conftest-<version> (a few minutes the
# first time). Fleets and output go to BENCH_TMP (default /dev/shm when it
# exists: file creation on a VM's disk can cost more than compiling; the
# table names the file system). A command that runs past BENCH_TIMEOUT
# seconds (default 1800) is stopped and shown as such.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
sizes=${BENCH_SIZES:-1000x3 10000x3 1000x20 10000x20}
runs=${BENCH_RUNS:-3}             # per intentc command on fleets of up to 1,000 services
large_runs=${BENCH_LARGE_RUNS:-3} # above (conftest runs once everywhere)
lint_runs=${BENCH_LINT_RUNS:-20}
timeout_s=${BENCH_TIMEOUT:-1800}
want_conftest=${BENCH_CONFTEST:-1}
cache=${INTENTC_CACHE:-$HOME/.cache/intentc}
tmp=${BENCH_TMP:-}
if [[ -z $tmp ]]; then
	tmp=${TMPDIR:-/tmp}
	[[ -d /dev/shm && -w /dev/shm ]] && tmp=/dev/shm
fi
for tool in /usr/bin/time timeout; do
	[[ -x $(command -v "$tool") ]] || { echo "bench: $tool is needed (Debian: apt-get install time coreutils)" >&2; exit 2; }
done
work=$(mktemp -d "$tmp/intentc-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

cd "$root"
if [[ -n ${INTENTC:-} ]]; then
	cp "$INTENTC" "$work/intentc"
else
	go build -trimpath -o "$work/intentc" ./cmd/intentc
fi
go build -trimpath -o "$work/fleetgen" ./bench/fleetgen

conftest=
if [[ $want_conftest == 1 ]]; then
	version=${CONFTEST_VERSION:-}
	if [[ -z $version ]]; then
		# What @latest is today, so the cache is keyed by a real version.
		version=$(cd "$work" && GOFLAGS= GO111MODULE=on go list -m -f '{{.Version}}' github.com/open-policy-agent/conftest@latest)
	fi
	conftest=$cache/conftest-$version/conftest
	if [[ ! -x $conftest ]]; then
		echo "installing conftest $version with go install (once; a few minutes)" >&2
		mkdir -p "$work/gobin" "$(dirname "$conftest")"
		(cd "$work" && GOFLAGS= GOBIN="$work/gobin" go install "github.com/open-policy-agent/conftest@$version")
		mv "$work/gobin/conftest" "$conftest"
	fi
	policy=$work/policy
	for f in policies/*/*.rego; do
		[[ $f == *_test.rego ]] && continue
		mkdir -p "$policy/$(dirname "${f#policies/}")"
		cp "$f" "$policy/${f#policies/}"
	done
	cp testdata/lint/conftest-equivalent/policy/main.rego "$policy/"
fi

# measure NAME RUNS CMD...: runs CMD RUNS times (fresh output each time),
# keeps the run with the median wall time, and sets wall, cpu, rss, status;
# every run's "wall cpu rss status" is left in results.
measure() {
	local name=$1 n=$2
	shift 2
	results=()
	for ((r = 0; r < n; r++)); do
		rm -rf "$work/out-$name"
		local log=$work/time.log st=0
		/usr/bin/time -v -o "$log" timeout "$timeout_s" "$@" >"$work/stdout.log" 2>"$work/stderr.log" || st=$?
		local w u s m
		w=$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, t, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + t[i]; print s }' "$log")
		u=$(awk -F': ' '/User time/ { print $2 }' "$log")
		s=$(awk -F': ' '/System time/ { print $2 }' "$log")
		m=$(awk -F': ' '/Maximum resident set size/ { printf "%.0f", $2 / 1024 }' "$log")
		results+=("$w $(awk -v u="$u" -v s="$s" 'BEGIN { print u + s }') $m $st")
	done
	read -r wall cpu rss status < <(printf '%s\n' "${results[@]}" | sort -n | sed -n "$(((n + 1) / 2))p")
	case $status in
	124) status=timeout ;;
	0 | 1) ;; # 1: findings (none are expected: the fleets are clean)
	*) echo "bench: $name exited $status:" >&2; tail -5 "$work/stderr.log" >&2 ;;
	esac
}

rows=()
declare -A measured # "N C command" → "wall cpu rss" of every clean run, one per line, for the scaling lines
keep() { # "N C command": results' clean runs, for the scaling lines
	local r
	for r in "${results[@]}"; do
		[[ ${r##* } == 0 ]] && measured["$1"]+="${r% *}"$'\n'
	done
	return 0
}
row() { # N C command objects
	local ops="-"
	[[ $status == 0 || $status == 1 ]] && ops=$(awk -v o="$4" -v w="$wall" 'BEGIN { printf "%.0f", o / w }')
	[[ $status == 0 ]] && keep "$1 $2 $3"
	rows+=("$(printf '%-13s %-9s %8s %9.2f %9.2f %10s %9s %7s' "N=$1 C=$2" "$3" "$4" "$wall" "$cpu" "$ops" "$rss" "$status")")
}

# medians LARGE SMALL: the medians of each column of two lists of "wall cpu
# rss" lines, the large's then the small's, then each one's run count and
# lowest and highest wall time, the small's first.
medians() {
	local col list
	for list in "$1" "$2"; do
		for col in 1 2 3; do
			awk NF <<<"$list" | awk -v c="$col" '{ print $c }' | sort -g | awk '{ a[NR] = $1 } END { printf "%s ", (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2) }'
		done
	done
	for list in "$2" "$1"; do
		awk NF <<<"$list" | awk '{ print $1 }' | sort -g | awk '{ a[NR] = $1 } END { printf "%d %s %s ", NR, a[1], a[NR] }'
	done
	echo
}

load_start=$(cut -d' ' -f1-3 /proc/loadavg)
ratios=()
for size in $sizes; do
	n=${size%x*} c=${size#*x}
	fleet=$work/fleet-$size
	"$work/fleetgen" -n "$n" -c "$c" -o "$fleet" -mesh "$work/mesh-$size.json" >/dev/null
	k=$large_runs
	((n <= 1000)) && k=$runs

	measure compile "$k" "$work/intentc" compile "$fleet" -o "$work/out-compile"
	tree=$work/out-compile # the last run's output: counted, and conftest's input
	objects=$(find "$tree" -type f ! -name kustomization.yaml ! -name .intentc-generated 2>/dev/null | wc -l)
	row "$n" "$c" compile "$objects"
	compile_wall=$wall compile_status=$status

	measure unproven "$k" "$work/intentc" compile --prove=false "$fleet" -o "$work/out-unproven"
	row "$n" "$c" unproven "$objects"
	unproven_wall=$wall unproven_status=$status
	rm -rf "$work/out-unproven"
	if [[ $compile_status == 0 && $unproven_status == 0 ]]; then
		ratios+=("N=$n C=$c: the cross-layer proof adds $(awk -v a="$compile_wall" -v b="$unproven_wall" 'BEGIN { printf "%.0f%%", (a - b) / b * 100 }') to a compile's wall time")
	fi

	measure lint "$k" "$work/intentc" lint "$fleet"
	row "$n" "$c" lint "$objects"
	lint_wall=$wall lint_status=$status

	if [[ -n $conftest ]]; then
		measure conftest 1 "$conftest" test --no-color --combine -p "$policy" -d "$work/mesh-$size.json" "$tree"
		row "$n" "$c" conftest "$objects"
		if [[ $compile_status == 0 && $unproven_status == 0 && $lint_status == 0 && ($status == 0 || $status == 1) ]]; then
			ratios+=("N=$n C=$c: conftest's wall time is $(awk -v a="$wall" -v b="$unproven_wall" 'BEGIN { printf "%.2f", a / b }')x intentc compile --prove=false's, $(awk -v a="$wall" -v b="$compile_wall" 'BEGIN { printf "%.2f", a / b }')x intentc compile's, $(awk -v a="$wall" -v b="$lint_wall" 'BEGIN { printf "%.2f", a / b }')x intentc lint's")
		fi
	fi
	rm -rf "$fleet" "$tree"

	# The largest fleet of its cluster count: the smallest again, for the
	# scaling lines (not the table).
	ns=$(for s in $sizes; do if [[ ${s#*x} == "$c" ]]; then echo "${s%x*}"; fi; done | sort -n)
	lo=$(head -1 <<<"$ns")
	if [[ $n == "$(tail -1 <<<"$ns")" && $lo != "$n" ]]; then
		fleet=$work/fleet-${lo}x$c
		"$work/fleetgen" -n "$lo" -c "$c" -o "$fleet" >/dev/null
		k=$large_runs
		((lo <= 1000)) && k=$runs
		measure compile "$k" "$work/intentc" compile "$fleet" -o "$work/out-compile"
		[[ $status == 0 ]] && keep "$lo $c compile"
		measure unproven "$k" "$work/intentc" compile --prove=false "$fleet" -o "$work/out-unproven"
		[[ $status == 0 ]] && keep "$lo $c unproven"
		measure lint "$k" "$work/intentc" lint "$fleet"
		[[ $status == 0 ]] && keep "$lo $c lint"
		rm -rf "$fleet" "$work/out-compile" "$work/out-unproven"
	fi
done

# Pre-commit: the whole process, as a hook runs it on every commit.
"$work/intentc" lint examples/cross-cloud >/dev/null 2>&1 || { echo "bench: intentc lint examples/cross-cloud fails" >&2; exit 1; }
times=()
for ((r = -3; r < lint_runs; r++)); do
	s=$EPOCHREALTIME
	"$work/intentc" lint examples/cross-cloud >/dev/null 2>&1
	e=$EPOCHREALTIME
	((r >= 0)) && times+=($((${e/./} - ${s/./})))
done
lint_ms=$(printf '%s\n' "${times[@]}" | sort -n | awk '{ a[NR] = $1 } END { printf "%.1f", (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2) / 1000 }')

echo "$("$work/intentc" version 2>/dev/null | head -1), $(go env GOVERSION); $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)"
echo "output on $(stat -f -c %T "$work") ($tmp); load average $load_start at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end"
[[ -n $conftest ]] && echo "conftest $version (OPA $("$conftest" --version 2>/dev/null | awk '/^OPA/ { print $2 }'))"
echo
printf '%-13s %-9s %8s %9s %9s %10s %9s %7s\n' fleet command objects wall-s cpu-s objects/s rss-MiB status
printf '%s\n' "${rows[@]}"
echo
for r in "${ratios[@]}"; do echo "$r"; done
# Scaling (issue 10: N=1000 -> 10000 within 11x): for each cluster count,
# the smallest fleet against the largest, each command's wall time, CPU
# time and peak RSS, each the median of its clean runs (the smallest
# fleet's before and after the largest's).
for c in $(for size in $sizes; do echo "${size#*x}"; done | sort -nu); do
	ns=$(for size in $sizes; do if [[ ${size#*x} == "$c" ]]; then echo "${size%x*}"; fi; done | sort -n)
	lo=$(head -1 <<<"$ns") hi=$(tail -1 <<<"$ns")
	[[ $lo == "$hi" ]] && continue
	for cmd in compile unproven lint; do
		a=${measured["$lo $c $cmd"]-} b=${measured["$hi $c $cmd"]-}
		[[ -n $a && -n $b ]] || continue
		echo "C=$c: N=$lo -> N=$hi, $cmd: $(medians "$b" "$a" | awk '{ printf "%.1fx wall, %.1fx CPU, %.1fx peak RSS (N=%s: %d runs, %.2f-%.2f s; N=%s: %d runs, %.2f-%.2f s)", $1 / $4, $2 / $5, $3 / $6, lo, $7, $8, $9, hi, $10, $11, $12 }' lo="$lo" hi="$hi")"
	done
done
echo "intentc lint examples/cross-cloud: median ${lint_ms} ms wall over $lint_runs runs"
