# METADATA
# title: Invalid port range
# description: >-
#   A port range the platform rejects or reads differently from what was
#   meant. Security groups (Neutron JSON and Heat): a range needs a protocol
#   with ports (tcp, udp, dccp, sctp, udplite), both bounds, 1 <= min <= max
#   <= 65535 (0 is not "every port": leave the range out); ICMP types and
#   codes are 0-255 and a code needs a type. NetworkPolicy: ports are
#   1-65535, endPort needs a numeric port and is not below it.
#   AuthorizationPolicy: ports and notPorts are numbers 1-65535.
# custom:
#   code: IC4009
#   severity: error
#   layer: "1,2,3"
#   scope: object
#   kinds: [neutron, heat, NetworkPolicy, AuthorizationPolicy]
#   blame:
#     - MeshCluster spec.openstack
#     - AccessPolicy spec.to
#     - MeshService spec.ports
package intentc.object.invalid_port_range

import data.intentc.lib
import data.intentc.lib.sg

# --- security groups ---

deny contains finding if {
	not input.kind # a Kubernetes object: no security-group rules to read
	some r in sg.rules
	msg := sg_problem(r)
	finding := {"msg": sprintf("%s: %s", [r.label, msg]), "path": r.path}
}

has_range(r) if r.min != null

has_range(r) if r.max != null

sg_problem(r) := sprintf("a port range needs a protocol; protocol %s has none", [r.protocol]) if {
	has_range(r)
	not r.protocol in sg.port_protocols
	not r.protocol in sg.icmp_protocols
}

sg_problem(r) := sprintf("%s port range %v-%v needs both bounds", [r.protocol, r.min, r.max]) if {
	r.protocol in sg.port_protocols
	has_range(r)
	null in {r.min, r.max}
}

sg_problem(r) := sprintf("%s port range %v-%v is not within 1-65535 with min <= max (leave the range out for every port)", [r.protocol, r.min, r.max]) if {
	r.protocol in sg.port_protocols
	r.min != null
	r.max != null
	not valid_range(r.min, r.max, 1, 65535)
}

sg_problem(r) := sprintf("ICMP type/code %v/%v: both are 0-255 and a code needs a type", [r.min, r.max]) if {
	r.protocol in sg.icmp_protocols
	has_range(r)
	not valid_icmp(r.min, r.max)
}

valid_range(min, max, lo, hi) if {
	a := lib.port_number(min)
	b := lib.port_number(max)
	lo <= a
	a <= b
	b <= hi
}

valid_icmp(t, null) if icmp_value(t)

valid_icmp(t, c) if {
	icmp_value(t)
	icmp_value(c)
}

icmp_value(v) if {
	n := lib.port_number(v)
	n <= 255
}

# --- NetworkPolicy ---

deny contains finding if {
	input.kind == "NetworkPolicy" # first: OPA's rule index skips the body for other kinds
	startswith(input.apiVersion, "networking.k8s.io/") # lib.is_kind(input, "networking.k8s.io", "NetworkPolicy"), inline
	some dir in ["ingress", "egress"]
	some i, rule in input.spec[dir]
	some j, p in rule.ports
	np_bad(p)
	msg := np_problem(p)
	finding := {"msg": sprintf("%s[%d] port #%d: %s", [dir, i, j, msg]), "path": ["spec", dir, i, "ports", j]}
}

# np_bad is false, not undefined, for a good port: OPA keeps a function's
# values, never its failures, and intentc keeps them from one object to
# the next (lint/sharedcache.go), so each distinct port is judged once.
default np_bad(_) := false

np_bad(p) if np_problem(p)

# For a number, valid_range(n, n, 1, 65535) is 1 <= n <= 65535: the two
# comparisons, without the calls (this runs for every port of every
# NetworkPolicy).
np_problem(p) := sprintf("port %v is not within 1-65535", [p.port]) if {
	is_number(p.port)
	p.port < 1
}

np_problem(p) := sprintf("port %v is not within 1-65535", [p.port]) if {
	is_number(p.port)
	p.port > 65535
}

np_problem(p) := sprintf("endPort %v needs a numeric port", [p.endPort]) if {
	p.endPort != null
	not is_number(object.get(p, "port", null))
}

# Only for a port within range: a function must give one value, and a
# port out of range is the finding then (OPA reported two as a conflict).
np_problem(p) := sprintf("port range %v-%v is not within 1-65535 with port <= endPort", [p.port, p.endPort]) if {
	is_number(p.port)
	p.port >= 1
	p.port <= 65535
	p.endPort != null
	not valid_range(p.port, p.endPort, 1, 65535)
}

# --- AuthorizationPolicy ---

deny contains finding if {
	input.kind == "AuthorizationPolicy" # as above
	startswith(input.apiVersion, "security.istio.io/") # lib.is_kind(input, "security.istio.io", "AuthorizationPolicy"), inline
	some i, rule in input.spec.rules
	some j, to in rule.to
	some field in ["ports", "notPorts"]
	some k, port in to.operation[field]
	not valid_port(port)
	finding := {
		"msg": sprintf("%s entry %v is not a port number 1-65535", [field, port]),
		"path": ["spec", "rules", i, "to", j, "operation", field, k],
	}
}

# valid_port is valid_range(p, p, 1, 65535) with lib.port_number inline.
valid_port(p) if {
	is_number(p)
	1 <= p
	p <= 65535
}

valid_port(p) if {
	is_string(p)
	regex.match(`^[0-9]+$`, p)
	n := to_number(p)
	1 <= n
	n <= 65535
}
