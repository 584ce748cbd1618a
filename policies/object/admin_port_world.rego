# METADATA
# title: Admin port open to the world
# description: >-
#   An ingress security-group rule that admits any address (a remote prefix
#   of length 0 such as 0.0.0.0/0 or ::/0, or no remote at all) on a port
#   range that contains an admin port: SSH 22, RDP 3389, the Kubernetes API
#   6443, etcd 2379-2380 or the kubelet 10250. A missing port range is every
#   port, and a rule for every protocol covers them all. Checked in the
#   Neutron JSON and in Heat templates; in Heat, an inline rule with
#   remote_group_id but without remote_mode remote_group_id is open to
#   everyone.
# custom:
#   code: IC4008
#   severity: error
#   layer: "1"
#   scope: object
#   kinds: [neutron, heat]
#   blame:
#     - MeshCluster spec.openstack
package intentc.object.admin_port_world

import data.intentc.lib.sg

admin_ports := [
	{"from": 22, "to": 22, "name": "SSH", "protocols": {"tcp"}},
	{"from": 2379, "to": 2380, "name": "etcd", "protocols": {"tcp"}},
	{"from": 3389, "to": 3389, "name": "RDP", "protocols": {"tcp", "udp"}},
	{"from": 6443, "to": 6443, "name": "Kubernetes API", "protocols": {"tcp"}},
	{"from": 10250, "to": 10250, "name": "kubelet", "protocols": {"tcp"}},
]

deny contains finding if {
	not input.kind # a Kubernetes object: no security-group rules to read
	some r in sg.rules
	r.direction == "ingress"
	sg.world(r)
	hits := [text(a) | some a in admin_ports; opens(r, a)]
	count(hits) > 0
	finding := {
		"msg": sprintf("%s opens %s to the world (%s, %s)", [r.label, concat(", ", hits), sg.remote_text(r), range_text(r)]),
		"path": r.path,
	}
}

opens(r, _) if r.protocol == "any"

opens(r, a) if {
	r.protocol in a.protocols
	[lo, hi] := sg.port_range(r)
	lo <= a.to
	hi >= a.from
}

text(a) := sprintf("%d (%s)", [a.from, a.name]) if a.from == a.to

text(a) := sprintf("%d-%d (%s)", [a.from, a.to, a.name]) if a.from != a.to

range_text(r) := "every protocol and port" if r.protocol == "any"

range_text(r) := sprintf("%s, no port range: every port", [r.protocol]) if {
	r.protocol != "any"
	r.min == null
	r.max == null
}

range_text(r) := sprintf("%s %v", [r.protocol, r.min]) if {
	r.protocol != "any"
	r.min == r.max
	r.min != null
}

range_text(r) := sprintf("%s %v-%v", [r.protocol, r.min, r.max]) if {
	r.protocol != "any"
	r.min != r.max
}

all_ports(r) if {
	r.min == null
	r.max == null
}
