# METADATA
# title: NetworkPolicy without explicit policyTypes
# description: >-
#   Without policyTypes, Kubernetes infers them from the rules present: a
#   policy meant to deny egress by default, written without an egress
#   section, silently leaves egress open. intentc always writes policyTypes.
# custom:
#   code: IC4006
#   severity: error
#   layer: "2"
#   scope: object
#   kinds: [NetworkPolicy]
#   blame:
#     - AccessPolicy spec.from
#     - Mesh spec.defaultDeny
package intentc.object.netpol_policy_types

import data.intentc.lib

deny contains finding if {
	input.kind == "NetworkPolicy"
	startswith(input.apiVersion, "networking.k8s.io/") # lib.is_kind(input, "networking.k8s.io", "NetworkPolicy"), inline
	not lib.has_items(object.get(input, "spec", {}), "policyTypes")
	finding := {
		"msg": sprintf("no policyTypes: Kubernetes infers them from the rules present (here %s), so a direction without rules is left open", [inferred]),
		"path": ["spec"],
	}
}

inferred := "Ingress and Egress" if input.spec.egress

else := "Ingress only"
