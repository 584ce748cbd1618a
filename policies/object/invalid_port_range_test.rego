package intentc.object.invalid_port_range_test

import data.intentc.object.invalid_port_range

json(rule) := {"cloud": "dc1", "project": "p", "security_groups": [{"name": "g", "rules": [rule]}]}

heat(props) := {"heat_template_version": "2018-08-31", "resources": {"r1": {"type": "OS::Neutron::SecurityGroupRule", "properties": props}}}

tcp(min, max) := {"direction": "ingress", "ethertype": "IPv4", "protocol": "tcp", "port_range_min": min, "port_range_max": max, "remote_ip_prefix": "10.0.0.0/8"}

np(ports) := {
	"apiVersion": "networking.k8s.io/v1",
	"kind": "NetworkPolicy",
	"metadata": {"name": "n", "namespace": "prod"},
	"spec": {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{"ports": ports}]},
}

ap(ports) := {
	"apiVersion": "security.istio.io/v1",
	"kind": "AuthorizationPolicy",
	"metadata": {"name": "a", "namespace": "prod"},
	"spec": {"rules": [{"to": [{"operation": {"ports": ports}}]}]},
}

test_fires_on_reversed_range if {
	f := invalid_port_range.deny with input as json(tcp(2000, 1000))
	count(f) == 1
	some x in f
	x.path == ["security_groups", 0, "rules", 0]
}

test_fires_on_zero if {
	count(invalid_port_range.deny) == 1 with input as json(tcp(0, 0))
}

test_fires_above_65535 if {
	count(invalid_port_range.deny) == 1 with input as heat({"port_range_min": 1, "port_range_max": 70000})
}

test_fires_on_one_bound if {
	count(invalid_port_range.deny) == 1 with input as json(object.remove(tcp(22, 22), ["port_range_max"]))
}

test_fires_on_range_without_protocol if {
	count(invalid_port_range.deny) == 1 with input as json(object.remove(tcp(22, 22), ["protocol"]))
}

test_fires_on_range_for_ipip if {
	count(invalid_port_range.deny) == 1 with input as json(object.union(tcp(22, 22), {"protocol": "4"}))
}

test_fires_on_icmp_code_above_255 if {
	count(invalid_port_range.deny) == 1 with input as json(object.union(tcp(8, 300), {"protocol": "icmp"}))
}

test_fires_on_icmp_code_without_type if {
	count(invalid_port_range.deny) == 1 with input as json(object.union(object.remove(tcp(8, 0), ["port_range_min"]), {"protocol": "icmp"}))
}

test_fires_on_non_numeric_bound if {
	count(invalid_port_range.deny) == 1 with input as json(tcp("ssh", 22))
}

test_fires_on_netpol_end_port_below_port if {
	f := invalid_port_range.deny with input as np([{"port": 8080, "endPort": 80}])
	count(f) == 1
	some x in f
	x.path == ["spec", "ingress", 0, "ports", 0]
}

test_fires_on_netpol_end_port_with_named_port if {
	count(invalid_port_range.deny) == 1 with input as np([{"port": "http", "endPort": 9000}])
}

test_fires_on_netpol_port_zero if {
	count(invalid_port_range.deny) == 1 with input as np([{"port": 0}])
}

test_fires_on_authz_port if {
	f := invalid_port_range.deny with input as ap(["8080", "99999", "http"])
	count(f) == 2
}

test_quiet_on_valid_ranges if {
	count(invalid_port_range.deny) == 0 with input as json(tcp(22, 22))
	count(invalid_port_range.deny) == 0 with input as json(tcp(30000, 32767))
	count(invalid_port_range.deny) == 0 with input as heat({"port_range_min": "1", "port_range_max": "65535"})
}

test_quiet_without_range if {
	count(invalid_port_range.deny) == 0 with input as json(object.remove(tcp(1, 1), ["port_range_min", "port_range_max"]))
	count(invalid_port_range.deny) == 0 with input as json({"direction": "ingress", "protocol": "4", "remote_group": "g"})
}

test_quiet_on_icmp_type_only if {
	count(invalid_port_range.deny) == 0 with input as json(object.union(object.remove(tcp(8, 0), ["port_range_max"]), {"protocol": "icmp"}))
}

test_quiet_on_valid_netpol_ports if {
	count(invalid_port_range.deny) == 0 with input as np([{"port": 53, "protocol": "UDP"}, {"port": "http"}, {"port": 30000, "endPort": 32767}, {"protocol": "TCP"}])
}

test_quiet_on_valid_authz_ports if {
	count(invalid_port_range.deny) == 0 with input as ap(["8080", 9080])
}

test_fires_on_netpol_end_port_without_port if {
	count(invalid_port_range.deny) == 1 with input as np([{"endPort": 9000}])
}

# A port out of range with an endPort is one finding, not an evaluation
# error from two answers of np_problem.
test_fires_once_on_netpol_port_out_of_range_with_end_port if {
	f := invalid_port_range.deny with input as np([{"port": 70000, "endPort": 70001}])
	count(f) == 1
	some x in f
	contains(x.msg, "port 70000 is not within 1-65535")
}
