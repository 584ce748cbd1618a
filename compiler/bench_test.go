package compiler

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

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

// countOutput returns how many generated objects (every file but the
// kustomizations) and files a compile produced.
func countOutput(files []File) (objects, total int) {
	for _, f := range files {
		if filepath.Base(f.Path) != "kustomization.yaml" {
			objects++
		}
	}
	return objects, len(files)
}

// TestGenIntent keeps the benchmark honest: the generated intent must compile
// with no diagnostic at all (a benchmark of error paths would measure
// nothing), and generating twice must give the same bytes.
func TestGenIntent(t *testing.T) {
	a := genIntent(t, t.TempDir(), 300, 3, 1)
	res, diags := Compile(Options{Paths: []string{a}})
	if len(diags) > 0 {
		t.Fatalf("generated intent has diagnostics:\n%s", diags.Error())
	}
	if objects, _ := countOutput(res.Files); objects == 0 {
		t.Fatal("generated intent compiled to nothing")
	}
	b := genIntent(t, t.TempDir(), 300, 3, 1)
	names, _ := filepath.Glob(filepath.Join(a, "*.yaml"))
	for _, p := range names {
		x, _ := os.ReadFile(p)
		y, err := os.ReadFile(filepath.Join(b, filepath.Base(p)))
		if err != nil || string(x) != string(y) {
			t.Errorf("%s differs between two generations with the same seed", filepath.Base(p))
		}
	}
}

func benchCompile(b *testing.B, paths []string) {
	b.Helper()
	res, diags := Compile(Options{Paths: paths})
	if diags.HasErrors() {
		b.Fatalf("intent does not compile:\n%s", diags.Error())
	}
	objects, files := countOutput(res.Files)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		res, _ = Compile(Options{Paths: paths})
	}
	b.StopTimer()
	if len(res.Files) != files {
		b.Fatalf("output changed between runs: %d files, then %d", files, len(res.Files))
	}
	b.ReportMetric(float64(objects), "objects/op")
	b.ReportMetric(float64(files), "files/op")
}

// BenchmarkCompileExample compiles the bundled example end to end (load,
// parse, resolve, emit, render; nothing is written).
func BenchmarkCompileExample(b *testing.B) {
	benchCompile(b, []string{filepath.Join("..", "examples", "cross-cloud")})
}

// BenchmarkCompile1000 compiles a generated intent of 1000 services over 3
// clusters end to end.
func BenchmarkCompile1000(b *testing.B) {
	benchCompile(b, []string{genIntent(b, b.TempDir(), 1000, 3, 1)})
}
