package intentc.object.netpol_policy_types_test

import data.intentc.object.netpol_policy_types

np(spec) := {
	"apiVersion": "networking.k8s.io/v1",
	"kind": "NetworkPolicy",
	"metadata": {"name": "intentc-default-deny", "namespace": "prod"},
	"spec": spec,
}

test_fires_without_policy_types if {
	f := netpol_policy_types.deny with input as np({"podSelector": {}})
	count(f) == 1
	some x in f
	x.path == ["spec"]
	contains(x.msg, "Ingress only")
}

test_fires_on_empty_policy_types if {
	count(netpol_policy_types.deny) == 1 with input as np({"podSelector": {}, "policyTypes": [], "egress": [{}]})
}

test_quiet_with_policy_types if {
	count(netpol_policy_types.deny) == 0 with input as np({"podSelector": {}, "policyTypes": ["Ingress", "Egress"]})
}

test_quiet_on_other_kinds if {
	count(netpol_policy_types.deny) == 0 with input as object.union(np({}), {"apiVersion": "crd.projectcalico.org/v1"})
}

test_fires_without_spec if {
	count(netpol_policy_types.deny) == 1 with input as object.remove(np({}), ["spec"])
}
