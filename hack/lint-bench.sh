#!/usr/bin/env bash
# Start-up cost of a pre-commit run: whole-process wall time of
# `intentc lint examples/cross-cloud`, side by side with conftest running the
# same checks on the same generated output.
#
#   hack/lint-bench.sh [RUNS]        (default 30 runs per command)
#   INTENTC=path/to/intentc hack/lint-bench.sh   (time that build instead)
#
# conftest is not a dependency: it is installed once with go install into
# ${INTENTC_CACHE:-~/.cache/intentc}/conftest-$CONFTEST_VERSION (the module
# proxy; a few minutes the first time). Its policy is intentc's built-in
# rules (policies/, without the tests) plus
# testdata/lint/conftest-equivalent/policy/main.rego, which applies them to
# conftest's --combine input as intentc applies them (the lint package's
# tests check that both find the same things); the mesh comes from
# testdata/lint/conftest-equivalent/mesh-cross-cloud.json.
#
# Commands, all on examples/cross-cloud:
#   intentc version                    the process floor: start, print, exit
#   intentc lint examples/cross-cloud  compile the intent, check every object
#   intentc lint --data M out/         the generated tree read back, as conftest reads it
#   conftest test --combine ... out/   the same rules on the same tree
#
# Prints the median, minimum and 75th percentile of each command's wall
# time (bash's $EPOCHREALTIME around fork+exec+exit).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
runs=${1:-30}
CONFTEST_VERSION=${CONFTEST_VERSION:-v0.71.1}
cache=${INTENTC_CACHE:-$HOME/.cache/intentc}
work=$(mktemp -d "${TMPDIR:-/tmp}/intentc-lint-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

cd "$root"
if [[ -n ${INTENTC:-} ]]; then
	cp "$INTENTC" "$work/intentc" # a given build, e.g. a release or another branch's
else
	go build -trimpath -o "$work/intentc" ./cmd/intentc
fi
conftest=$cache/conftest-$CONFTEST_VERSION/conftest
if [[ ! -x $conftest ]]; then
	echo "installing conftest $CONFTEST_VERSION into $(dirname "$conftest") (once)" >&2
	mkdir -p "$(dirname "$conftest")"
	(cd "$work" && GOBIN=$(dirname "$conftest") go install "github.com/open-policy-agent/conftest@$CONFTEST_VERSION")
fi

"$work/intentc" compile examples/cross-cloud -o "$work/out" >/dev/null
policy=$work/policy
for f in policies/*/*.rego; do
	[[ $f == *_test.rego ]] && continue
	mkdir -p "$policy/$(dirname "${f#policies/}")"
	cp "$f" "$policy/${f#policies/}"
done
cp testdata/lint/conftest-equivalent/policy/main.rego "$policy/"
mesh=testdata/lint/conftest-equivalent/mesh-cross-cloud.json

names=(
	"intentc version"
	"intentc lint examples/cross-cloud"
	"intentc lint --data mesh out/"
	"conftest test --combine out/"
)
cmds=(
	"$work/intentc version"
	"$work/intentc lint examples/cross-cloud"
	"$work/intentc lint --data $mesh $work/out"
	"$conftest test --no-color --combine -p $policy -d $mesh $work/out"
)
# Every command must pass on the clean example, or it measures an error.
for i in "${!cmds[@]}"; do
	read -r -a argv <<<"${cmds[$i]}"
	"${argv[@]}" >/dev/null 2>&1 || { echo "${names[$i]} fails on the clean example" >&2; exit 1; }
done

echo "files: $(find "$work/out" -type f \( -name '*.yaml' -o -name '*.json' \) | wc -l) generated; $(nproc) CPUs; load $(cut -d' ' -f1-3 /proc/loadavg); $runs runs each, interleaved"
# Interleaved rounds (each command once per round) rather than one command
# after the other: on a shared machine a burst of load then hits every
# command alike. $EPOCHREALTIME costs no process, so the times are the
# commands' own: fork, exec, run, exit.
declare -A times
for ((r = -3; r < runs; r++)); do # three rounds of warm-up
	for i in "${!cmds[@]}"; do
		read -r -a argv <<<"${cmds[$i]}"
		s=$EPOCHREALTIME
		"${argv[@]}" >/dev/null 2>&1
		e=$EPOCHREALTIME
		((r >= 0)) && times[$i]+="$(((${e/./} - ${s/./}))) "
	done
done
printf '%9s %9s %9s  %s\n' median min p75 command
for i in "${!cmds[@]}"; do
	tr ' ' '\n' <<<"${times[$i]}" | grep . | sort -n | awk -v c="${names[$i]}" '
		{ a[NR] = $1 }
		END { printf "%6.1f ms %6.1f ms %6.1f ms  %s\n", (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2) / 1000, a[1] / 1000, a[int(3 * NR / 4)] / 1000, c }'
done
