package intentc.object.weights_sum_test

import data.intentc.object.weights_sum

vs(routes) := {
	"apiVersion": "networking.istio.io/v1",
	"kind": "VirtualService",
	"metadata": {"name": "inventory", "namespace": "prod"},
	"spec": {"hosts": ["inventory"], "http": routes},
}

dest(subset, w) := {"destination": {"host": "inventory", "subset": subset}, "weight": w}

test_fires_on_60_30 if {
	f := weights_sum.deny with input as vs([{"name": "default", "route": [dest("a", 60), dest("b", 30)]}])
	count(f) == 1
	some x in f
	x.path == ["spec", "http", 0, "route"]
	contains(x.msg, "sum to 90")
}

test_fires_on_relative_weights_above_100 if {
	count(weights_sum.deny) == 1 with input as vs([{"route": [dest("a", 7), dest("b", 3)]}, {"route": [dest("a", 70), dest("b", 30)]}])
}

test_fires_on_missing_weights_in_a_split if {
	count(weights_sum.deny) == 1 with input as vs([{"route": [{"destination": {"host": "inventory", "subset": "a"}}, {"destination": {"host": "inventory", "subset": "b"}}]}])
}

# A missing weight is 0 (the destination gets no traffic), as Istio reads it.
test_quiet_on_missing_weight_that_is_zero if {
	count(weights_sum.deny) == 0 with input as vs([{"route": [dest("a", 100), {"destination": {"host": "inventory", "subset": "b"}}]}])
}

test_fires_on_single_destination_with_partial_weight if {
	count(weights_sum.deny) == 1 with input as vs([{"route": [dest("a", 50)]}])
}

test_fires_on_tcp_routes if {
	count(weights_sum.deny) == 1 with input as object.union(vs([]), {"spec": {"tcp": [{"route": [dest("a", 10), dest("b", 10)]}]}})
}

test_quiet_on_70_30 if {
	count(weights_sum.deny) == 0 with input as vs([{"route": [dest("a", 70), dest("b", 30)]}])
}

test_quiet_on_lone_destination_without_weight if {
	count(weights_sum.deny) == 0 with input as vs([{"route": [{"destination": {"host": "inventory"}}]}])
}

test_quiet_on_other_kinds if {
	count(weights_sum.deny) == 0 with input as object.union(vs([{"route": [dest("a", 1), dest("b", 1)]}]), {"kind": "DestinationRule"})
}
