package intentc.bundle.default_deny_test

import data.intentc.bundle.default_deny

mesh := {
	"defaultDeny": true,
	"source": "Mesh/prod",
	"managedNamespaces": {"c1": {"prod": ["MeshService/prod/inventory"]}},
}

meta(kind, api, name) := {"apiVersion": api, "kind": kind, "metadata": {"name": name, "namespace": "prod"}}

allow_nothing := {"object": object.union(meta("AuthorizationPolicy", "security.istio.io/v1", "allow-nothing"), {"spec": {}})}

deny_all := {"object": object.union(meta("NetworkPolicy", "networking.k8s.io/v1", "intentc-default-deny"), {"spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}})}

dns := {"object": object.union(meta("NetworkPolicy", "networking.k8s.io/v1", "intentc-baseline-dns"), {"spec": {
	"podSelector": {},
	"policyTypes": ["Egress"],
	"egress": [{"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}}}], "ports": [{"port": 53, "protocol": "TCP"}, {"port": 53, "protocol": "UDP"}]}],
}})}

complete := {"cluster": "c1", "objects": [allow_nothing, deny_all, dns]}

without(i) := {"cluster": "c1", "objects": [o | some j, o in complete.objects; j != i]}

test_fires_without_allow_nothing if {
	f := default_deny.deny with input as without(0) with data.intentc.mesh as mesh
	count(f) == 1
	some x in f
	x.sources == ["Mesh/prod", "MeshService/prod/inventory"]
	contains(x.msg, "allow-nothing")
}

test_fires_without_default_deny_network_policy if {
	f := default_deny.deny with input as without(1) with data.intentc.mesh as mesh
	count(f) == 2
}

test_fires_without_dns if {
	f := default_deny.deny with input as without(2) with data.intentc.mesh as mesh
	count(f) == 1
	some x in f
	contains(x.msg, "DNS")
	x.object == 1
	x.path == ["spec", "policyTypes"]
	x.sources == ["Mesh/prod", "MeshService/prod/inventory"]
}

test_fires_once_with_two_egress_deniers if {
	second := object.union(deny_all, {"object": {"metadata": {"name": "another"}}})
	f := default_deny.deny with input as {"cluster": "c1", "objects": [allow_nothing, deny_all, second]} with data.intentc.mesh as mesh
	count(f) == 1
	some x in f
	x.object == 2
}

test_fires_on_allow_nothing_with_a_selector if {
	a := object.union(allow_nothing, {"object": {"spec": {"selector": {"matchLabels": {"app": "x"}}}}})
	count(default_deny.deny) == 1 with input as {"cluster": "c1", "objects": [a, deny_all, dns]} with data.intentc.mesh as mesh
}

test_fires_on_allow_all_rule if {
	a := object.union(allow_nothing, {"object": {"spec": {"rules": [{}]}}})
	count(default_deny.deny) == 1 with input as {"cluster": "c1", "objects": [a, deny_all, dns]} with data.intentc.mesh as mesh
}

test_fires_on_dns_over_tcp_only if {
	d := object.union(dns, {"object": {"spec": {"egress": [{"ports": [{"port": 53}]}]}}})
	count(default_deny.deny) == 1 with input as {"cluster": "c1", "objects": [allow_nothing, deny_all, d]} with data.intentc.mesh as mesh
}

test_fires_on_objects_in_another_namespace if {
	o := [object.union(x, {"object": {"metadata": {"namespace": "web"}}}) | some x in complete.objects]
	count(default_deny.deny) == 3 with input as {"cluster": "c1", "objects": o} with data.intentc.mesh as mesh
}

test_fires_on_namespace_list_for_every_cluster if {
	count(default_deny.deny) == 3 with input as {"cluster": "other", "objects": []}
		with data.intentc.mesh as {"defaultDeny": true, "managedNamespaces": ["prod"]}
}

test_quiet_when_complete if {
	count(default_deny.deny) == 0 with input as complete with data.intentc.mesh as mesh
}

test_quiet_with_openshift_dns_range if {
	d := object.union(dns, {"object": {"spec": {"egress": [{"ports": [{"port": 5000, "endPort": 6000, "protocol": "UDP"}]}]}}})
	count(default_deny.deny) == 0 with input as {"cluster": "c1", "objects": [allow_nothing, deny_all, d]} with data.intentc.mesh as mesh
}

test_quiet_without_default_deny if {
	count(default_deny.deny) == 0 with input as {"cluster": "c1", "objects": []} with data.intentc.mesh as object.union(mesh, {"defaultDeny": false})
	count(default_deny.deny) == 0 with input as {"cluster": "c1", "objects": []}
}

test_quiet_on_unmanaged_cluster if {
	count(default_deny.deny) == 0 with input as {"cluster": "c2", "objects": []} with data.intentc.mesh as mesh
}
