package kube

import (
	"maps"
	"net/netip"
	"slices"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/intentc/intentc/compiler/diag"
	"github.com/intentc/intentc/compiler/ir"
)

// srcKind is what layer 2 in the destination's cluster sees of a caller.
type srcKind int

const (
	srcPods    srcKind = iota // pods of the destination's cluster, by namespace and labels
	srcRange                  // an address range: a direct CIDR, or a flat-network cluster's pods
	srcGateway                // the destination cluster's east-west gateway pods
	srcRouter                 // OpenShift's router
)

// source is one `from` entry of an ingress policy while denies are
// subtracted from it.
type source struct {
	kind   srcKind
	ns     string
	labels map[string]string   // srcPods, srcGateway: nil selects every pod of ns
	notIn  map[string][]string // srcPods: label values subtracted by denies
	cidr   netip.Prefix        // srcRange
	except []netip.Prefix      // srcRange: ranges subtracted by denies
	peer   *ir.Peer            // the allow's source it came from
	gone   bool                // a deny covers all of it
}

func (s source) clone() source {
	s.notIn = maps.Clone(s.notIn)
	s.except = slices.Clone(s.except)
	return s
}

func (s source) flows(ports []networkingv1.NetworkPolicyPort) []flow {
	switch s.kind {
	case srcRange:
		var except []string
		slices.SortFunc(s.except, comparePrefix)
		for _, x := range s.except {
			except = append(except, x.String())
		}
		return []flow{{ipPeer(s.cidr.String(), except), ports}}
	case srcRouter:
		var out []flow
		for _, sel := range openshiftRouterSelectors {
			out = append(out, flow{networkingv1.NetworkPolicyPeer{NamespaceSelector: &metav1.LabelSelector{MatchLabels: maps.Clone(sel)}}, ports})
		}
		return out
	}
	return []flow{{namespacePeer(s.ns, labelSelector(s.labels, s.notIn)), ports}}
}

func comparePrefix(a, b netip.Prefix) int {
	if c := a.Addr().Compare(b.Addr()); c != 0 {
		return c
	}
	return a.Bits() - b.Bits()
}

// ingressName is the AuthorizationPolicy's name too (docs/security.md).
func ingressName(p *ir.Policy) string {
	if p.Service != nil && p.Namespace == p.Service.Namespace {
		return p.Name
	}
	return p.Namespace + "-" + p.Name
}

// targetPorts are the destination ports as the pod sees them: the sidecar
// (and the CNI before it) sees the target port, never the service port.
func targetPorts(p *ir.Policy) []int32 {
	var out []int32
	for _, pt := range p.Ports {
		out = append(out, pt.TargetPort)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// ingress emits the allow policy p's ingress NetworkPolicy in destination
// cluster d, with the denies layer 2 can see subtracted.
func (e *emitter) ingress(p *ir.Policy, d *ir.Cluster) {
	base := e.ingressSources(p, d)
	if len(base) == 0 {
		e.isolate(p, d, []ir.Source{p.Src})
		return // no `from` here; an empty `from` would mean "anyone"
	}
	denies := e.l4Denies(p.Service)
	// Ports that the same denies cover share one rule.
	type portGroup struct {
		denies []*ir.Policy
		ports  []int32
	}
	var groups []portGroup
	for _, t := range targetPorts(p) {
		var ds []*ir.Policy
		for _, dn := range denies {
			if slices.Contains(targetPorts(dn), t) {
				ds = append(ds, dn)
			}
		}
		i := slices.IndexFunc(groups, func(g portGroup) bool { return slices.Equal(g.denies, ds) })
		if i < 0 {
			groups = append(groups, portGroup{denies: ds})
			i = len(groups) - 1
		}
		groups[i].ports = append(groups[i].ports, t)
	}
	srcs := []ir.Source{p.Src}
	var flows []flow
	for _, g := range groups {
		ss := make([]source, len(base))
		for i, s := range base {
			ss[i] = s.clone()
		}
		for _, dn := range g.denies {
			changed := false
			for _, q := range dn.From {
				for i := range ss {
					changed = e.subtract(&ss[i], q, d, p, dn) || changed
				}
			}
			if changed && !slices.Contains(srcs, dn.Src) {
				srcs = append(srcs, dn.Src)
			}
		}
		for _, s := range ss {
			if !s.gone {
				flows = append(flows, s.flows(tcp(g.ports...))...)
			}
		}
	}
	if len(flows) == 0 {
		e.isolate(p, d, srcs)
		return // every source denied here
	}
	if !e.m.Mesh.DefaultDeny {
		// Without the namespace's baseline, this policy is what isolates
		// the pods; the declared scrapers must still reach the sidecars.
		flows = append(flows, e.scraperFlows()...)
	}
	s := p.Service
	np := networkPolicy(ingressName(p), s.Namespace, *labelSelector(s.Selector, nil), networkingv1.PolicyTypeIngress)
	np.Spec.Ingress = ingressRules(flows)
	e.add(d, np, srcs)
}

// isolate handles an allow policy none of whose sources can reach d at
// layer 2. With default deny the pods are isolated already. Without it, the
// policy still names the destination, so its pods must admit only the named
// callers — none here — rather than stay open to everyone: an ingress policy
// with no rules (bar the declared scrapers) isolates them.
func (e *emitter) isolate(p *ir.Policy, d *ir.Cluster, srcs []ir.Source) {
	if e.m.Mesh.DefaultDeny {
		return
	}
	s := p.Service
	np := networkPolicy(ingressName(p), s.Namespace, *labelSelector(s.Selector, nil), networkingv1.PolicyTypeIngress)
	np.Spec.Ingress = ingressRules(e.scraperFlows())
	e.add(d, np, srcs)
}

// l4Denies are the deny policies on s that layer 2 can act on: those without
// HTTP conditions (a deny of some methods or paths still lets the port
// through at layer 4; layer 3 enforces it).
func (e *emitter) l4Denies(s *ir.Service) []*ir.Policy {
	var out []*ir.Policy
	for _, dn := range e.m.PoliciesTo(s) {
		if dn.Action == ir.ActionDeny && len(dn.Methods) == 0 && len(dn.Paths) == 0 {
			out = append(out, dn)
		}
	}
	return out
}

// ingressSources is what layer 2 in d sees of each of p's sources.
func (e *emitter) ingressSources(p *ir.Policy, d *ir.Cluster) []source {
	var out []source
	for _, peer := range p.From {
		switch {
		case peer.Kind == ir.PeerCIDR && peer.Via == ir.ViaDirect:
			// Addresses keep their meaning only on their own network.
			if slices.Contains(peer.Clusters, d) && (peer.Network == "" || peer.Network == d.Network) {
				out = append(out, source{kind: srcRange, cidr: peer.CIDR, peer: peer})
			}
		case peer.Kind == ir.PeerCIDR:
			// Through the ingress gateway, the gateway pods are the caller.
			ig := &e.m.Mesh.IngressGateway
			out = append(out, callerSources(peer, d, ig.Namespace, ig.Selector, false)...)
		default:
			router := peer.Kind == ir.PeerNamespace && peer.Namespace == openshiftIngressNS
			out = append(out, callerSources(peer, d, peer.Namespace, peer.PodLabels, router)...)
		}
	}
	return out
}

// callerSources is what d sees of pods (namespace ns, labels) running in
// each of the peer's clusters: the pods themselves in d, their cluster's pod
// ranges across a flat network, and d's east-west gateway across networks.
func callerSources(peer *ir.Peer, d *ir.Cluster, ns string, labels map[string]string, router bool) []source {
	var out []source
	for _, x := range peer.Clusters {
		switch {
		case x == d && router && d.Platform == "openshift":
			out = append(out, source{kind: srcRouter, ns: ns, peer: peer})
		case x == d:
			out = append(out, source{kind: srcPods, ns: ns, labels: labels, peer: peer})
		case ir.CrossMesh(x, d):
			// Another mesh reaches d only by its .global host, through d's
			// east-west gateway, even on the same network.
			if d.EastWest != nil {
				out = append(out, source{kind: srcGateway, ns: d.EastWest.Namespace, labels: d.EastWest.Selector, peer: peer})
			}
		case x.Network == d.Network:
			for _, pfx := range x.Pods {
				out = append(out, source{kind: srcRange, cidr: pfx, peer: peer})
			}
		case d.EastWest != nil:
			out = append(out, source{kind: srcGateway, ns: d.EastWest.Namespace, labels: d.EastWest.Selector, peer: peer})
		}
	}
	return out
}

// subtract removes what deny source q of dn takes away from s in cluster d,
// where layer 2 can see it, and reports whether s changed. Callers seen as
// a range of another cluster or as the east-west gateway are left to layer
// 3, which sees their identity.
func (e *emitter) subtract(s *source, q *ir.Peer, d *ir.Cluster, allow, dn *ir.Policy) bool {
	if s.gone || !slices.Contains(q.Clusters, d) {
		return false
	}
	if q.Kind == ir.PeerCIDR {
		if q.Via != ir.ViaDirect || s.kind != srcRange || (q.Network != "" && q.Network != d.Network) ||
			q.CIDR.Addr().Is4() != s.cidr.Addr().Is4() {
			return false
		}
		switch {
		case q.CIDR.Bits() <= s.cidr.Bits() && q.CIDR.Contains(s.cidr.Addr()):
			s.gone = true
			return true
		case s.cidr.Bits() < q.CIDR.Bits() && s.cidr.Contains(q.CIDR.Addr()):
			if slices.ContainsFunc(s.except, func(x netip.Prefix) bool { return x.Bits() <= q.CIDR.Bits() && x.Contains(q.CIDR.Addr()) }) {
				return false
			}
			s.except = slices.DeleteFunc(s.except, func(x netip.Prefix) bool { return q.CIDR.Bits() <= x.Bits() && q.CIDR.Contains(x.Addr()) })
			s.except = append(s.except, q.CIDR)
			return true
		}
		return false
	}
	if q.Namespace != s.ns || (s.kind != srcPods && s.kind != srcRouter) {
		return false
	}
	if q.Kind == ir.PeerWorkload && len(q.PodLabels) == 0 {
		return false // layer 2 cannot see service accounts
	}
	if q.Kind == ir.PeerNamespace {
		s.gone = true
		return true
	}
	if s.kind == srcRouter {
		e.inexpressible(q, allow, dn, "OpenShift's router is selected by its namespace's policy group, which no pod selector can narrow")
		return false
	}
	// Only the deny's labels the allowed pods do not already carry tell
	// the two apart; a label the allowed pods carry with another value, or
	// already exclude, makes them disjoint.
	var residual []string
	for _, k := range slices.Sorted(maps.Keys(q.PodLabels)) {
		v := q.PodLabels[k]
		if have, ok := s.labels[k]; ok {
			if have != v {
				return false
			}
			continue
		}
		if slices.Contains(s.notIn[k], v) {
			return false
		}
		residual = append(residual, k)
	}
	switch len(residual) {
	case 0:
		s.gone = true
	case 1:
		if s.notIn == nil {
			s.notIn = map[string][]string{}
		}
		s.notIn[residual[0]] = append(s.notIn[residual[0]], q.PodLabels[residual[0]])
	default:
		var pairs []string
		for _, k := range residual {
			pairs = append(pairs, k+"="+q.PodLabels[k])
		}
		e.inexpressible(q, allow, dn, "only the labels "+strings.Join(pairs, ", ")+" together tell it apart, and a pod selector cannot exclude a combination of labels; give the denied pods a label of their own")
		return false
	}
	return true
}

func (e *emitter) inexpressible(q *ir.Peer, allow, dn *ir.Policy, why string) {
	key := "IC3201/" + q.Pos.String() + "/" + allow.Src.Ref()
	if e.warned[key] {
		return
	}
	e.warned[key] = true
	e.keys = append(e.keys, key)
	e.diags.Add(diag.CodeDenyNotExpressibleL2, q.Pos,
		"%s denies a caller that %s allows, in pods layer 2 can see, but no NetworkPolicy can express the difference: %s",
		dn.Src.Ref(), allow.Src.Ref(), why).
		WithRelated(allow.Src.Pos, "the allow is here")
}
