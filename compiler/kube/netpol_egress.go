package kube

import (
	"cmp"
	"fmt"
	"maps"
	"slices"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/intentc/intentc/compiler/ir"
)

// egressName is the caller-side policy's name (docs/security.md); a second
// and further pod selector in the same namespace get -2, -3, ...
func egressName(p *ir.Policy, i int) string {
	name := p.Namespace + "-" + p.Name + "-egress"
	if i > 0 {
		name += fmt.Sprintf("-%d", i+1)
	}
	return name
}

// egress emits allow policy p's egress NetworkPolicies for its callers in
// cluster x, in each caller namespace managed there (elsewhere nothing
// isolates the callers' egress, and an egress policy would).
func (e *emitter) egress(p *ir.Policy, x *ir.Cluster) {
	callers := map[string][]map[string]string{}
	for _, peer := range p.From {
		if !slices.Contains(peer.Clusters, x) {
			continue
		}
		switch {
		case peer.Kind == ir.PeerCIDR && peer.Via == ir.ViaDirect:
			continue // addresses, not pods of any cluster
		case peer.Kind == ir.PeerCIDR:
			ig := &e.m.Mesh.IngressGateway
			callers[ig.Namespace] = append(callers[ig.Namespace], ig.Selector)
		default:
			callers[peer.Namespace] = append(callers[peer.Namespace], peer.PodLabels)
		}
	}
	managed := e.m.ManagedNamespaces(x)
	var flows []flow
	computed := false
	for _, ns := range slices.Sorted(maps.Keys(callers)) {
		if !slices.Contains(managed, ns) || e.m.Mesh.NeverManaged(ns) {
			continue
		}
		if !computed {
			flows, computed = e.egressTargets(p, x), true
		}
		if len(flows) == 0 {
			return
		}
		for i, sel := range callerSelectors(callers[ns]) {
			np := networkPolicy(egressName(p, i), ns, sel, networkingv1.PolicyTypeEgress)
			np.Spec.Egress = egressRules(flows)
			e.add(x, np, []ir.Source{p.Src})
		}
	}
}

// egressTargets is where callers in x send p's traffic: the destination's
// pods in x, its flat-network clusters' pod ranges, the east-west gateway of
// its clusters on other networks (sidecars dial the gateway, not the pods),
// or an ExternalService's addresses.
func (e *emitter) egressTargets(p *ir.Policy, x *ir.Cluster) []flow {
	var out []flow
	if ext := p.External; ext != nil {
		var nums []int32
		for _, pt := range p.Ports {
			nums = append(nums, pt.Port) // outside the mesh there is no target port to translate to
		}
		ports := tcp(nums...)
		if len(ext.CIDRs) == 0 {
			e.warn(ext.Src.Pos, "external/"+ext.Src.Ref(),
				"%s has host names only; NetworkPolicy selects addresses, so its callers' egress is opened to any address on its ports", ext.Src.Ref())
			return worldFlows(ports)
		}
		for _, pfx := range ext.CIDRs {
			out = append(out, flow{ipPeer(pfx.String(), nil), ports})
		}
		return out
	}
	s := p.Service
	ports := tcp(targetPorts(p)...)
	for _, pl := range s.Placements {
		d := pl.Cluster
		switch {
		case d == x:
			out = append(out, flow{podsPeer(s.Namespace, s.Selector), ports})
		case ir.CrossMesh(x, d):
			out = append(out, e.crossMeshEgress(d)...) // netpol_federated.go
		case d.Network == x.Network:
			for _, pfx := range d.Pods {
				out = append(out, flow{ipPeer(pfx.String(), nil), ports})
			}
		case d.EastWest != nil:
			ew := d.EastWest
			out = append(out, e.addressFlows(ew.Address, ew.Port, d.Src.Pos, "eastwest/"+d.Name,
				"the east-west gateway of %s is a host name (%s); NetworkPolicy selects addresses, so callers' egress to it is opened to any address on port %d",
				d.Name, ew.Address, ew.Port)...)
		}
	}
	return out
}

// callerSelectors reduces the pod selectors of one namespace's callers to
// as few exact selectors as NetworkPolicy allows: a namespace-wide caller
// covers all, a selector covers those that add labels to it, and single
// labels on one key merge into an In expression.
func callerSelectors(sels []map[string]string) []metav1.LabelSelector {
	if slices.ContainsFunc(sels, func(s map[string]string) bool { return len(s) == 0 }) {
		return []metav1.LabelSelector{{}}
	}
	var kept []map[string]string
	for i, s := range sels {
		subsumed := slices.ContainsFunc(sels, func(o map[string]string) bool { return within(o, s) && !within(s, o) })
		duplicate := slices.ContainsFunc(sels[:i], func(o map[string]string) bool { return maps.Equal(o, s) })
		if !subsumed && !duplicate {
			kept = append(kept, s)
		}
	}
	if len(kept) > 1 && slices.IndexFunc(kept, func(s map[string]string) bool { return len(s) != 1 }) < 0 {
		key := slices.Collect(maps.Keys(kept[0]))[0]
		if slices.IndexFunc(kept, func(s map[string]string) bool { _, ok := s[key]; return !ok }) < 0 {
			var vals []string
			for _, s := range kept {
				vals = append(vals, s[key])
			}
			slices.Sort(vals)
			return []metav1.LabelSelector{{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: key, Operator: metav1.LabelSelectorOpIn, Values: vals}}}}
		}
	}
	var out []metav1.LabelSelector
	for _, s := range kept {
		out = append(out, *labelSelector(s, nil))
	}
	slices.SortFunc(out, func(a, b metav1.LabelSelector) int { return cmp.Compare(selectorKey(&a), selectorKey(&b)) })
	return out
}

// within reports whether every label of a is also in b (a selects a superset of b's pods).
func within(a, b map[string]string) bool {
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
