package intentc.object.admin_port_world_test

import data.intentc.object.admin_port_world

json(rule) := {"cloud": "dc1", "project": "p", "security_groups": [{"name": "g", "rules": [rule]}]}

heat(props) := {"heat_template_version": "2018-08-31", "resources": {"r1": {"type": "OS::Neutron::SecurityGroupRule", "properties": props}}}

inline(rule) := {"heat_template_version": "2018-08-31", "resources": {"g": {"type": "OS::Neutron::SecurityGroup", "properties": {"rules": [rule]}}}}

ssh := {"direction": "ingress", "ethertype": "IPv4", "protocol": "tcp", "port_range_min": 22, "port_range_max": 22, "remote_ip_prefix": "0.0.0.0/0"}

test_fires_on_ssh_from_anywhere if {
	f := admin_port_world.deny with input as json(ssh)
	count(f) == 1
	some x in f
	x.path == ["security_groups", 0, "rules", 0]
	contains(x.msg, "22 (SSH)")
}

test_fires_on_range_containing_22 if {
	f := admin_port_world.deny with input as json(object.union(ssh, {"port_range_min": 1, "port_range_max": 1024}))
	count(f) == 1
	some x in f
	contains(x.msg, "tcp 1-1024")
}

test_fires_on_missing_port_range if {
	count(admin_port_world.deny) == 1 with input as json(object.remove(ssh, ["port_range_min", "port_range_max"]))
}

test_fires_on_missing_remote if {
	count(admin_port_world.deny) == 1 with input as json(object.remove(ssh, ["remote_ip_prefix"]))
}

test_fires_on_ipv6_world if {
	count(admin_port_world.deny) == 1 with input as json(object.union(ssh, {"ethertype": "IPv6", "remote_ip_prefix": "::/0"}))
}

test_fires_on_every_protocol if {
	f := admin_port_world.deny with input as json({"direction": "ingress", "remote_ip_prefix": "0.0.0.0/0"})
	count(f) == 1
	some x in f
	contains(x.msg, "10250 (kubelet)")
}

test_fires_on_protocol_number if {
	count(admin_port_world.deny) == 1 with input as json(object.union(ssh, {"protocol": "6", "port_range_min": 6000, "port_range_max": 7000}))
}

test_fires_on_etcd_overlap if {
	count(admin_port_world.deny) == 1 with input as json(object.union(ssh, {"port_range_min": 2380, "port_range_max": 2400}))
}

test_fires_on_rdp_udp if {
	count(admin_port_world.deny) == 1 with input as json(object.union(ssh, {"protocol": "udp", "port_range_min": 3389, "port_range_max": 3389}))
}

test_fires_in_heat if {
	f := admin_port_world.deny with input as heat({"port_range_min": 22, "port_range_max": 22})
	count(f) == 1
	some x in f
	x.path == ["resources", "r1", "properties"]
}

test_fires_in_heat_with_default_protocol_and_no_range if {
	count(admin_port_world.deny) == 1 with input as heat({"remote_ip_prefix": "::/0", "ethertype": "IPv6"})
}

test_fires_on_inline_remote_group_without_mode if {
	count(admin_port_world.deny) == 1 with input as inline({"protocol": "tcp", "port_range_min": 6443, "port_range_max": 6443, "remote_group_id": "other"})
}

test_quiet_on_narrow_prefix if {
	count(admin_port_world.deny) == 0 with input as json(object.union(ssh, {"remote_ip_prefix": "198.51.100.20/32"}))
}

test_quiet_on_remote_group if {
	count(admin_port_world.deny) == 0 with input as json(object.union(object.remove(ssh, ["remote_ip_prefix"]), {"remote_group": "g"}))
	count(admin_port_world.deny) == 0 with input as heat({"port_range_min": 22, "port_range_max": 22, "remote_group": {"get_resource": "g"}})
	count(admin_port_world.deny) == 0 with input as inline({"protocol": "tcp", "remote_mode": "remote_group_id"})
}

test_quiet_on_other_ports if {
	count(admin_port_world.deny) == 0 with input as json(object.union(ssh, {"port_range_min": 15443, "port_range_max": 15443}))
}

test_quiet_on_udp_ssh if {
	count(admin_port_world.deny) == 0 with input as json(object.union(ssh, {"protocol": "udp"}))
}

test_quiet_on_egress if {
	count(admin_port_world.deny) == 0 with input as json(object.union(ssh, {"direction": "egress"}))
}

test_quiet_on_icmp if {
	count(admin_port_world.deny) == 0 with input as json({"direction": "ingress", "protocol": "icmp", "remote_ip_prefix": "0.0.0.0/0"})
}
