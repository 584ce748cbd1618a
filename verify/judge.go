package verify

import (
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/intentc/intentc/compiler/ir"
)

// sidecarPorts are the ports the sidecar injector excludes from inbound
// capture (the merged metrics of the agent and Envoy's own): neither
// AuthorizationPolicy nor PeerAuthentication ever sees them.
var sidecarPorts = map[int32]bool{15020: true, 15090: true}

// judgement is one connection judged in one landing cluster, with what
// each layer observed of it (the proof's view keys).
type judgement struct {
	layers    [5]LayerResult // indices 1..4
	l2in      Verdict
	l2out     Verdict
	k2in      string
	k2out     string
	l3dest    Verdict
	l3gw      Verdict // the ingress gateway's checkpoint (ingress sources)
	k3, k3gw  l3Key
	k4        string
	transport string
}

// l3Key is what layer 3 observes of a connection, as the proof compares
// it: the view's key and, at a port that speaks HTTP, the request's part.
// A struct and not one string, so that judging a request builds no string
// (concatenating them was a third of what the proof allocated).
type l3Key struct {
	base string
	http httpPart
}

// httpPart is what layer 3 sees of an HTTP request (on: it sees one).
type httpPart struct {
	on                 bool
	method, path, host string
	headers            string // labelString of the headers
}

func plainKey(s string) l3Key { return l3Key{base: s} }

func httpKey(base, method, path, host string, headers map[string]string) l3Key {
	k := l3Key{base: base, http: httpPart{on: true, method: method, path: path, host: host}}
	if len(headers) > 0 {
		k.http.headers = labelString(headers)
	}
	return k
}

// side is the calling end as the platforms see it.
type side struct {
	cluster   *ir.Cluster // where the calling pod runs (nil for an address)
	pod       *l2Pod
	principal string
	clientNS  string
}

func (a *Analyzer) sideOf(src *Source) side {
	if !a.terse {
		return a.sideOfUncached(src)
	}
	if src.terse == nil {
		sd := a.sideOfUncached(src)
		src.terse = &sd
	}
	return *src.terse
}

func (a *Analyzer) sideOfUncached(src *Source) side {
	switch src.Kind {
	case SourceWorkload:
		if src.pod == nil {
			src.pod = &l2Pod{ns: src.Namespace, labels: src.Labels}
			src.pod.viewKey()
		}
		pod := *src.pod
		if !a.terse {
			pod.text = src.String()
		}
		return side{cluster: src.Cluster, clientNS: src.Namespace, pod: &pod,
			principal: src.Cluster.TrustDomain + "/ns/" + src.Namespace + "/sa/" + src.ServiceAccount}
	case SourceIngress:
		ig := a.model.Mesh.IngressGateway
		if src.pod == nil {
			src.pod = &l2Pod{ns: ig.Namespace, labels: ig.Selector}
			src.pod.viewKey()
		}
		pod := *src.pod
		pod.text = "the ingress gateway of " + src.Gateway.Name
		return side{cluster: src.Gateway, clientNS: ig.Namespace, pod: &pod,
			principal: src.Gateway.TrustDomain + "/ns/" + ig.Namespace + "/sa/" + ig.ServiceAccount}
	case SourceNode:
		return side{cluster: src.Cluster}
	}
	return side{}
}

type pathKind int

const (
	pathSame pathKind = iota
	pathFlat
	pathCross
	pathAddress
	pathNode
)

func pathOf(sd side, src *Source, c *ir.Cluster) pathKind {
	switch {
	case src.Kind == SourceAddress:
		return pathAddress
	case src.Kind == SourceNode:
		return pathNode
	case sd.cluster == c:
		return pathSame
	case sd.cluster.Network == c.Network:
		return pathFlat
	}
	return pathCross
}

func namedPorts(ports []*ir.Port) map[string]int32 {
	m := make(map[string]int32, len(ports))
	for _, p := range ports {
		m[p.Name] = p.TargetPort
	}
	return m
}

func addrOf(host string) (ipSet, bool) {
	if a, err := netip.ParseAddr(host); err == nil {
		return setOf(netip.PrefixFrom(a, a.BitLen())), true
	}
	return nil, false
}

func setOrNil(ps []netip.Prefix) ipSet {
	if len(ps) == 0 {
		return nil
	}
	return setOf(ps...)
}

// judge judges one connection that lands in cluster c. Layer 1 is judged
// only when withL1 is set (the proof judges it flow by flow instead).
func (a *Analyzer) judge(src *Source, t Target, c *ir.Cluster, req Request, withL1 bool) judgement {
	if t.External != nil {
		j := newJudgement()
		a.judgeExternal(&j, src, t, req)
		return j
	}
	b := a.judgeBase(src, t, c, withL1, nil)
	return a.judgeRequest(&b, req)
}

func newJudgement() judgement {
	var j judgement
	for i := 1; i <= 4; i++ {
		j.layers[i] = LayerResult{Layer: i, Verdict: NotApplicable}
	}
	j.l2in, j.l2out, j.l3dest, j.l3gw = NotApplicable, NotApplicable, NotApplicable, NotApplicable
	return j
}

// baseJudgement is a connection to a service judged as far as it does not
// depend on the request: layers 1, 2 and 4, and what layer 3 needs. The
// proof judges every request a port's policies tell apart from each
// source, so that part is judged once per source, port and cluster
// instead of once per request.
type baseJudgement struct {
	j        judgement
	complete bool // layer 3 does not look at this connection
	src      *Source
	t        Target
	c        *ir.Cluster
	w        l3Workload
	r3       l3Req // without the request's method, path, host and headers
	host     string
	k3       string // j.k3 but for the request's part
	gw       l3Workload
	gwReq    l3Req // at the ingress gateway, for an ingress source
	k3gw     string
	// The clusters' views and the policies that apply to the workload and
	// the gateway, looked up once.
	view, gwView *clusterView
	pols, gwPols []*authzPolicy
	// Their rules' sources matched (fromMatches): who sends does not
	// change from request to request.
	from, gwFrom []tri
}

// judgeBase judges a connection to a service (t.Service != nil) but for
// layer 3, which judgeRequest adds.
func (a *Analyzer) judgeBase(src *Source, t Target, c *ir.Cluster, withL1 bool, memo *judgeMemo) (b baseJudgement) {
	j := newJudgement()
	b = baseJudgement{src: src, t: t, c: c}
	defer func() {
		// Requests share what the base holds: a later append must not
		// write into another request's decisions.
		for i := range b.j.layers {
			b.j.layers[i].Decisions = slices.Clip(b.j.layers[i].Decisions)
		}
	}()
	s := t.Service
	dv := a.clusters[c.Name]
	sd := a.sideOf(src)
	path := pathOf(sd, src, c)
	T := t.Port.TargetPort
	destPodRef := a.podOf(s)
	destPod := *destPodRef
	ew := c.EastWest

	// Layer 2: the caller's egress (and the east-west gateway's, on a
	// cross-network path), then the destination's ingress.
	var inPeer l2Peer
	switch path {
	case pathSame:
		inPeer = l2Peer{pod: sd.pod, text: sd.pod.text}
	case pathFlat:
		inPeer = addressPeer(a.commonKeyed(sd.cluster, c), a.cat(sd.cluster.Name, "'s pod addresses"))
	case pathCross:
		if ew != nil {
			inPeer = l2Peer{pod: dv.ewPod, text: a.cat(c.Name, "'s east-west gateway pods")}
		}
	case pathAddress:
		ks := a.srcAddr(src)
		inPeer = l2Peer{addr: ks.set, k: "addr:" + ks.str}
		if !a.terse {
			inPeer.text = src.Addr.String()
		}
	case pathNode:
		inPeer = l2Peer{node: true, text: "the node"}
	}
	l2 := &j.layers[2]
	if path == pathCross && ew == nil {
		l2.Verdict, j.l2in, j.k2in = Denied, Denied, "unreachable"
		l2.Note = c.Name + " declares no east-west gateway, so nothing from another network reaches it"
		b.j, b.complete = j, true
		return b
	}
	peerKey := inPeer.key()
	inV, inD := a.l2Judge(memo, dv, destPod, inPeer, peerKey, true, T, destPod.named, s)
	if inV == Denied && inPeer.anyAddr {
		// A caller whose addresses the intent does not declare: layer 2
		// cannot be judged for it (the compiler warns, IC2044).
		inV = Unknown
		inD = append(inD, Decision{Rule: -1, Direction: "ingress", Effect: "unknown", Text: inPeer.text + " are not declared, so no ipBlock can be judged to admit them"})
	}
	if path == pathAddress {
		// An address inside another cluster's pod range on this network
		// is, to a NetworkPolicy, one of that cluster's pods.
		for _, x := range a.model.Clusters {
			if x != c && x.Network == c.Network && len(x.Pods) > 0 && a.pods(x).containsAll(setOf(src.Addr)) {
				peerKey = "addr:" + a.commonKeyed(x, c).str // l2Peer{addr: a.common(x, c)}.key()
			}
		}
	}
	j.l2in = inV
	j.k2in = memo.join(keyParts(memo.buf(), "in", c.Name, destPod.key, peerKey), T)
	if us := dv.l2Unknown(s.Namespace); len(us) > 0 {
		j.l2in = Unknown
		inD = append(inD, unknownDecisions(us)...)
	}
	j.l2out = NotApplicable
	var outD []Decision
	if sd.pod != nil {
		sv := a.clusters[sd.cluster.Name]
		var outPeer l2Peer
		port := T
		var named map[string]int32
		switch path {
		case pathSame:
			outPeer, named = l2Peer{pod: destPodRef, text: destPod.text}, destPod.named
		case pathFlat:
			outPeer = addressPeer(a.commonKeyed(c, sd.cluster), a.cat(c.Name, "'s pod addresses"))
		case pathCross:
			text := a.cat(c.Name, "'s east-west gateway ", ew.Address)
			if ks, ok := a.fixed.eastWest[c]; ok {
				outPeer = l2Peer{addr: ks.set, text: text, k: "addr:" + ks.str}
			} else {
				addr, ok := a.addr(ew.Address)
				outPeer = l2Peer{addr: addr, anyAddr: !ok, text: text}
			}
			port = ew.Port
		}
		var v Verdict
		outKey := outPeer.key()
		v, outD = a.l2Judge(memo, sv, *sd.pod, outPeer, outKey, false, port, named, s)
		j.l2out = v
		j.k2out = memo.join(keyParts(memo.buf(), "out", sd.cluster.Name, sd.pod.viewKey(), outKey), port)
		if us := sv.l2Unknown(sd.pod.ns); len(us) > 0 {
			j.l2out = Unknown
			outD = append(outD, unknownDecisions(us)...)
		}
		if path == pathCross {
			gw := *dv.ewPod
			gw.text = a.cat(c.Name, "'s east-west gateway")
			hop := l2Peer{pod: destPodRef, text: destPod.text}
			hv, hd := a.l2Judge(memo, dv, gw, hop, hop.key(), false, T, destPod.named, s)
			if hv != Allowed {
				j.l2out = and(j.l2out, hv)
				outD = append(outD, hd...)
			}
		}
	}
	l2.Verdict = and(j.l2out, j.l2in)
	l2.Decisions = append(outD, inD...)

	// Layers 3 and 4 at the destination's sidecar.
	w := l3Workload{ns: s.Namespace, labels: s.Selector, td: c.TrustDomain, text: a.cat("the workload of ", s.Namespace, "/", s.Name), key: destPod.key}
	b.w = w
	if sidecarPorts[T] && !portDeclared(s, T) {
		j.layers[3].Note = a.textf("port %d is excluded from the sidecar's inbound capture: no AuthorizationPolicy sees it", T)
		j.layers[4].Note = a.textf("port %d is excluded from the sidecar's inbound capture: no PeerAuthentication applies", T)
		j.k3, j.k4 = plainKey("sidecar-port"), "sidecar-port"
		j.l3dest, j.l3gw = NotApplicable, NotApplicable
		b.complete = true
	} else {
		a.prepareL3(&b, a.judgeL4(&j, src, sd, path, s, t.Port, c, w, memo), memo)
	}
	if withL1 {
		j.layers[1] = a.judgeL1(src, c)
	}
	b.j = j
	return b
}

// judgeRequest completes a base judgement with layer 3 for one request.
func (a *Analyzer) judgeRequest(b *baseJudgement, req Request) judgement {
	j := b.j
	if !b.complete {
		a.judgeL3(&j, b, req)
	}
	return j
}

func portDeclared(s *ir.Service, target int32) bool {
	for _, p := range s.Ports {
		if p.TargetPort == target {
			return true
		}
	}
	return false
}

// judgeL4 judges layer 4 and returns the request layer 3 sees but for
// its HTTP attributes, which judgeL3 fills in.
func (a *Analyzer) judgeL4(j *judgement, src *Source, sd side, path pathKind, s *ir.Service, p *ir.Port, c *ir.Cluster, w l3Workload, memo *judgeMemo) l3Req {
	dv := a.clusters[c.Name]
	T := p.TargetPort
	// How the client sends: its sidecar's DestinationRule decides; an
	// address peer speaks what it speaks.
	transport := "ISTIO_MUTUAL"
	var tlsDec *Decision
	switch src.Kind {
	case SourceWorkload, SourceIngress:
		transport, tlsDec = a.clusters[sd.cluster.Name].clientTLS(a, sd.clientNS, a.hostOf(s), s.Namespace, p.Port)
	case SourceAddress:
		if src.Plaintext {
			transport = "DISABLE"
		}
	case SourceNode:
		transport = "DISABLE"
	}
	j.transport = transport
	principal := sd.principal
	if transport != "ISTIO_MUTUAL" {
		principal = ""
	}
	var ip keyedSet
	switch path {
	case pathSame, pathFlat:
		ip = a.podAddrsKeyed(sd.cluster)
	case pathCross:
		ip = a.podAddrsKeyed(c) // the east-west gateway pod's address
	case pathAddress:
		ip = a.srcAddr(src)
	case pathNode:
		ip = keyedSet{set: setOrNil(c.Nodes)}
	}
	r3 := l3Req{principal: principal, srcIP: ip.set, remoteIP: ip.set, ips: ip.str, port: T, http: p.IsL7()}
	l4 := &j.layers[4]
	if src.Kind == SourceNode {
		l4.Note = "kubelet probes are rewritten by the sidecar injector to its agent"
		j.k4 = "node"
		return r3
	}
	mode, ds, note := dv.l4Mode(a, w, T)
	l4.Note = note
	k4 := strconv.AppendInt(keyParts(memo.buf(), c.Name, w.key), int64(T), 10)
	j.k4 = memo.intern(append(append(k4, '|'), transport...))
	var last Decision // the decision in effect, after the mode's
	switch {
	case transport == "ISTIO_MUTUAL":
		l4.Verdict = Allowed
		if mode == "DISABLE" && tlsDec != nil && tlsDec.Effect == "istio_mutual" {
			l4.Verdict = Denied
			l4.Note = strings.TrimPrefix(l4.Note+"; the client insists on mTLS and the port disables it", "; ")
		}
		last = Decision{Rule: -1, Effect: "allow", Text: a.textf("the caller speaks Istio mTLS; the port's mode is %s", mode)}
	case transport == "DISABLE":
		switch {
		case path == pathCross:
			l4.Verdict = Denied
			last = Decision{Rule: -1, Effect: "deny", Text: a.textf("plaintext cannot cross the east-west gateway, which routes Istio mTLS by SNI")}
		case mode == "STRICT":
			l4.Verdict = Denied
			last = Decision{Rule: -1, Effect: "deny", Text: a.textf("the caller speaks plaintext and the port requires mTLS (STRICT)")}
		default:
			l4.Verdict = Allowed
			last = Decision{Rule: -1, Effect: "allow", Text: a.textf("the port accepts plaintext (%s)", mode)}
		}
	default:
		l4.Verdict = Unknown
		last = Decision{Rule: -1, Effect: "unknown", Text: a.textf("the client originates %s TLS with its own certificates; whether the server's sidecar accepts it depends on them", transport)}
	}
	if !a.terse {
		// A terse judgement's decisions are never read: the proof judges
		// again, in full, the connections it reports.
		if tlsDec != nil {
			l4.Decisions = append(l4.Decisions, *tlsDec)
		}
		l4.Decisions = append(append(l4.Decisions, ds...), last)
	}
	return r3
}

// judgeL3 judges layer 3 for one request, at the destination's sidecar
// and, for an ingress source, at the ingress gateway.
func (a *Analyzer) judgeL3(j *judgement, b *baseJudgement, req Request) {
	r3 := b.r3
	j.k3 = plainKey(b.k3)
	if r3.http {
		r3.method, r3.path, r3.host, r3.headers = req.Method, req.Path, cmpOr(req.Host, b.host), req.Headers
		j.k3 = httpKey(b.k3, r3.method, r3.path, r3.host, r3.headers)
	}
	l3 := &j.layers[3]
	if a.terse {
		l3.Verdict = b.view.l3VerdictOf(a, b.pols, b.from, b.w, r3)
	} else {
		l3.Verdict, l3.Decisions, l3.Note = b.view.l3EvalFull(a, b.w, r3)
	}
	j.l3dest, j.l3gw = l3.Verdict, NotApplicable
	if b.src.Kind == SourceIngress {
		greq := b.gwReq
		greq.method, greq.path, greq.host, greq.headers = cmpOr(req.Method, "GET"), cmpOr(req.Path, "/"), cmpOr(b.src.Host, b.host), req.Headers
		var gV Verdict
		var gD []Decision
		var gN string
		if a.terse {
			gV = b.gwView.l3VerdictOf(a, b.gwPols, b.gwFrom, b.gw, greq)
		} else {
			gV, gD, gN = b.gwView.l3EvalFull(a, b.gw, greq)
		}
		for i := range gD {
			gD[i].Text = "at the ingress gateway of " + b.src.Gateway.Name + ": " + gD[i].Text
		}
		j.l3gw, j.k3gw = gV, httpKey(b.k3gw, greq.method, greq.path, greq.host, greq.headers)
		l3.Verdict = and(gV, l3.Verdict)
		l3.Decisions = append(gD, l3.Decisions...)
		if gN != "" {
			l3.Note = strings.TrimPrefix(l3.Note+"; "+gN, "; ")
		}
	}
}

// prepareL3 keeps in a base judgement what judgeL3 needs from it, with
// the view keys but for the request's part.
func (a *Analyzer) prepareL3(b *baseJudgement, r3 l3Req, memo *judgeMemo) {
	s := b.t.Service
	b.r3, b.host = r3, a.hostOf(s)
	b.view = a.clusters[b.c.Name]
	b.pols, _ = b.view.applicable(a, b.w)
	if a.terse {
		b.from = fromMatches(b.pols, r3, b.w.td)
	}
	r3.http = false
	b.k3 = memo.intern(r3.appendViewKey(keyParts(memo.buf(), b.c.Name, b.w.key)))
	if b.src.Kind == SourceIngress {
		g := a.gwSideOf(b.src)
		b.gw, b.gwView, b.gwPols, b.gwReq, b.k3gw, b.gwFrom = g.w, g.view, g.pols, g.req, g.k3, g.from
	}
}

// gwSide is an ingress source at its gateway: none of it depends on the
// destination, its cluster or its port, so a terse analyzer keeps it on
// the source.
type gwSide struct {
	w    l3Workload
	view *clusterView
	pols []*authzPolicy
	req  l3Req
	k3   string
	from []tri // terse only
}

func (a *Analyzer) gwSideOf(src *Source) *gwSide {
	if src.gw != nil {
		return src.gw
	}
	ig := a.model.Mesh.IngressGateway
	g := &gwSide{w: l3Workload{ns: ig.Namespace, labels: ig.Selector, td: src.Gateway.TrustDomain, text: "the ingress gateway of " + src.Gateway.Name}}
	g.view = a.clusters[src.Gateway.Name]
	g.pols, _ = g.view.applicable(a, g.w)
	port := int32(80)
	if len(ig.Ports) > 0 {
		port = ig.Ports[0]
	}
	client := a.srcAddr(src)
	g.req = l3Req{srcIP: client.set, remoteIP: client.set, ips: client.str, port: port}
	g.k3 = "gw|" + src.Gateway.Name + "|" + g.req.key()
	g.req.http = true
	if a.terse {
		g.from = fromMatches(g.pols, g.req, g.w.td)
		src.gw = g
	}
	return g
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func (a *Analyzer) judgeL1(src *Source, c *ir.Cluster) LayerResult {
	r := LayerResult{Layer: 1, Verdict: NotApplicable}
	if c.Platform != "openstack" || c.OpenStack == nil {
		r.Note = c.Name + " is not an OpenStack cluster: no security group on the path"
		return r
	}
	flows, why := a.l1Flows(src, c)
	if why != "" {
		r.Verdict, r.Note = Unknown, why
		return r
	}
	r.Verdict, r.Decisions, r.Note = a.l1Judge(c, flows)
	return r
}

// judgeExternal judges a call to an ExternalService: only the caller's
// egress stands between them (the destination has no sidecar, and
// Neutron's default rules let every node send).
func (a *Analyzer) judgeExternal(j *judgement, src *Source, t Target, req Request) {
	e := t.External
	sd := a.sideOf(src)
	j.layers[1].Note = "egress from the nodes: Neutron's default egress rules allow it"
	j.layers[3].Note = "the destination is outside the mesh: no sidecar authorizes it"
	j.layers[4].Note = "the destination is outside the mesh"
	if sd.pod == nil {
		j.layers[2].Note = "the caller is not a pod of a cluster"
		return
	}
	sv := a.clusters[sd.cluster.Name]
	peer := l2Peer{addr: setOrNil(e.CIDRs), anyAddr: len(e.CIDRs) == 0, text: e.Namespace + "/" + e.Name}
	if len(e.CIDRs) == 0 {
		peer.text += " (host names only: layer 2 cannot know its addresses)"
	}
	v, ds := sv.l2Direction(a, *sd.pod, peer, false, "TCP", t.Port.Port, nil)
	if us := sv.l2Unknown(sd.pod.ns); len(us) > 0 {
		v = Unknown
		ds = append(ds, unknownDecisions(us)...)
	}
	j.l2out, j.l2in = v, NotApplicable
	j.k2out = "out|" + sd.cluster.Name + "|" + sd.pod.ns + "/" + labelString(sd.pod.labels) + "|" + peer.key() + "|" + strconv.Itoa(int(t.Port.Port))
	j.layers[2].Verdict, j.layers[2].Decisions = v, ds
	_ = req
}

// commonFamilies is the part of a's ranges in the address families b also
// has (all of a when b declares none): a pod only talks to addresses of
// its own families.
func commonFamilies(a, b []netip.Prefix) ipSet {
	if len(b) == 0 {
		return setOrNil(a)
	}
	var out ipSet
	for _, is4 := range []bool{true, false} {
		if slices.ContainsFunc(b, func(p netip.Prefix) bool { return p.Addr().Is4() == is4 }) {
			out = append(out, familyOf(setOf(a...), is4)...)
		}
	}
	return setOf(rangesToPrefixes(out)...)
}

func rangesToPrefixes(s ipSet) []netip.Prefix {
	var out []netip.Prefix
	for _, r := range s {
		// Split a range into the prefixes that tile it.
		lo := r.lo
		for {
			bits := lo.BitLen()
			for bits > 0 {
				p := netip.PrefixFrom(lo, bits-1).Masked()
				if p.Addr() != lo || lastAddr(p).Compare(r.hi) > 0 {
					break
				}
				bits--
			}
			p := netip.PrefixFrom(lo, bits)
			out = append(out, p)
			last := lastAddr(p)
			if last.Compare(r.hi) >= 0 {
				break
			}
			lo = last.Next()
		}
	}
	return out
}

// unknownPod stands for the address of a pod of a cluster that declares no
// pod ranges: an address in none of the ranges an intent names for its
// address sources (class E, never assigned), which only a block of every
// address contains.
var unknownPod = setOf(netip.MustParsePrefix("240.0.0.1/32"))

func (a *Analyzer) podAddrs(c *ir.Cluster) ipSet {
	if len(c.Pods) == 0 {
		return unknownPod
	}
	return a.pods(c)
}

// srcAddr is setOf(src.Addr) with its text, kept on the source by a
// terse analyzer (a source is proven on one goroutine, like its side).
func (a *Analyzer) srcAddr(src *Source) keyedSet {
	if src.addr != nil {
		return *src.addr
	}
	ks := keyed(setOf(src.Addr))
	if a.terse {
		src.addr = &ks
	}
	return ks
}

// podAddrsKeyed and commonKeyed are podAddrs and common with their text.
func (a *Analyzer) podAddrsKeyed(c *ir.Cluster) keyedSet {
	if s, ok := a.fixed.pods[c]; ok {
		return s
	}
	return keyed(a.podAddrs(c))
}

func (a *Analyzer) commonKeyed(x, y *ir.Cluster) keyedSet {
	if s, ok := a.fixed.common[[2]*ir.Cluster{x, y}]; ok {
		return s
	}
	return keyed(a.common(x, y))
}

// pods, common and addr memoise address sets every connection asks for.
func (a *Analyzer) pods(c *ir.Cluster) ipSet {
	return a.memoSet("pods|"+c.Name, func() ipSet { return setOrNil(c.Pods) })
}

func (a *Analyzer) common(x, y *ir.Cluster) ipSet {
	return a.memoSet("common|"+x.Name+"|"+y.Name, func() ipSet { return commonFamilies(x.Pods, y.Pods) })
}

func (a *Analyzer) addr(host string) (ipSet, bool) {
	s := a.memoSet("addr|"+host, func() ipSet {
		if s, ok := addrOf(host); ok {
			return s
		}
		return ipSet{}
	})
	return s, len(s) > 0
}

func (a *Analyzer) memoSet(key string, f func() ipSet) ipSet {
	a.cache.mu.Lock()
	s, ok := a.cache.sets[key]
	a.cache.mu.Unlock()
	if ok {
		return s
	}
	s = f()
	a.cache.mu.Lock()
	a.cache.sets[key] = s
	a.cache.mu.Unlock()
	return s
}

// l2Key is what decides a layer-2 verdict: the cluster, the direction,
// the pod (l2Pod.viewKey), the other end (l2Peer.key), the port and the
// service whose named ports it resolves against (nil: none).
type l2Key struct {
	view      *clusterView
	ingress   bool
	pod, peer string
	port      int32
	named     *ir.Service
}

// judgeMemo is what the proof of one destination remembers while it
// judges (a worker's, so without a lock; reset for the next, so that it
// stays small: over a whole fleet almost every key is new): the layer-2
// verdicts, and the view keys. A destination's judgements mostly repeat a
// view key an earlier one built (about half of them at layers 2 and 3,
// nineteen in twenty at layer 4), and building each anew was a sixth of
// what the proof allocated. A nil memo remembers nothing.
type judgeMemo struct {
	l2      map[l2Key]Verdict
	keys    map[string]string
	scratch []byte
}

func newJudgeMemo() *judgeMemo {
	return &judgeMemo{l2: map[l2Key]Verdict{}, keys: map[string]string{}}
}

func (m *judgeMemo) reset() {
	clear(m.l2)
	clear(m.keys)
}

// buf returns an empty buffer to build a key in.
func (m *judgeMemo) buf() []byte {
	if m == nil {
		return make([]byte, 0, 96)
	}
	return m.scratch[:0]
}

// intern returns the key built in b (from buf) as a string, the same
// string for the same key.
func (m *judgeMemo) intern(b []byte) string {
	if m == nil {
		return string(b)
	}
	m.scratch = b[:0]                   // grown, for the next key
	if k, ok := m.keys[string(b)]; ok { // no allocation for the look-up
		return k
	}
	k := string(b)
	m.keys[k] = k
	return k
}

// keyParts appends each part to b, followed by "|".
func keyParts(b []byte, parts ...string) []byte {
	for _, p := range parts {
		b = append(append(b, p...), '|')
	}
	return b
}

// join is intern with a port number appended.
func (m *judgeMemo) join(b []byte, port int32) string {
	return m.intern(strconv.AppendInt(b, int64(port), 10))
}

// l2Judge is v.l2Direction over TCP, port names resolved by names, the
// named ports of service of (nil names: none). Judging tersely with a
// memo, it remembers verdicts by l2Key: a destination's pods see the same
// east-west gateway, the same pod range, the same anonymous workload for
// every source of that kind, and the proof asks for each.
func (a *Analyzer) l2Judge(memo *judgeMemo, v *clusterView, pod l2Pod, peer l2Peer, peerKey string, ingress bool, port int32, names map[string]int32, of *ir.Service) (Verdict, []Decision) {
	if !a.terse || memo == nil || peer.anyAddr {
		return v.l2Direction(a, pod, peer, ingress, "TCP", port, names)
	}
	k := l2Key{view: v, ingress: ingress, pod: pod.viewKey(), peer: peerKey, port: port}
	if names != nil {
		k.named = of
	}
	if verdict, ok := memo.l2[k]; ok {
		return verdict, nil
	}
	verdict, _ := v.l2Direction(a, pod, peer, ingress, "TCP", port, names)
	memo.l2[k] = verdict
	return verdict, nil
}

// podOf is a service's pods as layer 2 sees them (memoised: every
// connection to the service asks), shared: the caller must not modify
// them (a judgement points at them rather than copying them to the heap).
func (a *Analyzer) podOf(s *ir.Service) *l2Pod {
	if p, ok := a.fixed.svcPods[s]; ok {
		return p
	}
	a.cache.mu.Lock()
	defer a.cache.mu.Unlock()
	if p, ok := a.cache.pods[s]; ok {
		return p
	}
	p := &l2Pod{ns: s.Namespace, labels: s.Selector, named: namedPorts(s.Ports), text: "the pods of " + s.Namespace + "/" + s.Name}
	p.viewKey()
	a.cache.pods[s] = p
	return p
}
