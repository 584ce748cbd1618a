package fleet

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Options size a fleet. The zero value of every field but Services and
// Clusters takes the default noted.
type Options struct {
	Services int // N, at least 1
	Clusters int // C, at least 1
	// Policies is K, the AccessPolicies whose destination is each service
	// (default 2). Whatever K, every twentieth service also gets a deny
	// policy and every fiftieth an external database with its policy.
	Policies int
	Seed     uint64 // default 1
	// PerFile is how many services (with their policies) go in one file
	// (default 50), as a repository splits its intent.
	PerFile int
}

func (o Options) withDefaults() Options {
	o.Services = max(o.Services, 1)
	o.Clusters = max(o.Clusters, 1)
	if o.Policies <= 0 {
		o.Policies = 2
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.PerFile <= 0 {
		o.PerFile = 50
	}
	return o
}

// File is one generated intent file.
type File struct {
	Name string // a base name: the files of a fleet share one directory
	Data []byte
}

// cluster is what the service and policy generators need to know of one.
type cluster struct {
	name, network, platform string
}

// Namespaces returns how many team namespaces a fleet of n services uses:
// about fifty services each, as platform teams group them, and never fewer
// than five.
func Namespaces(n int) int { return max(5, (n+49)/50) }

// Generate returns the intent files of the fleet o describes. It is a pure
// function of o: the same options always give the same bytes.
//
// The mesh is multi-primary, strict mTLS and default deny, with a
// Prometheus baseline. Clusters cycle through OpenStack (amphora or OVN
// load balancers, Calico), public Kubernetes (Cilium) and OpenShift (OVN's
// geneve), on max(2, C/4) Istio networks, each cluster its own trust
// domain. Services live in team namespaces, are placed in one to three
// clusters with relative weights, and have an HTTP port, often a gRPC or TCP one, and sometimes a
// plaintext-permitted legacy port; every fifth has a header route, every
// tenth a locality split with failover. Each service is the destination of
// K AccessPolicies: the first from one to three other services with HTTP
// conditions, the others mixing namespace, workload and CIDR sources (a
// CIDR only ever on the legacy port, as the design prescribes for
// plaintext hosts), and every twenty-fifth service is public through the
// ingress gateway.
func Generate(o Options) []File {
	o = o.withDefaults()
	rng := rand.New(rand.NewPCG(o.Seed, o.Seed^0x9e3779b97f4a7c15))
	var files []File

	nets := max(2, o.Clusters/4)
	if o.Clusters == 1 {
		nets = 1
	}
	clusters := make([]cluster, o.Clusters)
	var b strings.Builder
	b.WriteString(`apiVersion: intentc.dev/v1alpha1
kind: Mesh
metadata: {name: fleet}
spec:
  model: multi-primary
  trustDomain: dc.example.com
  mtls: strict
  defaultDeny: true
  baseline:
    scrapers: [{namespace: monitoring, podLabels: {app.kubernetes.io/name: prometheus}}]
`)
	for i := range clusters {
		c := &clusters[i]
		c.name = fmt.Sprintf("cluster-%02d", i)
		c.network = fmt.Sprintf("net-%d", i%nets)
		c.platform = []string{"openstack", "kubernetes", "openshift"}[i%3]
		// Cluster i: pods 10.i.0.0/16, services 10.(100+i).0.0/16, nodes
		// 192.168.i.0/24, egress, API server and east-west gateway in
		// 203.0.113.0/24 and 198.51.100.0/24 (disjoint for i < 100).
		fmt.Fprintf(&b, `---
apiVersion: intentc.dev/v1alpha1
kind: MeshCluster
metadata: {name: %s}
spec:
  platform: %s
  network: %s
  region: region-%02d
`, c.name, c.platform, c.network, i)
		// Each cluster its own trust domain: an AccessPolicy that names a
		// caller in one cluster is then enforceable at layer 3 (by
		// identity), which the cross-layer proof checks.
		fmt.Fprintf(&b, "  trustDomain: %s.example.com\n", c.name)
		switch c.platform {
		case "openstack":
			cni := []string{"calico-vxlan", "calico-ipip"}[i/3%2]
			fmt.Fprintf(&b, "  cni: %s\n", cni)
		case "kubernetes":
			b.WriteString("  cni: cilium-vxlan\n")
		case "openshift":
			b.WriteString("  openshift: {meshFlavor: ossm3}\n  cni: geneve\n")
		}
		fmt.Fprintf(&b, `  cidrs: {pods: [10.%[1]d.0.0/16], services: [10.%[2]d.0.0/16], nodes: [192.168.%[1]d.0/24], egress: [203.0.113.%[1]d/32]}
  apiServer: {address: 198.51.100.%[1]d, port: 6443}
  eastWestGateway: {address: 203.0.113.%[3]d, port: 15443, nodePort: 31443}
`, i, 100+i, 100+i)
		if c.platform == "openstack" {
			lb := []string{"amphora", "ovn"}[i/3%2]
			fmt.Fprintf(&b, `  openstack:
    cloud: dc%[1]d
    project: k8s-%[1]d
    securityGroups: {mode: owned, name: k8s-%[1]d-mesh}
    loadBalancer: {provider: %[2]s, memberSubnet: 192.168.%[1]d.0/24}
`, i, lb)
		}
	}
	files = append(files, File{Name: "mesh.yaml", Data: []byte(b.String())})

	nss := Namespaces(o.Services)
	svc := func(i int) (ns, name string) {
		return fmt.Sprintf("team-%03d", i%nss), fmt.Sprintf("svc-%05d", i)
	}
	// What each service is: decided up front, so that policies can look at
	// their destination and sources.
	type service struct {
		ns, name string
		placed   []int // cluster indexes, ascending
		grpc     bool
		tcp      bool
		legacy   bool // a permissive http port for plaintext hosts
		public   bool // reached from the internet through the ingress gateway
		locality bool
	}
	services := make([]service, o.Services)
	for i := range services {
		s := &services[i]
		s.ns, s.name = svc(i)
		s.placed = rng.Perm(o.Clusters)[:1+rng.IntN(min(o.Clusters, 3))]
		slices.Sort(s.placed)
		switch rng.IntN(4) {
		case 0:
			s.grpc = true
		case 1:
			s.tcp = true
		}
		s.legacy = i%10 == 3
		s.public = i%25 == 7
		s.locality = i%10 == 9 && len(s.placed) > 1
	}

	b.Reset()
	start := 0
	flush := func(i int) {
		files = append(files, File{Name: fmt.Sprintf("services-%05d.yaml", start), Data: []byte(b.String())})
		b.Reset()
		start = i + 1
	}
	doc := func(format string, args ...any) {
		if b.Len() > 0 {
			b.WriteString("---\n")
		}
		fmt.Fprintf(&b, format, args...)
	}
	for i := range services {
		s := &services[i]
		var spec strings.Builder
		spec.WriteString("  ports:\n    - {name: http, port: 8080, protocol: http}\n")
		if s.grpc {
			spec.WriteString("    - {name: grpc, port: 9090, protocol: grpc}\n")
		}
		if s.tcp {
			spec.WriteString("    - {name: pg, port: 5432, protocol: tcp}\n")
		}
		if s.legacy {
			spec.WriteString("    - {name: legacy, port: 9080, protocol: http, mtls: permissive}\n")
		}
		if s.locality {
			spec.WriteString("  split: locality\n")
		}
		spec.WriteString("  placement:\n")
		for _, k := range s.placed {
			fmt.Fprintf(&spec, "    - {cluster: %s, weight: %d}\n", clusters[k].name, 1+rng.IntN(100))
		}
		if s.locality && len(s.placed) == 2 {
			// With more clusters Istio cannot honour an order (IC2031).
			order := slices.Clone(s.placed)
			rng.Shuffle(len(order), func(a, b int) { order[a], order[b] = order[b], order[a] })
			names := make([]string, len(order))
			for j, k := range order {
				names[j] = clusters[k].name
			}
			fmt.Fprintf(&spec, "  failover: [%s]\n", strings.Join(names, ", "))
		}
		if i%5 == 0 {
			fmt.Fprintf(&spec, "  routes:\n    - match: {headers: {x-canary: \"true\"}}\n      to: [{cluster: %s}]\n", clusters[s.placed[rng.IntN(len(s.placed))]].name)
		}
		spec.WriteString("  resilience:\n    timeout: 2s\n    retries: {attempts: 2, perTryTimeout: 500ms}\n")
		if i%3 == 0 {
			spec.WriteString("    connectionPool: {maxConnections: 200, maxPendingRequests: 100}\n")
		}
		doc("apiVersion: intentc.dev/v1alpha1\nkind: MeshService\nmetadata: {name: %s, namespace: %s}\nspec:\n%s", s.name, s.ns, spec.String())

		// Policy 0: other services call the HTTP API.
		var from strings.Builder
		seen := map[int]bool{i: true}
		for range 1 + rng.IntN(3) {
			// Callers mostly come from the neighbourhood, as teams call
			// their own and adjacent services.
			window := min(o.Services, 200)
			k := (i + o.Services + rng.IntN(window) - window/2) % o.Services
			if seen[k] {
				continue
			}
			seen[k] = true
			fmt.Fprintf(&from, "    - {service: %s/%s}\n", services[k].ns, services[k].name)
		}
		if from.Len() == 0 {
			fmt.Fprintf(&from, "    - {namespace: %s}\n", s.ns)
		}
		doc(`apiVersion: intentc.dev/v1alpha1
kind: AccessPolicy
metadata: {name: %s-api, namespace: %s}
spec:
  to: {service: %s, ports: [http]}
  from:
%s  http: {methods: [GET, POST], paths: ["/api", "/api/*"]}
`, s.name, s.ns, s.name, from.String())

		// Policies 1..K-1: other kinds of callers.
		for p := 1; p < o.Policies; p++ {
			dst := clusters[s.placed[0]]
			switch {
			case p == 1 && s.legacy:
				// Plaintext hosts on the destination's network, seen by
				// address, on the port that declares the exception.
				doc(`apiVersion: intentc.dev/v1alpha1
kind: AccessPolicy
metadata: {name: %s-reporting, namespace: %s}
spec:
  to: {service: %s, ports: [legacy]}
  from:
    - {cidr: 172.16.%d.0/24, via: direct, network: %s}
  http: {methods: [GET]}
`, s.name, s.ns, s.name, i%250, dst.network)
			case p == 1 && s.public:
				doc(`apiVersion: intentc.dev/v1alpha1
kind: AccessPolicy
metadata: {name: %s-internet, namespace: %s}
spec:
  to: {service: %s, ports: [http]}
  from:
    - {cidr: 0.0.0.0/0, via: ingressGateway, network: %s}
`, s.name, s.ns, s.name, dst.network)
			case rng.IntN(2) == 0:
				// A batch namespace in one cluster.
				doc(`apiVersion: intentc.dev/v1alpha1
kind: AccessPolicy
metadata: {name: %s-batch-%d, namespace: %s}
spec:
  to: {service: %s}
  from:
    - {namespace: batch-%02d, clusters: [%s]}
`, s.name, p, s.ns, s.name, rng.IntN(10), dst.name)
			default:
				// A workload that is not a MeshService (an operator, a
				// reporting job), with its pod labels for layer 2.
				doc(`apiVersion: intentc.dev/v1alpha1
kind: AccessPolicy
metadata: {name: %s-ops-%d, namespace: %s}
spec:
  to: {service: %s, ports: [http]}
  from:
    - {workload: {namespace: ops, serviceAccount: reporter-%[5]d, podLabels: {app: reporter-%[5]d}}, clusters: [%[6]s]}
  http: {methods: [GET]}
`, s.name, p, s.ns, s.name, rng.IntN(20), dst.name)
			}
		}
		if i%20 == 11 {
			// A legacy job that must not call the service any more.
			doc(`apiVersion: intentc.dev/v1alpha1
kind: AccessPolicy
metadata: {name: %s-deny-legacy-export, namespace: %s}
spec:
  to: {service: %s}
  from:
    - {workload: {namespace: batch-00, serviceAccount: legacy-export, podLabels: {app: legacy-export}}}
  action: deny
`, s.name, s.ns, s.name)
		}
		if i%50 == 21 {
			db := fmt.Sprintf("%s-db", s.name)
			doc(`apiVersion: intentc.dev/v1alpha1
kind: ExternalService
metadata: {name: %s, namespace: %s}
spec:
  hosts: [%s.db.example.com]
  cidrs: [198.18.%d.%d/32]
  ports: [{name: pg, port: 5432, protocol: tcp}]
---
apiVersion: intentc.dev/v1alpha1
kind: AccessPolicy
metadata: {name: %s-reads-db, namespace: %s}
spec:
  to: {external: %s}
  from:
    - {service: %s}
`, db, s.ns, s.name, i/250%256, i%250, s.name, s.ns, db, s.name)
		}
		if (i+1)%o.PerFile == 0 || i == len(services)-1 {
			flush(i)
		}
	}
	return files
}

// Write generates the fleet into dir (created if missing) and returns the
// paths written.
func Write(dir string, o Options) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var paths []string
	for _, f := range Generate(o) {
		p := filepath.Join(dir, f.Name)
		if err := os.WriteFile(p, f.Data, 0o644); err != nil {
			return nil, err
		}
		paths = append(paths, p)
	}
	return paths, nil
}
