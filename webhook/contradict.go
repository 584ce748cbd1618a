package webhook

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/intentc/intentc/compiler/ir"
)

// contradictions judges an unmanaged object being created or updated: does
// it change what the intent says about a managed host, workload or
// namespace?
func (j *Judge) contradictions(in *Intent, req *Request) []Finding {
	obj := req.Object
	k := req.key()
	switch k.Group + "/" + k.Kind {
	case "networking.istio.io/VirtualService":
		return j.secondVirtualService(in, k, obj)
	case "networking.istio.io/DestinationRule":
		return j.shadowingDestinationRule(in, k, obj)
	case "security.istio.io/AuthorizationPolicy":
		return j.authzWidening(in, k, obj)
	case "security.istio.io/PeerAuthentication":
		return j.peerAuthnWeakening(in, k, obj)
	case "networking.k8s.io/NetworkPolicy":
		return j.extraNetworkPolicy(in, k, obj)
	case "networking.istio.io/ServiceEntry":
		return j.serviceEntryHijack(in, k, obj)
	case "networking.istio.io/WorkloadEntry":
		return j.workloadEntry(in, k, labelsAt(obj, "spec", "labels"))
	case "networking.istio.io/WorkloadGroup":
		return j.workloadEntry(in, k, labelsAt(obj, "spec", "metadata", "labels"))
	case "networking.istio.io/EnvoyFilter":
		return j.envoyFilter(in, k, obj)
	case "networking.istio.io/Sidecar":
		return j.sidecar(in, k, obj)
	case "/Service":
		return j.serviceProtocol(in, k, obj)
	}
	return nil
}

func (j *Judge) secondVirtualService(in *Intent, k objKey, obj map[string]any) []Finding {
	if !appliesToMesh(obj) {
		return nil // gateway routes only: not the mesh's routing for the host
	}
	for _, h := range strs(obj, "spec", "hosts") {
		if owner, ok := in.vsHosts[fqdn(h, k.Namespace)]; ok {
			return []Finding{j.finding(RuleSecondVirtualService, "%s routes host %s, which intentc routes with %s; two VirtualServices for one host are merged in no defined order",
				k, fqdn(h, k.Namespace), owner)}
		}
	}
	return nil
}

func (j *Judge) shadowingDestinationRule(in *Intent, k objKey, obj map[string]any) []Finding {
	if k.Namespace == in.rootNS {
		return nil // the root namespace's rule is the last resort: the service's own wins
	}
	h := fqdn(str(obj, "spec", "host"), k.Namespace)
	owner, ok := in.drHosts[h]
	if !ok {
		return nil
	}
	where := "for clients in namespace " + k.Namespace + " it takes precedence over"
	if k.Namespace == owner.Namespace {
		where = "it competes with"
	}
	return []Finding{j.finding(RuleShadowingDestinationRule, "%s is for host %s: %s %s (its subsets and outlier detection)", k, h, where, owner)}
}

func (j *Judge) authzWidening(in *Intent, k objKey, obj map[string]any) []Finding {
	if a := str(obj, "spec", "action"); a != "" && a != "ALLOW" {
		return nil // DENY, AUDIT and CUSTOM policies cannot let anyone in
	}
	workloads := in.placed[k.Namespace]
	if k.Namespace == in.rootNS {
		// A root-namespace policy applies to every workload of the mesh.
		for _, ns := range sortedKeys(in.placed) {
			workloads = append(workloads, in.placed[ns]...)
		}
	}
	if len(workloads) == 0 {
		return nil
	}
	p := parseAuthz(obj)
	for _, s := range workloads {
		if !p.appliesTo(s.Name, s.Selector) {
			continue
		}
		var managed []authzRule
		for _, mp := range in.allows[s.Namespace] {
			if mp.managedAppliesTo(s.Name, s.Selector) {
				managed = append(managed, mp.rules...)
			}
		}
		for i, r := range p.rules {
			if what := uncovered(r, managed); what != "" {
				return []Finding{j.finding(RuleAuthzWidening, "%s rule %d lets %s reach %s (%s), which no AccessPolicy of the intent allows",
					k, i, what, s.Src.Ref(), s.Namespace+"/"+s.Name)}
			}
		}
	}
	return nil
}

// sortedKeys returns a map's keys in order, so that findings do not
// depend on map iteration.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func (j *Judge) peerAuthnWeakening(in *Intent, k objKey, obj map[string]any) []Finding {
	if !in.managedNS[k.Namespace] && k.Namespace != in.rootNS {
		return nil
	}
	weak := func(mode string) bool {
		switch strings.ToUpper(mode) {
		case "DISABLE":
			return true
		case "PERMISSIVE":
			return in.strict
		}
		return false
	}
	if mode := str(obj, "spec", "mtls", "mode"); weak(mode) {
		return []Finding{j.finding(RulePeerAuthnWeakening, "%s sets mTLS %s in a namespace where the intent requires STRICT", k, strings.ToUpper(mode))}
	}
	sel := labelsAt(obj, "spec", "selector", "matchLabels")
	ports, _ := lookup(obj, "spec", "portLevelMtls").(map[string]any)
	for _, port := range sortedKeys(ports) {
		mode := str(asMap(ports[port]), "mode")
		if !weak(mode) || (strings.ToUpper(mode) == "PERMISSIVE" && declaredPermissive(in, k.Namespace, sel, port)) {
			continue
		}
		return []Finding{j.finding(RulePeerAuthnWeakening, "%s sets mTLS %s on port %s, which the intent does not declare mtls: permissive", k, strings.ToUpper(mode), port)}
	}
	return nil
}

// declaredPermissive: the port is a target port some MeshService selected
// by the PeerAuthentication declares mtls: permissive.
func declaredPermissive(in *Intent, ns string, sel map[string]string, port string) bool {
	n, err := strconv.Atoi(port)
	if err != nil || len(sel) == 0 {
		return false // namespace-wide: broader than any one service's exception
	}
	for _, pp := range in.permissive[ns] {
		if subset(sel, pp.selector) && slices.Contains(pp.ports, int32(n)) {
			return true
		}
	}
	return false
}

// subset: every label of a is in b with the same value.
func subset(a, b map[string]string) bool {
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func (j *Judge) extraNetworkPolicy(in *Intent, k objKey, obj map[string]any) []Finding {
	if !in.managedNS[k.Namespace] {
		return nil
	}
	in2, _ := lookup(obj, "spec", "ingress").([]any)
	eg, _ := lookup(obj, "spec", "egress").([]any)
	if len(in2) == 0 && len(eg) == 0 {
		return nil // isolates only: NetworkPolicies add up, so this narrows nothing it did not already
	}
	var what []string
	if len(in2) > 0 {
		what = append(what, fmt.Sprintf("%d ingress rule(s)", len(in2)))
	}
	if len(eg) > 0 {
		what = append(what, fmt.Sprintf("%d egress rule(s)", len(eg)))
	}
	return []Finding{j.finding(RuleExtraNetworkPolicy, "%s adds %s in managed namespace %s; NetworkPolicies add up, so it allows traffic the intent does not",
		k, strings.Join(what, " and "), k.Namespace)}
}

func (j *Judge) serviceEntryHijack(in *Intent, k objKey, obj map[string]any) []Finding {
	for _, h := range strs(obj, "spec", "hosts") {
		host := fqdn(h, k.Namespace)
		if src, ok := in.seHosts[host]; ok {
			return []Finding{j.finding(RuleServiceEntryHijack, "%s claims host %s, which the intent manages (%s); its endpoints or resolution would take over the host", k, host, src)}
		}
	}
	if sel := labelsAt(obj, "spec", "workloadSelector", "labels"); len(sel) > 0 {
		for _, s := range in.placed[k.Namespace] {
			if selectorMayMatch(sel, s.Selector) {
				return []Finding{j.finding(RuleServiceEntryHijack, "%s selects the pods of %s as its endpoints", k, s.Src.Ref())}
			}
		}
	}
	return nil
}

func (j *Judge) workloadEntry(in *Intent, k objKey, labels map[string]string) []Finding {
	for _, s := range in.placed[k.Namespace] {
		if len(s.Selector) > 0 && subset(s.Selector, labels) {
			return []Finding{j.finding(RuleWorkloadEntryInjection, "%s carries the labels %s selects (%s), so its address becomes an endpoint of the managed service",
				k, s.Src.Ref(), showLabels(s.Selector))}
		}
	}
	return nil
}

func showLabels(m map[string]string) string {
	var parts []string
	for _, k := range sortedKeys(m) {
		parts = append(parts, k+"="+m[k])
	}
	return strings.Join(parts, ",")
}

// affected returns the managed workloads of the namespace (every one in
// the mesh for the root namespace) a workloadSelector may select.
func affected(in *Intent, ns string, sel map[string]string) []*ir.Service {
	var cands []*ir.Service
	if ns == in.rootNS {
		for _, n := range sortedKeys(in.placed) {
			cands = append(cands, in.placed[n]...)
		}
	} else {
		cands = in.placed[ns]
	}
	var out []*ir.Service
	for _, s := range cands {
		if selectorMayMatch(sel, s.Selector) {
			out = append(out, s)
		}
	}
	return out
}

func (j *Judge) envoyFilter(in *Intent, k objKey, obj map[string]any) []Finding {
	sel := labelsAt(obj, "spec", "workloadSelector", "labels")
	if refs, _ := lookup(obj, "spec", "targetRefs").([]any); len(refs) > 0 {
		return nil // gateways and waypoints, not sidecars of managed workloads
	}
	if ws := affected(in, k.Namespace, sel); len(ws) > 0 {
		return []Finding{j.finding(RuleEnvoyFilter, "%s applies to %s; an EnvoyFilter can rewrite routes and filters beneath every policy intentc generates", k, ws[0].Src.Ref())}
	}
	return nil
}

func (j *Judge) sidecar(in *Intent, k objKey, obj map[string]any) []Finding {
	ws := affected(in, k.Namespace, labelsAt(obj, "spec", "workloadSelector", "labels"))
	if len(ws) == 0 {
		return nil
	}
	var what []string
	if l, _ := lookup(obj, "spec", "ingress").([]any); len(l) > 0 {
		what = append(what, "ingress listeners")
	}
	if lookup(obj, "spec", "outboundTrafficPolicy") != nil {
		what = append(what, "an outbound traffic policy")
	}
	eg, _ := lookup(obj, "spec", "egress").([]any)
	for _, e := range eg {
		if l := strs(asMap(e), "hosts"); !slices.Contains(l, "*/*") {
			what = append(what, "egress hosts "+strings.Join(l, ","))
			break
		}
	}
	if len(what) == 0 {
		return nil
	}
	return []Finding{j.finding(RuleSidecar, "%s applies to %s and declares %s", k, ws[0].Src.Ref(), strings.Join(what, " and "))}
}

func (j *Judge) serviceProtocol(in *Intent, k objKey, obj map[string]any) []Finding {
	s := in.services[k.Namespace+"/"+k.Name]
	if s == nil {
		return nil
	}
	ports, _ := lookup(obj, "spec", "ports").([]any)
	for _, x := range ports {
		p := asMap(x)
		num, err := strconv.Atoi(fmt.Sprint(p["port"]))
		if err != nil {
			continue
		}
		i := slices.IndexFunc(s.Ports, func(ip *ir.Port) bool { return ip.Port == int32(num) })
		if i < 0 {
			continue
		}
		want := s.Ports[i]
		declared, how := declaredProtocol(p)
		if declared == "" || compatible(want.Protocol, declared) {
			continue
		}
		return []Finding{j.finding(RuleServiceProtocol, "%s port %d is %s by its %s, but the intent (%s) says %s; Istio would judge its traffic as %s",
			k, num, declared, how, s.Src.Ref(), want.Protocol, istioClass(declared))}
	}
	return nil
}

// declaredProtocol is the protocol Istio selects for a Service port from
// its declaration: the Kubernetes protocol when not TCP, then appProtocol,
// then the port name's prefix (<protocol>[-<suffix>]). "" means undeclared
// (Istio sniffs).
func declaredProtocol(p map[string]any) (string, string) {
	if proto := strings.ToUpper(str(p, "protocol")); proto != "" && proto != "TCP" {
		return strings.ToLower(proto), "Kubernetes protocol"
	}
	if ap := strings.ToLower(str(p, "appProtocol")); ap != "" {
		switch ap {
		case "kubernetes.io/h2c":
			return "http2", "appProtocol"
		case "kubernetes.io/ws", "kubernetes.io/wss":
			return "http", "appProtocol"
		}
		if istioClass(ap) != "" {
			return ap, "appProtocol"
		}
	}
	name := strings.ToLower(str(p, "name"))
	prefix, _, _ := strings.Cut(name, "-")
	if istioClass(prefix) != "" {
		return prefix, "name " + strconv.Quote(str(p, "name"))
	}
	return "", ""
}

// istioClass groups Istio's protocols by what the sidecar can see.
func istioClass(proto string) string {
	switch proto {
	case "http", "http2", "grpc", "grpc-web":
		return "HTTP"
	case "tcp", "mongo", "mysql", "redis":
		return "TCP"
	case "tls", "https":
		return "TLS"
	case "udp", "sctp":
		return "UDP"
	}
	return ""
}

func compatible(intentProto, declared string) bool {
	return istioClass(intentProto) == istioClass(declared)
}
