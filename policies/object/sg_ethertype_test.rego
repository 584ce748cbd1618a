package intentc.object.sg_ethertype_test

import data.intentc.object.sg_ethertype

json(rule) := {"cloud": "dc1", "project": "p", "security_groups": [{"name": "g", "rules": [rule]}]}

heat(props) := {"heat_template_version": "2018-08-31", "resources": {"r1": {"type": "OS::Neutron::SecurityGroupRule", "properties": props}}}

test_fires_on_ipv6_prefix_with_ipv4 if {
	f := sg_ethertype.deny with input as json({"direction": "ingress", "ethertype": "IPv4", "protocol": "tcp", "remote_ip_prefix": "::/0"})
	count(f) == 1
	some x in f
	x.path == ["security_groups", 0, "rules", 0, "ethertype"]
}

test_fires_on_ipv6_prefix_without_ethertype_in_heat if {
	f := sg_ethertype.deny with input as heat({"remote_ip_prefix": "2001:db8::/64"})
	count(f) == 1
	some x in f
	x.path == ["resources", "r1", "properties", "ethertype"]
}

test_fires_on_ipv4_prefix_with_ipv6 if {
	count(sg_ethertype.deny) == 1 with input as json({"direction": "ingress", "ethertype": "IPv6", "remote_ip_prefix": "10.0.0.0/8"})
}

test_fires_on_inline_heat_rule if {
	x := {"heat_template_version": "2018-08-31", "resources": {"g": {"type": "OS::Neutron::SecurityGroup", "properties": {"rules": [{"ethertype": "IPv4", "remote_ip_prefix": "fd00::/8"}]}}}}
	count(sg_ethertype.deny) == 1 with input as x
}

test_fires_on_neutron_rule_list if {
	count(sg_ethertype.deny) == 1 with input as {"security_group_rules": [{"direction": "ingress", "ethertype": "IPv4", "remote_ip_prefix": "::1/128"}]}
}

test_quiet_on_matching_families if {
	count(sg_ethertype.deny) == 0 with input as json({"direction": "ingress", "ethertype": "IPv6", "remote_ip_prefix": "::/0"})
	count(sg_ethertype.deny) == 0 with input as heat({"ethertype": "IPv4", "remote_ip_prefix": "192.168.10.0/24"})
}

test_quiet_on_remote_group if {
	count(sg_ethertype.deny) == 0 with input as json({"direction": "ingress", "ethertype": "IPv6", "remote_group": "g"})
}

test_quiet_on_inline_group_mode if {
	x := {"heat_template_version": "2018-08-31", "resources": {"g": {"type": "OS::Neutron::SecurityGroup", "properties": {"rules": [{"remote_mode": "remote_group_id", "ethertype": "IPv4", "remote_ip_prefix": "fd00::/8"}]}}}}
	count(sg_ethertype.deny) == 0 with input as x
}
