// Package bench holds intentc's benchmarks: the stage benchmarks
// (go test ./bench -bench .) over a generated fleet (package bench/fleet),
// the whole-process comparison with conftest (hack/bench.sh, `make bench`)
// and its conftest policies (bench/conftest/). See docs/performance.md.
//
// Input: a fleet size (-fleet.n, -fleet.c, -fleet.k). Output: benchmark
// results. Diagnostic codes: none.
package bench
