//go:build unix

package lint

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/intentc/intentc/compiler"
)

// The benchmarks measure what the checks add to a compile: compile alone,
// the checks alone on its result, and both (lint.Compile), for the bundled
// example and a generated intent of 1,000 services over 3 clusters (the
// compiler's own benchmark intent). Run with -cpu 1,2 to see the worker
// pool's effect. Besides wall time they report cpu-ms/op, the process's
// CPU time: on a shared machine it is the steadier number, and its ratio to
// wall time shows how much of the work ran in parallel.

// genIntent writes a synthetic intent of n services over c clusters into dir
// and returns dir. It is a pure function of (n, c, seed): the same arguments
// always write the same bytes, so benchmark runs compare like with like.
//
// The shape follows the intents intentc is written for: clusters alternate
// between OpenStack (with its project and an amphora load balancer) and
// plain Kubernetes, on two or three Istio networks; services live in a
// handful of team namespaces, are placed in one to c clusters with relative
// weights, every fifth one with an HTTP header route (every tenth a locality
// split); and each service is the destination of one AccessPolicy whose
// callers are one to three other services. Services are written 100 to a
// file, as a repository would split them.
// Copied from compiler/bench_test.go (a _test file of another package).
func genIntent(tb testing.TB, dir string, n, c int, seed uint64) string {
	tb.Helper()
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	write := func(name string, docs []string) {
		data := strings.Join(docs, "---\n")
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			tb.Fatal(err)
		}
	}

	// Two or three networks, but never one per cluster: some clusters share
	// a flat network, others are reached through east-west gateways.
	nets := min(2+rng.IntN(2), max(c-1, 1))
	docs := []string{`apiVersion: intentc.dev/v1alpha1
kind: Mesh
metadata: {name: bench}
spec: {model: multi-primary, mtls: strict, defaultDeny: true}
`}
	clusters := make([]string, c)
	for i := range c {
		name := fmt.Sprintf("cluster-%02d", i)
		clusters[i] = name
		// Addresses per cluster i: pods 10.i.0.0/16, services 10.(100+i).0.0/16,
		// nodes 192.168.i.0/24, egress and gateway in 203.0.113.0/24.
		doc := fmt.Sprintf(`apiVersion: intentc.dev/v1alpha1
kind: MeshCluster
metadata: {name: %[1]s}
spec:
  platform: %[2]s
  network: net-%[3]d
  region: region-%[4]d
  cni: %[5]s
  cidrs: {pods: [10.%[4]d.0.0/16], services: [10.%[6]d.0.0/16], nodes: [192.168.%[4]d.0/24], egress: [203.0.113.%[7]d/32]}
  apiServer: {address: 203.0.113.%[8]d}
  eastWestGateway: {address: 203.0.113.%[9]d, nodePort: 31443}
`, name, map[bool]string{true: "openstack", false: "kubernetes"}[i%2 == 0], i%nets, i,
			map[bool]string{true: "calico-vxlan", false: "cilium-vxlan"}[i%2 == 0], 100+i, 10+i, 100+i, 200+i)
		if i%2 == 0 {
			doc += fmt.Sprintf(`  openstack:
    cloud: dc%[1]d
    project: k8s-%[1]d
    loadBalancer: {provider: amphora, memberSubnet: 192.168.%[1]d.0/24}
`, i)
		}
		docs = append(docs, doc)
	}
	write("clusters.yaml", docs)

	svcName := func(i int) (ns, name string) {
		return fmt.Sprintf("team-%02d", i%20), fmt.Sprintf("svc-%04d", i)
	}
	docs = nil
	for i := range n {
		ns, name := svcName(i)
		ports := "    - {name: http, port: 8080, protocol: http}\n"
		switch rng.IntN(4) {
		case 0:
			ports += "    - {name: grpc, port: 9090, protocol: grpc}\n"
		case 1:
			ports += "    - {name: pg, port: 5432, protocol: tcp}\n"
		}
		// Placement: a random non-empty subset of the clusters, in cluster order.
		perm := rng.Perm(c)[:1+rng.IntN(c)]
		var placed []string
		var placement strings.Builder
		for j := range c {
			for _, k := range perm {
				if k == j {
					placed = append(placed, clusters[j])
					fmt.Fprintf(&placement, "    - {cluster: %s, weight: %d}\n", clusters[j], 1+rng.IntN(100))
				}
			}
		}
		split := "weighted"
		if i%10 == 9 {
			split = "locality"
		}
		doc := fmt.Sprintf(`apiVersion: intentc.dev/v1alpha1
kind: MeshService
metadata: {name: %s, namespace: %s}
spec:
  ports:
%s  split: %s
  placement:
%s`, name, ns, ports, split, placement.String())
		if i%5 == 0 {
			doc += fmt.Sprintf("  routes:\n    - match: {headers: {x-canary: \"true\"}}\n      to: [{cluster: %s}]\n", placed[rng.IntN(len(placed))])
		}
		doc += "  resilience: {timeout: 2s, retries: {attempts: 2, perTryTimeout: 500ms}}\n"
		docs = append(docs, doc)

		// One AccessPolicy per service, from one to three other services.
		var from strings.Builder
		seen := map[int]bool{i: true}
		for range 1 + rng.IntN(3) {
			k := rng.IntN(n)
			if seen[k] {
				continue
			}
			seen[k] = true
			cns, cname := svcName(k)
			fmt.Fprintf(&from, "    - {service: %s/%s}\n", cns, cname)
		}
		if from.Len() == 0 { // n == 1, or only drew i itself
			fmt.Fprintf(&from, "    - {namespace: %s}\n", ns)
		}
		docs = append(docs, fmt.Sprintf(`apiVersion: intentc.dev/v1alpha1
kind: AccessPolicy
metadata: {name: callers-of-%s, namespace: %s}
spec:
  to: {service: %s, ports: [http]}
  from:
%s`, name, ns, name, from.String()))

		if len(docs) == 200 || i == n-1 {
			write(fmt.Sprintf("services-%04d.yaml", i/100), docs)
			docs = nil
		}
	}
	return dir
}

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
	benchIntent(b, []string{genIntent(b, b.TempDir(), 1000, 3, 1)})
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
