package intentc.object.allow_all_test

import data.intentc.object.allow_all

ap(spec) := {
	"apiVersion": "security.istio.io/v1",
	"kind": "AuthorizationPolicy",
	"metadata": {"name": "p", "namespace": "prod"},
	"spec": spec,
}

test_fires_on_empty_rule if {
	f := allow_all.deny with input as ap({"rules": [{}]})
	count(f) == 1
	some x in f
	x.path == ["spec", "rules", 0]
}

test_fires_on_explicit_allow_with_empty_lists if {
	count(allow_all.deny) == 1 with input as ap({"action": "ALLOW", "selector": {"matchLabels": {"app": "x"}}, "rules": [{"from": [], "to": [], "when": []}]})
}

test_fires_on_second_rule_only if {
	f := allow_all.deny with input as ap({"rules": [{"from": [{"source": {"namespaces": ["a"]}}]}, {}]})
	count(f) == 1
	some x in f
	x.path == ["spec", "rules", 1]
}

test_fires_on_null_rule if {
	count(allow_all.deny) == 1 with input as ap({"rules": [null]})
}

test_quiet_on_allow_nothing if {
	count(allow_all.deny) == 0 with input as ap({})
}

test_quiet_on_deny_all if {
	count(allow_all.deny) == 0 with input as ap({"action": "DENY", "rules": [{}]})
}

test_quiet_on_audit if {
	count(allow_all.deny) == 0 with input as ap({"action": "AUDIT", "rules": [{}]})
}

test_quiet_on_any_authenticated_caller if {
	count(allow_all.deny) == 0 with input as ap({"rules": [{"from": [{"source": {"principals": ["*"]}}]}]})
}

test_quiet_on_rule_with_only_to if {
	count(allow_all.deny) == 0 with input as ap({"rules": [{"to": [{"operation": {"ports": ["8080"]}}]}]})
}

test_quiet_on_rule_with_only_when if {
	count(allow_all.deny) == 0 with input as ap({"rules": [{"when": [{"key": "source.ip", "values": ["10.0.0.1"]}]}]})
}
