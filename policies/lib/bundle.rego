# Helpers of the bundle rules: one cluster's objects indexed by kind, host
# and namespace, built once per evaluation, so that each rule is linear in
# the size of the cluster (a cluster of a 1,000-service intent holds
# thousands of objects; pairwise comparisons would take seconds).
package intentc.lib.bundle

import data.intentc.lib

# The objects of each kind the rules read, as [index, object] in input
# order. The inner comprehension is indexed on kind (OPA's comprehension
# indexing: evaluated once, grouping every object by kind), so the four
# kinds cost one pass over the bundle, not one each. The API group is
# lib.is_kind's test, inline: a group has no "/", so the apiVersion starts
# with the group and a "/" exactly when what precedes its first "/" is
# the group. intentc hands the rules that grouping ready (input.by_kind:
# kind → [index, object] in input order), which saves that pass, 3-4 µs
# per object; an input without it (a test's, conftest's) is grouped here.
of_kind := [object.get(input.by_kind, kind, []) | some kind in bundle_kinds] if is_object(input.by_kind)

else := [l |
	some kind in bundle_kinds
	l := [[i, o.object] | some i, o in input.objects; kind = o.object.kind]
]

bundle_kinds := ["VirtualService", "DestinationRule", "AuthorizationPolicy", "NetworkPolicy"]

virtual_services := [x | some x in of_kind[0]; startswith(x[1].apiVersion, "networking.istio.io/")]

destination_rules := [x | some x in of_kind[1]; startswith(x[1].apiVersion, "networking.istio.io/")]

authorization_policies := [x | some x in of_kind[2]; startswith(x[1].apiVersion, "security.istio.io/")]

network_policies := [x | some x in of_kind[3]; startswith(x[1].apiVersion, "networking.k8s.io/")]

# obj is the bundle object at index i.
obj(i) := input.objects[i].object

# dr_host is a DestinationRule's host, expanded.
dr_host(dr) := lib.fqdn(dr.spec.host, dr.metadata.namespace)

# Each index below is an object comprehension over its distinct keys whose
# members come from a comprehension indexed on the key: OPA evaluates that
# one once, grouping every pair by key, so an index costs one pass. (A
# multi-value rule, index[k] contains v, checks each new member against
# every earlier one: quadratic in the size of the cluster.)

# dr_by_host: expanded host → indexes of the DestinationRules for it.
dr_by_host := {host: ks |
	some host in {h | some [h, _] in dr_hosts}
	ks := {i | some p in dr_hosts; host = p[0]; i := p[1]}
}

dr_hosts := [[host, i] |
	some [i, dr] in destination_rules
	host := dr_host(dr)
]

# vs_by_host: expanded host → indexes of the mesh VirtualServices naming it.
vs_by_host := {host: ks |
	some host in {h | some [h, _] in vs_hosts}
	ks := {i | some p in vs_hosts; host = p[0]; i := p[1]}
}

vs_hosts := [[host, i] |
	some [i, vs] in virtual_services
	mesh_bound(vs)
	some h in vs.spec.hosts
	host := lib.fqdn(h, vs.metadata.namespace)
]

# mesh_bound holds for a VirtualService that applies to sidecars (no
# gateways, or the mesh gateway among them).
mesh_bound(vs) if not lib.has_items(object.get(vs, "spec", {}), "gateways")

mesh_bound(vs) if "mesh" in vs.spec.gateways

drs_for(host) := dr_by_host[host]

aps_in(ns) := authorization_policies_in[ns]

nps_in(ns) := network_policies_in[ns]

# by namespace: [index, object] of the AuthorizationPolicies and
# NetworkPolicies, in input order. intentc hands the objects of each kind
# grouped by namespace (input.by_namespace: kind → namespace → [index,
# object]), which saves two passes over a cluster's policies; an input
# without it is grouped here.
authorization_policies_in := in_namespaces("AuthorizationPolicy", "security.istio.io/") if is_object(input.by_namespace)

else := {ns: l |
	some ns in {ap.metadata.namespace | some [_, ap] in authorization_policies}
	l := [[i, ap] | some [i, ap] in authorization_policies; ns = ap.metadata.namespace]
}

network_policies_in := in_namespaces("NetworkPolicy", "networking.k8s.io/") if is_object(input.by_namespace)

else := {ns: l |
	some ns in {np.metadata.namespace | some [_, np] in network_policies}
	l := [[i, np] | some [i, np] in network_policies; ns = np.metadata.namespace]
}

# in_namespaces is input.by_namespace[kind] without the objects of another
# API group (which of_kind's users leave out too) and without the
# namespaces that leaves empty.
in_namespaces(kind, group) := {ns: l |
	some ns, all in object.get(input.by_namespace, kind, {})
	l := [x | some x in all; startswith(x[1].apiVersion, group)]
	count(l) > 0
}

# managed_namespaces are the namespaces intentc manages in this cluster
# (data.intentc.mesh.managedNamespaces: {cluster: {namespace: [refs]}}, or a
# plain list that holds for every cluster).
managed_namespaces contains ns if {
	m := data.intentc.mesh.managedNamespaces[input.cluster]
	is_object(m)
	some ns, _ in m
}

managed_namespaces contains ns if {
	m := data.intentc.mesh.managedNamespaces[input.cluster]
	is_array(m)
	some ns in m
}

managed_namespaces contains ns if {
	m := data.intentc.mesh.managedNamespaces
	is_array(m)
	some ns in m
}

# namespace_sources are the intent objects that make ns managed here.
namespace_sources(ns) := s if {
	s := data.intentc.mesh.managedNamespaces[input.cluster][ns]
	is_array(s)
} else := []
