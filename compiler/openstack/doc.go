// Package openstack emits layer 1: for each platform: openstack cluster with
// spec.openstack, the Neutron security group for its nodes — intentc's own in
// owned mode, the rule set it expects in audit mode — as docs/security.md
// "Layer 1" describes: the east-west gateway path by load-balancer provider,
// the CNI's node-to-node flows with the group itself as the remote, and the
// other primaries' istiod to the API server. Ingress rules only (Neutron's
// default egress rules already allow all egress), never from 0.0.0.0/0 or
// ::/0, IPv4 and IPv6 as separate rules, identical rules merged, sorted
// canonically (ethertype, protocol, port min, port max, remote), each with
// its provenance in description (at most 255 characters; longer ones keep a
// prefix and end with " [sha256:<hash of the whole text>]").
//
// Input: an *ir.Model without errors.
//
// Output: []ir.Artifact, per OpenStack cloud and project (the clusters that
// share one are in the same files, their groups sorted by name):
//
//	openstack/<cloud>/<project>/security-groups.json        owned groups
//	openstack/<cloud>/<project>/security-groups.heat.yaml   the same, as a Heat template
//	openstack/<cloud>/<project>/security-groups.audit.json  audit mode: expected rules only
//
// The JSON form holds Neutron API request bodies with symbolic references
// and no IDs, keys sorted, two-space indented, one trailing newline:
//
//	{
//	  "cloud": "<clouds.yaml entry>",
//	  "project": "<project>",
//	  "security_groups": [
//	    {
//	      "description": "intentc: nodes of MeshCluster/<cluster>",
//	      "name": "<group>",                  // POST /v2.0/security-groups
//	      "rules": [                          // POST /v2.0/security-group-rules, each
//	        {
//	          "description": "intentc: <provenance>",
//	          "direction": "ingress",
//	          "ethertype": "IPv4" | "IPv6",   // always the remote prefix's family
//	          "port_range_max": 31443,        // absent for a protocol without ports
//	          "port_range_min": 31443,
//	          "protocol": "tcp" | "udp" | "4",   // "4" is IP-in-IP
//	          "remote_ip_prefix": "<cidr>"    // or
//	          "remote_group": "<group name in this document>"
//	        }
//	      ],
//	      "tags": ["managed-by:intentc"]     // owned groups only
//	    }
//	  ]
//	}
//
// A rule's security_group_id is its enclosing group; remote_group stands for
// remote_group_id and names a group of the same document.
//
// The Heat form (heat_template_version 2018-08-31) has one
// OS::Neutron::SecurityGroup per group, named "sg-<group>", with rules: []
// (Heat's default: Neutron's egress rules stay), and one
// OS::Neutron::SecurityGroupRule per rule, named "sg-<group>-rule-<hash of the
// canonical rule>" so that adding a rule renames no other, with
// security_group and remote_group given as get_resource. That resource type
// has no remote_mode property; remote_mode belongs to the inline rules of
// OS::Neutron::SecurityGroup, which intentc does not use.
//
// Diagnostic codes: IC3301 (a description shortened), plus IC2041 (an owned
// group without an apiServer to admit istiod to), IC2030 (a client with no
// egress CIDR of the family it dials), IC2009 (a whole-internet egress or
// member range refused), IC1014 (a group, cloud or project name Neutron or
// the output tree cannot take), IC1005 (an amphora load balancer with no
// member subnet and no node CIDRs) and IC3001 (two clusters claiming one
// group in one project).
package openstack
