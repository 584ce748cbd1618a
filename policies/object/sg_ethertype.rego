# METADATA
# title: Security-group ethertype does not match the remote prefix
# description: >-
#   A Neutron rule's ethertype must be the address family of its
#   remote_ip_prefix (IPv4 for 0.0.0.0/0, IPv6 for ::/0); Neutron rejects the
#   rule otherwise, and an absent ethertype means IPv4. Checked in the
#   Neutron JSON and in Heat templates (rule resources and inline rules).
# custom:
#   code: IC4007
#   severity: error
#   layer: "1"
#   scope: object
#   kinds: [neutron, heat]
#   blame:
#     - MeshCluster spec.cidrs
package intentc.object.sg_ethertype

import data.intentc.lib.sg

deny contains finding if {
	not input.kind # a Kubernetes object: no security-group rules to read
	some r in sg.rules
	is_string(r.prefix)
	want := sg.family(r.prefix)
	r.ethertype != want
	finding := {
		"msg": sprintf("%s: ethertype %v but remote_ip_prefix %s is %s", [r.label, r.ethertype, r.prefix, want]),
		"path": array.concat(r.path, ["ethertype"]),
	}
}
