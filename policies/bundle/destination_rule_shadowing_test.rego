package intentc.bundle.destination_rule_shadowing_test

import data.intentc.bundle.destination_rule_shadowing

dr(ns, host, extra) := {"object": {
	"apiVersion": "networking.istio.io/v1",
	"kind": "DestinationRule",
	"metadata": {"name": "inventory", "namespace": ns},
	"spec": object.union({"host": host}, extra),
}}

host := "inventory.prod.svc.cluster.local"

test_fires_on_client_namespace_rule if {
	f := destination_rule_shadowing.deny with input as {"cluster": "c", "objects": [dr("prod", "inventory", {}), dr("web", host, {})]}
	count(f) == 1
	some x in f
	x.object == 1
	x.path == ["spec", "host"]
}

test_fires_when_the_owner_exports_to_the_client if {
	count(destination_rule_shadowing.deny) == 1 with input as {"cluster": "c", "objects": [dr("prod", host, {"exportTo": ["web"]}), dr("web", host, {"exportTo": ["."]})]}
}

test_quiet_on_the_service_namespace_rule_alone if {
	count(destination_rule_shadowing.deny) == 0 with input as {"cluster": "c", "objects": [dr("prod", host, {})]}
}

test_quiet_without_the_owner_rule if {
	count(destination_rule_shadowing.deny) == 0 with input as {"cluster": "c", "objects": [dr("web", host, {})]}
}

test_quiet_in_the_root_namespace if {
	count(destination_rule_shadowing.deny) == 0 with input as {"cluster": "c", "objects": [dr("prod", host, {}), dr("istio-system", host, {})]}
}

test_quiet_when_the_owner_is_not_visible if {
	count(destination_rule_shadowing.deny) == 0 with input as {"cluster": "c", "objects": [dr("prod", host, {"exportTo": ["."]}), dr("web", host, {})]}
}

test_quiet_on_external_hosts if {
	count(destination_rule_shadowing.deny) == 0 with input as {"cluster": "c", "objects": [dr("prod", "db.example.com", {}), dr("web", "db.example.com", {})]}
}
