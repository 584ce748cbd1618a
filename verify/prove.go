package verify

import (
	"fmt"
	"maps"
	"net/netip"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/intentc/intentc/compiler/diag"
	"github.com/intentc/intentc/compiler/ir"
	"github.com/intentc/intentc/compiler/manifest"
)

// Stats counts what a proof judged.
type Stats struct {
	Connections int // connections judged (source × destination × cluster × port × request)
	Findings    int
}

// Prove reads an intent's compiled output back and proves it against the
// intent, layer by layer (DESIGN §5):
//
//   - for every service, landing cluster and port, it enumerates the
//     sources the intent's and the manifests' policies name, plus one
//     "anyone else" of each kind (a workload of every named namespace and
//     of no named namespace in every cluster, an address in and outside
//     every named range on every network, the same through every cluster's
//     ingress gateway), and every request the HTTP conditions tell apart;
//   - (i) a connection the intent allows must pass every layer (IC5001);
//   - (ii) a layer must not allow a connection when the intent denies every
//     connection that layer cannot tell from it: layer 2 sees pods,
//     namespaces, addresses and ports; layer 3 identities, addresses,
//     ports and requests; layer 4 the transport (IC5002); when every layer
//     is as tight as it can see and they still let through what the intent
//     denies, the intent asks for a distinction no layer observes (IC5003,
//     a warning);
//   - layer 1 is proven flow by flow: every flow an allowed connection or
//     the platform (CNI, API server) needs is admitted, and every rule of
//     intentc's group admits only such flows;
//   - the mTLS mode of every service port and the clusters and shares its
//     requests land in equal the intent (IC5005, IC5004).
//
// Every finding is at the intent position that produced the connection or
// the object, with the manifest's file:line as related information.
func Prove(model *ir.Model, files []manifest.File) diag.List {
	l, _ := ProveStats(model, files)
	return l
}

// ProveStats is Prove, also returning what it judged.
func ProveStats(model *ir.Model, files []manifest.File) (diag.List, Stats) {
	return prove(model, files, false)
}

// prove is ProveStats; with everyRequest it checks each request of a
// source that no policy can tell from the others too (quietSource), as
// the test holding the shortcut to the full proof does.
func prove(model *ir.Model, files []manifest.File, everyRequest bool) (diag.List, Stats) {
	if model == nil || model.Mesh.Model == "federated" {
		// verify models the multi-primary mesh: one control plane view
		// and one identity space. A federated mesh's .global routing and
		// trust bundles are not modeled, so its output is not proven.
		return nil, Stats{}
	}
	a, diags := New(model, files, Options{})
	a.terse = true
	p := newProver(a)
	p.everyRequest = everyRequest
	// Services are proven independently, on every core; their findings
	// merge in service order, so the result does not depend on timing.
	sinks := make([]*sink, len(model.Services)+len(model.Externals))
	var wg sync.WaitGroup
	// Workers take the next service from a counter rather than a channel,
	// so that none waits for a feeding goroutine to be scheduled.
	var next atomic.Int64
	for range max(1, runtime.GOMAXPROCS(0)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := newWorker()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(sinks) {
					return
				}
				k := newSink()
				if i < len(model.Services) {
					p.service(model.Services[i], k, w)
				} else {
					p.external(model.Externals[i-len(model.Services)], k)
				}
				sinks[i] = k
			}
		}()
	}
	wg.Wait()
	for _, k := range sinks {
		p.g.merge(k)
	}
	p.baselineEgress()
	p.layer1()
	p.routing()
	out := append(diags, p.flush()...)
	return out.Sorted(), Stats{Connections: p.g.judged, Findings: len(p.g.findings)}
}

// sink collects what proving one destination finds, so that destinations
// can be proven in parallel and merged in order.
type sink struct {
	findings   map[string]*finding
	order      []string
	outAllowed map[string]bool // layer-2 egress view → some connection in it is allowed
	judged     int
}

func newSink() *sink {
	return &sink{findings: map[string]*finding{}, outAllowed: map[string]bool{}}
}

func (k *sink) add(key string, code diag.Code, pos diag.Pos, msg string, related ...diag.Related) {
	if f, ok := k.findings[key]; ok {
		f.n++
		return
	}
	k.findings[key] = &finding{code: code, pos: pos, msg: msg, related: related, n: 1}
	k.order = append(k.order, key)
}

// seen counts one more connection for a finding already reported.
func (k *sink) seen(key string) bool {
	if f, ok := k.findings[key]; ok {
		f.n++
		return true
	}
	return false
}

func (k *sink) merge(o *sink) {
	for _, key := range o.order {
		f := o.findings[key]
		if g, ok := k.findings[key]; ok {
			g.n += f.n
			continue
		}
		k.findings[key] = f
		k.order = append(k.order, key)
	}
	for key := range o.outAllowed {
		k.outAllowed[key] = true
	}
	k.judged += o.judged
}

type prover struct {
	a           *Analyzer
	full        *Analyzer // a, with the text of every decision
	m           *ir.Model
	bySvc       map[*ir.Service][]*ir.Policy
	byExt       map[*ir.External][]*ir.Policy
	pos         map[string]diag.Pos // intent refs → positions
	g           *sink               // everything found, merged
	outsideAddr netip.Prefix
	networks    []string
	managedNS   map[clusterNS]bool
	viaIngress  map[*ir.Service]map[*ir.Cluster]bool
	egressMemo  sync.Map // egressByAddress, by view
	sources     sync.Map // sharedKey → *Source (shared)
	idMemo      sync.Map // identityFor
	svcByNS     map[string][]*ir.Service
	// allowsByPeerNS are the allow policies to services, by the namespace
	// of their workload sources; openIn the services of a cluster nothing
	// isolates.
	allowsByPeerNS map[string][]*ir.Policy
	openIn         map[*ir.Cluster][]*ir.Service
	wlByNS         map[string][]*ir.Peer // workload sources of the policies
	// sameTD are the other clusters of each cluster's trust domain.
	sameTD map[*ir.Cluster][]*ir.Cluster
	// everyRequest turns off the shortcut for sources no policy tells
	// apart by request (quietSource); for the test that holds it to the
	// full proof.
	everyRequest bool
}

type finding struct {
	code    diag.Code
	pos     diag.Pos
	msg     string
	related []diag.Related
	n       int
}

const anyNS = "intentc-anyone-else"

func newProver(a *Analyzer) *prover {
	full := *a
	full.terse = false
	p := &prover{a: a, full: &full, m: a.model, pos: map[string]diag.Pos{}, g: newSink(),
		managedNS: map[clusterNS]bool{}, viaIngress: map[*ir.Service]map[*ir.Cluster]bool{}}
	p.bySvc, p.byExt = policiesFor(a.model)
	m := a.model
	p.pos[m.Mesh.Src.Ref()] = m.Mesh.Src.Pos
	var all []netip.Prefix
	nets := map[string]bool{}
	for _, c := range m.Clusters {
		p.pos[c.Src.Ref()] = c.Src.Pos
		nets[c.Network] = true
		for _, ns := range m.ManagedNamespaces(c) {
			p.managedNS[clusterNS{c, ns}] = true
		}
		all = slices.Concat(all, c.Pods, c.ServiceNets, c.Nodes, c.Egress)
		if c.EastWest != nil {
			if s, ok := addrOf(c.EastWest.Address); ok {
				all = append(all, netip.PrefixFrom(s[0].lo, s[0].lo.BitLen()))
			}
		}
		if c.APIServer != nil {
			if s, ok := addrOf(c.APIServer.Address); ok {
				all = append(all, netip.PrefixFrom(s[0].lo, s[0].lo.BitLen()))
			}
		}
	}
	p.svcByNS, p.wlByNS = map[string][]*ir.Service{}, map[string][]*ir.Peer{}
	for _, s := range m.Services {
		p.pos[s.Src.Ref()] = s.Src.Pos
		p.svcByNS[s.Namespace] = append(p.svcByNS[s.Namespace], s)
	}
	p.allowsByPeerNS, p.openIn = map[string][]*ir.Policy{}, map[*ir.Cluster][]*ir.Service{}
	for _, pol := range m.Policies {
		seen := map[string]bool{}
		for _, peer := range pol.From {
			if peer.Kind == ir.PeerWorkload {
				p.wlByNS[peer.Namespace] = append(p.wlByNS[peer.Namespace], peer)
			}
			if peer.Kind != ir.PeerCIDR && pol.Service != nil && pol.Action == ir.ActionAllow && !seen[peer.Namespace] {
				seen[peer.Namespace] = true
				p.allowsByPeerNS[peer.Namespace] = append(p.allowsByPeerNS[peer.Namespace], pol)
			}
		}
	}
	for _, s := range m.Services {
		if !isolated(m, p.bySvc[s], Target{Service: s}) {
			for _, pl := range s.Placements {
				p.openIn[pl.Cluster] = append(p.openIn[pl.Cluster], s)
			}
		}
	}
	for _, e := range m.Externals {
		p.pos[e.Src.Ref()] = e.Src.Pos
		all = append(all, e.CIDRs...)
	}
	for _, pol := range m.Policies {
		p.pos[pol.Src.Ref()] = pol.Src.Pos
		for _, peer := range pol.From {
			if peer.Kind == ir.PeerCIDR {
				all = append(all, peer.CIDR)
				if peer.Via == ir.ViaIngressGateway && pol.Service != nil && pol.Action == ir.ActionAllow && !peer.IsWorld() {
					if p.viaIngress[pol.Service] == nil {
						p.viaIngress[pol.Service] = map[*ir.Cluster]bool{}
					}
					for _, c := range peer.Clusters {
						p.viaIngress[pol.Service][c] = true
					}
				}
			}
		}
	}
	p.networks = slices.Sorted(maps.Keys(nets))
	p.sameTD = map[*ir.Cluster][]*ir.Cluster{}
	for _, c := range m.Clusters {
		for _, x := range m.Clusters {
			if x != c && x.TrustDomain == c.TrustDomain {
				p.sameTD[c] = append(p.sameTD[c], x)
			}
		}
	}
	// An address no object names, for "anyone else" destinations.
	p.outsideAddr = netip.MustParsePrefix("192.0.2.77/32")
	for _, r := range representatives(append(all, netip.MustParsePrefix("192.0.2.0/24"))) {
		if r.Addr().Is4() && !slices.ContainsFunc(all, func(q netip.Prefix) bool { return q.Contains(r.Addr()) && q.Bits() > 0 }) {
			p.outsideAddr = r
			break
		}
	}
	return p
}

var layerNames = [5]string{"", "security groups", "NetworkPolicy", "AuthorizationPolicy", "mTLS"}

func (p *prover) add(key string, code diag.Code, pos diag.Pos, msg string, related ...diag.Related) {
	p.g.add(key, code, pos, msg, related...)
}

func (p *prover) flush() diag.List {
	var out diag.List
	for _, k := range p.g.order {
		f := p.g.findings[k]
		msg := f.msg
		if f.n > 1 {
			msg += fmt.Sprintf(" (and %d more connection%s like it)", f.n-1, plural(f.n-1, "", "s"))
		}
		d := out.Add(f.code, f.pos, "%s", msg)
		d.Related = f.related
	}
	return out
}

// posOf is the intent position an object came from: its first source
// that is an AccessPolicy, else its first source, else fallback.
func (p *prover) posOf(ref *ObjRef, fallback diag.Pos) diag.Pos {
	if ref == nil {
		return fallback
	}
	for _, s := range ref.Sources {
		if strings.HasPrefix(s, "AccessPolicy/") {
			if pos, ok := p.pos[s]; ok {
				return pos
			}
		}
	}
	for _, s := range ref.Sources {
		if pos, ok := p.pos[s]; ok {
			return pos
		}
	}
	return fallback
}

func relatedOf(ds []Decision) []diag.Related {
	var out []diag.Related
	for _, d := range ds {
		if d.Object == nil || d.Object.File == "" {
			continue
		}
		line := d.Object.Line
		if d.RuleLine > 0 {
			line = d.RuleLine
		}
		out = append(out, diag.Related{Pos: diag.Pos{File: d.Object.File, Line: line, Col: 1}, Message: d.Object.String() + ": " + d.Text})
		if len(out) == 3 {
			break
		}
	}
	return out
}

func decisionText(ds []Decision) string {
	var parts []string
	for _, d := range ds {
		t := d.Text
		if d.Object != nil {
			t = d.Object.String() + ": " + t
		}
		parts = append(parts, t)
		if len(parts) == 2 {
			break
		}
	}
	if len(parts) == 0 {
		return "no object decides"
	}
	return strings.Join(parts, "; ")
}

func firstObject(ds []Decision) string {
	for _, d := range ds {
		if d.Object != nil {
			return d.Object.String() + fmt.Sprintf("#%d", d.Rule)
		}
	}
	return "-"
}

func reqText(t Target, r Request) string {
	if t.Port == nil || !t.Port.IsL7() || r.Method == "" {
		return ""
	}
	return " (" + r.Method + " " + r.Path + ")"
}

// --- sources and requests ---

// sourceKey is a source as the proof tells sources apart, comparable so
// that enumerating a destination's sources formats no strings.
type sourceKey struct {
	kind                             SourceKind
	cluster, gateway                 *ir.Cluster
	namespace, serviceAccount, label string
	addr                             netip.Prefix
	network, host                    string
	plaintext                        bool
}

func srcKey(s *Source) sourceKey {
	k := sourceKey{kind: s.Kind, cluster: s.Cluster, gateway: s.Gateway, namespace: s.Namespace, serviceAccount: s.ServiceAccount,
		addr: s.Addr, network: s.Network, host: s.Host, plaintext: s.Plaintext}
	if len(s.Labels) > 0 {
		k.label = labelString(s.Labels)
	}
	return k
}

// sourcesFor enumerates the sources the policies of a service name (the
// intent's and the manifests'), plus one "anyone else" of each kind.
func (p *prover) sourcesFor(s *ir.Service) []*Source {
	var out []*Source
	seen := map[sourceKey]bool{}
	add := func(src Source) {
		if k := srcKey(&src); !seen[k] {
			seen[k] = true
			out = append(out, p.shared(k, src))
		}
	}
	namespaces := map[string]bool{s.Namespace: true}
	var prefixes []netip.Prefix
	var hosts []string
	workload := func(c *ir.Cluster, ns, sa string, labels map[string]string, svc *ir.Service) {
		namespaces[ns] = true
		add(Source{Kind: SourceWorkload, Cluster: c, Namespace: ns, ServiceAccount: sa, Labels: labels, Service: svc})
	}
	for _, pol := range p.bySvc[s] {
		for _, peer := range pol.From {
			for _, c := range peer.Clusters {
				switch peer.Kind {
				case ir.PeerService:
					workload(c, peer.Namespace, peer.ServiceAccount, peer.Service.Selector, peer.Service)
				case ir.PeerNamespace:
					workload(c, peer.Namespace, anySA, nil, nil)
				case ir.PeerWorkload:
					labels := peer.PodLabels
					if len(labels) == 0 {
						// The same workload described with its pod labels
						// elsewhere in the intent: one identity, one set
						// of pods.
						labels, _, _ = p.labelsFor(peer.Namespace, peer.ServiceAccount)
					}
					workload(c, peer.Namespace, peer.ServiceAccount, labels, nil)
				}
			}
			if peer.Kind == ir.PeerCIDR {
				prefixes = append(prefixes, peer.CIDR)
				hosts = append(hosts, peer.Hosts...)
			}
		}
	}
	// What the manifests name for the service's workloads.
	ig := p.m.Mesh.IngressGateway
	for _, pl := range s.Placements {
		v := p.a.clusters[pl.Cluster.Name]
		w := l3Workload{ns: s.Namespace, labels: s.Selector, td: pl.Cluster.TrustDomain}
		aps, _ := v.applicable(p.a, w)
		for _, ap := range aps {
			for _, r := range ap.rules {
				for _, f := range r.raw.From {
					for _, pr := range slices.Concat(f.Source.Principals, f.Source.NotPrincipals) {
						ns := nsOfPrincipal(pr)
						_, sa, _ := strings.Cut(pr, "/sa/")
						switch {
						case ns == "" || strings.Contains(ns, "*"):
						case ns == ig.Namespace && sa == ig.ServiceAccount:
							// the ingress gateway: enumerated as ingress sources
						case sa == "" || strings.Contains(sa, "*"):
							for _, c := range p.m.Clusters {
								workload(c, ns, anySA, nil, nil)
							}
						default:
							labels, svc, cs := p.labelsFor(ns, sa)
							for _, c := range cs {
								workload(c, ns, sa, labels, svc)
							}
						}
					}
					for _, ns := range slices.Concat(f.Source.Namespaces, f.Source.NotNamespaces) {
						if !strings.Contains(ns, "*") {
							namespaces[ns] = true
						}
					}
					for _, b := range slices.Concat(f.Source.IPBlocks, f.Source.NotIPBlocks, f.Source.RemoteIPBlocks, f.Source.NotRemoteIPBlocks) {
						if q, err := parsePrefix(b); err == nil {
							prefixes = append(prefixes, q)
						}
					}
				}
			}
		}
		pod := l2Pod{ns: s.Namespace, labels: s.Selector}
		for _, np := range v.selecting(pod, true) {
			for _, r := range np.inRules {
				for _, pc := range r.peers {
					if pc.isBlock {
						for _, rg := range pc.block {
							if q, ok := rangePrefix(rg); ok {
								prefixes = append(prefixes, q)
							} else {
								prefixes = append(prefixes, netip.PrefixFrom(rg.lo, rg.lo.BitLen()), netip.PrefixFrom(rg.hi, rg.hi.BitLen()))
							}
						}
						// the holes of except, too
						prefixes = append(prefixes, holes(pc.block)...)
						continue
					}
					ns := np.ns
					if pc.namespaces != nil {
						ns = pc.namespaces.MatchLabels[nsNameKey]
					}
					if ns == "" {
						continue
					}
					if ns == ig.Namespace && pc.pods != nil && matchLabels(pc.pods.MatchLabels, ig.Selector) {
						continue // the ingress gateway: enumerated below as ingress sources
					}
					for _, labels := range labelVariants(pc.pods) {
						sa, svc := p.identityFor(ns, labels)
						workload(pl.Cluster, ns, sa, labels, svc)
					}
				}
			}
		}
	}
	// Anyone else: a workload of every named namespace and of none, in
	// every cluster.
	for _, c := range p.m.Clusters {
		workload(c, anyNS, anySA, nil, nil)
		for _, ns := range slices.Sorted(maps.Keys(namespaces)) {
			workload(c, ns, anySA, nil, nil)
		}
	}
	reps := representatives(append(prefixes, p.outsideAddr))
	for _, net := range p.networks {
		for _, r := range reps {
			add(Source{Kind: SourceAddress, Addr: r, Network: net, Plaintext: true})
			add(Source{Kind: SourceAddress, Addr: r, Network: net})
		}
	}
	slices.Sort(hosts)
	hosts = slices.Compact(hosts)
	if len(hosts) == 0 {
		hosts = []string{""}
	}
	for _, c := range p.m.Clusters {
		for _, r := range reps {
			for _, h := range hosts {
				add(Source{Kind: SourceIngress, Gateway: c, Addr: r, Host: h})
			}
		}
	}
	return out
}

// sharedKey is a source by everything it holds: the proof's sources are
// shared by the services it proves (srcKey leaves out the service a
// workload belongs to and whether its labels are nil, which the first
// source of a key in each service decides).
type sharedKey struct {
	sourceKey
	service   *ir.Service
	nilLabels bool
}

// shared returns the proof's one copy of src, whose key is k, with what
// judging asks of every source (sideOf, srcAddr, gwSideOf) worked out
// before any other goroutine sees it, so that it is only ever read. Each
// service named its own sources before: 52,428 at N=1000 C=3 (2,158
// distinct) and 249,041 at C=20 (4,126), every one allocated and its side
// worked out again.
func (p *prover) shared(k sourceKey, src Source) *Source {
	sk := sharedKey{k, src.Service, src.Labels == nil}
	if x, ok := p.sources.Load(sk); ok {
		return x.(*Source)
	}
	x := &src
	p.a.sideOf(x)
	switch x.Kind {
	case SourceAddress:
		p.a.srcAddr(x)
	case SourceIngress:
		p.a.srcAddr(x)
		p.a.gwSideOf(x)
	}
	y, _ := p.sources.LoadOrStore(sk, x)
	return y.(*Source)
}

// holes are one address in each except of a block (the block's gaps).
func holes(s ipSet) []netip.Prefix {
	var out []netip.Prefix
	for i := 0; i+1 < len(s); i++ {
		a := s[i].hi.Next()
		if a.IsValid() && a.BitLen() == s[i+1].lo.BitLen() {
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
		}
	}
	return out
}

// labelVariants are pod labels that tell a pod selector's matches from its
// non-matches: the labels it requires, and for each NotIn the excluded
// value.
func labelVariants(sel *selector) []map[string]string {
	if sel == nil {
		return []map[string]string{nil}
	}
	base := maps.Clone(sel.MatchLabels)
	if base == nil {
		base = map[string]string{}
	}
	var extra []map[string]string
	for _, r := range sel.MatchExpressions {
		switch r.Operator {
		case "In":
			if len(r.Values) > 0 {
				base[r.Key] = r.Values[0]
			}
		case "Exists":
			base[r.Key] = "intentc"
		case "NotIn":
			for _, v := range r.Values {
				x := maps.Clone(base)
				x[r.Key] = v
				extra = append(extra, x)
			}
		}
	}
	return append([]map[string]string{base}, extra...)
}

// labelsFor returns the pod labels of a known identity (a workload an
// AccessPolicy names, or a MeshService), so that a source derived from a
// principal carries the labels layer 2 would see on its pods.
//
// It also returns the clusters the identity runs in: where the service is
// placed or the policy says; every cluster when nothing says. A named
// identity in a cluster it does not run in is a caller layer 3 cannot tell
// from the real one (one trust domain), and the intent does not speak of
// it.
func (p *prover) labelsFor(ns, sa string) (map[string]string, *ir.Service, []*ir.Cluster) {
	key := ns + "/" + sa
	if v, ok := p.idMemo.Load("sa|" + key); ok {
		x := v.(identity)
		return x.labels, x.svc, x.clusters
	}
	labels, svc, cs := p.labelsForUncached(ns, sa)
	p.idMemo.Store("sa|"+key, identity{labels: labels, svc: svc, clusters: cs})
	return labels, svc, cs
}

func (p *prover) labelsForUncached(ns, sa string) (map[string]string, *ir.Service, []*ir.Cluster) {
	for _, s := range p.svcByNS[ns] {
		if s.ServiceAccount == sa {
			var cs []*ir.Cluster
			for _, pl := range s.Placements {
				cs = append(cs, pl.Cluster)
			}
			return s.Selector, s, cs
		}
	}
	var clusters []*ir.Cluster
	var labels map[string]string
	found := false
	for _, peer := range p.wlByNS[ns] {
		if peer.ServiceAccount == sa {
			if len(peer.PodLabels) > 0 && labels == nil {
				labels = peer.PodLabels
			}
			clusters, found = append(clusters, peer.Clusters...), true
		}
	}
	if !found {
		return nil, nil, p.m.Clusters
	}
	slices.SortFunc(clusters, func(a, b *ir.Cluster) int { return strings.Compare(a.Name, b.Name) })
	return labels, nil, slices.Compact(clusters)
}

// identityFor returns the service account of a known identity whose pod
// labels a label set carries, so that a source derived from a pod selector
// runs as the identity layer 3 would see.
func (p *prover) identityFor(ns string, labels map[string]string) (string, *ir.Service) {
	if len(labels) == 0 {
		return anySA, nil
	}
	key := ns + "/" + labelString(labels)
	if v, ok := p.idMemo.Load(key); ok {
		x := v.(identity)
		return x.sa, x.svc
	}
	sa, svc := p.identityForUncached(ns, labels)
	p.idMemo.Store(key, identity{sa: sa, svc: svc})
	return sa, svc
}

type identity struct {
	sa       string
	svc      *ir.Service
	labels   map[string]string
	clusters []*ir.Cluster
}

func (p *prover) identityForUncached(ns string, labels map[string]string) (string, *ir.Service) {
	for _, peer := range p.wlByNS[ns] {
		if len(peer.PodLabels) > 0 && matchLabels(peer.PodLabels, labels) {
			return peer.ServiceAccount, nil
		}
	}
	for _, s := range p.svcByNS[ns] {
		if matchLabels(s.Selector, labels) {
			return s.ServiceAccount, s
		}
	}
	return anySA, nil
}

// pathReps returns a path each pattern matches.
func pathRep(pattern string) string {
	switch {
	case pattern == "*":
		return "/"
	case strings.HasSuffix(pattern, "*"):
		return strings.TrimSuffix(pattern, "*") + "intentc"
	case strings.HasPrefix(pattern, "*"):
		return "/intentc" + strings.TrimPrefix(pattern, "*")
	}
	return pattern
}

// requests enumerates the requests to an HTTP port that its policies (the
// intent's and the manifests') tell apart.
func (p *prover) requests(s *ir.Service, port *ir.Port) []Request {
	if !port.IsL7() {
		return []Request{{}}
	}
	methods := map[string]bool{"GET": true}
	paths := map[string]bool{"/": true}
	named := false
	for _, pol := range p.bySvc[s] {
		for _, m := range pol.Methods {
			methods[m], named = true, true
		}
		for _, pt := range pol.Paths {
			paths[pathRep(pt)], named = true, true
		}
	}
	for _, pl := range s.Placements {
		v := p.a.clusters[pl.Cluster.Name]
		aps, _ := v.applicable(p.a, l3Workload{ns: s.Namespace, labels: s.Selector})
		for _, ap := range aps {
			for _, r := range ap.rules {
				for _, o := range r.raw.To {
					for _, m := range slices.Concat(o.Operation.Methods, o.Operation.NotMethods) {
						methods[m], named = true, true
					}
					for _, pt := range slices.Concat(o.Operation.Paths, o.Operation.NotPaths) {
						paths[pathRep(pt)], named = true, true
					}
				}
			}
		}
	}
	if named {
		methods["INTENTC"] = true
		paths["/intentc-other"] = true
	}
	var out []Request
	for _, m := range slices.Sorted(maps.Keys(methods)) {
		for _, pt := range slices.Sorted(maps.Keys(paths)) {
			out = append(out, Request{Method: m, Path: pt})
		}
	}
	return out
}

// --- the per-connection proof ---

type entry struct {
	src     *Source
	t       Target
	c       *ir.Cluster
	req     *Request
	vs      [5]Verdict // per view
	ks      [5]viewKey // per view
	allowed bool
	pol     *ir.Policy
	// the intent as each layer-2 direction sees it, and layer 3
	l2in, l2out, l3 bool
}

// seen is the intent as a view sees a connection.
func (e *entry) seen(v view) bool {
	switch v.i {
	case 0:
		return e.l2out
	case 1:
		return e.l2in
	case 3:
		return e.l3
	}
	return e.allowed
}

// intentL3 is the intent as layer 3 sees a connection: an identity is the
// same in every cluster of its trust domain, so the intent allows it if it
// allows the same caller in any of them.
func (p *prover) intentL3(pols []*ir.Policy, src *Source, t Target, c *ir.Cluster, req Request, allowed bool) bool {
	if allowed || src.Kind != SourceWorkload {
		return allowed
	}
	for _, x := range p.sameTD[src.Cluster] {
		twin := *src
		twin.Cluster, twin.pod, twin.terse = x, nil, nil
		if ok, _ := intentVerdict(p.m, pols, &twin, t, c, req); ok {
			return true
		}
	}
	return false
}

type view struct {
	name  string
	layer int
	i     int // the index of the view's verdict and key in an entry
	// loose: the view is checked for (ii). Layer 4 is not: it requires
	// mTLS per port, not per caller, and is proven against the intent's
	// mode instead.
	loose bool
}

var views = []view{
	{"2 (NetworkPolicy, egress)", 2, 0, true},
	{"2 (NetworkPolicy, ingress)", 2, 1, true},
	{"3 (AuthorizationPolicy at the ingress gateway)", 3, 2, true},
	{"3 (AuthorizationPolicy)", 3, 3, true},
	{"4 (mTLS)", 4, 4, false},
}

// viewKey is what one view observes of a connection: its key, and the
// request's part as a number (reqIDs), so that the proof's maps of views
// hash one string per key.
type viewKey struct {
	base string
	req  int32
}

// reqIDs numbers the request parts of the view keys of one destination.
// The connections of one request come one after the other, so the last
// part numbered is compared before the map is hashed.
type reqIDs struct {
	ids    map[httpPart]int32
	last   httpPart
	lastID int32
}

func newReqIDs() *reqIDs { return &reqIDs{ids: map[httpPart]int32{}} }

func (r *reqIDs) reset() {
	clear(r.ids)
	r.last, r.lastID = httpPart{}, 0
}

func (r *reqIDs) key(k l3Key) viewKey {
	if !k.http.on {
		return viewKey{base: k.base}
	}
	if r.lastID != 0 && k.http == r.last {
		return viewKey{base: k.base, req: r.lastID}
	}
	id, ok := r.ids[k.http]
	if !ok {
		id = int32(len(r.ids) + 1)
		r.ids[k.http] = id
	}
	r.last, r.lastID = k.http, id
	return viewKey{base: k.base, req: id}
}

// newEntry keeps of a judgement what the proof compares, per view in the
// order of views.
func newEntry(src *Source, t Target, c *ir.Cluster, req *Request, j *judgement, ids *reqIDs) entry {
	return entry{src: src, t: t, c: c, req: req,
		vs: [5]Verdict{j.l2out, j.l2in, j.l3gw, j.l3dest, j.layers[4].Verdict},
		ks: [5]viewKey{{base: j.k2out}, {base: j.k2in}, ids.key(j.k3gw), ids.key(j.k3), {base: j.k4}},
	}
}

// looseApplies reports whether a view of a connection is intentc's to keep
// tight. Egress is written only with defaultDeny and only in the caller's
// namespaces intentc manages in the caller's cluster; the ingress
// gateway's own policy exists only to narrow the ranges the intent lets in
// through it.
func (p *prover) looseApplies(v view, e *entry) bool {
	switch v.i {
	case 0:
		if !p.m.Mesh.DefaultDeny {
			return false
		}
		sd := p.a.sideOf(e.src)
		if sd.pod == nil || e.src.Kind != SourceWorkload {
			return false
		}
		return p.managed(sd.cluster, sd.pod.ns)
	case 2:
		// Only at the gateways of the clusters a restricted ingress
		// source enters through (elsewhere intentc configures no
		// gateway), and only for requests such a source may send: the
		// gateway narrows the ranges of what the intent admits through
		// it and leaves the rest to the destination, so that it cannot
		// shut routes intentc does not know about (docs/security.md).
		if e.t.Service == nil || e.src.Gateway == nil || !p.viaIngress[e.t.Service][e.src.Gateway] {
			return false
		}
		for _, pol := range p.bySvc[e.t.Service] {
			if pol.Action != ir.ActionAllow || !policyCovers(pol, e.t) || !l7Matches(pol, e.t.Port, *e.req) {
				continue
			}
			for _, peer := range pol.From {
				if peer.Kind == ir.PeerCIDR && peer.Via == ir.ViaIngressGateway && !peer.IsWorld() &&
					slices.Contains(peer.Clusters, e.src.Gateway) && (len(peer.Hosts) == 0 || slices.Contains(peer.Hosts, e.src.Host)) {
					return true
				}
			}
		}
		return false
	}
	return v.loose
}

// clusterNS is a namespace of one cluster.
type clusterNS struct {
	c  *ir.Cluster
	ns string
}

func (p *prover) managed(c *ir.Cluster, ns string) bool { return p.managedNS[clusterNS{c, ns}] }

func (p *prover) service(s *ir.Service, k *sink, w *worker) {
	sources := p.sourcesFor(s)
	ports := slices.Clone(s.Ports)
	scrape := []int32{15020}
	if len(p.m.Mesh.Baseline.Scrapers) > 0 {
		scrape = []int32{15020, 15090}
	}
	for _, sp := range scrape {
		if !portDeclared(s, sp) {
			ports = append(ports, &ir.Port{Name: fmt.Sprintf("sidecar-%d", sp), Port: sp, TargetPort: sp, Protocol: ir.ProtoTCP, Pos: s.Src.Pos})
		}
	}
	// The worker's buffers, reused from service to service: a large
	// intent judges millions of connections, and allocating them anew
	// for each service costs more than judging them.
	entries := w.entries[:0]
	allowedKeys := w.allowedKeys
	clear(allowedKeys)
	w.reqs.reset()
	w.memo.reset()
	pols := p.bySvc[s]
	for _, pl := range s.Placements {
		c := pl.Cluster
		for _, port := range ports {
			t := Target{Service: s, Port: port}
			sidecar := sidecarPorts[port.TargetPort] && !slices.Contains(s.Ports, port)
			// What does not depend on the request, once per source.
			base := w.base[:0]
			base = slices.Grow(base, len(sources))[:len(sources)]
			clear(base)
			reqs := p.requests(s, port)
			for r := range reqs {
				req := &reqs[r]
				for i, src := range sources {
					if src.Kind == SourceAddress && src.Network != c.Network {
						continue
					}
					if sidecar && !sidecarSource(src, p.m) {
						continue
					}
					ps := &base[i]
					if !ps.done {
						ps.b = p.a.judgeBase(src, t, c, false, w.memo)
						ps.l2in = intentL2(p.m, pols, src, t, c, false)
						ps.l2out = intentL2(p.m, pols, src, t, c, true)
						ps.done = true
						ps.quiet = len(reqs) > 1 && !p.everyRequest && p.quietSource(&ps.b, pols)
					} else if ps.skip {
						k.judged++ // as its first request was (quietSource)
						continue
					}
					j := p.a.judgeRequest(&ps.b, *req)
					ok, pol := intentVerdict(p.m, pols, src, t, c, *req)
					k.judged++
					entries = append(entries, newEntry(src, t, c, req, &j, w.reqs))
					e := &entries[len(entries)-1]
					e.allowed, e.pol = ok, pol
					e.l2in, e.l2out = ps.l2in, ps.l2out
					e.l3 = p.intentL3(pols, src, t, c, *req, ok)
					p.mark(e, allowedKeys, k, !ps.marked)
					ps.marked = true
					ps.skip = ps.quiet && !e.allowed && !e.l3 && shut(e.vs[2]) && shut(e.vs[3])
				}
			}
			w.base = base
		}
	}
	for i := range entries {
		p.check(&entries[i], allowedKeys, k)
	}
	w.entries = entries
}

// worker holds one proving goroutine's buffers.
type worker struct {
	entries     []entry
	allowedKeys map[viewKey]bool
	reqs        *reqIDs // of the keys in allowedKeys
	memo        *judgeMemo
	base        []perSource
}

func newWorker() *worker {
	return &worker{allowedKeys: map[viewKey]bool{}, reqs: newReqIDs(), memo: newJudgeMemo()}
}

// perSource is what the proof of one port in one cluster keeps per source:
// the judgement and the intent as far as they do not depend on the request.
type perSource struct {
	b           baseJudgement
	l2in, l2out bool
	done        bool
	marked      bool // its layer-2 views (mark)
	// quiet: no policy tells the source's requests apart (quietSource);
	// skip: and its first request showed the others have nothing to add.
	quiet, skip bool
}

// quietSource reports whether neither the intent nor layer 3 can tell one
// request of a source from another, so that judging its first request
// judges them all. Only layer 3 and the intent look at requests (layers 2
// and 4 are the base's), and both only once a policy's source matches:
// here no rule of an AuthorizationPolicy on the destination (or the
// ingress gateway it comes through) can match the source, whatever the
// request, and no policy of the intent names it, nor the same identity in
// another cluster of its trust domain.
//
// Such a source's later requests are then not checked at all when its
// first is denied by the intent and shut at layer 3 (shut): they are
// marked as allowed in no view, every view sees them as it sees the first
// (the layer-3 views differ only in the request, and only an allowed or
// unknown verdict is checked against it), and the first is checked before
// them, so any finding they could draw, with the same key, is already
// drawn by it with the same text. A test holds the shortcut to the full
// proof on intents with and without findings.
func (p *prover) quietSource(b *baseJudgement, pols []*ir.Policy) bool {
	if !b.complete && (slices.Contains(b.from, yes) || slices.Contains(b.from, maybe) ||
		b.src.Kind == SourceIngress && (slices.Contains(b.gwFrom, yes) || slices.Contains(b.gwFrom, maybe))) {
		return false
	}
	src := b.src
	named := func(src *Source) bool {
		for _, pol := range pols {
			for _, peer := range pol.From {
				if peerMatches(p.m, peer, src, b.c) {
					return true
				}
			}
		}
		return false
	}
	if named(src) {
		return false
	}
	if src.Kind == SourceWorkload {
		for _, x := range p.sameTD[src.Cluster] {
			twin := *src
			twin.Cluster, twin.pod, twin.terse = x, nil, nil
			if named(&twin) {
				return false
			}
		}
	}
	return true
}

// shut reports whether a layer-3 verdict lets nothing through that (ii)
// would check.
func shut(v Verdict) bool { return v == Denied || v == NotApplicable }

// sidecarSource reports whether a source is one the sidecar ports are
// judged for: only layer 2 stands there, and it tells apart pods by labels
// and addresses, so the anonymous workloads, the scrapers and one address
// variant are every case it can see.
func sidecarSource(src *Source, m *ir.Model) bool {
	switch src.Kind {
	case SourceIngress:
		return false
	case SourceAddress:
		return src.Plaintext
	}
	if src.ServiceAccount == anySA && len(src.Labels) == 0 {
		return true
	}
	for _, sc := range m.Mesh.Baseline.Scrapers {
		if src.Namespace == sc.Namespace && matchLabels(sc.PodLabels, src.Labels) {
			return true
		}
	}
	return false
}

// mark records the views in which a connection is one the intent allows.
// The layer-2 views do not depend on the request: without layer2 they
// were recorded for an earlier request from the same source.
func (p *prover) mark(e *entry, allowedKeys map[viewKey]bool, k *sink, layer2 bool) {
	for _, v := range views {
		if v.layer == 2 && !layer2 {
			continue
		}
		if key := e.ks[v.i]; key.base != "" && e.seen(v) {
			allowedKeys[key] = true
			if v.i == 0 {
				k.outAllowed[key.base] = true
			}
		}
	}
}

func (p *prover) connText(e *entry) string {
	return fmt.Sprintf("%s → %s in %s%s", e.src, e.t, e.c.Name, reqText(e.t, *e.req))
}

// check applies (i) and (ii) to one judged connection.
func (p *prover) check(e *entry, allowedKeys map[viewKey]bool, k *sink) {
	svcPos := e.t.Port.Pos
	if e.t.Service != nil {
		svcPos = e.t.Service.Src.Pos
	} else if e.t.External != nil {
		svcPos = e.t.External.Src.Pos
	}
	// The connection judged again with every decision's text, for the
	// message of a finding (the proof judges tersely).
	var fj *judgement
	full := func(layer int) []Decision {
		if fj == nil {
			x := p.full.judge(e.src, e.t, e.c, *e.req, false)
			fj = &x
		}
		return fj.layers[layer].Decisions
	}
	conj := true
	unknown := false
	loose := false
	obj := func(layer int) string { return firstObject(full(layer)) }
	for _, v := range views {
		verdict := e.vs[v.i]
		key := e.ks[v.i]
		switch verdict {
		case Unknown:
			unknown = true
			fkey := fmt.Sprintf("5008|%s|%s|%s", v.name, e.t, obj(v.layer))
			if k.seen(fkey) {
				continue
			}
			ds := full(v.layer)
			k.add(fkey, diag.CodeVerifyUnjudged, svcPos,
				fmt.Sprintf("layer %s cannot judge %s: %s", v.name, p.connText(e), cmpOr(fj.layers[v.layer].Note, decisionText(ds))), relatedOf(ds)...)
		case Denied:
			conj = false
			if !e.allowed {
				continue
			}
			fkey := fmt.Sprintf("5001|%s|%s|%s|%s", v.name, e.t, e.c.Name, obj(v.layer))
			if k.seen(fkey) {
				continue
			}
			ds := full(v.layer)
			pos, pname := svcPos, ""
			if e.pol != nil {
				pos, pname = e.pol.Src.Pos, " ("+e.pol.Src.Ref()+")"
			}
			k.add(fkey, diag.CodeLayerTooTight, pos,
				fmt.Sprintf("layer %s denies %s, which the intent allows%s: %s", v.name, p.connText(e), pname, decisionText(ds)), relatedOf(ds)...)
		case Allowed:
			if key.base == "" || !v.loose || e.seen(v) || allowedKeys[key] || !p.looseApplies(v, e) {
				continue
			}
			if v.i == 0 && !strings.Contains(key.base, "|pod:") && p.egressByAddress(e) {
				continue
			}
			fkey := fmt.Sprintf("5002|%s|%s|%s|%s", v.name, e.t, e.c.Name, obj(v.layer))
			loose = true
			if k.seen(fkey) {
				continue
			}
			ds := full(v.layer)
			k.add(fkey, diag.CodeLayerTooLoose, p.posOf(firstRef(ds), svcPos),
				fmt.Sprintf("layer %s allows %s, but the intent denies it and every connection that layer cannot tell from it: %s", v.name, p.connText(e), decisionText(ds)), relatedOf(ds)...)
		}
	}
	if e.allowed || !conj || unknown || loose {
		return
	}
	// Every layer lets it through, the intent denies it, and no layer can
	// tell it from an allowed connection.
	wkey := fmt.Sprintf("5003|%s|%s|%s|%s", e.t, e.c.Name, e.src.Namespace, e.src.Kind)
	add := func(k *sink) {
		if k.seen(wkey) {
			return
		}
		pos := svcPos
		if e.t.Service != nil {
			for _, pol := range p.bySvc[e.t.Service] {
				for _, peer := range pol.From {
					if e.src.Kind == SourceWorkload && peer.Namespace == e.src.Namespace {
						pos = peer.Pos
					}
				}
			}
		}
		k.add(wkey, diag.CodeLayersTogetherLoose, pos, fmt.Sprintf("the layers together allow %s, which the intent denies: no layer can tell it from a connection the intent allows (layer 2 sees %s; layer 3 sees %s)",
			p.connText(e), l2Sees(e.ks[1].base), l3Sees(e)))
	}
	add(k)
}

// egressByAddress reports whether the intent lets a caller reach anything
// its egress sees only as an address: a flat-network cluster's pod range
// on the target port, or a cluster's east-west gateway. Egress cannot
// tell the services behind that address apart, so any allowed one will do.
func (p *prover) egressByAddress(e *entry) bool {
	if e.t.Service == nil {
		return false
	}
	key := string(e.src.Kind) + "|" + e.ks[0].base
	if v, ok := p.egressMemo.Load(key); ok {
		return v.(bool)
	}
	v := p.egressByAddressUncached(e)
	p.egressMemo.Store(key, v)
	return v
}

func (p *prover) egressByAddressUncached(e *entry) bool {
	sd := p.a.sideOf(e.src)
	cross := sd.cluster != nil && sd.cluster.Network != e.c.Network
	portOK := func(port *ir.Port) bool { return cross || port.TargetPort == e.t.Port.TargetPort }
	// The services of the cluster that nothing isolates take anyone…
	for _, s := range p.openIn[e.c] {
		if slices.ContainsFunc(s.Ports, portOK) {
			return true
		}
	}
	// …and the others those their allow policies name.
	for _, pol := range p.allowsByPeerNS[e.src.Namespace] {
		s := pol.Service
		if !s.PlacedIn(e.c) {
			continue
		}
		for _, port := range pol.Ports {
			if portOK(port) && intentL2(p.m, p.bySvc[s], e.src, Target{Service: s, Port: port}, e.c, true) {
				return true
			}
		}
	}
	return false
}

func firstRef(ds []Decision) *ObjRef {
	for _, d := range ds {
		if d.Object != nil {
			return d.Object
		}
	}
	return nil
}

func l2Sees(k2in string) string {
	_, in, _ := strings.Cut(k2in, "|")
	parts := strings.Split(in, "|")
	if len(parts) >= 3 {
		return strings.TrimPrefix(strings.TrimPrefix(parts[2], "pod:"), "addr:") + " → " + parts[1] + " on " + parts[len(parts)-1]
	}
	return "nothing more"
}

func l3Sees(e *entry) string {
	sd := side{}
	switch e.src.Kind {
	case SourceWorkload:
		sd.principal = e.src.Cluster.TrustDomain + "/ns/" + e.src.Namespace + "/sa/" + e.src.ServiceAccount
	case SourceIngress:
		return "the ingress gateway's identity"
	default:
		return "an address"
	}
	return "the identity " + sd.principal + ", the same in every cluster of the trust domain"
}

// external proves the callers of an ExternalService: only their egress
// (layer 2) stands in the way.
func (p *prover) external(e *ir.External, k *sink) {
	pols := p.byExt[e]
	if len(pols) == 0 {
		return
	}
	var sources []*Source
	seen := map[sourceKey]bool{}
	add := func(s *Source) {
		if k := srcKey(s); !seen[k] {
			seen[k] = true
			sources = append(sources, s)
		}
	}
	nss := map[string]bool{}
	for _, pol := range pols {
		for _, peer := range pol.From {
			for _, c := range peer.Clusters {
				switch peer.Kind {
				case ir.PeerService:
					add(&Source{Kind: SourceWorkload, Cluster: c, Namespace: peer.Namespace, ServiceAccount: peer.ServiceAccount, Labels: peer.Service.Selector, Service: peer.Service})
				case ir.PeerWorkload:
					add(&Source{Kind: SourceWorkload, Cluster: c, Namespace: peer.Namespace, ServiceAccount: peer.ServiceAccount, Labels: peer.PodLabels})
				case ir.PeerNamespace:
					add(&Source{Kind: SourceWorkload, Cluster: c, Namespace: peer.Namespace, ServiceAccount: anySA})
				}
				nss[peer.Namespace] = true
			}
		}
	}
	for _, c := range p.m.Clusters {
		for _, ns := range slices.Sorted(maps.Keys(nss)) {
			add(&Source{Kind: SourceWorkload, Cluster: c, Namespace: ns, ServiceAccount: anySA})
		}
	}
	allowedKeys, ids := map[viewKey]bool{}, newReqIDs()
	var entries []entry
	for _, port := range e.Ports {
		t := Target{External: e, Port: port}
		for _, src := range sources {
			if !p.managed(src.Cluster, src.Namespace) {
				// No layer of intentc's stands between a pod of a
				// namespace it does not manage and an address outside
				// the mesh.
				if ok, pol := intentVerdict(p.m, pols, src, t, src.Cluster, Request{}); !ok && pol != nil {
					k.add("5003|unenforced|"+pol.Src.Ref()+"|"+src.Cluster.Name+"|"+src.Namespace, diag.CodeLayersTogetherLoose, pol.Src.Pos,
						fmt.Sprintf("%s cannot be enforced for %s: intentc manages no namespace %s there, so no layer stands between its pods and %s", pol.Src.Ref(), src, src.Namespace, t))
				}
				continue
			}
			j := p.a.judge(src, t, src.Cluster, Request{}, false)
			ok, pol := intentVerdict(p.m, pols, src, t, src.Cluster, Request{})
			k.judged++
			e := newEntry(src, t, src.Cluster, &Request{}, &j, ids)
			e.allowed, e.pol = ok, pol
			e.l2out = intentL2(p.m, pols, src, t, src.Cluster, true)
			p.mark(&e, allowedKeys, k, true)
			entries = append(entries, e)
		}
	}
	for i := range entries {
		p.check(&entries[i], allowedKeys, k)
	}
}

// baselineEgress proves the egress side for destinations no service is:
// DNS and istiod must be reachable from every managed namespace, and with
// defaultDeny nothing else (an address and a pod no object names).
//
// Each namespace is proven on every core into a sink of its own, merged
// in order, as the services are.
func (p *prover) baselineEgress() {
	m := p.m
	type clusterNamespace struct {
		c  *ir.Cluster
		ns string
	}
	var todo []clusterNamespace
	for _, c := range m.Clusters {
		for _, ns := range m.ManagedNamespaces(c) {
			todo = append(todo, clusterNamespace{c, ns})
		}
	}
	sinks := make([]*sink, len(todo))
	eachIndex(len(todo), runtime.GOMAXPROCS(0), func(i int) {
		sinks[i] = newSink()
		p.baselineEgressOf(todo[i].c, todo[i].ns, sinks[i])
	})
	for _, k := range sinks {
		p.g.merge(k)
	}
}

func (p *prover) baselineEgressOf(c *ir.Cluster, ns string, out *sink) {
	m := p.m
	v := p.a.clusters[c.Name]
	dnsNS, dnsLabels, dnsPort := "kube-system", map[string]string{"k8s-app": "kube-dns"}, int32(53)
	if c.Platform == "openshift" {
		dnsNS, dnsLabels, dnsPort = "openshift-dns", map[string]string{"dns.operator.openshift.io/daemonset-dns": "default"}, 5353
	}
	// Any pod of the namespace, and the pods each egress policy
	// selects; an address no object names on every port an egress
	// rule opens (and 443).
	pods := []map[string]string{nil}
	ports := map[int32]bool{443: true}
	for _, np := range v.netpols[ns].every(npOrder) {
		if !np.egress {
			continue
		}
		pods = append(pods, labelVariants(np.pods)...)
		for _, r := range np.outRules {
			for _, rg := range r.ports.by["TCP"] {
				ports[rg.lo] = true
			}
		}
	}
	seenPod := map[string]bool{}
	for _, labels := range pods {
		pod := l2Pod{ns: ns, labels: labels}
		if seenPod[pod.viewKey()] {
			continue
		}
		seenPod[pod.viewKey()] = true
		pod.text = "the pods {" + labelString(labels) + "} of " + ns + " in " + c.Name
		type check struct {
			what  string
			peer  l2Peer
			proto string
			port  int32
			want  bool
		}
		need := []check{
			{"DNS", l2Peer{pod: &l2Pod{ns: dnsNS, labels: dnsLabels}}, "UDP", dnsPort, true},
			{"DNS", l2Peer{pod: &l2Pod{ns: dnsNS, labels: dnsLabels}}, "TCP", dnsPort, true},
			{"istiod", l2Peer{pod: &l2Pod{ns: m.Mesh.RootNamespace, labels: map[string]string{"app": "istiod"}}}, "TCP", 15012, true},
			{"a pod of a namespace no object names", l2Peer{pod: &l2Pod{ns: anyNS}, text: "a pod of " + anyNS}, "TCP", 8080, !m.Mesh.DefaultDeny},
		}
		for _, port := range slices.Sorted(maps.Keys(ports)) {
			need = append(need, check{"an address no object names", l2Peer{addr: setOf(p.outsideAddr), text: p.outsideAddr.String()}, "TCP", port, !m.Mesh.DefaultDeny})
		}
		for _, n := range need {
			verdict, _ := v.l2Direction(p.a, pod, n.peer, false, n.proto, n.port, nil)
			out.judged++
			var ds []Decision
			if n.want && verdict == Denied || !n.want && verdict == Allowed {
				_, ds = v.l2Direction(p.full, pod, n.peer, false, n.proto, n.port, nil)
			}
			base := "out|" + c.Name + "|" + pod.viewKey() + "|"
			k := base + n.peer.key() + "|" + fmt.Sprint(n.port)
			// A host name the pod may reach is any address to
			// layer 2 (IC3202).
			anyOK := p.g.outAllowed[base+"addr:?|"+fmt.Sprint(n.port)] && n.peer.pod == nil
			switch {
			case n.want && verdict == Denied:
				out.add("5001|egress|"+c.Name+"|"+pod.viewKey()+"|"+n.what+n.proto, diag.CodeLayerTooTight, m.Mesh.Src.Pos,
					fmt.Sprintf("layer 2 (NetworkPolicy, egress) denies %s → %s on %s %d, which the mesh's baseline needs: %s", pod.text, n.what, n.proto, n.port, decisionText(ds)), relatedOf(ds)...)
			case !n.want && verdict == Allowed && !p.g.outAllowed[k] && !anyOK:
				out.add("5002|egress|"+c.Name+"|"+pod.viewKey()+"|"+n.what+fmt.Sprint(n.port), diag.CodeLayerTooLoose, p.posOf(firstRef(ds), m.Mesh.Src.Pos),
					fmt.Sprintf("layer 2 (NetworkPolicy, egress) allows %s → %s on %s %d, which the intent does not name: %s", pod.text, n.what, n.proto, n.port, decisionText(ds)), relatedOf(ds)...)
			}
		}
	}
}

// --- layer 1, flow by flow ---

func (p *prover) layer1() {
	m := p.m
	for _, c := range m.Clusters {
		if c.Platform != "openstack" || c.OpenStack == nil || c.OpenStack.SecurityGroupMode == "audit" {
			continue
		}
		g := p.a.groupOf(c)
		if g == nil {
			p.add("5001|l1|"+c.Name, diag.CodeLayerTooTight, c.Src.Pos,
				fmt.Sprintf("layer 1: no security group %q for %s in the output", c.OpenStack.SecurityGroupName, c.Name))
			continue
		}
		needed := p.neededFlows(c)
		for _, f := range needed {
			if v, ds := judgeFlows([]*secGroup{g}, c, []flow{f}, ""); v == Denied {
				p.add("5001|l1|"+c.Name+"|"+f.String(), diag.CodeLayerTooTight, c.Src.Pos,
					fmt.Sprintf("layer 1 (security groups) does not admit %s on the nodes of %s, which the intent needs: %s", f, c.Name, decisionText(ds)), relatedOf(ds)...)
			}
		}
		for _, r := range g.rules {
			if !r.ingress {
				continue
			}
			if why := ruleNeeded(r, g, c, needed); why != "" {
				ref := *g.ref
				ref.Sources = nil
				p.add("5002|l1|"+c.Name+"|"+r.text, diag.CodeLayerTooLoose, c.Src.Pos,
					fmt.Sprintf("layer 1 (security groups): rule %d of %s (%s) admits %s, which nothing the intent allows needs", r.index, g.name, r.text, why),
					diag.Related{Pos: diag.Pos{File: g.ref.File, Line: g.ref.Line, Col: 1}, Message: "security group " + g.name})
			}
		}
	}
}

// neededFlows are the flows the intent needs on a cluster's nodes: the
// CNI's between nodes, the east-west gateway path from every cluster on
// another network with an allowed caller of a service placed here, and the
// API server from every other cluster's istiod.
func (p *prover) neededFlows(c *ir.Cluster) []flow {
	var out []flow
	if d, ok := cniData[c.CNI]; ok {
		d.fromNodes = true
		out = append(out, d)
	}
	for _, f := range cniControl[c.CNI] {
		f.fromNodes = true
		out = append(out, f)
	}
	// The gateway path follows routing: a service is called from the
	// clusters its policies' sources run in, and from every cluster when
	// no policy names it (docs/routing.md).
	callers := map[*ir.Cluster]bool{}
	for _, s := range p.m.Services {
		if s.PlacedIn(c) {
			for _, o := range s.CallerClusters {
				callers[o] = true
			}
		}
	}
	for _, o := range p.m.Clusters {
		if !callers[o] || o.Network == c.Network {
			continue
		}
		fs, why := ewgFlows(o, c)
		if why != "" {
			continue
		}
		out = append(out, fs...)
		if os := c.OpenStack; os.LBProvider == "ovn" && c.EastWest != nil && c.EastWest.NodePort != 0 {
			members := setOf(os.LBMemberSubnet)
			if !os.HasLBMemberSubnet {
				members = setOf(c.Nodes...)
			}
			out = append(out, flow{proto: "tcp", port: c.EastWest.NodePort, remote: members, what: "the ovn load balancer's health monitor"})
		}
	}
	if c.APIServer != nil && p.m.Mesh.Model != "federated" {
		for _, o := range p.m.Clusters {
			if r := egressFor(o, c.APIServer.Address); o != c && !r.empty() {
				out = append(out, flow{proto: "tcp", port: c.APIServer.Port, remote: r, what: "the API server, for istiod in " + o.Name})
			}
		}
	}
	return out
}

// ruleNeeded returns what a rule admits beyond the needed flows ("" when
// nothing).
func ruleNeeded(r secRule, g *secGroup, c *ir.Cluster, needed []flow) string {
	if r.proto == "" {
		return "every protocol"
	}
	is4 := r.eth == "IPv4"
	lo, hi := r.lo, r.hi
	if lo == 0 && r.proto != "4" {
		lo, hi = 1, 65535
	}
	for port := lo; port <= hi; port++ {
		var remotes ipSet
		nodes := false
		for _, f := range needed {
			if f.proto != r.proto || f.port != port {
				continue
			}
			if f.fromNodes {
				nodes = true
			} else {
				remotes = remotes.union(familyOf(f.remote, is4))
			}
		}
		switch {
		case r.group != "":
			if !(nodes && (r.group == g.name || r.group == g.id)) {
				return fmt.Sprintf("%s %d from group %s", r.proto, port, r.group)
			}
		case r.anyAddr:
			return fmt.Sprintf("%s %d from every address", r.proto, port)
		case !remotes.containsAll(r.remote):
			return fmt.Sprintf("%s %d from %s", r.proto, port, r.remote.subtract(remotes))
		}
		if port == hi {
			break
		}
	}
	_ = c
	return ""
}

// --- layer 4 modes and routing ---

// Each service is proven on every core into a sink of its own, merged in
// order.
func (p *prover) routing() {
	sinks := make([]*sink, len(p.m.Services))
	eachIndex(len(sinks), runtime.GOMAXPROCS(0), func(i int) {
		sinks[i] = newSink()
		p.routingOf(p.m.Services[i], sinks[i])
	})
	for _, k := range sinks {
		p.g.merge(k)
	}
}

func (p *prover) routingOf(s *ir.Service, k *sink) {
	m := p.m
	// Layer 4: the mode in effect on every port equals the intent's.
	for _, pl := range s.Placements {
		v := p.a.clusters[pl.Cluster.Name]
		w := l3Workload{ns: s.Namespace, labels: s.Selector, td: pl.Cluster.TrustDomain}
		for _, port := range s.Ports {
			mode, ds, _ := v.l4Mode(p.a, w, port.TargetPort)
			want := "STRICT"
			if !intentMTLSStrict(m, port) {
				want = "PERMISSIVE"
			}
			if mode != want {
				k.add("5005|"+s.Src.Ref()+"|"+pl.Cluster.Name+"|"+port.Name, diag.CodeMTLSMismatch, port.Pos,
					fmt.Sprintf("layer 4: port %s (%d) of %s/%s is %s in %s, the intent says %s: %s", port.Name, port.TargetPort, s.Namespace, s.Name, mode, pl.Cluster.Name, want, decisionText(ds)), relatedOf(ds)...)
			}
		}
	}
	// Routing from every cluster the service is called from.
	callerNS := map[string]bool{s.Namespace: true}
	for _, pol := range p.bySvc[s] {
		for _, peer := range pol.From {
			if peer.Kind != ir.PeerCIDR {
				callerNS[peer.Namespace] = true
			}
		}
	}
	for _, c := range s.CallerClusters {
		for _, ns := range slices.Sorted(maps.Keys(callerNS)) {
			src := &Source{Kind: SourceWorkload, Cluster: c, Namespace: ns, ServiceAccount: anySA}
			for _, port := range s.Ports {
				p.routeCase(k, s, src, port, Request{}, nil)
				if port.IsL7() {
					for _, r := range s.Routes {
						req := Request{Headers: r.Headers, Path: "/"}
						if r.PathPrefix != "" {
							req.Path = r.PathPrefix
						}
						p.routeCase(k, s, src, port, req, r)
					}
				}
			}
		}
	}
}

// expected is where the intent sends a request: the first route it
// matches, else the placement's split.
func expectedLanding(s *ir.Service, port *ir.Port, req Request) (map[string]int32, diag.Pos) {
	out := map[string]int32{}
	if port.IsL7() {
		for _, r := range s.Routes {
			match := strings.HasPrefix(cmpOr(req.Path, "/"), r.PathPrefix)
			for k, v := range r.Headers {
				if req.Headers[k] != v {
					match = false
				}
			}
			if match {
				for _, d := range r.To {
					if d.Percent > 0 {
						out[d.Cluster.Name] += d.Percent
					}
				}
				return out, r.Pos
			}
		}
	}
	for _, pl := range s.Placements {
		if pl.Percent > 0 {
			out[pl.Cluster.Name] += pl.Percent
		}
	}
	pos := s.Src.Pos
	if len(s.Placements) > 0 {
		pos = s.Placements[0].Pos
	}
	return out, pos
}

func (p *prover) routeCase(k *sink, s *ir.Service, src *Source, port *ir.Port, req Request, r *ir.Route) {
	t := Target{Service: s, Port: port}
	got := p.a.route(src, t, req)
	want, pos := expectedLanding(s, port, req)
	gotMap := map[string]int32{}
	var problems []string
	for _, l := range got.Landings {
		if l.Failed != "" {
			problems = append(problems, l.Failed)
			continue
		}
		if l.Percent < 0 {
			problems = append(problems, fmt.Sprintf("the share of %s is left to endpoint counts", l.Cluster))
			continue
		}
		gotMap[l.Cluster] += l.Percent
	}
	for k, v := range gotMap {
		if v == 0 {
			delete(gotMap, k)
		}
	}
	if len(problems) == 0 && maps.Equal(gotMap, want) {
		if s.Split == ir.SplitWeighted && got.Failover || s.Split == ir.SplitLocality && len(want) > 1 && !got.Failover {
			problems = append(problems, fmt.Sprintf("failover is %t, the intent's split %s says %t", got.Failover, s.Split, !got.Failover))
		} else {
			return
		}
	}
	what := "the default route"
	if r != nil {
		what = "route " + labelString(r.Headers)
	}
	obj := "no VirtualService"
	if got.Object != nil {
		obj = got.Object.String()
	}
	var rel []diag.Related
	if got.Object != nil {
		rel = append(rel, diag.Related{Pos: diag.Pos{File: got.Object.File, Line: got.Object.Line, Col: 1}, Message: got.Object.String()})
	}
	k.add(fmt.Sprintf("5004|%s|%s|%s|%s|%s", s.Src.Ref(), src.Cluster.Name, src.Namespace, port.Name, what), diag.CodeRoutingMismatch, pos,
		fmt.Sprintf("routing of %s/%s:%d from %s in %s (%s, %s) lands %s, the intent says %s%s",
			s.Namespace, s.Name, port.Port, src.Namespace, src.Cluster.Name, what, obj, shares(gotMap), shares(want), strings.TrimSuffix("; "+strings.Join(problems, "; "), "; ")), rel...)
}

func shares(m map[string]int32) string {
	if len(m) == 0 {
		return "nowhere"
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s %d%%", k, m[k]))
	}
	return strings.Join(parts, ", ")
}
