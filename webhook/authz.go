package webhook

import (
	"net/netip"
	"slices"
	"strings"
)

// authzPolicy is an ALLOW AuthorizationPolicy reduced to what coverage
// needs. A rule lets a request through when one of its sources and one of
// its operations match (and its conditions hold); the policy when any rule
// does.
type authzPolicy struct {
	selector   map[string]string // nil: every workload of the namespace
	targetRefs []string          // Service names (targetRefs of kind Service)
	rules      []authzRule
}

type authzRule struct {
	sources []authzSource // empty: any source
	ops     []authzOp     // empty: any operation
	// narrowed: the rule has conditions (when) or negations the coverage
	// check does not model; a managed rule with them is not relied on.
	narrowed bool
}

// authzSource is one from.source; a field left out (or an empty list, the
// same thing in the proto) does not constrain the caller.
type authzSource struct {
	principals, namespaces, requestPrincipals []string
	ipBlocks, remoteIPBlocks                  []netip.Prefix
	hasIPBlocks, hasRemoteIPs                 bool
	principalsPresent, namespacesPresent      bool
	requestPrincipalsPresent                  bool
	negated                                   bool // notPrincipals, notNamespaces, ...
	unparsedIP                                bool // an address that does not parse
}

type authzOp struct {
	ports, methods, paths, hosts []string // nil: unconstrained
	negated                      bool
}

func parseAuthz(obj map[string]any) *authzPolicy {
	p := &authzPolicy{selector: labelsAt(obj, "spec", "selector", "matchLabels")}
	if lookup(obj, "spec", "selector") != nil && p.selector == nil {
		p.selector = map[string]string{} // selector: {} selects every workload, as nil does
	}
	refs, _ := lookup(obj, "spec", "targetRefs").([]any)
	if ref, ok := lookup(obj, "spec", "targetRef").(map[string]any); ok {
		refs = append(refs, ref)
	}
	for _, r := range refs {
		if m, ok := r.(map[string]any); ok {
			if str(m, "kind") == "Service" {
				p.targetRefs = append(p.targetRefs, str(m, "name"))
			} else {
				p.targetRefs = append(p.targetRefs, "\x00"+str(m, "kind")) // a gateway: never a sidecar workload
			}
		}
	}
	rules, _ := lookup(obj, "spec", "rules").([]any)
	for _, x := range rules {
		rm, _ := x.(map[string]any)
		var r authzRule
		if rm == nil {
			rm = map[string]any{}
		}
		if w, _ := rm["when"].([]any); len(w) > 0 {
			r.narrowed = true
		}
		from, _ := rm["from"].([]any)
		for _, f := range from {
			src, _ := lookup(asMap(f), "source").(map[string]any)
			r.sources = append(r.sources, parseSource(src))
		}
		to, _ := rm["to"].([]any)
		for _, t := range to {
			op, _ := lookup(asMap(t), "operation").(map[string]any)
			r.ops = append(r.ops, parseOp(op))
		}
		for _, s := range r.sources {
			r.narrowed = r.narrowed || s.negated
		}
		for _, o := range r.ops {
			r.narrowed = r.narrowed || o.negated
		}
		p.rules = append(p.rules, r)
	}
	return p
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

// listOrNil reads a string list; nil when absent or empty (the proto
// cannot tell the two apart).
func listOrNil(m map[string]any, key string) []string {
	return strs(m, key)
}

func parseSource(m map[string]any) authzSource {
	var s authzSource
	if m == nil {
		return s
	}
	s.principals = listOrNil(m, "principals")
	s.principalsPresent = s.principals != nil
	s.namespaces = listOrNil(m, "namespaces")
	s.namespacesPresent = s.namespaces != nil
	s.requestPrincipals = listOrNil(m, "requestPrincipals")
	s.requestPrincipalsPresent = s.requestPrincipals != nil
	if l := listOrNil(m, "ipBlocks"); l != nil {
		s.hasIPBlocks = true
		s.ipBlocks, s.unparsedIP = prefixes(l)
	}
	if l := listOrNil(m, "remoteIpBlocks"); l != nil {
		s.hasRemoteIPs = true
		var bad bool
		s.remoteIPBlocks, bad = prefixes(l)
		s.unparsedIP = s.unparsedIP || bad
	}
	for _, k := range []string{"notPrincipals", "notNamespaces", "notIpBlocks", "notRemoteIpBlocks", "notRequestPrincipals"} {
		if len(strs(m, k)) > 0 {
			s.negated = true
		}
	}
	return s
}

func prefixes(l []string) ([]netip.Prefix, bool) {
	var out []netip.Prefix
	bad := false
	for _, x := range l {
		if p, err := netip.ParsePrefix(x); err == nil {
			out = append(out, p.Masked())
		} else if a, err := netip.ParseAddr(x); err == nil {
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
		} else {
			bad = true
		}
	}
	return out, bad
}

func parseOp(m map[string]any) authzOp {
	var o authzOp
	if m == nil {
		return o
	}
	o.ports = listOrNil(m, "ports")
	o.methods = listOrNil(m, "methods")
	o.paths = listOrNil(m, "paths")
	o.hosts = listOrNil(m, "hosts")
	for _, k := range []string{"notPorts", "notMethods", "notPaths", "notHosts"} {
		if len(strs(m, k)) > 0 {
			o.negated = true
		}
	}
	return o
}

// appliesTo reports whether the policy may select the pods of a workload
// with the given pod selector (a MeshService's). A label the policy names
// and the service's selector does not could still be on the pods, so only
// a contradicting value rules the workload out.
func (p *authzPolicy) appliesTo(svcName string, selector map[string]string) bool {
	if len(p.targetRefs) > 0 {
		return slices.Contains(p.targetRefs, svcName)
	}
	return selectorMayMatch(p.selector, selector)
}

// managedAppliesTo is appliesTo for the managed side, where only certainty
// counts: a managed policy covers a workload when its selector is a subset
// of the service's (or absent).
func (p *authzPolicy) managedAppliesTo(svcName string, selector map[string]string) bool {
	if len(p.targetRefs) > 0 {
		return slices.Contains(p.targetRefs, svcName)
	}
	for k, v := range p.selector {
		if selector[k] != v {
			return false
		}
	}
	return true
}

func selectorMayMatch(policy, pods map[string]string) bool {
	for k, v := range policy {
		if pv, ok := pods[k]; ok && pv != v {
			return false
		}
	}
	return true
}

// uncovered returns a description of the first (source, operation) pair of
// an unmanaged rule that no managed rule allows, or "" when every pair is
// allowed already. The check is conservative: what it cannot prove allowed
// (negations, conditions on the managed side, JWT principals) counts as
// widening.
func uncovered(r authzRule, managed []authzRule) string {
	sources := r.sources
	if len(sources) == 0 {
		sources = []authzSource{{}}
	}
	ops := r.ops
	if len(ops) == 0 {
		ops = []authzOp{{}}
	}
	for _, s := range sources {
		for _, o := range ops {
			if !slices.ContainsFunc(managed, func(m authzRule) bool { return ruleCovers(m, s, o) }) {
				return describeSource(s) + describeOp(o)
			}
		}
	}
	return ""
}

func ruleCovers(m authzRule, s authzSource, o authzOp) bool {
	if m.narrowed {
		return false
	}
	srcOK := len(m.sources) == 0 || slices.ContainsFunc(m.sources, func(ms authzSource) bool { return sourceCovers(ms, s) })
	opOK := len(m.ops) == 0 || slices.ContainsFunc(m.ops, func(mo authzOp) bool { return opCovers(mo, o) })
	return srcOK && opOK
}

// sourceCovers reports whether every caller s matches also matches m. Each
// field m constrains must be constrained at least as tightly by s.
func sourceCovers(m, s authzSource) bool {
	if s.unparsedIP {
		return false
	}
	if m.principalsPresent {
		if !s.principalsPresent || !allCovered(s.principals, m.principals, patternCovers) {
			return false
		}
	}
	if m.namespacesPresent {
		switch {
		case s.namespacesPresent && allCovered(s.namespaces, m.namespaces, patternCovers):
		case s.principalsPresent && len(s.principals) > 0 && allCovered(s.principals, m.namespaces, principalInNamespace):
		default:
			return false
		}
	}
	if m.hasIPBlocks && (!s.hasIPBlocks || !prefixesCovered(s.ipBlocks, m.ipBlocks)) {
		return false
	}
	if m.hasRemoteIPs && (!s.hasRemoteIPs || !prefixesCovered(s.remoteIPBlocks, m.remoteIPBlocks)) {
		return false
	}
	if m.requestPrincipalsPresent && (!s.requestPrincipalsPresent || !allCovered(s.requestPrincipals, m.requestPrincipals, patternCovers)) {
		return false
	}
	// A source that constrains nothing m constrains (a JWT principal
	// against a managed principal list, say) has failed above; one that
	// constrains nothing at all matches any caller and is covered only by a
	// managed source that constrains nothing either.
	return true
}

func opCovers(m, o authzOp) bool {
	field := func(mf, of []string) bool {
		if mf == nil {
			return true
		}
		return of != nil && allCovered(of, mf, patternCovers)
	}
	return field(m.ports, o.ports) && field(m.methods, o.methods) && field(m.paths, o.paths) && field(m.hosts, o.hosts)
}

func allCovered(xs, patterns []string, covers func(pattern, x string) bool) bool {
	for _, x := range xs {
		if !slices.ContainsFunc(patterns, func(p string) bool { return covers(p, x) }) {
			return false
		}
	}
	return true
}

// patternCovers reports whether Istio's string match pattern (exact,
// "prefix*", "*suffix" or "*") matches everything x matches, where x may be
// a pattern itself.
func patternCovers(pattern, x string) bool {
	switch {
	case pattern == "*":
		return true
	case pattern == x:
		return true
	case strings.HasSuffix(pattern, "*"):
		prefix := strings.TrimSuffix(pattern, "*")
		return !strings.HasPrefix(x, "*") && strings.HasPrefix(strings.TrimSuffix(x, "*"), prefix)
	case strings.HasPrefix(pattern, "*"):
		suffix := strings.TrimPrefix(pattern, "*")
		return !strings.HasSuffix(x, "*") && strings.HasSuffix(strings.TrimPrefix(x, "*"), suffix)
	}
	return false
}

// principalInNamespace: a principal <td>/ns/<ns>/sa/<sa> is in a namespace
// the pattern matches.
func principalInNamespace(nsPattern, principal string) bool {
	_, rest, ok := strings.Cut(principal, "/ns/")
	if !ok {
		return false
	}
	ns, _, ok := strings.Cut(rest, "/sa/")
	return ok && !strings.Contains(ns, "*") && patternCovers(nsPattern, ns)
}

func prefixesCovered(xs, within []netip.Prefix) bool {
	for _, x := range xs {
		if !slices.ContainsFunc(within, func(w netip.Prefix) bool {
			return w.Addr().BitLen() == x.Addr().BitLen() && w.Bits() <= x.Bits() && w.Contains(x.Addr())
		}) {
			return false
		}
	}
	return true
}

func describeSource(s authzSource) string {
	var parts []string
	if s.principalsPresent {
		parts = append(parts, "principals "+strings.Join(s.principals, ","))
	}
	if s.namespacesPresent {
		parts = append(parts, "namespaces "+strings.Join(s.namespaces, ","))
	}
	if s.hasIPBlocks {
		parts = append(parts, "ipBlocks "+joinPrefixes(s.ipBlocks))
	}
	if s.hasRemoteIPs {
		parts = append(parts, "remoteIpBlocks "+joinPrefixes(s.remoteIPBlocks))
	}
	if s.requestPrincipalsPresent {
		parts = append(parts, "requestPrincipals "+strings.Join(s.requestPrincipals, ","))
	}
	if len(parts) == 0 {
		return "any caller"
	}
	return strings.Join(parts, " ")
}

func describeOp(o authzOp) string {
	var parts []string
	if o.ports != nil {
		parts = append(parts, "ports "+strings.Join(o.ports, ","))
	}
	if o.methods != nil {
		parts = append(parts, "methods "+strings.Join(o.methods, ","))
	}
	if o.paths != nil {
		parts = append(parts, "paths "+strings.Join(o.paths, ","))
	}
	if o.hosts != nil {
		parts = append(parts, "hosts "+strings.Join(o.hosts, ","))
	}
	if len(parts) == 0 {
		return " on any port"
	}
	return " on " + strings.Join(parts, " ")
}

func joinPrefixes(ps []netip.Prefix) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, ",")
}
