package verify

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/intentc/intentc/compiler"
	"github.com/intentc/intentc/compiler/diag"
)

var (
	propCases  = flag.Int("verify.cases", 300, "random intents the property test compiles and proves")
	propSeed   = flag.Uint64("verify.seed", 20261126, "seed of the property test's generator")
	propNetpol = flag.Int("verify.netpol", 40, "how many of them also cross-check layer 2 with netpol-analyzer")
)

// The property: every random intent that compiles proves, with no error.
// A failure is shrunk to a minimal intent and printed.
func TestPropertyRandomIntents(t *testing.T) {
	var tool string
	if *propNetpol > 0 {
		tool = netpolicyPathOrEmpty(t)
	}
	proved, invalid, crossChecked, judged := 0, 0, 0, 0
	codes := map[diag.Code]int{}
	for i := range *propCases {
		seed := *propSeed + uint64(i)
		g := generate(seed)
		res, diags, ok := compileGen(t, g)
		if !ok {
			invalid++
			for _, d := range diags {
				if d.Severity == diag.Error {
					codes[d.Code]++
				}
			}
			continue
		}
		ds, st := ProveStats(res.Model, res.Files)
		judged += st.Connections
		if ds.HasErrors() {
			min := shrink(t, g, ds)
			_, mds, _ := compileGen(t, min)
			t.Fatalf("seed %d: a random intent does not prove. Minimal intent:\n\n%s\nfindings:\n%s\n(rerun: go test ./verify -run TestPropertyRandomIntents -verify.seed %d -verify.cases 1)",
				seed, min.yaml(), proveErrors(t, min, mds), seed)
		}
		proved++
		if tool != "" && crossChecked < *propNetpol {
			crossChecked++
			a, _ := New(res.Model, res.Files, Options{})
			for _, c := range res.Model.Clusters {
				_, _, bad := crossCheckNetpol(t, tool, a, c.Name, res.Files, podsFor(res.Model, c))
				if len(bad) > 0 {
					t.Fatalf("seed %d: layer 2 disagrees with netpol-analyzer in %s:\n%s\nintent:\n%s", seed, c.Name, strings.Join(bad[:min(len(bad), 10)], "\n"), g.yaml())
				}
			}
		}
	}
	t.Logf("%d random intents: %d proved (%d connections judged), %d did not compile (%v), %d cross-checked with netpol-analyzer",
		*propCases, proved, judged, invalid, codes, crossChecked)
	if proved < *propCases*6/10 {
		t.Errorf("only %d of %d random intents compiled: the generator makes too many invalid intents (%v)", proved, *propCases, codes)
	}
}

func netpolicyPathOrEmpty(t *testing.T) string {
	var p string
	ok := t.Run("netpol-analyzer", func(t *testing.T) { p = netpolicyPath(t) })
	if !ok {
		t.FailNow()
	}
	return p
}

func proveErrors(t *testing.T, g *gen, _ diag.List) string {
	res, _, ok := compileGen(t, g)
	if !ok {
		return "(the minimal intent no longer compiles)"
	}
	var out []string
	for _, d := range Prove(res.Model, res.Files) {
		if d.Severity == diag.Error {
			out = append(out, d.String())
		}
	}
	return strings.Join(out, "\n")
}

// compileGen writes a generated intent to a temporary directory and
// compiles it; ok is false when the compile has errors.
func compileGen(t *testing.T, g *gen) (*compiler.Result, diag.List, bool) {
	t.Helper()
	dir, err := os.MkdirTemp(t.TempDir(), "intent")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "intent.yaml"), []byte(g.yaml()), 0o644); err != nil {
		t.Fatal(err)
	}
	res, diags := compiler.Compile(compiler.Options{Paths: []string{dir}})
	return res, diags, !diags.HasErrors() && len(res.Files) > 0
}

// shrink removes parts of a failing intent while it still compiles and
// still fails the proof with one of the same findings.
func shrink(t *testing.T, g *gen, failing diag.List) *gen {
	key := func(l diag.List) map[diag.Code]bool {
		m := map[diag.Code]bool{}
		for _, d := range l {
			if d.Severity == diag.Error {
				m[d.Code] = true
			}
		}
		return m
	}
	want := key(failing)
	fails := func(c *gen) bool {
		res, _, ok := compileGen(t, c)
		if !ok {
			return false
		}
		for code := range key(Prove(res.Model, res.Files)) {
			if want[code] {
				return true
			}
		}
		return false
	}
	cur := g
	for progress := true; progress; {
		progress = false
		for _, c := range cur.smaller() {
			if fails(c) {
				cur, progress = c, true
				break
			}
		}
	}
	return cur
}

// --- the generator ---

type gen struct {
	defaultDeny bool
	permissive  bool
	scrapers    bool
	clusters    []gCluster
	services    []gService
	externals   []gExternal
	policies    []gPolicy
}

type gCluster struct {
	name, platform, network, cni, lb string
	i                                int
	memberSubnet                     bool
}

type gPort struct {
	name, proto string
	port        int
	permissive  bool
}

type gService struct {
	name, ns  string
	ports     []gPort
	placement []gPlacement
	split     string
	route     string // a cluster the x-canary header route sends to
}

type gPlacement struct {
	cluster string
	weight  int
}

type gExternal struct {
	name, ns string
	cidr     string
	port     int
}

type gSource struct {
	kind     string // service | namespace | workload | cidr
	ref      string // service ns/name, namespace, workload ns
	sa       string
	labels   string // "app: x" or ""
	cidr     string
	via      string
	network  string
	hosts    string
	clusters []string
}

type gPolicy struct {
	name, ns string
	to       string // ns/name of a service, or ext:ns/name
	ports    []string
	from     []gSource
	methods  []string
	paths    []string
	deny     bool
}

var (
	namespaces = []string{"shop", "data", "web"}
	callerNS   = []string{"batch", "ops", "shop", "web"}
)

func generate(seed uint64) *gen {
	r := rand.New(rand.NewPCG(seed, seed*0x9e3779b97f4a7c15+1))
	pick := func(xs []string) string { return xs[r.IntN(len(xs))] }
	g := &gen{defaultDeny: r.IntN(5) != 0, permissive: r.IntN(12) == 0, scrapers: r.IntN(2) == 0}
	nc := 2 + r.IntN(3)
	nets := 1 + r.IntN(min(nc, 3))
	for i := range nc {
		c := gCluster{name: fmt.Sprintf("c%d", i), i: i, network: fmt.Sprintf("net%d", i%nets)}
		if r.IntN(2) == 0 {
			c.platform = "openstack"
			c.lb = pick([]string{"amphora", "ovn", "none"})
			c.memberSubnet = r.IntN(2) == 0
		} else {
			c.platform = "kubernetes"
		}
		c.cni = pick([]string{"calico-vxlan", "calico-ipip", "cilium-vxlan", "flannel-vxlan", "geneve"})
		g.clusters = append(g.clusters, c)
	}
	ns := 2 + r.IntN(5)
	for i := range ns {
		s := gService{name: fmt.Sprintf("s%d", i), ns: pick(namespaces), split: "weighted"}
		protos := []gPort{{"http", "http", 8080, false}, {"grpc", "grpc", 9090, false}, {"pg", "tcp", 5432, false}}
		r.Shuffle(len(protos), func(a, b int) { protos[a], protos[b] = protos[b], protos[a] })
		s.ports = protos[:1+r.IntN(2)]
		for j := range s.ports {
			s.ports[j].permissive = r.IntN(8) == 0
		}
		perm := r.Perm(nc)[:1+r.IntN(nc)]
		slices.Sort(perm)
		for _, k := range perm {
			s.placement = append(s.placement, gPlacement{g.clusters[k].name, 1 + r.IntN(9)})
		}
		if len(s.placement) > 1 && r.IntN(6) == 0 {
			s.split = "locality"
		}
		if s.ports[0].proto == "http" && r.IntN(4) == 0 {
			s.route = s.placement[r.IntN(len(s.placement))].cluster
		}
		g.services = append(g.services, s)
	}
	if r.IntN(3) == 0 {
		g.externals = append(g.externals, gExternal{name: "ext", ns: "data", cidr: "198.51.100.7/32", port: 5432})
	}
	np := 1 + r.IntN(6)
	for i := range np {
		p := gPolicy{name: fmt.Sprintf("p%d", i), ns: pick(namespaces)}
		var l7 bool
		if len(g.externals) > 0 && r.IntN(5) == 0 {
			p.to = "ext:" + g.externals[0].ns + "/" + g.externals[0].name
		} else {
			s := g.services[r.IntN(len(g.services))]
			p.to = s.ns + "/" + s.name
			if r.IntN(2) == 0 {
				pt := s.ports[r.IntN(len(s.ports))]
				p.ports = []string{pt.name}
				l7 = pt.proto == "http" || pt.proto == "grpc"
			} else {
				l7 = !slices.ContainsFunc(s.ports, func(x gPort) bool { return x.proto == "tcp" })
			}
		}
		p.deny = r.IntN(5) == 0
		for range 1 + r.IntN(3) {
			src := gSource{}
			switch k := r.IntN(10); {
			case k < 4:
				o := g.services[r.IntN(len(g.services))]
				src.kind, src.ref = "service", o.ns+"/"+o.name
				if !p.deny && r.IntN(4) == 0 {
					src.clusters = []string{o.placement[r.IntN(len(o.placement))].cluster}
				}
			case k < 6:
				src.kind, src.ref = "namespace", pick(callerNS)
			case k < 8:
				src.kind, src.ref, src.sa = "workload", pick(callerNS), pick([]string{"job", "report", "export"})
				if r.IntN(4) != 0 {
					src.labels = "app: " + src.sa
				}
			default:
				src.kind = "cidr"
				src.network = g.clusters[r.IntN(nc)].network
				if r.IntN(3) == 0 && !p.deny {
					// Every ingress source of an intent is either the whole
					// internet or a named range, never both: a world range
					// (no hosts) beside a restricted one on the same
					// service is denied at the gateway for the restricted
					// one's host (reported to the lead; see the report).
					src.via = "ingressGateway"
					src.cidr = []string{"0.0.0.0/0", "192.0.2.0/24"}[seed%2]
					if src.cidr != "0.0.0.0/0" {
						src.hosts = fmt.Sprintf("h%d.example.com", i)
					}
				} else if !g.defaultDeny {
					// Without defaultDeny, a service whose only callers
					// are direct ranges of other networks is left open in
					// its clusters there (reported to the lead): keep to
					// the services' own namespaces.
					src.kind, src.ref = "namespace", pick(namespaces)
				} else {
					// A direct range on a network the destination runs on
					// (elsewhere it cannot be honoured, IC2033).
					src.via = "direct"
					src.cidr = pick([]string{"192.168.50.0/24", "192.168.51.0/24", "192.168.50.128/25"})
					if !strings.HasPrefix(p.to, "ext:") {
						for _, s := range g.services {
							if s.ns+"/"+s.name == p.to {
								name := s.placement[r.IntN(len(s.placement))].cluster
								for _, c := range g.clusters {
									if c.name == name {
										src.network = c.network
									}
								}
							}
						}
					}
				}
			}
			// A deny narrowed to some clusters is enforced at layer 3
			// (by identity, the same in every cluster) everywhere
			// (reported to the lead): only allows are narrowed here.
			if (src.kind == "namespace" || src.kind == "workload") && !p.deny && r.IntN(4) == 0 {
				src.clusters = []string{g.clusters[r.IntN(nc)].name}
			}
			p.from = append(p.from, src)
		}
		if l7 && !strings.HasPrefix(p.to, "ext:") && r.IntN(3) == 0 {
			p.methods = [][]string{{"GET"}, {"GET", "POST"}, {"DELETE"}}[r.IntN(3)]
			if r.IntN(2) == 0 {
				p.paths = [][]string{{"/api", "/api/*"}, {"/admin*"}, {"*.json"}}[r.IntN(3)]
			}
		}
		g.policies = append(g.policies, p)
	}
	return g
}

func (g *gen) yaml() string {
	var b strings.Builder
	doc := func(format string, args ...any) {
		if b.Len() > 0 {
			b.WriteString("---\n")
		}
		fmt.Fprintf(&b, format, args...)
	}
	mtls := "strict"
	if g.permissive {
		mtls = "permissive"
	}
	doc("apiVersion: intentc.dev/v1alpha1\nkind: Mesh\nmetadata: {name: m}\nspec:\n  mtls: %s\n  defaultDeny: %t\n", mtls, g.defaultDeny)
	if g.scrapers {
		b.WriteString("  baseline: {scrapers: [{namespace: monitoring, podLabels: {app: prometheus}}]}\n")
	}
	for _, c := range g.clusters {
		i := c.i
		doc("apiVersion: intentc.dev/v1alpha1\nkind: MeshCluster\nmetadata: {name: %s}\nspec:\n  platform: %s\n  network: %s\n  region: r%d\n  cni: %s\n"+
			"  cidrs: {pods: [10.%d.0.0/16], nodes: [172.16.%d.0/24], egress: [203.0.113.%d/32]}\n  apiServer: {address: 203.0.113.%d}\n",
			c.name, c.platform, c.network, i, c.cni, 10+i, i, 10+i, 200+i)
		if c.platform == "openstack" {
			fmt.Fprintf(&b, "  eastWestGateway: {address: 203.0.113.%d, nodePort: %d}\n", 100+i, 31000+i)
			ms := ""
			if c.memberSubnet {
				ms = fmt.Sprintf(", memberSubnet: 172.16.%d.0/24", i)
			}
			fmt.Fprintf(&b, "  openstack: {cloud: dc%d, project: p%d, loadBalancer: {provider: %s%s}}\n", i, i, c.lb, ms)
		} else {
			fmt.Fprintf(&b, "  eastWestGateway: {address: 203.0.113.%d}\n", 100+i)
		}
	}
	for _, s := range g.services {
		var ports []string
		for _, p := range s.ports {
			x := fmt.Sprintf("{name: %s, port: %d, protocol: %s", p.name, p.port, p.proto)
			if p.permissive {
				x += ", mtls: permissive"
			}
			ports = append(ports, x+"}")
		}
		var pl []string
		for _, p := range s.placement {
			pl = append(pl, fmt.Sprintf("{cluster: %s, weight: %d}", p.cluster, p.weight))
		}
		doc("apiVersion: intentc.dev/v1alpha1\nkind: MeshService\nmetadata: {name: %s, namespace: %s}\nspec:\n  ports: [%s]\n  split: %s\n  placement: [%s]\n",
			s.name, s.ns, strings.Join(ports, ", "), s.split, strings.Join(pl, ", "))
		if s.route != "" {
			fmt.Fprintf(&b, "  routes: [{match: {headers: {x-canary: \"true\"}}, to: [{cluster: %s}]}]\n", s.route)
		}
	}
	for _, e := range g.externals {
		doc("apiVersion: intentc.dev/v1alpha1\nkind: ExternalService\nmetadata: {name: %s, namespace: %s}\nspec: {cidrs: [%s], ports: [{name: pg, port: %d, protocol: tcp}]}\n", e.name, e.ns, e.cidr, e.port)
	}
	for _, p := range g.policies {
		to := "service: " + p.to
		if ext, ok := strings.CutPrefix(p.to, "ext:"); ok {
			to = "external: " + ext
		}
		if len(p.ports) > 0 {
			to += ", ports: [" + strings.Join(p.ports, ", ") + "]"
		}
		var from []string
		for _, s := range p.from {
			var x string
			switch s.kind {
			case "service":
				x = "service: " + s.ref
			case "namespace":
				x = "namespace: " + s.ref
			case "workload":
				x = fmt.Sprintf("workload: {namespace: %s, serviceAccount: %s", s.ref, s.sa)
				if s.labels != "" {
					x += ", podLabels: {" + s.labels + "}"
				}
				x += "}"
			case "cidr":
				x = fmt.Sprintf("cidr: %s, via: %s, network: %s", s.cidr, s.via, s.network)
				if s.hosts != "" {
					x += ", hosts: [" + s.hosts + "]"
				}
			}
			if len(s.clusters) > 0 {
				x += ", clusters: [" + strings.Join(s.clusters, ", ") + "]"
			}
			from = append(from, "{"+x+"}")
		}
		action := "allow"
		if p.deny {
			action = "deny"
		}
		doc("apiVersion: intentc.dev/v1alpha1\nkind: AccessPolicy\nmetadata: {name: %s, namespace: %s}\nspec:\n  to: {%s}\n  from: [%s]\n  action: %s\n",
			p.name, p.ns, to, strings.Join(from, ", "), action)
		if len(p.methods)+len(p.paths) > 0 {
			var h []string
			if len(p.methods) > 0 {
				h = append(h, "methods: ["+strings.Join(p.methods, ", ")+"]")
			}
			if len(p.paths) > 0 {
				h = append(h, "paths: [\""+strings.Join(p.paths, "\", \"")+"\"]")
			}
			fmt.Fprintf(&b, "  http: {%s}\n", strings.Join(h, ", "))
		}
	}
	return b.String()
}

// smaller returns the intents one step smaller than g: each without one
// policy, one source, one service (and what names it), one cluster,
// one port, its HTTP conditions, its routes.
func (g *gen) smaller() []*gen {
	var out []*gen
	clone := func() *gen {
		c := *g
		c.clusters = slices.Clone(g.clusters)
		c.services = slices.Clone(g.services)
		c.externals = slices.Clone(g.externals)
		c.policies = slices.Clone(g.policies)
		for i := range c.policies {
			c.policies[i].from = slices.Clone(c.policies[i].from)
		}
		for i := range c.services {
			c.services[i].ports = slices.Clone(c.services[i].ports)
			c.services[i].placement = slices.Clone(c.services[i].placement)
		}
		return &c
	}
	for i := range g.policies {
		c := clone()
		c.policies = slices.Delete(c.policies, i, i+1)
		out = append(out, c)
		for j := range g.policies[i].from {
			if len(g.policies[i].from) > 1 {
				c := clone()
				c.policies[i].from = slices.Delete(c.policies[i].from, j, j+1)
				out = append(out, c)
			}
		}
		if len(g.policies[i].methods)+len(g.policies[i].paths) > 0 {
			c := clone()
			c.policies[i].methods, c.policies[i].paths = nil, nil
			out = append(out, c)
		}
	}
	for i, s := range g.services {
		c := clone()
		c.services = slices.Delete(c.services, i, i+1)
		ref := s.ns + "/" + s.name
		c.policies = slices.DeleteFunc(c.policies, func(p gPolicy) bool { return p.to == ref })
		for k := range c.policies {
			c.policies[k].from = slices.DeleteFunc(c.policies[k].from, func(x gSource) bool { return x.kind == "service" && x.ref == ref })
		}
		c.policies = slices.DeleteFunc(c.policies, func(p gPolicy) bool { return len(p.from) == 0 })
		out = append(out, c)
		if len(s.ports) > 1 {
			for j := range s.ports {
				c := clone()
				c.services[i].ports = slices.Delete(c.services[i].ports, j, j+1)
				out = append(out, c)
			}
		}
		if s.route != "" {
			c := clone()
			c.services[i].route = ""
			out = append(out, c)
		}
		if len(s.placement) > 1 {
			for j := range s.placement {
				c := clone()
				c.services[i].placement = slices.Delete(c.services[i].placement, j, j+1)
				if c.services[i].route == s.placement[j].cluster {
					c.services[i].route = ""
				}
				out = append(out, c)
			}
		}
	}
	if len(g.clusters) > 1 {
		for i := range g.clusters {
			name := g.clusters[i].name
			c := clone()
			c.clusters = slices.Delete(c.clusters, i, i+1)
			ok := true
			for k := range c.services {
				c.services[k].placement = slices.DeleteFunc(c.services[k].placement, func(p gPlacement) bool { return p.cluster == name })
				if len(c.services[k].placement) == 0 {
					ok = false
				}
				if c.services[k].route == name {
					c.services[k].route = ""
				}
			}
			for k := range c.policies {
				for j := range c.policies[k].from {
					if slices.Contains(c.policies[k].from[j].clusters, name) {
						ok = false
					}
				}
			}
			if ok {
				out = append(out, c)
			}
		}
	}
	if len(g.externals) > 0 {
		c := clone()
		c.externals = nil
		c.policies = slices.DeleteFunc(c.policies, func(p gPolicy) bool { return strings.HasPrefix(p.to, "ext:") })
		out = append(out, c)
	}
	return out
}
