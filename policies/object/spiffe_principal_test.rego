package intentc.object.spiffe_principal_test

import data.intentc.object.spiffe_principal

ap(rules) := {
	"apiVersion": "security.istio.io/v1",
	"kind": "AuthorizationPolicy",
	"metadata": {"name": "p", "namespace": "prod"},
	"spec": {"rules": rules},
}

test_fires_on_principal if {
	f := spiffe_principal.deny with input as ap([{"from": [{"source": {"principals": ["cluster.local/ns/a/sa/b", "spiffe://cluster.local/ns/web/sa/frontend"]}}]}])
	count(f) == 1
	some x in f
	x.path == ["spec", "rules", 0, "from", 0, "source", "principals", 1]
}

test_fires_on_not_principal_in_upper_case if {
	count(spiffe_principal.deny) == 1 with input as ap([{"from": [{"source": {"notPrincipals": ["SPIFFE://cluster.local/ns/a/sa/b"]}}]}])
}

test_fires_on_condition if {
	count(spiffe_principal.deny) == 1 with input as ap([{"when": [{"key": "source.principal", "values": ["spiffe://td/ns/a/sa/b"]}]}])
}

test_quiet_on_plain_principals if {
	count(spiffe_principal.deny) == 0 with input as ap([{"from": [{"source": {"principals": ["cluster.local/ns/web/sa/frontend", "*"]}}]}])
}

test_quiet_on_other_condition_keys if {
	count(spiffe_principal.deny) == 0 with input as ap([{"when": [{"key": "request.headers[x]", "values": ["spiffe://x"]}]}])
}

test_quiet_on_other_kinds if {
	count(spiffe_principal.deny) == 0 with input as object.union(ap([{"from": [{"source": {"principals": ["spiffe://a"]}}]}]), {"kind": "RequestAuthentication"})
}
