package verify

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/intentc/intentc/compiler/ir"
)

// Landing is one cluster a request can land in.
type Landing struct {
	Cluster string `json:"cluster"`
	// Percent is the share of requests; -1 when the platform decides it
	// (by endpoint count).
	Percent int32  `json:"percent"`
	Subset  string `json:"subset,omitempty"`
	// Failed says why requests sent to this share fail.
	Failed string `json:"failed,omitempty"`
}

// Routing is where a caller's requests for a service go.
type Routing struct {
	// From is the cluster whose sidecar (or gateway) routes.
	From     string    `json:"from,omitempty"`
	Object   *ObjRef   `json:"object,omitempty"`
	Route    string    `json:"route,omitempty"`
	Landings []Landing `json:"landings"`
	Failover bool      `json:"failover"`
	Notes    []string  `json:"notes,omitempty"`
	DR       *ObjRef   `json:"destinationRule,omitempty"`
	external *ObjRef
}

func vsOrder(clientNS, serviceNS string) func(a, b *virtualService) int {
	rank := func(v *virtualService) int {
		switch v.ns {
		case clientNS:
			return 0
		case serviceNS:
			return 1
		}
		return 2
	}
	return func(a, b *virtualService) int {
		if c := rank(a) - rank(b); c != 0 {
			return c
		}
		return strings.Compare(a.ref.Name, b.ref.Name)
	}
}

func matchString(m *stringMatch, v string) (bool, string) {
	switch {
	case m == nil:
		return true, ""
	case m.Exact != nil:
		return v == *m.Exact, ""
	case m.Prefix != nil:
		return strings.HasPrefix(v, *m.Prefix), ""
	case m.Regex != nil:
		re, err := regexp.Compile("^(?:" + *m.Regex + ")$")
		if err != nil {
			return false, "regex " + *m.Regex + " does not compile"
		}
		// Envoy uses RE2, as Go does.
		return re.MatchString(v), ""
	}
	return true, ""
}

// route computes where a caller's request for a service port lands.
func (a *Analyzer) route(src *Source, t Target, req Request) Routing {
	if t.External != nil {
		return a.routeExternal(src, t)
	}
	s := t.Service
	var r Routing
	all := func(note string) []Landing {
		var out []Landing
		for _, p := range s.Placements {
			if src.Kind == SourceAddress && src.Network != "" && p.Cluster.Network != src.Network {
				continue
			}
			out = append(out, Landing{Cluster: p.Cluster.Name, Percent: -1})
		}
		if note != "" {
			r.Notes = append(r.Notes, note)
		}
		return out
	}
	sd := a.sideOf(src)
	if sd.pod == nil {
		r.Landings = all("the caller has no sidecar: it reaches the pods' addresses, in the clusters on its network, without Istio routing")
		return r
	}
	cv := a.clusters[sd.cluster.Name]
	r.From = sd.cluster.Name
	host := s.Host()
	var vss []*virtualService
	for _, vs := range cv.virtSvcs[host] {
		if len(vs.spec.Gateways) > 0 && !slices.Contains(vs.spec.Gateways, "mesh") {
			continue
		}
		if exported(vs.spec.ExportTo, vs.ns, sd.clientNS) {
			vss = append(vss, vs)
		}
	}
	slices.SortFunc(vss, vsOrder(sd.clientNS, s.Namespace))
	dr := cv.visibleDR(a, sd.clientNS, host, s.Namespace)
	if dr != nil {
		r.DR = dr.ref
	}
	if len(vss) > 1 {
		r.Notes = append(r.Notes, fmt.Sprintf("%d VirtualServices for %s in %s: Istio merges them in no defined order; judged with %s", len(vss), host, sd.cluster.Name, vss[0].ref))
	}
	var dests []routeDestination
	if len(vss) == 0 {
		r.Notes = append(r.Notes, "no VirtualService for "+host+" in "+sd.cluster.Name+": the sidecar balances over every endpoint")
		r.Landings, r.Failover = a.locality(s, sd.cluster, dr, &r)
		return r
	}
	vs := vss[0]
	r.Object = vs.ref
	switch {
	case t.Port.IsL7():
		for i, hr := range vs.spec.HTTP {
			if ok, why := httpRouteMatches(hr, t.Port.Port, sd.pod.labels, req); ok {
				dests = hr.Route
				r.Route = cmpOr(hr.Name, fmt.Sprintf("http[%d]", i))
				break
			} else if why != "" {
				r.Notes = append(r.Notes, why)
			}
		}
	case t.Port.Protocol == ir.ProtoTLS:
		for i, tr := range vs.spec.TLS {
			if l4RouteMatches(tr, t.Port.Port, sd.pod.labels, host, true) {
				dests, r.Route = tr.Route, fmt.Sprintf("tls[%d]", i)
				break
			}
		}
	default:
		for i, tr := range vs.spec.TCP {
			if l4RouteMatches(tr, t.Port.Port, sd.pod.labels, host, false) {
				dests, r.Route = tr.Route, fmt.Sprintf("tcp[%d]", i)
				break
			}
		}
	}
	if r.Route == "" {
		r.Notes = append(r.Notes, vs.ref.String()+" has no route for this request: the sidecar balances over every endpoint")
		r.Landings, r.Failover = a.locality(s, sd.cluster, dr, &r)
		return r
	}
	subsetOnly := true
	for _, d := range dests {
		if fqdn(d.Destination.Host, vs.ns) != host {
			r.Notes = append(r.Notes, fmt.Sprintf("route %s sends %d%% to %s, another host", r.Route, d.Weight, d.Destination.Host))
			continue
		}
		w := d.Weight
		if w == 0 && len(dests) == 1 {
			w = 100
		}
		if d.Destination.Subset == "" {
			subsetOnly = false
			ls, fo := a.locality(s, sd.cluster, dr, &r)
			r.Failover = r.Failover || fo
			for _, l := range ls {
				if l.Percent >= 0 {
					l.Percent = l.Percent * w / 100
				}
				r.Landings = append(r.Landings, l)
			}
			continue
		}
		r.Landings = append(r.Landings, a.subsetLandings(s, sd, dr, d.Destination.Subset, w)...)
	}
	if subsetOnly {
		r.Failover = false
		if len(r.Landings) > 1 {
			r.Notes = append(r.Notes, "the shares go to subsets, and Istio never fails over between the subsets of a route")
		}
	}
	return r
}

func httpRouteMatches(hr httpRoute, port int32, labels map[string]string, req Request) (bool, string) {
	if len(hr.Match) == 0 {
		return true, ""
	}
	path := cmpOr(req.Path, "/")
	for _, m := range hr.Match {
		ok := true
		var why string
		if m.Port != 0 && m.Port != port {
			ok = false
		}
		if len(m.Gateways) > 0 && !slices.Contains(m.Gateways, "mesh") {
			ok = false
		}
		if !matchLabels(m.SourceLabels, labels) {
			ok = false
		}
		if m.URI != nil {
			hit, w := matchString(m.URI, path)
			ok, why = ok && hit, cmpOr(why, w)
		}
		if m.Method != nil {
			hit, w := matchString(m.Method, cmpOr(req.Method, "GET"))
			ok, why = ok && hit, cmpOr(why, w)
		}
		for k, hm := range m.Headers {
			v, present := req.Headers[k]
			if !present {
				for hk, hv := range req.Headers {
					if strings.EqualFold(hk, k) {
						v, present = hv, true
					}
				}
			}
			hit, w := matchString(&hm, v)
			ok, why = ok && present && hit, cmpOr(why, w)
		}
		if ok {
			return true, ""
		}
		if why != "" {
			return false, why
		}
	}
	return false, ""
}

func l4RouteMatches(tr l4Route, port int32, labels map[string]string, host string, tls bool) bool {
	if len(tr.Match) == 0 {
		return true
	}
	for _, m := range tr.Match {
		if m.Port != 0 && m.Port != port {
			continue
		}
		if !matchLabels(m.SourceLabels, labels) {
			continue
		}
		if len(m.Gateways) > 0 && !slices.Contains(m.Gateways, "mesh") {
			continue
		}
		if tls && len(m.SniHosts) > 0 && !slices.ContainsFunc(m.SniHosts, func(h string) bool { return hostMatch(h, host) }) {
			continue
		}
		return true
	}
	return false
}

// subsetLandings resolves a subset to the clusters its labels select: the
// subsets intentc emits select topology.istio.io/cluster. A landing across
// networks also needs the subset in the destination cluster, because its
// east-west gateway routes by the subset name in the SNI.
func (a *Analyzer) subsetLandings(s *ir.Service, sd side, dr *destRule, subset string, w int32) []Landing {
	if dr == nil {
		return []Landing{{Cluster: "?", Percent: w, Subset: subset, Failed: "no DestinationRule for " + s.Host() + " is visible in " + sd.cluster.Name + ", so subset " + subset + " does not exist and its requests fail"}}
	}
	var labels map[string]string
	found := false
	for _, ss := range dr.spec.Subsets {
		if ss.Name == subset {
			labels, found = ss.Labels, true
		}
	}
	if !found {
		return []Landing{{Cluster: "?", Percent: w, Subset: subset, Failed: dr.ref.String() + " in " + sd.cluster.Name + " defines no subset " + subset + ", so its requests fail"}}
	}
	var out []Landing
	id, pinned := labels[clusterLabel]
	for _, p := range s.Placements {
		c := p.Cluster
		if pinned && c.ClusterID != id {
			continue
		}
		l := Landing{Cluster: c.Name, Percent: w, Subset: subset}
		if !pinned {
			l.Percent = -1
		}
		if c.Network != sd.cluster.Network {
			if !a.clusterKnowsSubset(c, s, subset) {
				l.Failed = fmt.Sprintf("%s's east-west gateway routes by subset, and no DestinationRule in %s defines %s for %s", c.Name, c.Name, subset, s.Host())
			}
		}
		out = append(out, l)
	}
	if len(out) == 0 {
		return []Landing{{Cluster: "?", Percent: w, Subset: subset, Failed: fmt.Sprintf("subset %s selects %s=%s, a cluster where %s is not placed", subset, clusterLabel, id, s.Name)}}
	}
	if pinned && len(out) == 1 {
		return out
	}
	if !pinned {
		return out
	}
	for i := range out {
		out[i].Percent = -1
	}
	return out
}

func (a *Analyzer) clusterKnowsSubset(c *ir.Cluster, s *ir.Service, subset string) bool {
	for _, d := range a.clusters[c.Name].destRules[s.Host()] {
		for _, ss := range d.spec.Subsets {
			if ss.Name == subset {
				return true
			}
		}
	}
	return false
}

// locality is how the sidecar spreads requests over every endpoint: by
// endpoint count, or by the DestinationRule's localityLbSetting.distribute
// for the caller's locality; it fails over when outlier detection is set
// and locality load balancing is on.
func (a *Analyzer) locality(s *ir.Service, from *ir.Cluster, dr *destRule, r *Routing) ([]Landing, bool) {
	var out []Landing
	for _, p := range s.Placements {
		out = append(out, Landing{Cluster: p.Cluster.Name, Percent: -1})
	}
	if dr == nil || dr.spec.TrafficPolicy == nil {
		return out, false
	}
	tp := dr.spec.TrafficPolicy
	var lb *localityLB
	if tp.LoadBalancer != nil {
		lb = tp.LoadBalancer.LocalityLbSetting
	}
	failover := tp.OutlierDetection != nil && (lb == nil || lb.Enabled == nil || *lb.Enabled)
	if lb == nil || (lb.Enabled != nil && !*lb.Enabled) {
		return out, failover
	}
	loc := from.Region
	if from.Zone != "" {
		loc += "/" + from.Zone
	}
	for _, d := range lb.Distribute {
		if !localityMatch(d.From, loc) {
			continue
		}
		out = out[:0]
		for _, p := range s.Placements {
			pl := p.Cluster.Region
			if p.Cluster.Zone != "" {
				pl += "/" + p.Cluster.Zone
			}
			var w int32
			for to, pw := range d.To {
				if localityMatch(to, pl) {
					w += pw
				}
			}
			if w > 0 {
				out = append(out, Landing{Cluster: p.Cluster.Name, Percent: w})
			}
		}
		r.Notes = append(r.Notes, fmt.Sprintf("%s distributes requests from locality %s", dr.ref, cmpOr(loc, "(none)")))
		break
	}
	if len(lb.Failover) > 0 || len(lb.FailoverPriority) > 0 {
		failover = tp.OutlierDetection != nil
	}
	return out, failover
}

// localityMatch matches a locality pattern "region/zone/subzone" with "*"
// wildcards against a locality.
func localityMatch(pattern, loc string) bool {
	ps, ls := strings.Split(pattern, "/"), strings.Split(loc, "/")
	for i, p := range ps {
		if p == "*" {
			return true
		}
		if i >= len(ls) || ls[i] != p {
			return false
		}
	}
	return true
}

func (a *Analyzer) routeExternal(src *Source, t Target) Routing {
	e := t.External
	var r Routing
	sd := a.sideOf(src)
	if sd.pod == nil {
		r.Notes = append(r.Notes, "the caller has no sidecar")
		return r
	}
	r.From = sd.cluster.Name
	cv := a.clusters[sd.cluster.Name]
	for _, h := range e.Hosts {
		for _, se := range cv.svcEntry[strings.ToLower(h)] {
			if exported(se.spec.ExportTo, se.ns, sd.clientNS) {
				r.Object = se.ref
				r.Landings = []Landing{{Cluster: "outside the mesh (" + h + ")", Percent: 100}}
				return r
			}
		}
	}
	r.Landings = []Landing{{Cluster: "outside the mesh", Percent: 100}}
	r.Notes = append(r.Notes, "no ServiceEntry for "+strings.Join(e.Hosts, ", ")+" is visible to the caller: the sidecar passes the connection through only under outboundTrafficPolicy ALLOW_ANY")
	return r
}
