package verify

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/intentc/intentc/compiler/ir"
)

// Graph is the service graph the manifests allow: services grouped by the
// clusters they run in, the callers the policies name, the connections
// every layer lets through (with their ports), and the share of requests
// routing sends along each.
type Graph struct {
	Clusters []GraphCluster `json:"clusters"`
	Outside  []GraphNode    `json:"outside,omitempty"`
	Edges    []GraphEdge    `json:"edges"`
}

// GraphCluster is one cluster and the nodes in it.
type GraphCluster struct {
	Name    string      `json:"name"`
	Network string      `json:"network"`
	Nodes   []GraphNode `json:"nodes"`
}

// GraphNode is a service placement, a caller, or something outside the
// clusters (an address range, an external service).
type GraphNode struct {
	ID    string `json:"id"`
	Label string `json:"label"`
	Kind  string `json:"kind"` // service | workload | address | ingress | external
}

// GraphEdge is an allowed connection. Percent is the share of the caller's
// requests routing sends to this cluster (-1: by endpoints; 0: not routed,
// as for an address peer).
type GraphEdge struct {
	From    string `json:"from"`
	To      string `json:"to"`
	Ports   string `json:"ports"`
	Percent int32  `json:"percent"`
	Unknown bool   `json:"unknown,omitempty"`
}

// Graph computes the graph: every caller the intent's and the manifests'
// policies name is judged against every service port, in every cluster
// the service runs in.
func (a *Analyzer) Graph() *Graph {
	g := &Graph{}
	m := a.model
	nodes := map[string]GraphNode{}
	nodeCluster := map[string]string{}
	addNode := func(n GraphNode, cluster string) {
		if _, ok := nodes[n.ID]; !ok {
			nodes[n.ID] = n
			nodeCluster[n.ID] = cluster
		}
	}
	svcID := func(s *ir.Service, c *ir.Cluster) string { return "svc:" + s.Namespace + "/" + s.Name + "@" + c.Name }
	for _, s := range m.Services {
		for _, pl := range s.Placements {
			addNode(GraphNode{ID: svcID(s, pl.Cluster), Label: s.Namespace + "/" + s.Name, Kind: "service"}, pl.Cluster.Name)
		}
	}
	sourceNode := func(src *Source) (string, string) {
		switch src.Kind {
		case SourceWorkload:
			if src.Service != nil {
				return svcID(src.Service, src.Cluster), src.Cluster.Name
			}
			id := "wl:" + src.Namespace + "/" + src.ServiceAccount + "/" + labelString(src.Labels) + "@" + src.Cluster.Name
			label := src.Namespace + "/*"
			kind := "workload"
			if src.ServiceAccount != anySA {
				label = src.Namespace + "/" + src.ServiceAccount
			}
			addNode(GraphNode{ID: id, Label: label, Kind: kind}, src.Cluster.Name)
			return id, src.Cluster.Name
		case SourceIngress:
			id := "in:" + src.Addr.String() + "@" + src.Gateway.Name
			addNode(GraphNode{ID: id, Label: src.Addr.String() + " via ingress gateway", Kind: "ingress"}, src.Gateway.Name)
			return id, src.Gateway.Name
		}
		id := "addr:" + src.Addr.String() + "@" + src.Network
		label := src.Addr.String()
		if src.Network != "" {
			label += " (" + src.Network + ")"
		}
		addNode(GraphNode{ID: id, Label: label, Kind: "address"}, "")
		return id, ""
	}
	type edgeKey struct{ from, to string }
	edges := map[edgeKey]*GraphEdge{}
	ports := map[edgeKey][]string{}
	bySvc, byExt := policiesFor(m)
	for _, s := range m.Services {
		for _, src := range a.graphSources(s, bySvc[s]) {
			from, _ := sourceNode(src)
			for _, port := range s.Ports {
				t := Target{Service: s, Port: port}
				r := a.route(src, t, Request{})
				share := map[string]int32{}
				for _, l := range r.Landings {
					share[l.Cluster] = l.Percent
				}
				for _, pl := range s.Placements {
					c := pl.Cluster
					if src.Kind == SourceAddress && src.Network != "" && src.Network != c.Network {
						continue
					}
					v, l7 := a.graphJudge(src, t, c)
					if v == Denied || v == NotApplicable {
						continue
					}
					k := edgeKey{from, svcID(s, c)}
					e := edges[k]
					if e == nil {
						pct, ok := share[c.Name]
						if !ok || src.Kind == SourceAddress {
							pct = 0
						}
						e = &GraphEdge{From: k.from, To: k.to, Percent: pct}
						edges[k] = e
					}
					e.Unknown = e.Unknown || v == Unknown
					label := port.Protocol + " " + strconv.Itoa(int(port.Port))
					if l7 != "" {
						label += " " + l7
					}
					ports[k] = append(ports[k], label)
				}
			}
		}
	}
	for _, e := range m.Externals {
		pols := byExt[e]
		if len(pols) == 0 {
			continue
		}
		id := "ext:" + e.Namespace + "/" + e.Name
		label := e.Namespace + "/" + e.Name
		var where []string
		where = append(where, e.Hosts...)
		for _, c := range e.CIDRs {
			where = append(where, c.String())
		}
		if len(where) > 0 {
			label += " (" + strings.Join(where, ", ") + ")"
		}
		addNode(GraphNode{ID: id, Label: label, Kind: "external"}, "")
		for _, src := range a.graphSources(nil, pols) {
			if src.Kind != SourceWorkload {
				continue
			}
			from, _ := sourceNode(src)
			for _, port := range e.Ports {
				t := Target{External: e, Port: port}
				j := a.judge(src, t, src.Cluster, Request{}, false)
				if j.layers[2].Verdict == Denied {
					continue
				}
				k := edgeKey{from, id}
				if edges[k] == nil {
					edges[k] = &GraphEdge{From: from, To: id}
				}
				edges[k].Unknown = edges[k].Unknown || j.layers[2].Verdict == Unknown
				ports[k] = append(ports[k], port.Protocol+" "+strconv.Itoa(int(port.Port)))
			}
		}
	}
	for k, e := range edges {
		ps := slices.Compact(slices.Sorted(slices.Values(ports[k])))
		e.Ports = strings.Join(ps, ", ")
		g.Edges = append(g.Edges, *e)
	}
	slices.SortFunc(g.Edges, func(x, y GraphEdge) int {
		return strings.Compare(x.From+"\x00"+x.To, y.From+"\x00"+y.To)
	})
	used := map[string]bool{}
	for _, e := range g.Edges {
		used[e.From], used[e.To] = true, true
	}
	for id, n := range nodes {
		if n.Kind != "service" && n.Kind != "external" && !used[id] {
			delete(nodes, id)
		}
	}
	for _, c := range m.Clusters {
		gc := GraphCluster{Name: c.Name, Network: c.Network}
		for _, id := range slices.Sorted(maps.Keys(nodes)) {
			if nodeCluster[id] == c.Name {
				gc.Nodes = append(gc.Nodes, nodes[id])
			}
		}
		g.Clusters = append(g.Clusters, gc)
	}
	for _, id := range slices.Sorted(maps.Keys(nodes)) {
		if nodeCluster[id] == "" {
			g.Outside = append(g.Outside, nodes[id])
		}
	}
	return g
}

// graphSources are the callers a destination's policies name: the
// intent's sources, and the principals, namespaces and address ranges of
// the manifests' policies on the service's workloads, plus every other
// MeshService (which may call it where nothing isolates it).
func (a *Analyzer) graphSources(s *ir.Service, pols []*ir.Policy) []*Source {
	m := a.model
	var out []*Source
	seen := map[sourceKey]bool{}
	add := func(src *Source) {
		if k := srcKey(src); !seen[k] {
			seen[k] = true
			out = append(out, src)
		}
	}
	for _, pol := range pols {
		for _, peer := range pol.From {
			switch peer.Kind {
			case ir.PeerService:
				for _, c := range peer.Clusters {
					add(&Source{Kind: SourceWorkload, Cluster: c, Namespace: peer.Namespace, ServiceAccount: peer.ServiceAccount, Labels: peer.Service.Selector, Service: peer.Service})
				}
			case ir.PeerNamespace:
				for _, c := range peer.Clusters {
					add(&Source{Kind: SourceWorkload, Cluster: c, Namespace: peer.Namespace, ServiceAccount: anySA})
				}
			case ir.PeerWorkload:
				for _, c := range peer.Clusters {
					add(&Source{Kind: SourceWorkload, Cluster: c, Namespace: peer.Namespace, ServiceAccount: peer.ServiceAccount, Labels: peer.PodLabels})
				}
			case ir.PeerCIDR:
				if peer.Via == ir.ViaIngressGateway {
					for _, c := range peer.Clusters {
						add(&Source{Kind: SourceIngress, Gateway: c, Addr: peer.CIDR, Host: first(peer.Hosts)})
					}
				} else {
					add(&Source{Kind: SourceAddress, Addr: peer.CIDR, Network: peer.Network, Plaintext: true})
				}
			}
		}
	}
	if s == nil {
		return out
	}
	for _, o := range m.Services {
		if o == s {
			continue
		}
		for _, pl := range o.Placements {
			add(&Source{Kind: SourceWorkload, Cluster: pl.Cluster, Namespace: o.Namespace, ServiceAccount: o.ServiceAccount, Labels: o.Selector, Service: o})
		}
	}
	for _, pl := range s.Placements {
		v := a.clusters[pl.Cluster.Name]
		aps, _ := v.applicable(a, l3Workload{ns: s.Namespace, labels: s.Selector})
		for _, ap := range aps {
			if ap.action != "ALLOW" {
				continue
			}
			for _, r := range ap.rules {
				for _, f := range r.raw.From {
					for _, pr := range f.Source.Principals {
						ns := nsOfPrincipal(pr)
						_, sa, _ := strings.Cut(pr, "/sa/")
						if ns == "" || strings.Contains(ns, "*") || ns == m.Mesh.IngressGateway.Namespace {
							continue
						}
						if sa == "" || strings.Contains(sa, "*") {
							sa = anySA
						}
						for _, c := range m.Clusters {
							if !slices.ContainsFunc(out, func(x *Source) bool { return x.Kind == SourceWorkload && x.Namespace == ns && x.ServiceAccount == sa }) {
								add(&Source{Kind: SourceWorkload, Cluster: c, Namespace: ns, ServiceAccount: sa})
							}
						}
					}
					for _, b := range f.Source.IPBlocks {
						if p, err := parsePrefix(b); err == nil {
							add(&Source{Kind: SourceAddress, Addr: p, Network: pl.Cluster.Network, Plaintext: true})
						}
					}
				}
			}
		}
	}
	return out
}

func first(ss []string) string {
	if len(ss) == 0 {
		return ""
	}
	return ss[0]
}

// graphJudge judges a caller against a service port in one cluster: the
// connection is drawn when no layer denies every request; l7 summarises
// the requests layer 3 admits when it admits only some.
func (a *Analyzer) graphJudge(src *Source, t Target, c *ir.Cluster) (Verdict, string) {
	reqs := []Request{{}}
	if t.Port.IsL7() {
		reqs = a.candidateRequests(t.Service, c)
	}
	best := Denied
	var ops []string
	for _, r := range reqs {
		j := a.judge(src, t, c, r, true)
		v := Verdict("")
		for i := 1; i <= 4; i++ {
			lv := j.layers[i].Verdict
			if i == 1 && lv == Unknown {
				// Where layer 1 cannot be judged (an address peer, a
				// flat network) the graph shows what the others allow.
				lv = NotApplicable
			}
			v = combine(v, lv)
		}
		if v == NotApplicable {
			v = Allowed
		}
		switch v {
		case Allowed:
			best = Allowed
			for _, d := range j.layers[3].Decisions {
				if d.Effect == "allow" && d.op != nil {
					ops = append(ops, opSummary(d.op))
				}
			}
		case Unknown:
			if best == Denied {
				best = Unknown
			}
		}
	}
	ops = slices.Compact(slices.Sorted(slices.Values(ops)))
	if best == Allowed && len(ops) > 0 && !slices.Contains(ops, "") {
		return best, "(" + strings.Join(ops, "; ") + ")"
	}
	return best, ""
}

// opSummary writes the HTTP conditions of an AuthorizationPolicy rule,
// "" when it has none.
func opSummary(r *apRule) string {
	var parts []string
	for _, o := range r.To {
		var x []string
		if len(o.Operation.Methods) > 0 {
			x = append(x, strings.Join(o.Operation.Methods, ","))
		}
		if len(o.Operation.Paths) > 0 {
			x = append(x, strings.Join(o.Operation.Paths, ","))
		}
		if len(x) > 0 {
			parts = append(parts, strings.Join(x, " "))
		}
	}
	return strings.Join(parts, "; ")
}

// WriteDOT writes the graph in Graphviz DOT.
func (g *Graph) WriteDOT(w io.Writer) error {
	var b strings.Builder
	b.WriteString("digraph intentc {\n  rankdir=LR;\n  compound=true;\n  fontname=\"Helvetica\";\n  node [shape=box, style=rounded, fontname=\"Helvetica\", fontsize=11];\n  edge [fontname=\"Helvetica\", fontsize=9];\n")
	for _, c := range g.Clusters {
		fmt.Fprintf(&b, "  subgraph %q {\n    label=%q;\n    style=rounded;\n    color=gray50;\n", "cluster_"+c.Name, c.Name+" (network "+c.Network+")")
		if len(c.Nodes) == 0 {
			fmt.Fprintf(&b, "    %q [label=\"(no services)\", shape=plaintext];\n", "empty:"+c.Name)
		}
		for _, n := range c.Nodes {
			fmt.Fprintf(&b, "    %q [label=%q%s];\n", n.ID, n.Label, dotStyle(n.Kind))
		}
		b.WriteString("  }\n")
	}
	for _, n := range g.Outside {
		fmt.Fprintf(&b, "  %q [label=%q%s];\n", n.ID, n.Label, dotStyle(n.Kind))
	}
	for _, e := range g.Edges {
		style := ""
		if e.Unknown {
			style = ", style=dashed"
		}
		fmt.Fprintf(&b, "  %q -> %q [label=%q%s];\n", e.From, e.To, edgeLabel(e), style)
	}
	b.WriteString("}\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func dotStyle(kind string) string {
	switch kind {
	case "workload":
		return ", style=\"rounded,dashed\""
	case "address", "ingress":
		return ", shape=ellipse"
	case "external":
		return ", shape=component"
	}
	return ""
}

func edgeLabel(e GraphEdge) string {
	l := e.Ports
	switch {
	case e.Percent > 0:
		l += fmt.Sprintf(" · %d%%", e.Percent)
	case e.Percent < 0:
		l += " · by endpoints"
	}
	if e.Unknown {
		l += " (unknown)"
	}
	return l
}

// WriteMermaid writes the graph as a Mermaid flowchart.
func (g *Graph) WriteMermaid(w io.Writer) error {
	ids := map[string]string{}
	id := func(s string) string {
		if v, ok := ids[s]; ok {
			return v
		}
		v := "n" + strconv.Itoa(len(ids))
		ids[s] = v
		return v
	}
	q := func(s string) string { return strings.ReplaceAll(s, "\"", "#quot;") }
	var b strings.Builder
	b.WriteString("flowchart LR\n")
	for i, c := range g.Clusters {
		fmt.Fprintf(&b, "  subgraph c%d[\"%s (network %s)\"]\n", i, q(c.Name), q(c.Network))
		for _, n := range c.Nodes {
			fmt.Fprintf(&b, "    %s%s\n", id(n.ID), mermaidShape(n, q))
		}
		b.WriteString("  end\n")
	}
	for _, n := range g.Outside {
		fmt.Fprintf(&b, "  %s%s\n", id(n.ID), mermaidShape(n, q))
	}
	for _, e := range g.Edges {
		arrow := "-->"
		if e.Unknown {
			arrow = "-.->"
		}
		fmt.Fprintf(&b, "  %s %s|\"%s\"| %s\n", id(e.From), arrow, q(edgeLabel(e)), id(e.To))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func mermaidShape(n GraphNode, q func(string) string) string {
	switch n.Kind {
	case "address", "ingress":
		return "([\"" + q(n.Label) + "\"])"
	case "external":
		return "[/\"" + q(n.Label) + "\"/]"
	}
	return "[\"" + q(n.Label) + "\"]"
}
