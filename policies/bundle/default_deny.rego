# METADATA
# title: Managed namespace without default deny
# description: >-
#   When the mesh says defaultDeny (data.intentc.mesh.defaultDeny), every
#   namespace intentc manages in the cluster (data.intentc.mesh.managedNamespaces)
#   needs, at layer 3, an allow-nothing AuthorizationPolicy (an ALLOW with no
#   rules, no selector and no targetRefs: spec {}) and, at layer 2, a
#   NetworkPolicy selecting every pod with explicit Ingress and Egress types
#   and no rules for them. Denying egress also denies DNS, so the namespace
#   must then let every pod reach DNS (a NetworkPolicy selecting every pod
#   with an egress rule for UDP 53, or 5353 on OpenShift): without it every
#   name lookup fails. A namespace intentc does not manage is not checked.
# custom:
#   code: IC4013
#   severity: error
#   layer: "2,3"
#   scope: bundle
#   kinds: [AuthorizationPolicy, NetworkPolicy]
#   blame:
#     - Mesh spec.defaultDeny
#     - MeshService
package intentc.bundle.default_deny

import data.intentc.lib
import data.intentc.lib.bundle

deny contains finding(ns, "no allow-nothing AuthorizationPolicy (spec: {}), so layer 3 admits callers no policy names") if {
	some ns in checked
	not allow_nothing(ns)
}

deny contains finding(ns, sprintf("no NetworkPolicy denies %s to every pod (podSelector: {}, policyTypes with %s, no %s rules)", [lower(dir), dir, lower(dir)])) if {
	some ns in checked
	some dir in ["Ingress", "Egress"]
	not np_denies(ns, dir)
}

# Reported at the policy that denies egress: that is what cut DNS off.
deny contains object.union(finding(ns, "egress is denied by default but no NetworkPolicy lets every pod reach DNS (UDP 53): every name lookup fails"), {"object": k, "path": ["spec", "policyTypes"]}) if {
	some ns in checked
	not dns(ns) # first: it stops at the DNS policy, where egress_denier reads every policy of the namespace
	k := egress_denier(ns)
}

checked contains ns if {
	lib.default_deny
	some ns in bundle.managed_namespaces
}

finding(ns, msg) := {
	"msg": sprintf("managed namespace %s%s: %s", [ns, where, msg]),
	"sources": array.concat(mesh_source, bundle.namespace_sources(ns)),
}

where := sprintf(" in cluster %s", [input.cluster]) if input.cluster != ""

else := ""

mesh_source := [s] if {
	s := data.intentc.mesh.source
	is_string(s)
} else := []

aps(ns) := [ap | some [_, ap] in bundle.aps_in(ns)]

nps(ns) := [np | some [_, np] in bundle.nps_in(ns)]

allow_nothing(ns) if {
	some ap in aps(ns)
	spec := object.get(ap, "spec", {})
	lib.value_or(spec, "action", "ALLOW") == "ALLOW"
	not lib.has_items(spec, "rules")
	count(lib.selector_labels(ap)) == 0
	not lib.has_items(spec, "targetRefs")
	not spec.targetRef
}

all_pods(np) if {
	sel := lib.value_or(np.spec, "podSelector", {})
	not lib.has_items(sel, "matchLabels")
	not lib.has_items(sel, "matchExpressions")
}

np_denies(ns, dir) if {
	some np in nps(ns)
	denies(np, dir)
}

denies(np, dir) if {
	dir in np.spec.policyTypes
	not lib.has_items(np.spec, lower(dir))
	all_pods(np)
}

# egress_denier is the index of the first policy (by name) denying egress
# in ns: one finding per namespace, not one per such policy.
egress_denier(ns) := k if {
	deniers := [[np.metadata.name, i] |
		some [i, np] in bundle.nps_in(ns)
		denies(np, "Egress")
	]
	count(deniers) > 0
	[_, k] := min(deniers)
}

dns(ns) if {
	some np in nps(ns)
	"Egress" in np.spec.policyTypes
	some rule in np.spec.egress
	dns_port(rule)
	all_pods(np)
}

dns_port(rule) if not lib.has_items(rule, "ports")

dns_port(rule) if {
	some p in rule.ports
	upper(lib.value_or(p, "protocol", "TCP")) == "UDP"
	covers(p, {53, 5353})
}

covers(p, _) if not p.port

covers(p, ports) if {
	n := lib.port_number(p.port)
	some want in ports
	n <= want
	want <= lib.port_number(lib.value_or(p, "endPort", n))
}
