package verify

import (
	"slices"

	"github.com/intentc/intentc/compiler/ir"
)

// This file is the intent's side of the proof: what the AccessPolicies
// say of a connection, read from the resolved model alone.

// intentMTLSStrict reports whether the intent requires mTLS on a port.
func intentMTLSStrict(m *ir.Model, p *ir.Port) bool {
	return m.Mesh.MTLS != "permissive" && !p.Permissive
}

func clusterIn(c *ir.Cluster, cs []*ir.Cluster) bool { return c != nil && slices.Contains(cs, c) }

// peerMatches reports whether an AccessPolicy source names src, for a
// connection landing in cluster c.
func peerMatches(m *ir.Model, p *ir.Peer, src *Source, c *ir.Cluster) bool {
	switch p.Kind {
	case ir.PeerService:
		return src.Kind == SourceWorkload && src.Namespace == p.Namespace && src.ServiceAccount == p.ServiceAccount &&
			p.Service != nil && matchLabels(p.Service.Selector, src.Labels) && clusterIn(src.Cluster, p.Clusters)
	case ir.PeerNamespace:
		return src.Kind == SourceWorkload && src.Namespace == p.Namespace && clusterIn(src.Cluster, p.Clusters)
	case ir.PeerWorkload:
		return src.Kind == SourceWorkload && src.Namespace == p.Namespace && src.ServiceAccount == p.ServiceAccount &&
			matchLabels(p.PodLabels, src.Labels) && clusterIn(src.Cluster, p.Clusters)
	case ir.PeerCIDR:
		if !p.CIDR.Contains(src.Addr.Addr()) || src.Addr.Bits() < p.CIDR.Bits() {
			return false
		}
		if p.Via == ir.ViaIngressGateway {
			return src.Kind == SourceIngress && clusterIn(src.Gateway, p.Clusters) &&
				(len(p.Hosts) == 0 || src.Host == "" || slices.Contains(p.Hosts, src.Host))
		}
		if src.Kind != SourceAddress {
			return false
		}
		net := p.Network
		if net == "" {
			net = c.Network
		}
		return c.Network == net && (src.Network == "" || src.Network == net)
	}
	return false
}

// l7Matches reports whether a request meets a policy's HTTP conditions.
func l7Matches(pol *ir.Policy, port *ir.Port, req Request) bool {
	if !port.IsL7() || (len(pol.Methods) == 0 && len(pol.Paths) == 0) {
		return true
	}
	if len(pol.Methods) > 0 && !slices.Contains(pol.Methods, req.Method) {
		return false
	}
	if len(pol.Paths) > 0 && !slices.ContainsFunc(pol.Paths, func(p string) bool { return strMatch(p, req.Path) }) {
		return false
	}
	return true
}

func policyCovers(pol *ir.Policy, t Target) bool {
	if t.Service != nil && pol.Service != t.Service || t.External != nil && pol.External != t.External {
		return false
	}
	return slices.ContainsFunc(pol.Ports, func(p *ir.Port) bool { return p == t.Port || p.Name == t.Port.Name })
}

// intentVerdict is the intent's answer for a connection landing in c: a
// matching deny wins, then a matching allow; otherwise the destination is
// closed when it is isolated (defaultDeny, or a service some allow policy
// names: the platforms isolate what a policy selects) and open if not.
// The mesh's scrapers reach the sidecar ports; a plaintext peer reaches
// only ports where the intent accepts plaintext.
// pols are the policies whose destination is t's (policiesFor).
func intentVerdict(m *ir.Model, pols []*ir.Policy, src *Source, t Target, c *ir.Cluster, req Request) (bool, *ir.Policy) {
	if t.Service != nil && sidecarPorts[t.Port.TargetPort] && !portDeclared(t.Service, t.Port.TargetPort) {
		for _, sc := range m.Mesh.Baseline.Scrapers {
			if src.Kind == SourceWorkload && src.Cluster == c && src.Namespace == sc.Namespace && matchLabels(sc.PodLabels, src.Labels) {
				return true, nil
			}
		}
		return !isolated(m, pols, t), nil
	}
	if t.Service != nil && src.Kind == SourceAddress && src.Plaintext && intentMTLSStrict(m, t.Port) {
		return false, nil
	}
	for _, pol := range pols {
		if pol.Action != ir.ActionDeny || !policyCovers(pol, t) || !l7Matches(pol, t.Port, req) {
			continue
		}
		for _, p := range pol.From {
			if peerMatches(m, p, src, c) {
				return false, pol
			}
		}
	}
	for _, pol := range pols {
		if pol.Action != ir.ActionAllow || !policyCovers(pol, t) || !l7Matches(pol, t.Port, req) {
			continue
		}
		for _, p := range pol.From {
			if peerMatches(m, p, src, c) {
				return true, pol
			}
		}
	}
	return !isolated(m, pols, t), nil
}

func isolated(m *ir.Model, pols []*ir.Policy, t Target) bool {
	if m.Mesh.DefaultDeny {
		return true
	}
	if t.External != nil {
		return false
	}
	for _, pol := range pols {
		if pol.Service == t.Service && pol.Action == ir.ActionAllow {
			return true
		}
	}
	return false
}

// policiesFor returns, per destination, the policies that name it.
func policiesFor(m *ir.Model) (map[*ir.Service][]*ir.Policy, map[*ir.External][]*ir.Policy) {
	bySvc := map[*ir.Service][]*ir.Policy{}
	byExt := map[*ir.External][]*ir.Policy{}
	for _, p := range m.Policies {
		switch {
		case p.Service != nil:
			bySvc[p.Service] = append(bySvc[p.Service], p)
		case p.External != nil:
			byExt[p.External] = append(byExt[p.External], p)
		}
	}
	return bySvc, byExt
}

// intentL2 is the intent as layer 2 can see it: sources are pods by
// namespace and labels (a service's pods are those its selector matches, a
// workload's those its podLabels match, one without podLabels is its whole
// namespace), requests are not seen (an allow with HTTP conditions admits
// the port), and a deny counts only where a NetworkPolicy can tell the
// denied pods apart: no HTTP conditions, a caller in the same cluster (or
// an address), pod labels or a namespace to select on. Egress never
// counts denies: the destination's ingress enforces them (docs/security.md);
// nor does ingress where nothing isolates the destination.
// Transport is not seen either.
func intentL2(m *ir.Model, pols []*ir.Policy, src *Source, t Target, c *ir.Cluster, egress bool) bool {
	if t.Service != nil && sidecarPorts[t.Port.TargetPort] && !portDeclared(t.Service, t.Port.TargetPort) {
		for _, sc := range m.Mesh.Baseline.Scrapers {
			if src.Kind == SourceWorkload && src.Cluster == c && src.Namespace == sc.Namespace && matchLabels(sc.PodLabels, src.Labels) {
				return true
			}
		}
		return !isolated(m, pols, t)
	}
	// Layer 2 only allows: a deny is subtracted from what an allow (or the
	// default deny's absence of one) admits, so it counts only where the
	// destination is isolated.
	if !egress && isolated(m, pols, t) {
		for _, pol := range pols {
			if pol.Action != ir.ActionDeny || !policyCovers(pol, t) || (t.Port.IsL7() && len(pol.Methods)+len(pol.Paths) > 0) {
				continue
			}
			for _, p := range pol.From {
				if l2PeerMatches(m, p, src, c, true) {
					return false
				}
			}
		}
	}
	for _, pol := range pols {
		if pol.Action != ir.ActionAllow || !policyCovers(pol, t) {
			continue
		}
		for _, p := range pol.From {
			if l2PeerMatches(m, p, src, c, false) {
				return true
			}
		}
	}
	return !isolated(m, pols, t)
}

func l2PeerMatches(m *ir.Model, p *ir.Peer, src *Source, c *ir.Cluster, deny bool) bool {
	if p.Kind == ir.PeerCIDR {
		return peerMatches(m, p, src, c)
	}
	if src.Kind != SourceWorkload || src.Namespace != p.Namespace || !clusterIn(src.Cluster, p.Clusters) {
		return false
	}
	if deny && src.Cluster != c {
		return false // seen through a range or a gateway: left to layer 3
	}
	switch p.Kind {
	case ir.PeerService:
		return p.Service != nil && matchLabels(p.Service.Selector, src.Labels)
	case ir.PeerWorkload:
		if len(p.PodLabels) == 0 {
			return !deny
		}
		return matchLabels(p.PodLabels, src.Labels)
	}
	return true // a namespace
}
