package verify

import (
	"fmt"
	"slices"
	"strings"
)

// l2Pod is a pod as a NetworkPolicy sees it: its namespace and labels in
// one cluster, and its container ports by name (for named ports).
type l2Pod struct {
	ns     string
	labels map[string]string
	named  map[string]int32
	text   string
	key    string // ns/labels, when already known
	peer   string // "pod:" + key (l2Peer.key), set with key
}

func (p *l2Pod) viewKey() string {
	if p.key == "" {
		p.key = p.ns + "/" + labelString(p.labels)
		p.peer = "pod:" + p.key
	}
	return p.key
}

// l2Peer is the other end of a connection as a NetworkPolicy sees it: a
// pod of the same cluster, addresses outside it, an address it cannot know
// (a host name), or the pod's own node.
type l2Peer struct {
	pod     *l2Pod
	addr    ipSet
	anyAddr bool
	node    bool
	text    string
	k       string // key(), when already known (addressPeer)
}

// keyedSet is an address set with its text (ipSet.String), for the sets
// every judged connection names: built once, not for each key.
type keyedSet struct {
	set ipSet
	str string
}

func keyed(s ipSet) keyedSet { return keyedSet{s, s.String()} }

// addressPeer is l2Peer{addr: s.set, anyAddr: s.set.empty()} with its key.
func addressPeer(s keyedSet, text string) l2Peer {
	p := l2Peer{addr: s.set, anyAddr: s.set.empty(), text: text, k: "addr:?"}
	if !p.anyAddr {
		p.k = "addr:" + s.str
	}
	return p
}

// ranges splits an address peer into one peer per prefix of its set.
func (p l2Peer) ranges() []l2Peer {
	if p.pod != nil || p.node || p.anyAddr || len(p.addr) == 0 {
		return nil
	}
	if len(p.addr) == 1 && isPrefixRange(p.addr[0]) {
		return nil
	}
	ps := rangesToPrefixes(p.addr)
	if len(ps) < 2 {
		return nil
	}
	out := make([]l2Peer, len(ps))
	for i, q := range ps {
		out[i] = l2Peer{addr: setOf(q), text: q.String()}
	}
	return out
}

func (p l2Peer) key() string {
	switch {
	case p.k != "":
		return p.k
	case p.node:
		return "node"
	case p.pod != nil:
		if p.pod.peer != "" {
			return p.pod.peer
		}
		return "pod:" + p.pod.viewKey()
	case p.anyAddr:
		return "addr:?"
	}
	return "addr:" + p.addr.String()
}

func npOrder(a, b *netpol) int {
	if c := strings.Compare(a.ref.Name, b.ref.Name); c != 0 {
		return c
	}
	return strings.Compare(a.ref.File, b.ref.File)
}

// selecting returns the policies that select pod for the direction.
func (v *clusterView) selecting(pod l2Pod, ingress bool) []*netpol {
	return slices.Clone(v.selectingShared(pod, ingress))
}

// selKey is a pod as NetworkPolicies select it, in one direction.
type selKey struct {
	ingress bool
	pod     string // l2Pod.viewKey
}

// selectingShared is selecting's memoised answer, not to be modified.
func (v *clusterView) selectingShared(pod l2Pod, ingress bool) []*netpol {
	key := selKey{ingress, pod.viewKey()}
	v.mu.Lock()
	out, ok := v.selMemo[key]
	v.mu.Unlock()
	if ok {
		return out
	}
	out = v.selectingUncached(pod, ingress)
	v.mu.Lock()
	v.selMemo[key] = out
	v.mu.Unlock()
	return out
}

func (v *clusterView) selectingUncached(pod l2Pod, ingress bool) []*netpol {
	var out []*netpol
	for _, np := range v.netpols[pod.ns].candidates(pod.labels, npOrder) {
		if (ingress && !np.ingress) || (!ingress && !np.egress) {
			continue
		}
		if np.pods.matches(pod.labels) {
			out = append(out, np)
		}
	}
	return out
}

func (v *clusterView) nsLabelsOf(ns string) map[string]string {
	if l, ok := v.nsLabels[ns]; ok {
		return l
	}
	// A namespace without a Namespace object among the manifests carries
	// the label the API server sets on every namespace, and on OpenShift
	// the router's namespace the policy-group labels the platform sets.
	l := map[string]string{nsNameKey: ns}
	if v.c.Platform == "openshift" && ns == "openshift-ingress" {
		l["policy-group.network.openshift.io/ingress"] = ""
		l["network.openshift.io/policy-group"] = "ingress"
	}
	return l
}

// peerMatches reports whether one peer of a rule (of a policy in ns)
// matches the connection's other end.
func (v *clusterView) peerMatches(pc npPeerC, policyNS string, peer l2Peer) bool {
	if pc.isBlock {
		switch {
		case peer.pod != nil || peer.node:
			return false
		case peer.anyAddr:
			return pc.block.containsAll(allOf(true))
		}
		return len(peer.addr) > 0 && pc.block.containsAll(peer.addr)
	}
	if peer.pod == nil {
		return false
	}
	if pc.namespaces == nil {
		if peer.pod.ns != policyNS {
			return false
		}
	} else if !pc.namespaces.matches(v.nsLabelsOf(peer.pod.ns)) {
		return false
	}
	return pc.pods == nil || pc.pods.matches(peer.pod.labels)
}

func (v *clusterView) ruleMatches(r npRuleC, policyNS string, peer l2Peer) bool {
	if len(r.peers) == 0 {
		return true
	}
	for _, pc := range r.peers {
		if v.peerMatches(pc, policyNS, peer) {
			return true
		}
	}
	return false
}

func dirName(ingress bool) string {
	if ingress {
		return "ingress"
	}
	return "egress"
}

// l2Ports is the set of connections a direction admits between pod and
// peer: every connection when no policy selects the pod, else the union of
// the ports of every rule whose peers match.
func (v *clusterView) l2Ports(pod l2Pod, peer l2Peer, ingress bool) portSet {
	if peer.node && ingress {
		return allPorts()
	}
	if parts := peer.ranges(); len(parts) > 1 {
		out := allPorts()
		for _, part := range parts {
			out = out.intersect(v.l2Ports(pod, part, ingress))
		}
		return out
	}
	sel := v.selecting(pod, ingress)
	if len(sel) == 0 {
		return allPorts()
	}
	var out portSet
	for _, np := range sel {
		rules := np.inRules
		if !ingress {
			rules = np.outRules
		}
		for _, r := range rules {
			if v.ruleMatches(r, np.ns, peer) {
				out.union(r.ports.resolved(pod.named))
			}
		}
	}
	return out
}

// l2Direction judges one direction (the destination pod's ingress or the
// source pod's egress) for one port.
func (v *clusterView) l2Direction(a *Analyzer, pod l2Pod, peer l2Peer, ingress bool, proto string, port int32, portNames map[string]int32) (Verdict, []Decision) {
	if parts := peer.ranges(); len(parts) > 1 {
		// A peer seen as several ranges (a pod of a dual-stack cluster)
		// has one address in one of them: each must be admitted.
		verdict := Allowed
		var all []Decision
		for _, part := range parts {
			v1, ds := v.l2Direction(a, pod, part, ingress, proto, port, portNames)
			verdict = and(verdict, v1)
			all = append(all, ds...)
		}
		if verdict == Denied {
			all = slices.DeleteFunc(all, func(d Decision) bool { return d.Effect == "allow" })
		}
		return verdict, all
	}
	if a.terse {
		return v.l2Verdict(pod, peer, ingress, proto, port, portNames), nil
	}
	dir := dirName(ingress)
	if peer.node && ingress {
		return Allowed, []Decision{{Rule: -1, Direction: dir, Effect: "allow",
			Text: a.textf("traffic from the pod's own node (kubelet probes) is always allowed")}}
	}
	sel := v.selecting(pod, ingress)
	if len(sel) == 0 {
		return Allowed, []Decision{{Rule: -1, Direction: dir, Effect: "allow",
			Text: a.textf("no NetworkPolicy selects %s for %s: it is not isolated", pod.text, title(dir))}}
	}
	for _, np := range sel {
		rules := np.inRules
		if !ingress {
			rules = np.outRules
		}
		for _, r := range rules {
			if v.ruleMatches(r, np.ns, peer) && r.ports.contains(proto, port, portNames) {
				return Allowed, []Decision{{Object: np.ref, Rule: r.index, RuleLine: r.line, Direction: dir, Effect: "allow",
					Text: a.textf("%s rule %d admits %s on %s %d", dir, r.index, peerText(r), proto, port)}}
			}
		}
	}
	// Denied: name the policy that isolates without admitting anything in
	// this direction (a default deny) first, then the others.
	slices.SortStableFunc(sel, func(a, b *netpol) int {
		na, nb := len(a.inRules), len(b.inRules)
		if !ingress {
			na, nb = len(a.outRules), len(b.outRules)
		}
		switch {
		case na == 0 && nb != 0:
			return -1
		case nb == 0 && na != 0:
			return 1
		}
		return 0
	})
	var ds []Decision
	for i, np := range sel {
		text := ""
		if !a.terse {
			text = fmt.Sprintf("selects %s for %s", pod.text, title(dir))
			if n := len(np.inRules); ingress && n == 0 || !ingress && len(np.outRules) == 0 {
				text += " and admits nothing (default deny)"
			} else {
				text += ", but none of its rules admits " + peer.text + fmt.Sprintf(" on %s %d", proto, port)
			}
			if i == 0 {
				text += fmt.Sprintf("; no rule of the %d polic%s selecting the pod admits it", len(sel), plural(len(sel), "y", "ies"))
			}
		}
		ds = append(ds, Decision{Object: np.ref, Rule: -1, Direction: dir, Effect: "deny", Text: text})
	}
	return Denied, ds
}

// l2Verdict is l2Direction without the decisions (the proof's hot path).
func (v *clusterView) l2Verdict(pod l2Pod, peer l2Peer, ingress bool, proto string, port int32, portNames map[string]int32) Verdict {
	if peer.node && ingress {
		return Allowed
	}
	sel := v.selectingShared(pod, ingress)
	if len(sel) == 0 {
		return Allowed
	}
	for _, np := range sel {
		rules := np.inRules
		if !ingress {
			rules = np.outRules
		}
		for _, r := range rules {
			if v.ruleMatches(r, np.ns, peer) && r.ports.contains(proto, port, portNames) {
				return Allowed
			}
		}
	}
	return Denied
}

func peerText(r npRuleC) string {
	if len(r.peers) == 0 {
		return "every peer"
	}
	var parts []string
	for _, p := range r.peers {
		parts = append(parts, p.text)
	}
	return strings.Join(parts, " or ")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// l2Unknown returns the objects of unmodeled engines that could apply to a
// pod of namespace ns in this cluster.
func (v *clusterView) l2Unknown(ns string) []*unknownObj {
	var out []*unknownObj
	for _, u := range v.unknownL2 {
		if u.namespace == "" || u.namespace == ns {
			out = append(out, u)
		}
	}
	return out
}

func unknownDecisions(us []*unknownObj) []Decision {
	var ds []Decision
	for _, u := range us {
		ds = append(ds, Decision{Object: u.ref, Rule: -1, Effect: "unknown",
			Text: "an object of " + u.engine + ", which verify does not model, may decide"})
	}
	return ds
}

func title(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
