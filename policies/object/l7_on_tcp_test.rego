package intentc.object.l7_on_tcp_test

import data.intentc.object.l7_on_tcp

mesh := {"tcpPorts": {"prod": [{"service": "inventory", "selector": {"app": "inventory"}, "ports": [5432]}]}}

ap(selector, to) := {
	"apiVersion": "security.istio.io/v1",
	"kind": "AuthorizationPolicy",
	"metadata": {"name": "p", "namespace": "prod"},
	"spec": {"selector": {"matchLabels": selector}, "rules": [{"from": [{"source": {"principals": ["a/ns/b/sa/c"]}}], "to": to}]},
}

test_fires_on_methods_on_tcp_port if {
	f := l7_on_tcp.deny with input as ap({"app": "inventory"}, [{"operation": {"methods": ["GET"], "ports": ["8080", "5432"]}}])
		with data.intentc.mesh as mesh
	count(f) == 1
	some x in f
	x.path == ["spec", "rules", 0, "to", 0, "operation", "ports", 1]
}

test_fires_on_paths_without_ports if {
	f := l7_on_tcp.deny with input as ap({"app": "inventory"}, [{"operation": {"paths": ["/api"]}}])
		with data.intentc.mesh as mesh
	count(f) == 1
	some x in f
	x.path == ["spec", "rules", 0, "to", 0, "operation"]
}

test_fires_on_namespace_wide_policy if {
	count(l7_on_tcp.deny) == 1 with input as ap({}, [{"operation": {"notPaths": ["/x"], "ports": [5432]}}])
		with data.intentc.mesh as mesh
}

test_quiet_on_http_port if {
	count(l7_on_tcp.deny) == 0 with input as ap({"app": "inventory"}, [{"operation": {"methods": ["GET"], "ports": ["8080"]}}])
		with data.intentc.mesh as mesh
}

test_quiet_on_tcp_port_without_l7 if {
	count(l7_on_tcp.deny) == 0 with input as ap({"app": "inventory"}, [{"operation": {"ports": ["5432"]}}])
		with data.intentc.mesh as mesh
}

test_quiet_on_other_workload if {
	count(l7_on_tcp.deny) == 0 with input as ap({"app": "frontend"}, [{"operation": {"methods": ["GET"], "ports": ["5432"]}}])
		with data.intentc.mesh as mesh
}

test_quiet_on_other_namespace if {
	count(l7_on_tcp.deny) == 0 with input as object.union(ap({"app": "inventory"}, [{"operation": {"methods": ["GET"], "ports": ["5432"]}}]), {"metadata": {"namespace": "web"}})
		with data.intentc.mesh as mesh
}

test_quiet_without_mesh_data if {
	count(l7_on_tcp.deny) == 0 with input as ap({"app": "inventory"}, [{"operation": {"methods": ["GET"], "ports": ["5432"]}}])
}
