//go:build unix

package lint

import (
	"context"
	"flag"
	"fmt"
	"maps"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/profiler"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage"

	"github.com/intentc/intentc/bench/fleet"
	"github.com/intentc/intentc/compiler"
	"github.com/intentc/intentc/policies"
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

var (
	bundleProfile  = flag.String("bundle.profile", "", "BenchmarkBundle: print OPA's profile of one evaluation of this bundle rule (or all), expression by expression")
	objectsProfile = flag.String("objects.profile", "", "BenchmarkObjects: print OPA's profile of this kind's query over the cluster's objects, expression by expression")
	bundleServices = flag.Int("bundle.n", 1000, "BenchmarkBundle: services in the fleet whose first cluster is measured (-bundle.n 10000 shows how a bundle scales)")
	bundleClusters = flag.Int("bundle.c", 3, "BenchmarkBundle: clusters in that fleet")
)

// BenchmarkBundle is the longest single evaluation of a check: the bundle
// rules over one cluster (of bench/fleet's 1,000 services over 3, or
// -bundle.n over -bundle.c, to see how a bundle scales), all of
// them and each alone (sharing their indexes, the rules cost less together
// than their sum), and building that input. A check runs a cluster's
// bundle on one core while the cluster's objects fill the others.
// -bundle.profile=RULE prints OPA's profile of the rule, expression by
// expression (its tracing slows each expression several times over, so
// the shares are what it tells, not the times).
func BenchmarkBundle(b *testing.B) {
	e, cluster, objs, txn := firstCluster(b, *bundleServices, *bundleClusters, false)
	ctx := context.Background()
	var members []*object
	for _, o := range objs {
		if e.bundleKinds[o.kind] {
			members = append(members, o)
		}
	}
	if len(members) == 0 {
		b.Fatal("no object of a bundle kind in the fleet")
	}

	b.Run("input", func(b *testing.B) {
		for b.Loop() {
			bundleInput(cluster, members)
		}
		b.ReportMetric(float64(len(members)), "members/op")
	})
	in := bundleInput(cluster, members)

	// A query per rule needs the compiler, which an Engine does not keep.
	c := builtinCompiler(b)
	shared := newSharedCache(c)
	for _, name := range append([]string{"all"}, slices.Sorted(maps.Keys(e.rules[policies.ScopeBundle]))...) {
		var only []string // all
		if name != "all" {
			only = []string{name}
		}
		pq, err := rego.New(rego.Compiler(c), rego.Store(e.store), rego.Query(builtinQuery(policies.BundleRoot, only))).PrepareForEval(ctx)
		if err != nil {
			b.Fatal(err)
		}
		eval := func(opts ...rego.EvalOption) {
			rs, err := evalQuery(ctx, &pq, shared, in, append(opts, rego.EvalTransaction(txn))...)
			if err != nil || !nothingFound(rs) {
				b.Fatalf("%s: %v, %v (a benchmark of findings measures the wrong thing)", name, rs, err)
			}
		}
		if *bundleProfile == name {
			p := profiler.New()
			eval(rego.EvalQueryTracer(p))
			printProfile(p)
		}
		b.Run(name, func(b *testing.B) {
			start := cpuTime()
			for b.Loop() {
				eval()
			}
			b.ReportMetric(float64((cpuTime()-start).Microseconds())/float64(b.N)/1000, "cpu-ms/op")
		})
	}
}

// BenchmarkObjects is the per-object rules: each kind's query over the
// distinct objects of that kind in one cluster of bench/fleet's fleet of
// 1,000 services over 3, as a check evaluates them (on one core, with the
// shared cache, without the memo), in µs per object; then each rule alone;
// "overhead", a query that reads nothing: what an evaluation costs before
// any rule; and "floor-compare" and "floor-call", OPA's cost of a rule
// that does next to nothing. -objects.profile=KIND prints OPA's profile
// of the kind's query, expression by expression.
func BenchmarkObjects(b *testing.B) {
	e, _, objs, txn := firstCluster(b, 1000, 3, true)
	ctx := context.Background()
	byKind := map[string][]*object{}
	for _, o := range objs {
		if _, ok := e.object[o.kind]; ok {
			byKind[o.kind] = append(byKind[o.kind], o)
		}
	}
	if len(byKind) == 0 {
		b.Fatal("no object of a kind the per-object rules judge in the fleet")
	}

	c := builtinCompiler(b)
	prepare := func(query string) *rego.PreparedEvalQuery {
		pq, err := rego.New(rego.Compiler(c), rego.Store(e.store), rego.Query(query)).PrepareForEval(ctx)
		if err != nil {
			b.Fatal(err)
		}
		return &pq
	}
	overhead := prepare("b := []")
	// OPA's own cost of a rule, on the same objects and in the query's
	// shape: one rule comparing one field, and one passing it to a
	// one-line function. A kind's query costs about the overhead, these
	// per rule, and what its bodies do beyond them: what is left to
	// intentc is how many rules it asks OPA to run.
	floorMods := map[string]string{
		"compare": "package intentcbench.floor.compare\n\ndeny contains \"never\" if input.kind == \"no kind of the fleet\"\n",
		"call":    "package intentcbench.floor.call\n\nabsent(k) if k == \"no kind of the fleet\"\n\ndeny contains \"never\" if absent(input.kind)\n",
	}
	floor := map[string]*rego.PreparedEvalQuery{}
	for name, src := range floorMods {
		pq, err := rego.New(rego.Module(name+".rego", src), rego.Store(e.store),
			rego.Query(fmt.Sprintf("b := [[n, f] | some n in [%q]; f := data.intentcbench.floor[n].deny[_]]", name))).PrepareForEval(ctx)
		if err != nil {
			b.Fatal(err)
		}
		floor[name] = &pq
	}
	for _, kind := range slices.Sorted(maps.Keys(byKind)) {
		objs := byKind[kind]
		if *objectsProfile == kind {
			p := profiler.New()
			for _, o := range objs {
				if _, err := evalQuery(ctx, e.object[kind], e.shared, o.value, rego.EvalTransaction(txn), rego.EvalQueryTracer(p)); err != nil {
					b.Fatal(err)
				}
			}
			printProfile(p)
		}
		run := func(name string, pq *rego.PreparedEvalQuery) {
			b.Run(kind+"/"+name, func(b *testing.B) {
				start := cpuTime()
				for b.Loop() {
					for _, o := range objs {
						rs, err := evalQuery(ctx, pq, e.shared, o.value, rego.EvalTransaction(txn))
						if err != nil || !nothingFound(rs) {
							b.Fatalf("%v, %v (a benchmark of findings measures the wrong thing)", rs, err)
						}
					}
				}
				b.ReportMetric(float64((cpuTime()-start).Nanoseconds())/float64(b.N)/float64(len(objs))/1000, "cpu-µs/object")
				b.ReportMetric(float64(len(objs)), "objects")
			})
		}
		run("all", e.object[kind])
		for _, r := range slices.Sorted(maps.Keys(e.rules[policies.ScopeObject])) {
			if slices.Contains(e.rules[policies.ScopeObject][r].Kinds, kind) {
				run(r, prepare(builtinQuery(policies.ObjectRoot, []string{r})))
			}
		}
		run("overhead", overhead)
		run("floor-compare", floor["compare"])
		run("floor-call", floor["call"])
	}
}

// printProfile prints the 40 expressions OPA's profiler found longest.
func printProfile(p *profiler.Profiler) {
	for _, s := range p.ReportTopNResults(40, []string{"total_time_ns"}) {
		fmt.Printf("%9.3f ms %7d evals %7d redos  %s:%d  %s\n", float64(s.ExprTimeNs)/1e6, s.NumEval, s.NumRedo,
			s.Location.File, s.Location.Row, strings.Join(strings.Fields(string(s.Location.Text)), " "))
	}
}

// firstCluster compiles bench/fleet's fleet of n services over c clusters
// and returns the objects of its first cluster (one of each copy when
// distinct, as the memo evaluates them), and an engine set for the fleet's
// mesh, locked, with a read transaction open until the benchmark ends.
func firstCluster(b *testing.B, n, c int, distinct bool) (*Engine, string, []*object, storage.Transaction) {
	b.Helper()
	dir := b.TempDir()
	if _, err := fleet.Write(dir, fleet.Options{Services: n, Clusters: c}); err != nil {
		b.Fatal(err)
	}
	e := engine(b)
	ctx := context.Background()
	res, diags := compiler.Compile(compiler.Options{Paths: []string{dir}})
	if diags.HasErrors() {
		b.Fatalf("intent does not compile:\n%s", diags.Error())
	}
	cluster := ""
	var objs []*object
	seen := map[string]bool{}
	for _, f := range res.Files {
		if !checkedOutput(f.Path) || cluster != "" && clusterOf(f.Path) != cluster || distinct && seen[string(f.JSON)] {
			continue
		}
		seen[string(f.JSON)] = true
		cluster = clusterOf(f.Path)
		os, _ := parseSource(source{path: f.Path, cluster: cluster, data: f.Data, json: f.JSON})
		objs = append(objs, os...)
	}
	e.mu.Lock()
	b.Cleanup(e.mu.Unlock)
	if err := e.setMesh(ctx, MeshData(res.Model)); err != nil {
		b.Fatal(err)
	}
	txn, err := e.store.NewTransaction(ctx, storage.TransactionParams{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { e.store.Abort(ctx, txn) })
	return e, cluster, objs, txn
}
