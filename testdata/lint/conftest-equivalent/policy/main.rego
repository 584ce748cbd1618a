# intentc's built-in checks as a conftest policy, for the start-up
# comparison of hack/lint-bench.sh. Load it with the built-in rules
# (policies/lib, object and bundle, without their _test.rego files) and run
#
#   conftest test --combine -p <dir> -d mesh.json out/
#
# With --combine, input is [{"path", "contents"}], one entry per document.
# Every document is judged by every object rule (each rule checks the kind
# itself; intentc only skips the rules that cannot fire), and the objects
# under each clusters/<name>/ are one bundle, as intentc builds them.
# lint/conftest_equivalent_test.go checks that this finds what intentc
# lint finds.
package main

# codes names each rule's diagnostic code (its METADATA custom.code).
codes := {
	"weights_sum": "IC4001",
	"allow_all": "IC4002",
	"spiffe_principal": "IC4003",
	"l7_on_tcp": "IC4004",
	"peer_authn_mtls": "IC4005",
	"netpol_policy_types": "IC4006",
	"sg_ethertype": "IC4007",
	"admin_port_world": "IC4008",
	"invalid_port_range": "IC4009",
	"never_managed_namespace": "IC4010",
	"missing_subset": "IC4011",
	"duplicate_virtual_service": "IC4012",
	"default_deny": "IC4013",
	"destination_rule_shadowing": "IC4014",
}

deny contains sprintf("%s: %s: %s", [doc.path, codes[name], f.msg]) if {
	some doc in input
	some name
	f := data.intentc.object[name].deny[_] with input as doc.contents
}

deny contains sprintf("%s: %s: %s", [where(b, f), codes[name], f.msg]) if {
	some c in clusters
	b := bundle(c)
	some name
	f := data.intentc.bundle[name].deny[_] with input as b
}

# cluster_of is <name> of the first clusters/<name>/ in a path.
cluster_of(path) := parts[i + 1] if {
	parts := split(path, "/")
	i := min({j | parts[j] == "clusters"; j + 2 < count(parts)})
}

clusters contains cluster_of(doc.path) if some doc in input

bundle(c) := {"cluster": c, "objects": [{"path": d.path, "cluster": c, "object": d.contents} |
	some d in input
	cluster_of(d.path) == c
	is_object(d.contents)
]}

# where is the file a bundle finding is about: its object's, or the
# cluster's directory.
where(b, f) := b.objects[f.object].path if is_number(f.object)

else := sprintf("clusters/%s", [b.cluster])
