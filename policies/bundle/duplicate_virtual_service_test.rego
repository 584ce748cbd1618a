package intentc.bundle.duplicate_virtual_service_test

import data.intentc.bundle.duplicate_virtual_service

vs(ns, name, hosts, gateways) := {"object": {
	"apiVersion": "networking.istio.io/v1",
	"kind": "VirtualService",
	"metadata": {"name": name, "namespace": ns},
	"spec": object.union({"hosts": hosts, "http": [{"route": [{"destination": {"host": hosts[0]}}]}]}, gateways),
}}

test_fires_on_two_for_one_host if {
	f := duplicate_virtual_service.deny with input as {"cluster": "c", "objects": [
		vs("prod", "inventory", ["inventory.prod.svc.cluster.local"], {}),
		vs("prod", "inventory-canary", ["inventory"], {}),
	]}
	count(f) == 2
	{x.object | some x in f} == {0, 1}
}

test_fires_across_namespaces if {
	count(duplicate_virtual_service.deny) == 2 with input as {"cluster": "c", "objects": [
		vs("prod", "inventory", ["inventory.prod.svc.cluster.local"], {}),
		vs("web", "inventory", ["inventory.prod.svc.cluster.local"], {"gateways": ["mesh"]}),
	]}
}

test_quiet_on_distinct_hosts if {
	count(duplicate_virtual_service.deny) == 0 with input as {"cluster": "c", "objects": [
		vs("prod", "inventory", ["inventory"], {}),
		vs("web", "inventory", ["inventory"], {}),
	]}
}

test_quiet_on_gateway_routes if {
	count(duplicate_virtual_service.deny) == 0 with input as {"cluster": "c", "objects": [
		vs("prod", "inventory", ["inventory.prod.svc.cluster.local"], {}),
		vs("prod", "inventory-ingress", ["inventory.prod.svc.cluster.local"], {"gateways": ["istio-system/ingress"]}),
	]}
}
