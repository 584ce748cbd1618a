package neutron

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/intentc/intentc/compiler/diag"
)

// NodeReport is one node port: every group on it and their effective union
// (Neutron applies the union of every group on a port, so layer 1 is only
// as narrow as the widest of them).
type NodeReport struct {
	Port   *Port
	Groups []NodeGroup
	// Union is every ingress rule of every group on the port, one per Key.
	Union []*UnionRule
	// Wider are the union's rules no rule of the intent covers.
	Wider []*UnionRule
	// Warnings, also in the plan's findings.
	Warnings []string
}

// NodeGroup is a group on a node port.
type NodeGroup struct {
	ID, Name string
	// Intentc: one of this document's groups.
	Intentc bool
	// Visible: listed with the project's groups (a group of another project
	// is not, and its rules are unknown).
	Visible bool
}

// UnionRule is a rule of the union and the groups it comes from.
type UnionRule struct {
	Rule   *Rule
	Groups []string
}

// nodeReports finds the node ports (those carrying one of the document's
// groups, and those the selector names) and reports their groups.
func nodeReports(p *Plan, obs *Observed, sel NodeSelector, nameOfID map[string]string, pos diag.Pos) []*NodeReport {
	groupByID := map[string]*ObservedGroup{}
	for _, g := range obs.Groups {
		groupByID[g.ID] = g
	}
	intent := map[string]*GroupPlan{} // observed ID → plan
	for _, gp := range p.Groups {
		if gp.Observed != nil {
			intent[gp.Observed.ID] = gp
		}
	}
	var allIntentRules []*Rule
	for _, gp := range p.Groups {
		allIntentRules = append(allIntentRules, gp.Desired.Rules...)
	}
	type wide struct {
		group *ObservedGroup
		ports []string
		rules map[string]*Rule
	}
	wideByGroup := map[string]*wide{}
	var out []*NodeReport
	for _, port := range obs.Ports {
		if strings.HasPrefix(port.DeviceOwner, "network:") {
			continue // routers, DHCP, load balancers' VIPs are not nodes
		}
		carries := slices.ContainsFunc(port.SecurityGroups, func(id string) bool { return intent[id] != nil })
		if !carries && !matchesNode(port, sel) {
			continue
		}
		nr := &NodeReport{Port: port}
		var intentRules []*Rule
		for _, id := range port.SecurityGroups {
			ng := NodeGroup{ID: id, Name: id}
			if g := groupByID[id]; g != nil {
				ng.Name, ng.Visible = g.Name, true
			}
			if gp := intent[id]; gp != nil {
				ng.Intentc = true
				intentRules = append(intentRules, gp.Desired.Rules...)
			}
			nr.Groups = append(nr.Groups, ng)
		}
		slices.SortFunc(nr.Groups, func(a, b NodeGroup) int { return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.ID, b.ID)) })
		what := portLabel(port)
		if !port.PortSecurity {
			msg := fmt.Sprintf("node port %s has port security disabled: no security group filters it, layer 1 lets everything in", what)
			nr.Warnings = append(nr.Warnings, msg)
			p.Findings.Add(diag.CodeSGPortSecurityOff, pos, "%s", msg)
		}
		if !carries {
			msg := fmt.Sprintf("node port %s carries none of intentc's groups (%s): attach it (docs/openstack.md)", what, groupNames(p))
			nr.Warnings = append(nr.Warnings, msg)
			p.Findings.Add(diag.CodeSGNotAttached, pos, "%s", msg)
			intentRules = allIntentRules
		}
		union := map[string]*UnionRule{}
		for _, ng := range nr.Groups {
			g := groupByID[ng.ID]
			if g == nil {
				nr.Warnings = append(nr.Warnings, fmt.Sprintf("group %s on node port %s is not visible to these credentials: its rules are unknown", ng.ID, what))
				continue
			}
			for _, r := range g.Rules {
				if r.Direction != "ingress" {
					continue
				}
				r = withGroupNames(r, nameOfID)
				if rg := groupByID[r.RemoteGroupID]; rg != nil && r.RemoteGroupID != "" {
					c := *r
					c.RemoteGroupName = rg.Name
					r = &c
				}
				u := union[r.Key()]
				if u == nil {
					u = &UnionRule{Rule: r}
					union[r.Key()] = u
				}
				if !slices.Contains(u.Groups, g.Name) {
					u.Groups = append(u.Groups, g.Name)
				}
				if ng.Intentc || coveredBy(r, intentRules) {
					continue
				}
				w := wideByGroup[g.ID]
				if w == nil {
					w = &wide{group: g, rules: map[string]*Rule{}}
					wideByGroup[g.ID] = w
				}
				if !slices.Contains(w.ports, what) {
					w.ports = append(w.ports, what)
				}
				w.rules[r.Key()] = r
			}
		}
		for _, u := range union {
			slices.Sort(u.Groups)
			nr.Union = append(nr.Union, u)
			if !slices.ContainsFunc(u.Groups, func(n string) bool { return isIntentGroup(p, n) }) && !coveredBy(u.Rule, intentRules) {
				nr.Wider = append(nr.Wider, u)
			}
		}
		slices.SortFunc(nr.Union, func(a, b *UnionRule) int { return compareRules(a.Rule, b.Rule) })
		slices.SortFunc(nr.Wider, func(a, b *UnionRule) int { return compareRules(a.Rule, b.Rule) })
		out = append(out, nr)
	}
	for _, id := range sortedKeys(wideByGroup) {
		w := wideByGroup[id]
		rules := make([]*Rule, 0, len(w.rules))
		for _, r := range w.rules {
			rules = append(rules, r)
		}
		slices.SortFunc(rules, compareRules)
		var shown []string
		for i, r := range rules {
			if i == 5 {
				shown = append(shown, fmt.Sprintf("and %d more", len(rules)-5))
				break
			}
			shown = append(shown, r.String())
		}
		p.Findings.Add(diag.CodeSGWiderGroup, pos,
			"security group %q (%s) on node port(s) %s admits traffic the intent does not: %s; Neutron applies the union of a port's groups, so intentc's layer 1 is only as narrow as this group",
			w.group.Name, w.group.ID, strings.Join(w.ports, ", "), strings.Join(shown, "; "))
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func isIntentGroup(p *Plan, name string) bool {
	return slices.ContainsFunc(p.Groups, func(g *GroupPlan) bool { return g.Observed != nil && g.Observed.Name == name })
}

func groupNames(p *Plan) string {
	var names []string
	for _, g := range p.Groups {
		names = append(names, g.Name())
	}
	return strings.Join(names, ", ")
}

func portLabel(p *Port) string {
	name := p.Name
	if name == "" {
		name = p.ID
	}
	var extra []string
	if p.ServerName != "" {
		extra = append(extra, "server "+p.ServerName)
	}
	if len(p.FixedIPs) > 0 {
		extra = append(extra, strings.Join(p.FixedIPs, " "))
	}
	if len(extra) > 0 {
		return name + " (" + strings.Join(extra, ", ") + ")"
	}
	return name
}

// coveredBy reports whether some rule of the intent admits at least what r
// admits: same direction and ethertype, a protocol and port range that
// include r's, and a remote that includes r's.
func coveredBy(r *Rule, intent []*Rule) bool {
	return slices.ContainsFunc(intent, func(d *Rule) bool { return covers(d, r) })
}

func covers(d, r *Rule) bool {
	if d.Direction != r.Direction || d.Ethertype != r.Ethertype {
		return false
	}
	dn, _ := protocolNumber(d.Protocol)
	rn, _ := protocolNumber(r.Protocol)
	if dn != -1 {
		if dn != rn {
			return false
		}
		dlo, dhi := d.canonicalPorts()
		rlo, rhi := r.canonicalPorts()
		switch {
		case portProtocols[dn]:
			if rlo < dlo || rhi > dhi {
				return false
			}
		case icmpProtocols[dn]:
			if (dlo != -1 && dlo != rlo) || (dhi != -1 && dhi != rhi) {
				return false
			}
		}
	}
	dr, rr := d.canonicalRemote(), r.canonicalRemote()
	switch {
	case dr == "":
		return true
	case rr == "":
		return false
	case dr == rr:
		return true
	}
	dp, err1 := netip.ParsePrefix(dr)
	rp, err2 := netip.ParsePrefix(rr)
	return err1 == nil && err2 == nil && dp.Bits() <= rp.Bits() && dp.Contains(rp.Addr())
}
