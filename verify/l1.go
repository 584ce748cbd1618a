package verify

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/intentc/intentc/compiler/ir"
)

// flow is one packet flow arriving at a cluster's nodes, as Neutron sees
// it: a protocol, a port (0 for protocols without ports) and where it comes
// from (addresses, or the cluster's own nodes).
type flow struct {
	proto     string
	port      int32
	remote    ipSet
	fromNodes bool
	ipv4Only  bool // an encapsulation that carries IPv4 only
	what      string
}

func (f flow) String() string {
	from := "the cluster's nodes"
	if !f.fromNodes {
		from = f.remote.String()
		if len(f.remote) == 1 {
			if p, ok := rangePrefix(f.remote[0]); ok {
				from = p.String()
			}
		}
	}
	port := ""
	if f.port != 0 {
		port = fmt.Sprintf(" %d", f.port)
	}
	return fmt.Sprintf("%s%s from %s (%s)", f.proto, port, from, f.what)
}

// cniData is the encapsulation each CNI mode carries pod traffic in
// between nodes (the vendors' documented firewall requirements); a native
// routing mode carries pod addresses, which a security group alone cannot
// be judged for.
var cniData = map[string]flow{
	"calico-vxlan":  {proto: "udp", port: 4789, what: "Calico VXLAN"},
	"calico-ipip":   {proto: "4", ipv4Only: true, what: "Calico IP-in-IP"},
	"flannel-vxlan": {proto: "udp", port: 8472, what: "Flannel VXLAN"},
	"cilium-vxlan":  {proto: "udp", port: 8472, what: "Cilium VXLAN"},
	"geneve":        {proto: "udp", port: 6081, what: "Geneve"},
}

// cniControl are the control flows between nodes each CNI mode needs
// whatever the workloads do.
var cniControl = map[string][]flow{
	"calico-vxlan":  {{proto: "tcp", port: 5473, what: "Calico Typha"}},
	"calico-ipip":   {{proto: "tcp", port: 179, what: "Calico BGP"}, {proto: "tcp", port: 5473, what: "Calico Typha"}},
	"calico-bgp":    {{proto: "tcp", port: 179, what: "Calico BGP"}, {proto: "tcp", port: 5473, what: "Calico Typha"}},
	"cilium-vxlan":  {{proto: "tcp", port: 4240, what: "Cilium health"}},
	"cilium-native": {{proto: "tcp", port: 4240, what: "Cilium health"}},
}

// nodeFamilies are the address families of a cluster's nodes (IPv4 when
// it declares none).
func nodeFamilies(c *ir.Cluster) []bool {
	v4, v6 := len(c.Nodes) == 0, false
	for _, p := range c.Nodes {
		if p.Addr().Is4() {
			v4 = true
		} else {
			v6 = true
		}
	}
	var out []bool
	if v4 {
		out = append(out, true)
	}
	if v6 {
		out = append(out, false)
	}
	return out
}

func eth(is4 bool) string {
	if is4 {
		return "IPv4"
	}
	return "IPv6"
}

// covers returns what part of flow f (of one family) a rule of group g
// admits: every address (all), the cluster's nodes (nodes) or some
// addresses.
func (r secRule) covers(g *secGroup, f flow, is4 bool) (all, nodes bool, addrs ipSet) {
	if !r.ingress || r.eth != eth(is4) {
		return
	}
	if r.proto != "" && r.proto != f.proto {
		return
	}
	if r.lo != 0 && (f.port < r.lo || f.port > r.hi || f.port == 0) {
		return
	}
	switch {
	case r.anyAddr:
		return true, true, nil
	case r.group != "":
		return false, f.fromNodes && (r.group == g.name || (g.id != "" && r.group == g.id)), nil
	case f.fromNodes:
		return // node addresses are judged by group membership only
	}
	return false, false, r.remote.intersect(familyOf(f.remote, is4))
}

func familyOf(s ipSet, is4 bool) ipSet {
	var out ipSet
	for _, r := range s {
		if r.lo.Is4() == is4 {
			out = append(out, r)
		}
	}
	return out
}

// groupOf returns intentc's group for an OpenStack cluster.
func (a *Analyzer) groupOf(c *ir.Cluster) *secGroup {
	if c.OpenStack == nil {
		return nil
	}
	return a.groups[c.OpenStack.Cloud+"/"+c.OpenStack.Project+"/"+c.OpenStack.SecurityGroupName]
}

// l1Flows returns the flows a connection from src needs on the nodes of
// cluster c, or why they cannot be known.
func (a *Analyzer) l1Flows(src *Source, c *ir.Cluster) ([]flow, string) {
	data, ok := cniData[c.CNI]
	if !ok {
		if c.CNI == "" {
			return nil, "the cluster declares no CNI, so the flows between its nodes are unknown"
		}
		return nil, c.CNI + " routes pod addresses natively between nodes (allowed-address-pairs), which a security group alone does not decide"
	}
	data.fromNodes = true
	data.what += " between nodes, as the pod may run on another node than its caller or gateway"
	switch {
	case src.Kind == SourceAddress:
		return nil, "an address peer reaches pods by a route (allowed-address-pairs, node ports) intentc's group does not carry"
	case src.Kind == SourceNode:
		return nil, "node-local traffic never leaves the node"
	}
	sc := src.Cluster
	if src.Kind == SourceIngress && src.Gateway != nil {
		sc = src.Gateway
	}
	switch {
	case sc == c:
		return []flow{data}, ""
	case sc.Network == c.Network:
		return nil, "a caller on the same (flat) network sends pod addresses between clusters, which a security group alone does not decide"
	}
	flows, why := ewgFlows(sc, c)
	if why != "" {
		return nil, why
	}
	return append(flows, data), ""
}

// ewgFlows are the flows that carry traffic from cluster sc (on another
// network) to c's east-west gateway, by c's load-balancer provider. A
// caller is seen by its egress ranges of the family of the address it
// dials.
func ewgFlows(sc, c *ir.Cluster) ([]flow, string) {
	ew := c.EastWest
	if ew == nil {
		return nil, c.Name + " has no east-west gateway"
	}
	os := c.OpenStack
	callers := egressFor(sc, ew.Address)
	switch os.LBProvider {
	case "amphora":
		if ew.NodePort == 0 {
			return nil, "the amphora load balancer's node port is not declared"
		}
		// Amphora connects to its members from the member subnet; without
		// one declared, the members' own (node) subnets.
		members, what := setOf(os.LBMemberSubnet), "the amphora load balancer's member subnet"
		if !os.HasLBMemberSubnet {
			members, what = setOf(c.Nodes...), "the amphora load balancer's members' subnets (no memberSubnet declared: the nodes')"
		}
		if members.empty() {
			return nil, "the amphora load balancer's member subnet is not declared"
		}
		return []flow{{proto: "tcp", port: ew.NodePort, remote: members,
			what: "east-west gateway node port, from " + what}}, ""
	case "ovn":
		if ew.NodePort == 0 {
			return nil, "the ovn load balancer's node port is not declared"
		}
		if callers.empty() {
			return nil, sc.Name + " declares no egress ranges of the gateway address's family, so the addresses its traffic arrives from are unknown"
		}
		return []flow{{proto: "tcp", port: ew.NodePort, remote: callers,
			what: "east-west gateway node port, from " + sc.Name + "'s egress ranges (ovn keeps client addresses)"}}, ""
	}
	if callers.empty() {
		return nil, sc.Name + " declares no egress ranges of the gateway address's family, so the addresses its traffic arrives from are unknown"
	}
	return []flow{{proto: "tcp", port: ew.Port, remote: callers,
		what: "east-west gateway port, from " + sc.Name + "'s egress ranges"}}, ""
}

// egressFor is a cluster's egress ranges of the family of the address it
// dials (all of them when the address is a host name).
func egressFor(c *ir.Cluster, dialed string) ipSet {
	all := setOf(c.Egress...)
	a, err := netip.ParseAddr(dialed)
	if err != nil {
		return all
	}
	return familyOf(all, a.Is4())
}

// l1Judge judges flows on cluster c's nodes: against intentc's group, or,
// with a port inventory, against the union of groups on every node port.
func (a *Analyzer) l1Judge(c *ir.Cluster, flows []flow) (Verdict, []Decision, string) {
	if a.ports != nil {
		var ports []InventoryPort
		for _, p := range a.ports.Ports {
			if p.Cluster == c.Name {
				ports = append(ports, p)
			}
		}
		if len(ports) > 0 {
			return a.l1JudgePorts(c, ports, flows)
		}
	}
	g := a.groupOf(c)
	if g == nil {
		os := c.OpenStack
		if os.SecurityGroupMode == "audit" {
			return Unknown, nil, "audit mode: intentc applies no group; give a port inventory to judge layer 1"
		}
		return Unknown, nil, fmt.Sprintf("no security group %q of %s/%s among the inputs", os.SecurityGroupName, os.Cloud, os.Project)
	}
	v, ds := judgeFlows([]*secGroup{g}, c, flows, "")
	return v, ds, fmt.Sprintf("judged for intentc's group %s alone (Neutron applies the union of every group on a node port; give a port inventory from `intentc openstack plan` to judge them all); stateful, so replies need no rule", g.name)
}

func judgeFlows(groups []*secGroup, c *ir.Cluster, flows []flow, where string) (Verdict, []Decision) {
	verdict := Allowed
	var ds []Decision
	for _, f := range flows {
		fams := nodeFamilies(c)
		if f.ipv4Only {
			fams = slices.DeleteFunc(fams, func(is4 bool) bool { return !is4 })
		}
		if !f.fromNodes {
			fams = nil
			for _, is4 := range []bool{true, false} {
				if !familyOf(f.remote, is4).empty() {
					fams = append(fams, is4)
				}
			}
		}
		for _, is4 := range fams {
			// Neutron applies the union of the rules: a flow may be
			// admitted by several rules together.
			want := familyOf(f.remote, is4)
			var got ipSet
			var hits []Decision
			done := false
			for _, g := range groups {
				for _, r := range g.rules {
					all, nodes, addrs := r.covers(g, f, is4)
					if !all && !nodes && addrs.empty() {
						continue
					}
					hits = append(hits, Decision{Object: g.ref, Rule: r.index, RuleLine: r.line, Direction: "ingress", Effect: "allow",
						Text: fmt.Sprintf("rule %d (%s) admits %s%s", r.index, r.text, f, where)})
					got = got.union(addrs)
					if all || (f.fromNodes && nodes) || (!f.fromNodes && got.containsAll(want)) {
						done = true
						break
					}
				}
				if done {
					break
				}
			}
			if !done {
				verdict = Denied
				names := make([]string, len(groups))
				for i, g := range groups {
					names[i] = g.name
				}
				missing := ""
				if !f.fromNodes && !got.empty() {
					missing = " (it admits only " + got.String() + ")"
				}
				d := Decision{Rule: -1, Direction: "ingress", Effect: "deny",
					Text: fmt.Sprintf("no rule of %s admits %s %s%s%s (security groups only allow)", strings.Join(names, ", "), eth(is4), f, where, missing)}
				if len(groups) == 1 {
					d.Object = groups[0].ref
				}
				ds = append(ds, d)
				continue
			}
			ds = append(ds, hits...)
		}
	}
	if verdict == Denied {
		ds = slices.DeleteFunc(ds, func(d Decision) bool { return d.Effect == "allow" })
	}
	return verdict, ds
}

func (a *Analyzer) l1JudgePorts(c *ir.Cluster, ports []InventoryPort, flows []flow) (Verdict, []Decision, string) {
	verdict := Allowed
	var all []Decision
	for _, p := range ports {
		var gs []*secGroup
		for _, g := range p.Groups {
			sg := &secGroup{ref: &ObjRef{Kind: "SecurityGroup", Name: g.Name, Cluster: c.Name}, name: g.Name, id: g.ID}
			for i, r := range append(slices.Clone(g.Rules), g.NeutronRules...) {
				sg.rules = append(sg.rules, compileSGRule(i, r))
			}
			gs = append(gs, sg)
		}
		v, ds := judgeFlows(gs, c, flows, " on node port "+p.Name)
		if v == Denied {
			verdict = Denied
		}
		all = append(all, ds...)
	}
	if verdict == Denied {
		all = slices.DeleteFunc(all, func(d Decision) bool { return d.Effect == "allow" })
	}
	return verdict, all, fmt.Sprintf("judged for every group on the %d node port(s) of %s in the port inventory", len(ports), c.Name)
}
