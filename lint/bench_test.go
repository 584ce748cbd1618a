//go:build unix

package lint

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/intentc/intentc/bench/fleet"
	"github.com/intentc/intentc/compiler"
)

// The benchmarks measure what the checks add to a compile: compile alone,
// the checks alone on its result, and both (lint.Compile), for the bundled
// example and bench/fleet's fleet of 1,000 services over 3 clusters
// (go test ./bench -bench Stages times every stage on the same fleets). Run with -cpu 1,2 to see the worker
// pool's effect. Besides wall time they report cpu-ms/op, the process's
// CPU time: on a shared machine it is the steadier number, and its ratio to
// wall time shows how much of the work ran in parallel.

func benchIntent(b *testing.B, paths []string) {
	b.Helper()
	e := engine(b)
	ctx := context.Background()
	res, diags := compiler.Compile(compiler.Options{Paths: paths})
	if diags.HasErrors() {
		b.Fatalf("intent does not compile:\n%s", diags.Error())
	}
	if got := e.CheckCompiled(ctx, res); len(got) > 0 {
		b.Fatalf("the checks find problems in the compiled intent (a benchmark of findings measures the wrong thing):\n%s", got.Error())
	}
	objects := 0
	for _, f := range res.Files {
		if checkedOutput(f.Path) {
			objects++
		}
	}
	run := func(name string, f func()) {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			start := cpuTime()
			for b.Loop() {
				f()
			}
			b.ReportMetric(float64((cpuTime()-start).Milliseconds())/float64(b.N), "cpu-ms/op")
			b.ReportMetric(float64(objects), "objects/op")
		})
	}
	run("compile", func() { compiler.Compile(compiler.Options{Paths: paths}) })
	run("check", func() { e.CheckCompiled(ctx, res) })
	run("compile+check", func() { Compile(ctx, compiler.Options{Paths: paths}, e) })
}

// cpuTime is the CPU time the process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func BenchmarkExample(b *testing.B) { benchIntent(b, []string{example}) }

func Benchmark1000(b *testing.B) {
	dir := b.TempDir()
	if _, err := fleet.Write(dir, fleet.Options{Services: 1000, Clusters: 3}); err != nil {
		b.Fatal(err)
	}
	benchIntent(b, []string{dir})
}

// BenchmarkNew is the once-per-process cost: parse and compile the built-in
// rules and prepare the queries.
func BenchmarkNew(b *testing.B) {
	for b.Loop() {
		if e, diags := New(Options{}); e == nil {
			b.Fatal(diags)
		}
	}
}
