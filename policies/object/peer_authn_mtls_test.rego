package intentc.object.peer_authn_mtls_test

import data.intentc.object.peer_authn_mtls

pa(spec) := {
	"apiVersion": "security.istio.io/v1",
	"kind": "PeerAuthentication",
	"metadata": {"name": "default", "namespace": "prod"},
	"spec": spec,
}

mesh := {"mtls": "strict", "permissivePorts": {"prod": [{"service": "inventory", "selector": {"app": "inventory"}, "ports": [9080]}]}}

exception(port, mode) := pa({
	"selector": {"matchLabels": {"app": "inventory"}},
	"mtls": {"mode": "STRICT"},
	"portLevelMtls": {port: {"mode": mode}},
})

test_fires_on_namespace_permissive if {
	f := peer_authn_mtls.deny with input as pa({"mtls": {"mode": "PERMISSIVE"}}) with data.intentc.mesh as mesh
	count(f) == 1
	some x in f
	x.path == ["spec", "mtls", "mode"]
}

test_fires_on_disable_without_data if {
	count(peer_authn_mtls.deny) == 1 with input as pa({"mtls": {"mode": "DISABLE"}})
}

test_fires_on_undeclared_port if {
	f := peer_authn_mtls.deny with input as exception("8080", "PERMISSIVE") with data.intentc.mesh as mesh
	count(f) == 1
	some x in f
	x.path == ["spec", "portLevelMtls", "8080", "mode"]
}

test_fires_on_disable_of_declared_port if {
	count(peer_authn_mtls.deny) == 1 with input as exception("9080", "DISABLE") with data.intentc.mesh as mesh
}

test_fires_on_declared_port_of_another_workload if {
	x := object.union(exception("9080", "PERMISSIVE"), {"spec": {"selector": {"matchLabels": {"app": "frontend"}}}})
	count(peer_authn_mtls.deny) == 1 with input as x with data.intentc.mesh as mesh
}

test_fires_on_declared_port_namespace_wide if {
	x := pa({"mtls": {"mode": "STRICT"}, "portLevelMtls": {"9080": {"mode": "PERMISSIVE"}}})
	count(peer_authn_mtls.deny) == 1 with input as x with data.intentc.mesh as mesh
}

test_quiet_on_declared_permissive_port if {
	count(peer_authn_mtls.deny) == 0 with input as exception("9080", "PERMISSIVE") with data.intentc.mesh as mesh
}

test_quiet_on_strict if {
	count(peer_authn_mtls.deny) == 0 with input as pa({"mtls": {"mode": "STRICT"}}) with data.intentc.mesh as mesh
}

test_quiet_on_unset if {
	count(peer_authn_mtls.deny) == 0 with input as pa({"mtls": {"mode": "UNSET"}}) with data.intentc.mesh as mesh
}

test_quiet_when_mesh_is_permissive if {
	count(peer_authn_mtls.deny) == 0 with input as pa({"mtls": {"mode": "PERMISSIVE"}}) with data.intentc.mesh as {"mtls": "permissive"}
}
