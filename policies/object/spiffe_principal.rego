# METADATA
# title: spiffe:// principal in an AuthorizationPolicy
# description: >-
#   Istio principals are <trust-domain>/ns/<namespace>/sa/<account>, without
#   the spiffe:// scheme; a principal written with it never matches, so the
#   caller is silently denied (or, in a DENY policy, silently let through).
#   Checked in principals, notPrincipals and source.principal conditions.
# custom:
#   code: IC4003
#   severity: error
#   layer: "3"
#   scope: object
#   kinds: [AuthorizationPolicy]
#   blame:
#     - AccessPolicy spec.from
package intentc.object.spiffe_principal

import data.intentc.lib

deny contains finding if {
	input.kind == "AuthorizationPolicy"
	startswith(input.apiVersion, "security.istio.io/") # lib.is_kind(input, "security.istio.io", "AuthorizationPolicy"), inline
	some i, rule in input.spec.rules
	some j, from in rule.from
	some field in ["principals", "notPrincipals"]
	some k, p in from.source[field]
	startswith(lower(p), "spiffe://") # the scheme in any case; inline: it runs for every principal
	finding := {
		"msg": sprintf("%s %q has the spiffe:// scheme: Istio principals are written without it, so it never matches", [field, p]),
		"path": ["spec", "rules", i, "from", j, "source", field, k],
	}
}

deny contains finding if {
	input.kind == "AuthorizationPolicy"
	startswith(input.apiVersion, "security.istio.io/") # lib.is_kind(input, "security.istio.io", "AuthorizationPolicy"), inline
	some i, rule in input.spec.rules
	some j, cond in rule.when
	cond.key == "source.principal"
	some field in ["values", "notValues"]
	some k, p in cond[field]
	startswith(lower(p), "spiffe://")
	finding := {
		"msg": sprintf("condition source.principal %q has the spiffe:// scheme: Istio principals are written without it, so it never matches", [p]),
		"path": ["spec", "rules", i, "when", j, field, k],
	}
}
