//go:build unix

package bench

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/intentc/intentc/bench/fleet"
	"github.com/intentc/intentc/compiler"
	"github.com/intentc/intentc/compiler/diag"
	"github.com/intentc/intentc/compiler/intent"
	"github.com/intentc/intentc/compiler/ir"
	"github.com/intentc/intentc/compiler/istio"
	"github.com/intentc/intentc/compiler/kube"
	"github.com/intentc/intentc/compiler/manifest"
	"github.com/intentc/intentc/compiler/openstack"
	"github.com/intentc/intentc/compiler/resolve"
	_ "github.com/intentc/intentc/internal/testflags" // accept -update like every test binary
	"github.com/intentc/intentc/lint"
	"github.com/intentc/intentc/verify"
)

// The fleet the stage benchmarks run on; -fleet.n 10000 for the large one.
var (
	fleetN = flag.Int("fleet.n", 1000, "services in the benchmark fleet")
	fleetC = flag.Int("fleet.c", 3, "clusters in the benchmark fleet")
	fleetK = flag.Int("fleet.k", 2, "access policies per service in the benchmark fleet")
)

// cpuTime is the CPU time the process has used, user and system: on a
// shared machine it is the steadier number, and its ratio to wall time
// shows how much ran in parallel.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// objects counts what the checks judge and the tables report: every
// generated file but the kustomizations and the marker.
func objects(files []manifest.File) int {
	n := 0
	for _, f := range files {
		if filepath.Base(f.Path) != manifest.KustomizationFileName {
			n++
		}
	}
	return n
}

// findings drops the notes (IC3301 says a security-group rule's long
// provenance was hashed, which twenty clusters do): errors and warnings
// are what a clean fleet must not have.
func findings(l diag.List) diag.List {
	var out diag.List
	for _, d := range l {
		if d.Severity != diag.Info {
			out = append(out, d)
		}
	}
	return out
}

// emitAll is compiler.Compile's emission, stage by stage.
func emitAll(m *ir.Model) ([]ir.Object, []ir.Artifact) {
	objs := append(istio.Emit(m), kube.Emit(m)...)
	sec, _ := istio.EmitSecurity(m)
	objs = append(objs, sec...)
	nps, _ := kube.EmitNetworkPolicies(m)
	objs = append(objs, nps...)
	objs = append(objs, kube.Namespaces(m, objs)...)
	arts, _ := openstack.Emit(m)
	return objs, arts
}

// BenchmarkStages times each stage of a compile and check on one fleet:
// parse (load and decode the intent files), resolve, each backend,
// serialisation (manifest.Render), the OPA checks (lint's CheckCompiled on
// a finished compile), the cross-layer proof (verify.Prove), writing the
// output tree, and the whole of compile and compile+check (without the
// proof and the write, which intentc compile adds).
func BenchmarkStages(b *testing.B) {
	dir := b.TempDir()
	if _, err := fleet.Write(dir, fleet.Options{Services: *fleetN, Clusters: *fleetC, Policies: *fleetK}); err != nil {
		b.Fatal(err)
	}
	paths := []string{dir}
	ctx := context.Background()
	engine, diags := lint.New(lint.Options{})
	if engine == nil {
		b.Fatal(diags)
	}
	res, diags := lint.Compile(ctx, compiler.Options{Paths: paths}, engine)
	if diags = findings(diags); len(diags) > 0 {
		b.Fatalf("the fleet has findings (a benchmark of findings measures the wrong thing):\n%s", diags.Error())
	}
	nobj := objects(res.Files)
	set, _ := intent.Load(paths)
	model, _ := resolve.Resolve(set)
	objs, arts := emitAll(model)
	outDir := b.TempDir()

	judged := 0 // connections the proof judged, reported beside its time
	run := func(name string, f func()) {
		b.Run(fmt.Sprintf("N=%d,C=%d/%s", *fleetN, *fleetC, name), func(b *testing.B) {
			b.ReportAllocs()
			start := cpuTime()
			for b.Loop() {
				f()
			}
			b.ReportMetric(float64((cpuTime()-start).Milliseconds())/float64(b.N), "cpu-ms/op")
			b.ReportMetric(float64(nobj), "objects/op")
			if name == "prove" {
				b.ReportMetric(float64(judged), "connections/op")
			}
		})
	}
	run("parse", func() { intent.Load(paths) })
	run("resolve", func() { resolve.Resolve(set) })
	run("istio", func() { istio.Emit(model) })
	run("kube", func() { kube.Emit(model) })
	run("security", func() { istio.EmitSecurity(model) })
	run("netpol", func() { kube.EmitNetworkPolicies(model) })
	run("namespaces", func() { kube.Namespaces(model, objs) })
	run("openstack", func() { openstack.Emit(model) })
	run("emit", func() { emitAll(model) })
	run("render", func() { manifest.Render(objs, arts, model.Digest) })
	run("check", func() { engine.CheckCompiled(ctx, res) })
	run("prove", func() { _, st := verify.ProveStats(res.Model, res.Files); judged = st.Connections })
	run("write", func() {
		// A fresh directory each time: what CI's first compile does.
		out := filepath.Join(outDir, "out")
		if err := manifest.Write(out, res.Files); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if err := os.RemoveAll(out); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	})
	run("compile", func() { compiler.Compile(compiler.Options{Paths: paths}) })
	run("compile+check", func() { lint.Compile(ctx, compiler.Options{Paths: paths}, engine) })
}

// TestFleetCompilesClean holds the generator to its promise at both cluster
// counts the benchmarks use: the fleet compiles, and passes every check
// and the cross-layer proof, with no error or warning; a benchmark of
// error paths would measure nothing.
func TestFleetCompilesClean(t *testing.T) {
	engine, diags := lint.New(lint.Options{})
	if engine == nil {
		t.Fatal(diags)
	}
	for _, c := range []int{1, 3, 20} {
		t.Run(fmt.Sprintf("C=%d", c), func(t *testing.T) {
			dir := t.TempDir()
			if _, err := fleet.Write(dir, fleet.Options{Services: 120, Clusters: c}); err != nil {
				t.Fatal(err)
			}
			res, diags := lint.Compile(context.Background(), compiler.Options{Paths: []string{dir}}, engine)
			if diags = findings(diags); len(diags) > 0 {
				t.Fatalf("findings:\n%s", diags.Error())
			}
			if diags = findings(verify.Prove(res.Model, res.Files)); len(diags) > 0 {
				t.Fatalf("the cross-layer proof finds:\n%s", diags.Error())
			}
			kinds := map[string]int{}
			for _, f := range res.Files {
				kind, _, _ := strings.Cut(filepath.Base(f.Path), "-")
				kinds[kind]++
			}
			// Every layer and backend is exercised.
			for _, k := range []string{"virtualservice", "destinationrule", "authorizationpolicy", "networkpolicy", "peerauthentication", "namespace", "serviceentry"} {
				if kinds[k] == 0 {
					t.Errorf("no %s in the output: %v", k, kinds)
				}
			}
			if c > 1 && kinds["gateway"] == 0 {
				t.Errorf("no cross-network gateway with %d clusters: %v", c, kinds)
			}
			if kinds["security"] == 0 {
				t.Errorf("no OpenStack security groups: %v", kinds)
			}
		})
	}
}
