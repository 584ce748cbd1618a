package kube

import (
	"cmp"
	"encoding/json"
	"maps"
	"net/netip"
	"slices"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// flow is one allowed peer on a set of ports, before flows with the same
// ports are folded into one rule.
type flow struct {
	peer  networkingv1.NetworkPolicyPeer
	ports []networkingv1.NetworkPolicyPort // empty: every port
}

func intOrString(p int32) *intstr.IntOrString {
	v := intstr.FromInt32(p)
	return &v
}

// labelSelector builds a selector from labels that must match and label
// values that must not; nil when it selects everything.
func labelSelector(match map[string]string, notIn map[string][]string) *metav1.LabelSelector {
	if len(match) == 0 && len(notIn) == 0 {
		return nil
	}
	sel := &metav1.LabelSelector{}
	if len(match) > 0 {
		sel.MatchLabels = maps.Clone(match)
	}
	for _, k := range slices.Sorted(maps.Keys(notIn)) {
		vals := slices.Clone(notIn[k])
		slices.Sort(vals)
		sel.MatchExpressions = append(sel.MatchExpressions, metav1.LabelSelectorRequirement{
			Key: k, Operator: metav1.LabelSelectorOpNotIn, Values: slices.Compact(vals),
		})
	}
	return sel
}

// namespacePeer selects the pods of namespace ns that match the selector
// (every pod when it is nil). Namespace and pod selector go in ONE peer
// element, which the API reads as "these pods in that namespace"; two
// elements would mean "that whole namespace, or these pods of the
// policy's own namespace".
func namespacePeer(ns string, pods *metav1.LabelSelector) networkingv1.NetworkPolicyPeer {
	return networkingv1.NetworkPolicyPeer{
		NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{NamespaceNameLabel: ns}},
		PodSelector:       pods,
	}
}

func podsPeer(ns string, labels map[string]string) networkingv1.NetworkPolicyPeer {
	return namespacePeer(ns, labelSelector(labels, nil))
}

func ipPeer(cidr string, except []string) networkingv1.NetworkPolicyPeer {
	return networkingv1.NetworkPolicyPeer{IPBlock: &networkingv1.IPBlock{CIDR: cidr, Except: except}}
}

// selectorKey is a selector's JSON, as encoding/json writes it (map keys
// sorted). Labels are plain ASCII almost always, and then it is written
// here, without reflection: json.Marshal was a fifth of emitting the
// NetworkPolicies of a large fleet.
func selectorKey(s *metav1.LabelSelector) string {
	if s == nil {
		return ""
	}
	if !plainSelector(s) {
		b, _ := json.Marshal(s)
		return string(b)
	}
	b := make([]byte, 0, 64)
	b = append(b, '{')
	if len(s.MatchLabels) > 0 {
		b = append(b, `"matchLabels":{`...)
		var small [8]string // most selectors have a label or two: no allocation
		keys := small[:0]
		for k := range s.MatchLabels {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '"')
			b = append(b, k...)
			b = append(b, `":"`...)
			b = append(b, s.MatchLabels[k]...)
			b = append(b, '"')
		}
		b = append(b, '}')
	}
	if len(s.MatchExpressions) > 0 {
		if len(s.MatchLabels) > 0 {
			b = append(b, ',')
		}
		b = append(b, `"matchExpressions":[`...)
		for i, r := range s.MatchExpressions {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"key":"`...)
			b = append(b, r.Key...)
			b = append(b, `","operator":"`...)
			b = append(b, r.Operator...)
			b = append(b, '"')
			if len(r.Values) > 0 {
				b = append(b, `,"values":[`...)
				for j, v := range r.Values {
					if j > 0 {
						b = append(b, ',')
					}
					b = append(b, '"')
					b = append(b, v...)
					b = append(b, '"')
				}
				b = append(b, ']')
			}
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = append(b, '}')
	return string(b)
}

// plainSelector reports whether every string of s is printable ASCII that
// encoding/json writes as it is (it escapes quotes, backslashes and, for
// HTML, <, > and &).
func plainSelector(s *metav1.LabelSelector) bool {
	plain := func(v string) bool {
		for i := 0; i < len(v); i++ {
			if c := v[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
				return false
			}
		}
		return true
	}
	for k, v := range s.MatchLabels {
		if !plain(k) || !plain(v) {
			return false
		}
	}
	for _, r := range s.MatchExpressions {
		if !plain(r.Key) || !plain(string(r.Operator)) {
			return false
		}
		for _, v := range r.Values {
			if !plain(v) {
				return false
			}
		}
	}
	return true
}

// peerKey is what comparePeer orders a peer by, computed once per peer:
// a selector's key is its JSON, too dear to build in every comparison of
// a sort over the callers of a large namespace.
type peerKey struct {
	block   bool
	ns, pod string
	prefix  netip.Prefix
	parsed  bool
	cidr    string
	except  []string
}

func keyOfPeer(p networkingv1.NetworkPolicyPeer) peerKey {
	if p.IPBlock == nil {
		return peerKey{ns: selectorKey(p.NamespaceSelector), pod: selectorKey(p.PodSelector)}
	}
	pr, err := netip.ParsePrefix(p.IPBlock.CIDR)
	return peerKey{block: true, prefix: pr, parsed: err == nil, cidr: p.IPBlock.CIDR, except: p.IPBlock.Except}
}

// comparePeer orders peers canonically: selector peers first (by namespace
// selector, then pod selector), then address blocks by family, address and
// prefix length.
func comparePeer(a, b peerKey) int {
	if a.block != b.block {
		if a.block {
			return 1
		}
		return -1
	}
	if !a.block {
		return cmp.Or(strings.Compare(a.ns, b.ns), strings.Compare(a.pod, b.pod))
	}
	if a.parsed && b.parsed {
		if c := cmp.Or(a.prefix.Addr().Compare(b.prefix.Addr()), cmp.Compare(a.prefix.Bits(), b.prefix.Bits())); c != 0 {
			return c
		}
	}
	return cmp.Or(strings.Compare(a.cidr, b.cidr), slices.Compare(a.except, b.except))
}

// sortPeers sorts peers canonically and drops duplicates.
func sortPeers(peers []networkingv1.NetworkPolicyPeer) []networkingv1.NetworkPolicyPeer {
	type keyed struct {
		k peerKey
		p networkingv1.NetworkPolicyPeer
	}
	ks := make([]keyed, len(peers))
	for i, p := range peers {
		ks[i] = keyed{keyOfPeer(p), p}
	}
	slices.SortFunc(ks, func(a, b keyed) int { return comparePeer(a.k, b.k) })
	ks = slices.CompactFunc(ks, func(a, b keyed) bool { return comparePeer(a.k, b.k) == 0 })
	out := peers[:0]
	for _, k := range ks {
		out = append(out, k.p)
	}
	return out
}

func portNumber(p networkingv1.NetworkPolicyPort) int32 {
	if p.Port == nil {
		return 0
	}
	return p.Port.IntVal
}

func comparePort(a, b networkingv1.NetworkPolicyPort) int {
	proto := func(p networkingv1.NetworkPolicyPort) string {
		if p.Protocol == nil {
			return ""
		}
		return string(*p.Protocol)
	}
	return cmp.Or(cmp.Compare(portNumber(a), portNumber(b)), strings.Compare(proto(a), proto(b)))
}

func sortPorts(ports []networkingv1.NetworkPolicyPort) []networkingv1.NetworkPolicyPort {
	out := slices.Clone(ports)
	slices.SortFunc(out, comparePort)
	return slices.CompactFunc(out, func(a, b networkingv1.NetworkPolicyPort) bool { return comparePort(a, b) == 0 })
}

type rule struct {
	ports []networkingv1.NetworkPolicyPort
	peers []networkingv1.NetworkPolicyPeer
}

// group folds flows into one rule per distinct port set, peers sorted and
// deduplicated, rules ordered by their ports. Flows with no peer never reach
// here: a rule with an empty peer list would mean "from anywhere".
func group(flows []flow) []rule {
	var out []rule
	for _, f := range flows {
		ports := sortPorts(f.ports)
		i := slices.IndexFunc(out, func(r rule) bool { return slices.CompareFunc(r.ports, ports, comparePort) == 0 })
		if i < 0 {
			out = append(out, rule{ports: ports})
			i = len(out) - 1
		}
		out[i].peers = append(out[i].peers, f.peer)
	}
	for i := range out {
		out[i].peers = sortPeers(out[i].peers)
	}
	slices.SortFunc(out, func(a, b rule) int { return slices.CompareFunc(a.ports, b.ports, comparePort) })
	return out
}

func ingressRules(flows []flow) []networkingv1.NetworkPolicyIngressRule {
	var out []networkingv1.NetworkPolicyIngressRule
	for _, r := range group(flows) {
		out = append(out, networkingv1.NetworkPolicyIngressRule{Ports: r.ports, From: r.peers})
	}
	return out
}

func egressRules(flows []flow) []networkingv1.NetworkPolicyEgressRule {
	var out []networkingv1.NetworkPolicyEgressRule
	for _, r := range group(flows) {
		out = append(out, networkingv1.NetworkPolicyEgressRule{Ports: r.ports, To: r.peers})
	}
	return out
}
