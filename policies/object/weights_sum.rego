# METADATA
# title: VirtualService weights must sum to 100
# description: >-
#   Every route of a VirtualService that splits traffic (more than one
#   destination, or any weight written) must give weights summing to exactly
#   100. intentc emits integer shares that sum to 100; a hand edit such as
#   60/30 silently changes the split. Istio accepts relative weights, so on
#   hand-written manifests this is a warning.
# custom:
#   code: IC4001
#   severity: error
#   handwritten_severity: warning
#   layer: routing
#   scope: object
#   kinds: [VirtualService]
#   blame:
#     - MeshService spec.placement
package intentc.object.weights_sum

import data.intentc.lib

deny contains finding if {
	input.kind == "VirtualService"
	startswith(input.apiVersion, "networking.istio.io/") # lib.is_kind(input, "networking.istio.io", "VirtualService"), inline
	some proto in ["http", "tcp", "tls"]
	some i, route in input.spec[proto]
	dests := route.route
	splits(dests)
	total := sum([w | some d in dests; w := lib.value_or(d, "weight", 0)])
	total != 100
	finding := {
		"msg": sprintf("%s route %s: weights sum to %v, not 100", [proto, route_name(route, i), total]),
		"path": ["spec", proto, i, "route"],
	}
}

# splits holds when the weights matter: a lone destination without a weight
# gets all the traffic.
splits(dests) if count(dests) > 1

splits(dests) if {
	some d in dests
	"weight" in object.keys(d)
}

route_name(route, i) := sprintf("%q", [n]) if {
	n := route.name
	is_string(n)
} else := sprintf("#%d", [i])
