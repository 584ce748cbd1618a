package verify

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/intentc/intentc/compiler/ir"
)

// Explanation answers "can this source reach this target, and if not,
// which layer stops it?" for every cluster the caller may run in and
// every cluster its requests may land in.
type Explanation struct {
	From    string  `json:"from"`
	To      string  `json:"to"`
	Request Request `json:"request,omitzero"`
	Paths   []Path  `json:"paths"`
	Verdict Verdict `json:"verdict"`
	// Layer1 says what layer 1 was judged for: intentc's group alone, or
	// every group on the node ports (a port inventory).
	Layer1 string   `json:"layer1"`
	Notes  []string `json:"notes,omitempty"`
}

// Path is one caller (in one cluster) calling one target port.
type Path struct {
	Source   string             `json:"source"`
	Cluster  string             `json:"cluster,omitempty"`
	Target   string             `json:"target"`
	Protocol string             `json:"protocol"`
	Routing  Routing            `json:"routing"`
	Layers   []LayerSummary     `json:"layers"`
	Landings []LandingJudgement `json:"landings"`
	Verdict  Verdict            `json:"verdict"`
}

// LayerSummary is one layer's verdict over every landing cluster.
type LayerSummary struct {
	Layer   int     `json:"layer"`
	Name    string  `json:"name"`
	Verdict Verdict `json:"verdict"`
}

// LandingJudgement is every layer's verdict in one landing cluster.
type LandingJudgement struct {
	Landing
	Layers  []LayerResult `json:"layers"`
	Verdict Verdict       `json:"verdict"`
	// Intent is what the intent says of the connection, when the
	// manifests were compiled from it.
	Intent *IntentAnswer `json:"intent,omitempty"`
}

// IntentAnswer is the intent's verdict and the AccessPolicy deciding it.
type IntentAnswer struct {
	Verdict Verdict `json:"verdict"`
	Policy  string  `json:"policy,omitempty"`
}

// Explain judges every source against every target.
func (a *Analyzer) Explain(from string, sources []*Source, targets []Target, req Request, withIntent bool) *Explanation {
	x := &Explanation{From: from, Request: req}
	var tos []string
	for _, t := range targets {
		tos = append(tos, t.String())
	}
	x.To = strings.Join(slices.Compact(tos), ", ")
	verdict := Verdict("")
	bySvc, byExt := policiesFor(a.model)
	for _, src := range sources {
		for _, t := range targets {
			p := a.explainPath(src, t, req, withIntent, bySvc, byExt)
			x.Paths = append(x.Paths, p)
			verdict = combine(verdict, p.Verdict)
		}
	}
	x.Verdict = verdict
	x.Layer1 = "every security group on the node ports (port inventory)"
	if a.ports == nil {
		x.Layer1 = "intentc's security group alone"
		if slices.ContainsFunc(a.model.Clusters, func(c *ir.Cluster) bool { return c.Platform == "openstack" }) {
			x.Notes = append(x.Notes, "layer 1 is judged for intentc's security group alone: Neutron applies the union of every group on a node port; give --port-inventory (from `intentc openstack plan`) to judge them all")
		}
	}
	return x
}

// combine merges the verdicts of alternatives that all happen (landing
// clusters, source clusters): one denial denies.
func combine(a, b Verdict) Verdict {
	switch {
	case a == "":
		return b
	case a == Denied || b == Denied:
		return Denied
	case a == Unknown || b == Unknown:
		return Unknown
	case a == NotApplicable:
		return b
	case b == NotApplicable:
		return a
	}
	return Allowed
}

func (a *Analyzer) explainPath(src *Source, t Target, req Request, withIntent bool, bySvc map[*ir.Service][]*ir.Policy, byExt map[*ir.External][]*ir.Policy) Path {
	p := Path{Source: src.String(), Target: t.String(), Protocol: t.Port.Protocol}
	if src.Cluster != nil {
		p.Cluster = src.Cluster.Name
	} else if src.Gateway != nil {
		p.Cluster = src.Gateway.Name
	}
	p.Routing = a.route(src, t, req)
	landings := p.Routing.Landings
	if t.Service != nil && src.Kind == SourceAddress {
		landings = nil
		for _, pl := range t.Service.Placements {
			if src.Network == "" || pl.Cluster.Network == src.Network {
				landings = append(landings, Landing{Cluster: pl.Cluster.Name, Percent: -1})
			}
		}
		p.Routing.Landings = landings
	}
	if t.External != nil {
		cl := src.Cluster
		if cl == nil {
			cl = src.Gateway
		}
		landings = []Landing{{Cluster: cl.Name, Percent: 100}}
	}
	var layerV [5]Verdict
	for _, l := range landings {
		lj := LandingJudgement{Landing: l}
		c := a.model.Cluster(l.Cluster)
		switch {
		case l.Failed != "":
			lj.Verdict = Denied
		case c == nil:
			lj.Verdict = Unknown
		default:
			reqs := []Request{req}
			if t.Port.IsL7() && req.Method == "" && req.Path == "" && t.Service != nil {
				reqs = a.candidateRequests(t.Service, c)
			}
			var best judgement
			var chosen Request
			for i, r := range reqs {
				j := a.judge(src, t, c, r, true)
				if i == 0 || j.layers[3].Verdict == Allowed && best.layers[3].Verdict != Allowed {
					best, chosen = j, r
				}
				if j.layers[3].Verdict == Allowed {
					break
				}
			}
			if len(reqs) > 1 {
				note := "no method or path given"
				if best.layers[3].Verdict == Allowed {
					note += fmt.Sprintf(": judged for %s %s, a request the policies admit; give --method and --path to judge another", chosen.Method, chosen.Path)
				} else {
					note += fmt.Sprintf(": no request of %d tried (%s) is admitted", len(reqs), requestList(reqs))
				}
				best.layers[3].Note = strings.TrimPrefix(best.layers[3].Note+"; "+note, "; ")
			}
			v := Verdict("")
			for i := 1; i <= 4; i++ {
				lj.Layers = append(lj.Layers, best.layers[i])
				layerV[i] = combine(layerV[i], best.layers[i].Verdict)
				v = combine(v, best.layers[i].Verdict)
			}
			lj.Verdict = v
			if withIntent {
				var pols []*ir.Policy
				if t.Service != nil {
					pols = bySvc[t.Service]
				} else {
					pols = byExt[t.External]
				}
				ok, pol := intentVerdict(a.model, pols, src, t, c, chosen)
				ans := &IntentAnswer{Verdict: Denied}
				if ok {
					ans.Verdict = Allowed
				}
				if pol != nil {
					ans.Policy = pol.Src.Ref()
				}
				lj.Intent = ans
			}
		}
		p.Verdict = combine(p.Verdict, lj.Verdict)
		p.Landings = append(p.Landings, lj)
	}
	if len(landings) == 0 {
		p.Verdict = Denied
	}
	for i := 1; i <= 4; i++ {
		v := layerV[i]
		if v == "" {
			v = NotApplicable
		}
		p.Layers = append(p.Layers, LayerSummary{Layer: i, Name: layerNames[i], Verdict: v})
	}
	return p
}

func requestList(rs []Request) string {
	var parts []string
	for i, r := range rs {
		if i == 4 {
			parts = append(parts, "…")
			break
		}
		parts = append(parts, r.Method+" "+r.Path)
	}
	return strings.Join(parts, ", ")
}

// candidateRequests are requests the AuthorizationPolicies on a service's
// workload tell apart, GET / first.
func (a *Analyzer) candidateRequests(s *ir.Service, c *ir.Cluster) []Request {
	v := a.clusters[c.Name]
	methods := map[string]bool{"GET": true}
	paths := map[string]bool{"/": true}
	aps, _ := v.applicable(a, l3Workload{ns: s.Namespace, labels: s.Selector})
	for _, ap := range aps {
		for _, r := range ap.rules {
			for _, o := range r.raw.To {
				for _, m := range o.Operation.Methods {
					methods[m] = true
				}
				for _, pt := range o.Operation.Paths {
					paths[pathRep(pt)] = true
				}
			}
		}
	}
	out := []Request{{Method: "GET", Path: "/"}}
	for _, m := range slices.Sorted(maps.Keys(methods)) {
		for _, pt := range slices.Sorted(maps.Keys(paths)) {
			if m != "GET" || pt != "/" {
				out = append(out, Request{Method: m, Path: pt})
			}
		}
	}
	return out
}

// WriteJSON writes the explanation as indented JSON.
func (x *Explanation) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(x)
}

// WriteText writes the explanation for a terminal: per path, the routing,
// then one line per layer beginning "layer N: <verdict>" with the deciding
// object and rule, then the details per landing cluster.
func (x *Explanation) WriteText(w io.Writer) error {
	var b strings.Builder
	for i, p := range x.Paths {
		if i > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "%s → %s (%s)", p.Source, p.Target, p.Protocol)
		if x.Request.Method != "" || x.Request.Path != "" {
			fmt.Fprintf(&b, " %s %s", x.Request.Method, x.Request.Path)
		}
		b.WriteString("\n")
		b.WriteString(routingLine(p.Routing))
		for _, l := range p.Layers {
			fmt.Fprintf(&b, "layer %d: %s", l.Layer, l.Verdict)
			if by := decidedBy(p, l.Layer); by != "" {
				b.WriteString(" — " + by)
			}
			if l.Layer == 1 && l.Verdict != NotApplicable {
				b.WriteString(" [" + x.Layer1 + "]")
			}
			b.WriteString("\n")
			for _, lj := range p.Landings {
				for _, lr := range lj.Layers {
					if lr.Layer != l.Layer {
						continue
					}
					prefix := "    " + lj.Cluster + ": "
					if len(lr.Decisions) == 0 && lr.Note != "" {
						fmt.Fprintf(&b, "%s%s: %s\n", prefix, lr.Verdict, lr.Note)
						continue
					}
					for _, d := range lr.Decisions {
						fmt.Fprintf(&b, "%s%s\n", prefix, decisionLine(d))
					}
					if lr.Note != "" && len(lr.Decisions) > 0 {
						fmt.Fprintf(&b, "%snote: %s\n", prefix, lr.Note)
					}
				}
			}
		}
		for _, lj := range p.Landings {
			if lj.Intent != nil {
				fmt.Fprintf(&b, "intent: %s in %s", lj.Intent.Verdict, lj.Cluster)
				if lj.Intent.Policy != "" {
					fmt.Fprintf(&b, " (%s)", lj.Intent.Policy)
				}
				b.WriteString("\n")
			}
		}
		fmt.Fprintf(&b, "verdict: %s\n", p.Verdict)
	}
	for _, n := range x.Notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func routingLine(r Routing) string {
	var b strings.Builder
	b.WriteString("routing:")
	if r.Object != nil {
		fmt.Fprintf(&b, " %s", r.Object)
		if r.From != "" {
			fmt.Fprintf(&b, " in %s", r.From)
		}
		if r.Route != "" {
			fmt.Fprintf(&b, ", route %q", r.Route)
		}
		b.WriteString(":")
	}
	var parts []string
	for _, l := range r.Landings {
		s := " " + l.Cluster
		switch {
		case l.Percent >= 0:
			s += fmt.Sprintf(" %d%%", l.Percent)
		default:
			s += " (share by endpoints)"
		}
		if l.Subset != "" {
			s += " (subset " + l.Subset + ")"
		}
		if l.Failed != "" {
			s += " FAILS: " + l.Failed
		}
		parts = append(parts, s)
	}
	if len(parts) == 0 {
		parts = []string{" nowhere"}
	}
	b.WriteString(strings.Join(parts, ","))
	if r.Failover {
		b.WriteString("; failover: yes")
	} else {
		b.WriteString("; failover: no")
	}
	for _, n := range r.Notes {
		b.WriteString("; " + n)
	}
	b.WriteString("\n")
	return b.String()
}

// decidedBy names the deciding objects of a layer in the clusters that
// gave the summary's verdict: what allowed it (each direction, at layer
// 2), what denied it, what could not be judged.
func decidedBy(p Path, layer int) string {
	want := Verdict("")
	for _, l := range p.Layers {
		if l.Layer == layer {
			want = l.Verdict
		}
	}
	effect := map[Verdict]string{Allowed: "allow", Denied: "deny", Unknown: "unknown"}[want]
	var parts []string
	for _, lj := range p.Landings {
		for _, lr := range lj.Layers {
			if lr.Layer != layer || lr.Verdict != want {
				continue
			}
			var names []string
			dirs := map[string]bool{}
			for _, d := range lr.Decisions {
				ok := d.Effect == effect
				if layer == 4 && want == Allowed {
					ok = d.Object != nil && d.Object.Kind == "PeerAuthentication"
				}
				if !ok || (layer == 2 && dirs[d.Direction]) {
					continue
				}
				dirs[d.Direction] = true
				if d.Object != nil {
					names = append(names, objRule(d))
				} else {
					names = append(names, d.Text)
				}
			}
			if len(names) > 0 {
				parts = append(parts, lj.Cluster+": "+strings.Join(names, ", "))
			}
		}
	}
	return strings.Join(parts, "; ")
}

func objRule(d Decision) string {
	s := d.Object.String()
	if d.Rule >= 0 {
		dir := "rule"
		if d.Direction != "" && d.Object.Kind == "NetworkPolicy" {
			dir = d.Direction + " rule"
		}
		s += fmt.Sprintf(" %s %d", dir, d.Rule)
	}
	return s
}

func decisionLine(d Decision) string {
	if d.Object == nil {
		return d.Text
	}
	s := objRule(d)
	if d.Object.File != "" {
		line := d.Object.Line
		if d.RuleLine > 0 {
			line = d.RuleLine
		}
		s += fmt.Sprintf(" (%s:%d)", d.Object.File, line)
	}
	if len(d.Object.Sources) > 0 {
		s += " from " + strings.Join(d.Object.Sources, ", ")
	}
	return s + ": " + d.Text
}
