# Helpers of the bundle rules: one cluster's objects indexed by kind, host
# and namespace, built once per evaluation, so that each rule is linear in
# the size of the cluster (a cluster of a 1,000-service intent holds
# thousands of objects; pairwise comparisons would take seconds).
package intentc.lib.bundle

import data.intentc.lib

# objects_of returns [index, object] for each bundle object of a kind.
objects_of(group, kind) := [[i, o.object] |
	some i, o in input.objects
	o.object.kind == kind # cheap, before the call
	lib.is_kind(o.object, group, kind)
]

virtual_services := objects_of("networking.istio.io", "VirtualService")

destination_rules := objects_of("networking.istio.io", "DestinationRule")

authorization_policies := objects_of("security.istio.io", "AuthorizationPolicy")

network_policies := objects_of("networking.k8s.io", "NetworkPolicy")

# obj is the bundle object at index i.
obj(i) := input.objects[i].object

# dr_host is a DestinationRule's host, expanded.
dr_host(dr) := lib.fqdn(dr.spec.host, dr.metadata.namespace)

# dr_by_host: expanded host → indexes of the DestinationRules for it.
dr_by_host[host] contains i if {
	some [i, dr] in destination_rules
	host := dr_host(dr)
}

# vs_by_host: expanded host → indexes of the mesh VirtualServices naming it.
vs_by_host[host] contains i if {
	some [i, vs] in virtual_services
	mesh_bound(vs)
	some h in vs.spec.hosts
	host := lib.fqdn(h, vs.metadata.namespace)
}

# mesh_bound holds for a VirtualService that applies to sidecars (no
# gateways, or the mesh gateway among them).
mesh_bound(vs) if not lib.has_items(object.get(vs, "spec", {}), "gateways")

mesh_bound(vs) if "mesh" in vs.spec.gateways

# Look-ups read the whole index first: OPA caches a document it evaluated
# in full, while a look-up by key into a multi-value rule re-evaluates the
# rule for that key, which here is a scan of every object.
drs_for(host) := idx[host] if idx := dr_by_host

aps_in(ns) := idx[ns] if idx := authorization_policies_in

nps_in(ns) := idx[ns] if idx := network_policies_in

# by namespace: indexes of the AuthorizationPolicies and NetworkPolicies.
authorization_policies_in[ns] contains i if {
	some [i, ap] in authorization_policies
	ns := ap.metadata.namespace
}

network_policies_in[ns] contains i if {
	some [i, np] in network_policies
	ns := np.metadata.namespace
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
