package istio

import (
	"slices"
	"strconv"
	"strings"

	apisec "istio.io/api/security/v1"

	"github.com/intentc/intentc/compiler/diag"
	"github.com/intentc/intentc/compiler/ir"
)

// gatewayScope is what one allow AccessPolicy admits through the ingress
// gateway of one cluster on one host: its address ranges (nil: anyone) and
// its HTTP conditions.
type gatewayScope struct {
	policy *ir.Policy
	peer   *ir.Peer // the first source naming the host, for positions
	host   string
	ranges []string
}

// ingressGateway returns, per cluster whose ingress gateway receives a
// via: ingressGateway source narrower than the internet, the gateway's DENY
// that enforces the ranges by host. The destination only ever sees the
// gateway's identity, so the gateway is the one place that can tell the
// ranges apart.
func ingressGateway(m *ir.Model) ([]ir.Object, diag.List) {
	var diags diag.List
	// A DENY rule on the gateway must name the ports its pods listen on: on a
	// TCP listener Istio drops the HTTP-only hosts and paths from a DENY rule
	// and keeps the rest, so a rule without ports would turn away every
	// connection from outside the ranges on every route of the gateway,
	// routes intentc knows nothing about.
	var ports []string
	for _, p := range m.Mesh.IngressGateway.Ports {
		ports = append(ports, strconv.Itoa(int(p)))
	}
	gw := m.Mesh.IngressGateway
	for _, p := range m.Policies {
		for _, peer := range p.From {
			if !restricted(peer) {
				continue
			}
			for _, h := range peer.Hosts {
				if strings.HasPrefix(h, "*") {
					// The gateway's route for a host also answers "host:port",
					// so a DENY must name both; Istio matches a value by prefix
					// or by suffix, never both, so "*.example.com:*" cannot be
					// written and a client adding a port would slip past.
					diags.Add(diag.CodeIngressRestriction, peer.Pos,
						"%s via ingressGateway: the gateway cannot restrict the wildcard host %q by address, because a request for %q with a port in its Host header would not match the rule; list the host names", peer.CIDR, h, h)
				}
			}
		}
	}
	if m.Mesh.NeverManaged(gw.Namespace) {
		return nil, diags // resolve reports restricted sources there (IC2039)
	}
	var out []ir.Object
	reported := map[[3]string]bool{}
	for _, c := range m.Clusters {
		var rules []*apisec.Rule
		var scopes []gatewayScope
		var srcs []ir.Source
		for _, p := range m.Policies {
			if p.Service == nil {
				continue
			}
			var rs []*apisec.Rule
			var sc []gatewayScope
			if p.Action == ir.ActionAllow {
				rs, sc = gatewayAllowRules(p, c, ports)
				scopes = append(scopes, sc...)
			} else {
				rs = gatewayDenyRules(p, c, ports)
			}
			if len(rs) > 0 {
				rules = append(rules, rs...)
				srcs = append(srcs, p.Src, p.Service.Src)
			}
		}
		gatewayConflicts(scopes, reported, &diags)
		if len(rules) == 0 {
			continue
		}
		if m.Mesh.Src.Kind != "" {
			srcs = append(srcs, m.Mesh.Src)
		}
		ap := authorizationPolicy(IngressSourceRanges, gw.Namespace)
		ap.Spec.Selector = selector(gw.Selector)
		ap.Spec.Action = apisec.AuthorizationPolicy_DENY
		ap.Spec.Rules = rules
		out = append(out, ir.Object{Cluster: c.Name, Body: ap, Sources: srcs})
	}
	return out, diags
}

// gatewayHosts returns the host values of a DENY rule: each host also as
// "host:*", since Istio's routes answer a Host header with a port too and an
// exact match would let such a request through. Wildcard hosts are reported
// (they cannot be written so) and left out.
func gatewayHosts(hosts []string) []string {
	var out []string
	for _, h := range hosts {
		if !strings.HasPrefix(h, "*") {
			out = append(out, h, h+":*")
		}
	}
	return out
}

// anyHost is the scope of a source open to anyone on every host of its
// service: the gateway routes hosts intentc does not know to it.
const anyHost = "*"

// gatewayAllowRules returns the DENY rules that keep p's restricted sources in
// their ranges on the gateway of c: per host, requests within p's HTTP
// conditions from outside every range p admits there. Sources of one policy
// add up; a source open to anyone lifts the restriction of its hosts, and of
// every host when it names none.
func gatewayAllowRules(p *ir.Policy, c *ir.Cluster, ports []string) ([]*apisec.Rule, []gatewayScope) {
	ranges := map[string][]string{}
	first := map[string]*ir.Peer{}
	open := map[string]bool{}
	var hosts []string
	for _, peer := range p.From {
		if peer.Kind != ir.PeerCIDR || peer.Via != ir.ViaIngressGateway || !slices.Contains(peer.Clusters, c) {
			continue
		}
		if peer.IsWorld() && len(peer.Hosts) == 0 {
			// Open on every host the service answers to: no rule, and a
			// scope that conflicts with another policy's range for the
			// same service (gatewayConflicts), which the DENY for that
			// range would otherwise silently turn away.
			return nil, []gatewayScope{{policy: p, peer: peer, host: anyHost}}
		}
		for _, h := range peer.Hosts {
			if first[h] == nil {
				first[h] = peer
				hosts = append(hosts, h)
			}
			if peer.IsWorld() {
				open[h] = true
			} else {
				ranges[h] = append(ranges[h], peer.CIDR.String())
			}
		}
	}
	slices.Sort(hosts)
	var scopes []gatewayScope
	byRanges := map[string][]string{}
	var keys []string
	for _, h := range hosts {
		if open[h] {
			scopes = append(scopes, gatewayScope{policy: p, peer: first[h], host: h})
			continue
		}
		rs := ranges[h]
		slices.Sort(rs)
		rs = slices.Compact(rs)
		scopes = append(scopes, gatewayScope{policy: p, peer: first[h], host: h, ranges: rs})
		key := strings.Join(rs, ",")
		if _, ok := byRanges[key]; !ok {
			keys = append(keys, key)
		}
		byRanges[key] = append(byRanges[key], h)
	}
	slices.Sort(keys)
	var rules []*apisec.Rule
	for _, key := range keys {
		hs := gatewayHosts(byRanges[key])
		if len(hs) == 0 {
			continue
		}
		rules = append(rules, &apisec.Rule{
			From: []*apisec.Rule_From{{Source: &apisec.Source{NotRemoteIpBlocks: strings.Split(key, ",")}}},
			To:   []*apisec.Rule_To{{Operation: gatewayOperation(p, hs, ports)}},
		})
	}
	return rules, scopes
}

// gatewayDenyRules returns the DENY rules for a deny policy's restricted
// sources on the gateway of c: the range, on its hosts, within the policy's
// HTTP conditions.
func gatewayDenyRules(p *ir.Policy, c *ir.Cluster, ports []string) []*apisec.Rule {
	var rules []*apisec.Rule
	for _, peer := range p.From {
		if !restricted(peer) || !slices.Contains(peer.Clusters, c) {
			continue
		}
		hs := gatewayHosts(slices.Sorted(slices.Values(peer.Hosts)))
		if len(hs) == 0 {
			continue
		}
		rules = append(rules, &apisec.Rule{
			From: []*apisec.Rule_From{{Source: &apisec.Source{RemoteIpBlocks: []string{peer.CIDR.String()}}}},
			To:   []*apisec.Rule_To{{Operation: gatewayOperation(p, hs, ports)}},
		})
	}
	return rules
}

// gatewayOperation scopes a gateway DENY rule to the hosts, the gateway's
// HTTP ports and the policy's HTTP conditions. The destination's ports mean
// nothing on the gateway.
func gatewayOperation(p *ir.Policy, hosts, ports []string) *apisec.Operation {
	return &apisec.Operation{Hosts: hosts, Ports: slices.Clone(ports), Methods: slices.Clone(p.Methods), Paths: slices.Clone(p.Paths)}
}

// gatewayConflicts reports two allow policies that admit different ranges
// through the gateway on a host they share, for requests both match. Every
// DENY rule on the gateway applies to every request, so each policy's rule
// would shut out the other's ranges: the gateway sees the host, not the
// destination behind it, and cannot keep them apart.
func gatewayConflicts(scopes []gatewayScope, reported map[[3]string]bool, diags *diag.List) {
	for j, b := range scopes {
		for _, a := range scopes[:j] {
			if (a.host == anyHost || b.host == anyHost) && a.policy.Service != b.policy.Service {
				continue // the hosts of a service are the ones its routes name
			}
			if a.policy == b.policy || !hostsOverlap(a.host, b.host) || slices.Equal(a.ranges, b.ranges) ||
				!overlap(a.policy.Methods, b.policy.Methods, func(x, y string) bool { return x == y }) ||
				!overlap(a.policy.Paths, b.policy.Paths, pathsOverlap) {
				continue
			}
			key := [3]string{a.policy.Src.Ref(), b.policy.Src.Ref(), a.host + " " + b.host}
			if reported[key] {
				continue
			}
			reported[key] = true
			host, aHost := b.host, a.host
			if host == anyHost {
				host = a.host
			}
			if aHost == anyHost {
				aHost = "every host of " + a.policy.Service.Namespace + "/" + a.policy.Service.Name
			}
			diags.Add(diag.CodeIngressRestriction, b.peer.Pos,
				"%s and %s admit different address ranges through the ingress gateway on host %s; the gateway sees the host, not the destination, so each one's range would shut out the other's; give them distinct hosts or the same ranges",
				b.policy.Src.Ref(), a.policy.Src.Ref(), host).
				WithRelated(a.peer.Pos, "%s names %s here", a.policy.Src.Ref(), aHost)
		}
	}
}

// overlap reports whether two condition lists can match one request; an
// empty list matches everything.
func overlap(a, b []string, eq func(x, y string) bool) bool {
	if len(a) == 0 || len(b) == 0 {
		return true
	}
	for _, x := range a {
		for _, y := range b {
			if eq(x, y) {
				return true
			}
		}
	}
	return false
}

// pathsOverlap reports whether two Istio path values (exact, "prefix*",
// "*suffix" or "*") can match one path. Prefix against suffix is assumed to
// overlap: it almost always can.
func pathsOverlap(a, b string) bool {
	if a == "*" || b == "*" {
		return true
	}
	pa, pb := strings.HasSuffix(a, "*"), strings.HasSuffix(b, "*")
	sa, sb := strings.HasPrefix(a, "*"), strings.HasPrefix(b, "*")
	switch {
	case pa && pb:
		x, y := strings.TrimSuffix(a, "*"), strings.TrimSuffix(b, "*")
		return strings.HasPrefix(x, y) || strings.HasPrefix(y, x)
	case sa && sb:
		x, y := strings.TrimPrefix(a, "*"), strings.TrimPrefix(b, "*")
		return strings.HasSuffix(x, y) || strings.HasSuffix(y, x)
	case pa && !sb:
		return strings.HasPrefix(b, strings.TrimSuffix(a, "*"))
	case pb && !sa:
		return strings.HasPrefix(a, strings.TrimSuffix(b, "*"))
	case sa && !pb:
		return strings.HasSuffix(b, strings.TrimPrefix(a, "*"))
	case sb && !pa:
		return strings.HasSuffix(a, strings.TrimPrefix(b, "*"))
	case pa || pb:
		return true // a prefix against a suffix
	}
	return a == b
}

// hostsOverlap reports whether two host names (either may be "*.domain") can
// name one host.
func hostsOverlap(a, b string) bool {
	a, b = strings.ToLower(a), strings.ToLower(b)
	switch {
	case a == b:
		return true
	case strings.HasPrefix(a, "*"):
		return strings.HasSuffix(b, a[1:])
	case strings.HasPrefix(b, "*"):
		return strings.HasSuffix(a, b[1:])
	}
	return false
}
