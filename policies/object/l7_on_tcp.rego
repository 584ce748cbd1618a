# METADATA
# title: HTTP conditions on a TCP port
# description: >-
#   An AuthorizationPolicy operation with methods, paths or hosts (or their
#   not- forms) that applies to a port the intent declares tcp or tls: the
#   sidecar cannot see requests there, so an ALLOW rule never matches (the
#   callers are cut off) and a DENY rule denies every connection. The mesh
#   data says which target ports of which service are not HTTP
#   (data.intentc.mesh.tcpPorts, by namespace); an operation without ports applies to all
#   of them.
# custom:
#   code: IC4004
#   severity: error
#   layer: "3"
#   scope: object
#   kinds: [AuthorizationPolicy]
#   blame:
#     - AccessPolicy spec.http
#     - MeshService spec.ports
package intentc.object.l7_on_tcp

import data.intentc.lib

l7_fields := ["methods", "notMethods", "paths", "notPaths", "hosts", "notHosts"]

deny contains finding if {
	some o in operations
	[i, j, op, svc] := o
	some k, port in op.ports
	lib.port_number(port) in svc_ports(svc)
	finding := {
		"msg": sprintf("operation with %s applies to port %v, which %s declares tcp: the sidecar cannot see HTTP requests there", [concat("/", l7(op)), port, svc_name(svc)]),
		"path": ["spec", "rules", i, "to", j, "operation", "ports", k],
	}
}

deny contains finding if {
	some o in operations
	[i, j, op, svc] := o
	not lib.has_items(op, "ports")
	count(svc_ports(svc)) > 0
	finding := {
		"msg": sprintf("operation with %s names no ports, so it also applies to %s's tcp port(s) %v, where the sidecar cannot see HTTP requests", [concat("/", l7(op)), svc_name(svc), sort(svc_ports(svc))]),
		"path": ["spec", "rules", i, "to", j, "operation"],
	}
}

# operations: each (rule index, to index, operation, service) where the
# operation has HTTP conditions and the policy selects the service's pods.
operations contains [i, j, op, svc] if {
	input.kind == "AuthorizationPolicy"
	startswith(input.apiVersion, "security.istio.io/") # lib.is_kind(input, "security.istio.io", "AuthorizationPolicy"), inline
	some i, rule in input.spec.rules
	some j, to in rule.to
	op := to.operation
	has_l7(op)
	some svc in tcp_services
}

# tcp_services are the services of the policy's namespace with tcp ports
# whose pods it selects (lib.selects): computed once per policy, not once
# per operation, and with one builtin per service where the selector's
# values are plain (object.subset compares those as lib.selects does).
tcp_services := namespace_tcp_services if count(lib.selector_labels(input)) == 0

tcp_services := selected_tcp_services(input.metadata.namespace, sel) if {
	sel := lib.selector_labels(input)
	count(sel) > 0
	every x in sel {
		is_string(x)
	}
}

# selected_tcp_services is the case above as a function of the namespace
# and the selector alone, which intentc keeps from one object to the next
# (lint/sharedcache.go): a policy's copies in every cluster, and the
# policies of one workload, share a selector.
selected_tcp_services(ns, sel) := [svc |
	some svc in namespace_tcp_services_of(ns)
	svc.selector[k] == v # one label first: most services fail it
	labels := object.get(svc, "selector", {})
	is_object(labels)
	object.subset(labels, sel)
] if {
	k := min(object.keys(sel))
	v := sel[k]
}

tcp_services := [svc |
	some svc in namespace_tcp_services
	lib.selects(input, object.get(svc, "selector", {}))
] if {
	sel := lib.selector_labels(input)
	some v in sel
	not is_string(v)
}

# namespace_tcp_services is what the mesh lists for the policy's namespace
# (iterated as it is: copied into a list, it cost as much as the checks).
namespace_tcp_services := namespace_tcp_services_of(input.metadata.namespace)

namespace_tcp_services_of(ns) := s if {
	s := data.intentc.mesh.tcpPorts[ns]
} else := []

# l7 names the HTTP fields op has (lib.has_items, inline), for a finding's
# message; has_l7 is whether it has any, and stops at the first (it runs for
# every operation of every policy).
l7(op) := [f | some f in l7_fields; count(op[f]) > 0]

has_l7(op) if {
	some f in l7_fields
	count(op[f]) > 0
}

svc_ports(svc) := {n | some p in svc.ports; n := lib.port_number(p)}

svc_name(svc) := sprintf("%s/%s", [input.metadata.namespace, svc.service]) if svc.service

svc_name(svc) := "the service" if not svc.service
