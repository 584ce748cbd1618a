# Security-group rules in every form intentc reads: Neutron API bodies (the
# JSON intentc writes, a list of rules, a single rule or group) and Heat
# templates (OS::Neutron::SecurityGroupRule resources and the inline rules of
# OS::Neutron::SecurityGroup). Each rule is normalised to what Neutron will
# apply, with each form's defaults, so the rules judge one shape.
package intentc.lib.sg

import data.intentc.lib

is_heat if input.heat_template_version

# rules is the set of normalised rules:
#   path      where the rule is in the input (for positions)
#   label     how messages name it
#   direction, ethertype, protocol ("any" for all protocols)
#   min, max  the port range as written (null when absent)
#   prefix    remote_ip_prefix (null when absent or ignored)
#   group     true when the remote is a security group
#   raw       the rule as written
rules contains r if {
	not is_heat
	some i, g in input.security_groups
	some key in ["rules", "security_group_rules"]
	some j, x in g[key]
	r := neutron(x, ["security_groups", i, key, j], sprintf("security group %v rule %d", [lib.value_or(g, "name", i), j]))
}

rules contains r if {
	not is_heat
	some key in ["rules", "security_group_rules"]
	some j, x in input.security_group[key]
	r := neutron(x, ["security_group", key, j], sprintf("security group %v rule %d", [lib.value_or(input.security_group, "name", "?"), j]))
}

rules contains r if {
	not is_heat
	some j, x in input.security_group_rules
	r := neutron(x, ["security_group_rules", j], sprintf("rule %d", [j]))
}

rules contains r if {
	not is_heat
	x := input.security_group_rule
	r := neutron(x, ["security_group_rule"], "rule")
}

# OS::Neutron::SecurityGroupRule: protocol defaults to tcp, direction to
# ingress; the remote is remote_group or remote_ip_prefix (no remote_mode).
rules contains r if {
	is_heat
	some name, res in input.resources
	res.type == "OS::Neutron::SecurityGroupRule"
	p := object.get(res, "properties", {})
	r := {
		"path": ["resources", name, "properties"],
		"label": sprintf("resource %s", [name]),
		"direction": lib.value_or(p, "direction", "ingress"),
		"ethertype": lib.value_or(p, "ethertype", "IPv4"),
		"protocol": protocol(lib.value_or(p, "protocol", "tcp")),
		"min": lib.value_or(p, "port_range_min", null),
		"max": lib.value_or(p, "port_range_max", null),
		"prefix": lib.value_or(p, "remote_ip_prefix", null),
		"group": lib.value_or(p, "remote_group", null) != null,
		"raw": p,
	}
}

# Inline rules of OS::Neutron::SecurityGroup: remote_mode defaults to
# remote_ip_prefix, and then remote_group_id is ignored (the rule opens to
# everyone); with remote_mode: remote_group_id the remote is that group (or
# the group itself), and remote_ip_prefix is ignored.
rules contains r if {
	is_heat
	some name, res in input.resources
	res.type == "OS::Neutron::SecurityGroup"
	some i, p in res.properties.rules
	by_group := lib.value_or(p, "remote_mode", "remote_ip_prefix") == "remote_group_id"
	r := {
		"path": ["resources", name, "properties", "rules", i],
		"label": sprintf("resource %s rule %d", [name, i]),
		"direction": lib.value_or(p, "direction", "ingress"),
		"ethertype": lib.value_or(p, "ethertype", "IPv4"),
		"protocol": protocol(lib.value_or(p, "protocol", null)),
		"min": lib.value_or(p, "port_range_min", null),
		"max": lib.value_or(p, "port_range_max", null),
		"prefix": inline_prefix(p, by_group),
		"group": by_group,
		"raw": p,
	}
}

inline_prefix(_, true) := null

inline_prefix(p, false) := lib.value_or(p, "remote_ip_prefix", null)

# neutron normalises a Neutron API rule body (intentc writes the remote
# group's name as remote_group; the API's own fields are the *_id ones).
neutron(x, path, label) := {
	"path": path,
	"label": label,
	"direction": lib.value_or(x, "direction", "ingress"),
	"ethertype": lib.value_or(x, "ethertype", "IPv4"),
	"protocol": protocol(lib.value_or(x, "protocol", null)),
	"min": lib.value_or(x, "port_range_min", null),
	"max": lib.value_or(x, "port_range_max", null),
	"prefix": lib.value_or(x, "remote_ip_prefix", null),
	"group": remote_group(x),
	"raw": x,
} if is_object(x)

remote_group(x) if {
	some key in ["remote_group_id", "remote_group", "remote_address_group_id"]
	lib.value_or(x, key, null) != null
}

default remote_group(_) := false

# protocol names a protocol the way Neutron compares them: by name, with
# "any" for every protocol (null, "", "any" or 0).
protocol_names := {
	"": "any", "any": "any", "0": "any", "1": "icmp", "6": "tcp", "17": "udp",
	"33": "dccp", "58": "ipv6-icmp", "132": "sctp", "136": "udplite",
	"icmpv6": "ipv6-icmp", "ipv6-icmp": "ipv6-icmp",
}

protocol(p) := "any" if p == null

protocol(p) := n if {
	p != null
	s := lower(sprintf("%v", [p]))
	n := protocol_names[s]
}

protocol(p) := s if {
	p != null
	s := lower(sprintf("%v", [p]))
	not protocol_names[s]
}

# Protocols whose rules carry a port range, and those whose "ports" are an
# ICMP type and code.
port_protocols := {"tcp", "udp", "dccp", "sctp", "udplite"}

icmp_protocols := {"icmp", "ipv6-icmp"}

# port_range is the range a port-protocol rule covers: a missing bound is
# open (a missing range is every port).
port_range(r) := [lo, hi] if {
	lo := bound(r.min, 1)
	hi := bound(r.max, 65535)
}

bound(v, d) := d if v == null

bound(v, _) := lib.port_number(v) if v != null

# world holds when the rule admits any address: no remote at all, or a
# prefix of length 0 (0.0.0.0/0, ::/0).
world(r) if {
	not r.group
	r.prefix == null
}

world(r) if {
	not r.group
	is_string(r.prefix)
	endswith(r.prefix, "/0")
}

remote_text(r) := "no remote" if r.prefix == null

remote_text(r) := sprintf("remote %s", [r.prefix]) if r.prefix != null

# family is the address family of a CIDR or address.
family(prefix) := "IPv6" if contains(prefix, ":")

family(prefix) := "IPv4" if not contains(prefix, ":")
