package intentc.bundle.missing_subset_test

import data.intentc.bundle.missing_subset

vs(ns, host, subsets) := {"object": {
	"apiVersion": "networking.istio.io/v1",
	"kind": "VirtualService",
	"metadata": {"name": "inventory", "namespace": ns},
	"spec": {"hosts": [host], "http": [{"route": [{"destination": {"host": host, "subset": s}, "weight": 50} | some s in subsets]}]},
}}

dr(ns, host, subsets) := {"object": {
	"apiVersion": "networking.istio.io/v1",
	"kind": "DestinationRule",
	"metadata": {"name": "inventory", "namespace": ns},
	"spec": {"host": host, "subsets": [{"name": s, "labels": {"topology.istio.io/cluster": s}} | some s in subsets]},
}}

host := "inventory.prod.svc.cluster.local"

test_fires_on_missing_subset if {
	f := missing_subset.deny with input as {"cluster": "c", "objects": [
		dr("prod", host, ["a"]),
		vs("prod", host, ["a", "b"]),
	]}
	count(f) == 1
	some x in f
	x.object == 1
	x.path == ["spec", "http", 0, "route", 1, "destination", "subset"]
}

test_fires_without_any_destination_rule if {
	count(missing_subset.deny) == 2 with input as {"cluster": "c", "objects": [vs("prod", host, ["a", "b"])]}
}

test_fires_on_rule_for_another_host if {
	count(missing_subset.deny) == 1 with input as {"cluster": "c", "objects": [
		dr("prod", "frontend.web.svc.cluster.local", ["a"]),
		vs("prod", host, ["a"]),
	]}
}

test_fires_on_rule_not_exported_to_the_namespace if {
	d := object.union(dr("prod", host, ["a"]), {"object": {"spec": {"exportTo": ["."]}}})
	count(missing_subset.deny) == 1 with input as {"cluster": "c", "objects": [d, vs("web", host, ["a"])]}
}

test_fires_on_mirror_subset if {
	v := object.union(vs("prod", host, ["a"]), {"object": {"spec": {"http": [{"route": [{"destination": {"host": host, "subset": "a"}}], "mirror": {"host": host, "subset": "shadow"}}]}}})
	f := missing_subset.deny with input as {"cluster": "c", "objects": [dr("prod", host, ["a"]), v]}
	count(f) == 1
	some x in f
	x.path == ["spec", "http", 0, "mirror", "subset"]
}

test_quiet_when_subsets_exist if {
	count(missing_subset.deny) == 0 with input as {"cluster": "c", "objects": [
		dr("prod", host, ["a", "b"]),
		vs("prod", host, ["a", "b"]),
	]}
}

test_quiet_with_short_host_names if {
	count(missing_subset.deny) == 0 with input as {"cluster": "c", "objects": [
		dr("prod", "inventory", ["a"]),
		vs("prod", "inventory", ["a"]),
	]}
}

test_quiet_without_subsets if {
	v := object.union(vs("prod", host, []), {"object": {"spec": {"http": [{"route": [{"destination": {"host": host}}]}]}}})
	count(missing_subset.deny) == 0 with input as {"cluster": "c", "objects": [v]}
}
