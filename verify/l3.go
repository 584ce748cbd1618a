package verify

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// tri is a three-valued match: a condition verify cannot evaluate (an
// unmodelled `when` key, an address range partly inside a block) is maybe.
type tri int

const (
	no tri = iota
	maybe
	yes
)

func triAnd(a, b tri) tri { return min(a, b) }

func triOf(b bool) tri {
	if b {
		return yes
	}
	return no
}

func triNot(t tri) tri { return yes - t }

// l3Workload is the destination workload as the sidecar's authorization
// filter sees it.
type l3Workload struct {
	ns     string
	labels map[string]string
	td     string // the local trust domain
	text   string
	key    string // ns/labels, when known
}

// l3Req is one request (or TCP connection) as the destination's sidecar
// sees it.
type l3Req struct {
	principal string // "" without mTLS
	srcIP     ipSet  // the direct peer's address(es); nil when unknown
	remoteIP  ipSet
	ips       string // srcIP.String(), when srcIP and remoteIP are one keyedSet
	port      int32
	http      bool
	method    string
	path      string
	host      string
	headers   map[string]string
}

// appendViewKey appends what layer 3 tells requests apart by, as intentc
// uses it: an authenticated caller by its identity (the same in every
// cluster of a trust domain: policies name principals, not pod
// addresses), a plaintext one by its address.
func (r l3Req) appendViewKey(b []byte) []byte {
	if r.principal != "" {
		x := r
		x.srcIP, x.remoteIP, x.ips = nil, nil, ""
		return x.appendKey(b)
	}
	return r.appendKey(b)
}

func (r l3Req) key() string { return string(r.appendKey(make([]byte, 0, 96))) }

func (r l3Req) appendKey(b []byte) []byte {
	b = append(append(b, r.principal...), '|')
	if r.ips != "" {
		b = append(append(append(b, r.ips...), '|'), r.ips...)
	} else {
		if r.srcIP != nil {
			b = append(b, r.srcIP.String()...)
		}
		b = append(b, '|')
		if r.remoteIP != nil {
			b = append(b, r.remoteIP.String()...)
		}
	}
	b = strconv.AppendInt(append(b, '|'), int64(r.port), 10)
	if r.http {
		b = append(append(b, "|http|"...), r.method...)
		b = append(append(b, '|'), r.path...)
		b = append(append(b, '|'), r.host...)
		if len(r.headers) > 0 {
			b = append(append(b, '|'), labelString(r.headers)...)
		}
	}
	return b
}

func apOrder(a, b *authzPolicy) int {
	if c := strings.Compare(a.ns, b.ns); c != 0 {
		return c
	}
	if c := strings.Compare(a.ref.Name, b.ref.Name); c != 0 {
		return c
	}
	return strings.Compare(a.ref.File, b.ref.File)
}

// applicable returns the AuthorizationPolicies that apply to a workload:
// those of its namespace that select it (or select no workload), and
// those of the mesh root namespace, which apply mesh-wide.
func (v *clusterView) applicable(a *Analyzer, w l3Workload) (pols, targeted []*authzPolicy) {
	key := w.key
	if key == "" {
		key = w.ns + "/" + labelString(w.labels)
	}
	v.mu.Lock()
	m, ok := v.apMemo[key]
	v.mu.Unlock()
	if ok {
		return m[0], m[1]
	}
	defer func() {
		v.mu.Lock()
		v.apMemo[key] = [2][]*authzPolicy{pols, targeted}
		v.mu.Unlock()
	}()
	add := func(ns string) {
		for _, p := range v.authz[ns].candidates(w.labels, apOrder) {
			if p.selector != nil && !matchLabels(p.selector, w.labels) {
				continue
			}
			if p.targeted {
				targeted = append(targeted, p)
				continue
			}
			pols = append(pols, p)
		}
	}
	add(w.ns)
	if w.ns != a.root {
		add(a.root)
	}
	return pols, targeted
}

// strMatch is Istio's string match for principals, namespaces, hosts,
// paths and methods: exact, "prefix*", "*suffix", or "*" for any
// non-empty value.
func strMatch(pattern, v string) bool {
	switch {
	case pattern == "*":
		return v != ""
	case strings.HasSuffix(pattern, "*"):
		return strings.HasPrefix(v, strings.TrimSuffix(pattern, "*"))
	case strings.HasPrefix(pattern, "*"):
		return strings.HasSuffix(v, strings.TrimPrefix(pattern, "*"))
	}
	return pattern == v
}

func anyMatch(patterns []string, v string, f func(p, v string) bool) bool {
	return slices.ContainsFunc(patterns, func(p string) bool { return f(p, v) })
}

// principalMatch: a policy's "cluster.local" trust domain stands for the
// sidecar's own trust domain.
func principalMatcher(td string) func(p, v string) bool {
	return func(p, v string) bool {
		if rest, ok := strings.CutPrefix(p, "cluster.local/"); ok && td != "" {
			if strMatch(td+"/"+rest, v) {
				return true
			}
		}
		return strMatch(p, v)
	}
}

func hostMatch(p, v string) bool { return strMatch(strings.ToLower(p), strings.ToLower(v)) }

func nsOfPrincipal(p string) string {
	_, rest, ok := strings.Cut(p, "/ns/")
	if !ok {
		return ""
	}
	ns, _, _ := strings.Cut(rest, "/")
	return ns
}

// fieldIn matches a positive and a negative list (both optional).
func fieldIn(vals, notVals []string, v string, f func(p, v string) bool) tri {
	t := yes
	if len(vals) > 0 {
		t = triAnd(t, triOf(anyMatch(vals, v, f)))
	}
	if len(notVals) > 0 {
		t = triAnd(t, triOf(!anyMatch(notVals, v, f)))
	}
	return t
}

func ipIn(block ipSet, addr ipSet) tri {
	switch {
	case addr == nil:
		return maybe
	case block.containsAll(addr):
		return yes
	case !block.overlaps(addr):
		return no
	}
	return maybe
}

func ipField(vals, notVals ipSet, hasVals, hasNot bool, addr ipSet) tri {
	t := yes
	if hasVals {
		t = triAnd(t, ipIn(vals, addr))
	}
	if hasNot {
		t = triAnd(t, triNot(ipIn(notVals, addr)))
	}
	return t
}

// ruleMatch matches one rule. On a connection the sidecar does not parse
// as HTTP, a rule with HTTP-only fields never matches in an ALLOW policy
// and is read without those fields in a DENY or CUSTOM one (Istio's
// "Authorization for TCP traffic" task).
func ruleMatch(r apRuleC, allow bool, req l3Req, td string) (tri, string) {
	if !req.http && r.httpOnly && allow {
		return no, "uses HTTP-only fields on a TCP port, so Istio ignores the rule"
	}
	return ruleMatchFrom(r, allow, req, td, fromMatch(r, req, td)), ""
}

// fromMatch matches a rule's sources. It looks only at who sends (the
// principal and the addresses), so the proof matches it once per source
// and not once per request.
func fromMatch(r apRuleC, req l3Req, td string) tri {
	if len(r.raw.From) == 0 {
		return yes
	}
	ft := no
	for i, f := range r.raw.From {
		ft = max(ft, sourceMatch(f.Source, r.from[i], req, td))
	}
	return ft
}

// ruleMatchFrom is ruleMatch with the rule's sources already matched.
func ruleMatchFrom(r apRuleC, allow bool, req l3Req, td string, from tri) tri {
	if !req.http && r.httpOnly && allow {
		return no
	}
	t := from
	if t == no {
		return no
	}
	if len(r.raw.To) > 0 {
		tt := no
		for _, o := range r.raw.To {
			tt = max(tt, operationMatch(o.Operation, req))
		}
		t = triAnd(t, tt)
	}
	for _, c := range r.raw.When {
		t = triAnd(t, conditionMatch(c, req, td))
	}
	return t
}

func ruleHTTPOnly(r apRule) bool {
	for _, f := range r.From {
		if len(f.Source.RequestPrincipals)+len(f.Source.NotRequestPrincipals) > 0 {
			return true
		}
	}
	for _, o := range r.To {
		op := o.Operation
		if len(op.Hosts)+len(op.NotHosts)+len(op.Methods)+len(op.NotMethods)+len(op.Paths)+len(op.NotPaths) > 0 {
			return true
		}
	}
	for _, c := range r.When {
		if strings.HasPrefix(c.Key, "request.") {
			return true
		}
	}
	return false
}

func sourceMatch(s apSource, c apSourceC, req l3Req, td string) tri {
	pm := principalMatcher(td)
	t := yes
	if len(s.Principals)+len(s.NotPrincipals) > 0 {
		t = triAnd(t, fieldIn(s.Principals, s.NotPrincipals, req.principal, pm))
	}
	if len(s.Namespaces)+len(s.NotNamespaces) > 0 {
		ns := ""
		if req.principal != "" {
			ns = nsOfPrincipal(req.principal)
		}
		t = triAnd(t, fieldIn(s.Namespaces, s.NotNamespaces, ns, strMatch))
	}
	if len(s.ServiceAccounts)+len(s.NotServiceAccounts) > 0 {
		sa := ""
		if ns := nsOfPrincipal(req.principal); ns != "" {
			_, acct, _ := strings.Cut(req.principal, "/sa/")
			sa = ns + "/" + acct
		}
		t = triAnd(t, fieldIn(s.ServiceAccounts, s.NotServiceAccounts, sa, strMatch))
	}
	if len(s.RequestPrincipals)+len(s.NotRequestPrincipals) > 0 {
		// No request carries a JWT here: requestPrincipals never match.
		t = triAnd(t, fieldIn(s.RequestPrincipals, s.NotRequestPrincipals, "", strMatch))
	}
	if len(c.bad) > 0 {
		t = triAnd(t, maybe)
	}
	t = triAnd(t, ipField(c.ipBlocks, c.notIPBlocks, len(s.IPBlocks) > 0, len(s.NotIPBlocks) > 0, req.srcIP))
	t = triAnd(t, ipField(c.remote, c.notRemote, len(s.RemoteIPBlocks) > 0, len(s.NotRemoteIPBlocks) > 0, req.remoteIP))
	return t
}

func operationMatch(o apOperation, req l3Req) tri {
	t := yes
	if len(o.Ports)+len(o.NotPorts) > 0 {
		port := strconv.Itoa(int(req.port))
		t = triAnd(t, fieldIn(o.Ports, o.NotPorts, port, func(p, v string) bool { return p == v }))
	}
	if !req.http {
		// HTTP-only fields are dropped (DENY, CUSTOM) or have already
		// made the rule void (ALLOW).
		return t
	}
	if len(o.Hosts)+len(o.NotHosts) > 0 {
		t = triAnd(t, fieldIn(o.Hosts, o.NotHosts, req.host, hostMatch))
	}
	if len(o.Methods)+len(o.NotMethods) > 0 {
		t = triAnd(t, fieldIn(o.Methods, o.NotMethods, req.method, strMatch))
	}
	if len(o.Paths)+len(o.NotPaths) > 0 {
		t = triAnd(t, fieldIn(o.Paths, o.NotPaths, req.path, strMatch))
	}
	return t
}

func conditionMatch(c apCondition, req l3Req, td string) tri {
	var v string
	ipKey := false
	var addr ipSet
	switch {
	case c.Key == "source.ip":
		ipKey, addr = true, req.srcIP
	case c.Key == "remote.ip":
		ipKey, addr = true, req.remoteIP
	case c.Key == "source.namespace":
		if req.principal != "" {
			v = nsOfPrincipal(req.principal)
		}
	case c.Key == "source.principal":
		v = req.principal
	case c.Key == "destination.port":
		v = strconv.Itoa(int(req.port))
	case strings.HasPrefix(c.Key, "request.headers[") && strings.HasSuffix(c.Key, "]"):
		if !req.http {
			return yes // dropped on TCP (a DENY keeps the rest)
		}
		name := strings.ToLower(strings.TrimSuffix(strings.TrimPrefix(c.Key, "request.headers["), "]"))
		for k, hv := range req.headers {
			if strings.ToLower(k) == name {
				v = hv
			}
		}
	case strings.HasPrefix(c.Key, "request.auth."):
		if !req.http {
			return yes
		}
		v = "" // no JWT
	default:
		return maybe
	}
	if ipKey {
		pos, _ := parsePrefixes(c.Values)
		neg, _ := parsePrefixes(c.NotValues)
		return ipField(setOf(pos...), setOf(neg...), len(c.Values) > 0, len(c.NotValues) > 0, addr)
	}
	f := strMatch
	if c.Key == "source.principal" {
		f = principalMatcher(td)
	}
	return fieldIn(c.Values, c.NotValues, v, f)
}

// fromMatches matches the sources of every rule of pols, in order, for
// l3VerdictOf.
func fromMatches(pols []*authzPolicy, req l3Req, td string) []tri {
	var out []tri
	for _, p := range pols {
		for i := range p.rules {
			out = append(out, fromMatch(p.rules[i], req, td))
		}
	}
	return out
}

// l3VerdictOf is l3EvalFull's verdict alone, in one pass and without
// allocating (the proof asks for it millions of times on a large intent),
// with the workload's applicable policies already looked up and their
// rules' sources already matched (fromMatches).
func (v *clusterView) l3VerdictOf(a *Analyzer, pols []*authzPolicy, from []tri, w l3Workload, req l3Req) Verdict {
	for _, u := range v.unknownL3 {
		if u.namespace == w.ns || u.namespace == a.root {
			return Unknown
		}
	}
	off := 0 // where the policy's rules start in from
	match := func(p *authzPolicy) tri {
		best := no
		for i := range p.rules {
			if t := ruleMatchFrom(p.rules[i], p.action == "ALLOW", req, w.td, from[off+i]); t > best {
				if best = t; t == yes {
					break
				}
			}
		}
		return best
	}
	var custom, denyMaybe, anyAllow, allowYes, allowMaybe bool
	for k, p := range pols {
		if k > 0 {
			off += len(pols[k-1].rules)
		}
		if p.dryRun {
			continue
		}
		switch p.action {
		case "CUSTOM":
			custom = custom || match(p) != no
		case "DENY":
			switch match(p) {
			case yes:
				return Denied // before CUSTOM and ALLOW, as l3EvalFull
			case maybe:
				denyMaybe = true
			}
		case "ALLOW":
			anyAllow = true
			if !allowYes {
				switch match(p) {
				case yes:
					allowYes = true
				case maybe:
					allowMaybe = true
				}
			}
		}
	}
	switch {
	case custom:
		return Unknown
	case !anyAllow || allowYes:
		if denyMaybe {
			return Unknown
		}
		return Allowed
	case allowMaybe:
		return Unknown
	}
	return Denied
}

// l3EvalFull judges a request at a workload's sidecar, with the decisions
// and notes a reader is shown: CUSTOM, then DENY, then ALLOW; no ALLOW
// policy means allow; dry-run policies only log.
func (v *clusterView) l3EvalFull(a *Analyzer, w l3Workload, req l3Req) (Verdict, []Decision, string) {
	pols, targeted := v.applicable(a, w)
	var notes []string
	for _, p := range targeted {
		notes = append(notes, a.textf("%s uses targetRef, which applies to gateways and waypoints, not to sidecars", p.ref))
	}
	for _, u := range v.unknownL3 {
		if u.namespace == w.ns || u.namespace == a.root {
			return Unknown, unknownDecisions([]*unknownObj{u}), strings.Join(notes, "; ")
		}
	}
	match := func(p *authzPolicy) (tri, *apRuleC) {
		best, at := no, (*apRuleC)(nil)
		for i := range p.rules {
			t, _ := ruleMatch(p.rules[i], p.action == "ALLOW", req, w.td)
			if t > best {
				best, at = t, &p.rules[i]
			}
			if t == yes {
				break
			}
		}
		return best, at
	}
	dec := func(p *authzPolicy, r *apRuleC, effect, text string) Decision {
		d := Decision{Object: p.ref, Rule: -1, Effect: effect, Text: text}
		if r != nil {
			d.Rule, d.RuleLine, d.op = r.index, r.line, &r.raw
		}
		return d
	}
	scope := func(p *authzPolicy) string {
		if p.rootScope && p.ns != w.ns {
			return " (root namespace: mesh-wide)"
		}
		return ""
	}
	for _, p := range pols {
		if !p.dryRun {
			continue
		}
		if t, r := match(p); t != no {
			notes = append(notes, fmt.Sprintf("dry-run %s: its %s rule %d matches, but dry-run policies do not enforce", p.ref, p.action, r.index))
		}
	}
	var custom []Decision
	var denyMaybe []Decision
	for _, p := range pols {
		if p.dryRun || p.action != "CUSTOM" {
			continue
		}
		if t, r := match(p); t != no {
			custom = append(custom, dec(p, r, "custom", a.textf("CUSTOM rule %d delegates to the external authorizer %q%s, whose answer verify cannot know", r.index, p.provider, scope(p))))
		}
	}
	for _, p := range pols {
		if p.dryRun || p.action != "DENY" {
			continue
		}
		t, r := match(p)
		switch t {
		case yes:
			return Denied, []Decision{dec(p, r, "deny", a.textf("DENY rule %d matches%s", r.index, scope(p)))}, strings.Join(notes, "; ")
		case maybe:
			denyMaybe = append(denyMaybe, dec(p, r, "unknown", a.textf("DENY rule %d may match (a condition verify cannot evaluate)%s", r.index, scope(p))))
		}
	}
	if len(custom) > 0 {
		return Unknown, append(custom, denyMaybe...), strings.Join(notes, "; ")
	}
	var allows []*authzPolicy
	for _, p := range pols {
		if !p.dryRun && p.action == "ALLOW" {
			allows = append(allows, p)
		}
	}
	if len(allows) == 0 {
		if len(denyMaybe) > 0 {
			return Unknown, denyMaybe, strings.Join(notes, "; ")
		}
		return Allowed, []Decision{{Rule: -1, Effect: "allow", Text: a.textf("no ALLOW policy applies to %s, so what no DENY stops is allowed", w.text)}}, strings.Join(notes, "; ")
	}
	var allowMaybe []Decision
	for _, p := range allows {
		t, r := match(p)
		switch t {
		case yes:
			if len(denyMaybe) > 0 {
				return Unknown, denyMaybe, strings.Join(notes, "; ")
			}
			return Allowed, []Decision{dec(p, r, "allow", a.textf("ALLOW rule %d matches%s", r.index, scope(p)))}, strings.Join(notes, "; ")
		case maybe:
			allowMaybe = append(allowMaybe, dec(p, r, "unknown", a.textf("ALLOW rule %d may match (a condition verify cannot evaluate)%s", r.index, scope(p))))
		}
	}
	if len(allowMaybe) > 0 {
		return Unknown, allowMaybe, strings.Join(notes, "; ")
	}
	// Denied: every ALLOW policy applies and none matches. Name an
	// allow-nothing first (it is the default deny), then the rest.
	slices.SortStableFunc(allows, func(x, y *authzPolicy) int {
		switch {
		case len(x.rules) == 0 && len(y.rules) != 0:
			return -1
		case len(y.rules) == 0 && len(x.rules) != 0:
			return 1
		}
		return 0
	})
	var ds []Decision
	for i, p := range allows {
		text := ""
		if !a.terse {
			text = "ALLOW policy applies, but no rule matches" + scope(p)
			if len(p.rules) == 0 {
				text = "allow-nothing (an ALLOW policy without rules) applies" + scope(p)
			}
			if i == 0 {
				text += fmt.Sprintf("; none of the %d ALLOW polic%s on %s matches", len(allows), plural(len(allows), "y", "ies"), w.text)
			}
		}
		ds = append(ds, dec(p, nil, "deny", text))
	}
	return Denied, ds, strings.Join(notes, "; ")
}
