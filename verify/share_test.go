package verify

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/intentc/intentc/compiler"
	"github.com/intentc/intentc/compiler/diag"
)

var benchRuns = flag.Int("verify.runs", 3, "runs of each for -verify.services (the best is reported)")

var benchServices = flag.Int("verify.services", 0, "measure the proof's share of compile time on a generated intent of this many services (0: skip)")

// TestProofShare measures what the proof adds to a compile of a large
// generated intent (the generator is compiler/bench_test.go's). It is run by
// hand: go test ./verify -run TestProofShare -verify.services 10000 -v
func TestProofShare(t *testing.T) {
	if *benchServices == 0 {
		t.Skip("set -verify.services N to measure")
	}
	dir := genIntent(t, t.TempDir(), *benchServices, 3, 1)
	// The machine is shared: take the best of a few runs of each.
	var tc, tp, cc, cp time.Duration
	var res *compiler.Result
	var ds diag.List
	var st Stats
	for i := range *benchRuns {
		t0, u0 := time.Now(), cpuTime()
		r, diags := compiler.Compile(compiler.Options{Paths: []string{dir}})
		d, cu := time.Since(t0), cpuTime()-u0
		if diags.HasErrors() {
			t.Fatalf("generated intent does not compile:\n%s", diags.Error())
		}
		if i == 0 || d < tc {
			tc, cc = d, cu
		}
		res = r
		t1, u1 := time.Now(), cpuTime()
		ds, st = ProveStats(res.Model, res.Files)
		if d := time.Since(t1); i == 0 || d < tp {
			tp, cp = d, cpuTime()-u1
		}
	}
	t.Logf("%d services, %d files: compile %v wall (%v CPU), proof %v wall (%v CPU): the proof adds %.0f%% to the compile's wall time (%.0f%% of compile+proof); %d connections judged, %d findings (best of %d runs)",
		*benchServices, len(res.Files), tc.Round(time.Millisecond), cc.Round(time.Millisecond), tp.Round(time.Millisecond), cp.Round(time.Millisecond),
		100*tp.Seconds()/tc.Seconds(), 100*tp.Seconds()/(tc+tp).Seconds(), st.Connections, len(ds), *benchRuns)
	for i, d := range ds {
		if i == 5 {
			break
		}
		t.Log(d.String())
	}
}

// genIntent is copied from compiler/bench_test.go (test files of another
// package cannot be imported).
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

// cpuTime is the process's user and system time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
