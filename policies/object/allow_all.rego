# METADATA
# title: AuthorizationPolicy allows everything
# description: >-
#   An ALLOW AuthorizationPolicy (an absent action is ALLOW) with a rule that
#   has no from, no to and no when lets every caller reach every port of the
#   workloads it selects, whatever the other policies say. intentc writes
#   allow-nothing as spec {} and never rules [{}]. Not allow-all: spec {}
#   (allow nothing), a DENY or AUDIT policy, principals ["*"] (any
#   authenticated caller: that rule has a from).
# custom:
#   code: IC4002
#   severity: error
#   layer: "3"
#   scope: object
#   kinds: [AuthorizationPolicy]
#   blame:
#     - AccessPolicy spec.from
#     - Mesh spec.defaultDeny
package intentc.object.allow_all

import data.intentc.lib

deny contains finding if {
	input.kind == "AuthorizationPolicy"
	startswith(input.apiVersion, "security.istio.io/") # lib.is_kind(input, "security.istio.io", "AuthorizationPolicy"), inline
	lib.value_or(input.spec, "action", "ALLOW") == "ALLOW"
	some i, rule in input.spec.rules
	empty(rule)
	finding := {
		"msg": sprintf("ALLOW rule #%d has no from, to or when: it allows every caller (allow-nothing is spec: {})", [i]),
		"path": ["spec", "rules", i],
	}
}

empty(rule) if rule == null

empty(rule) if {
	is_object(rule)
	not lib.has_items(rule, "from")
	not lib.has_items(rule, "to")
	not lib.has_items(rule, "when")
}
