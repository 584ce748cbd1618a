# METADATA
# title: VirtualService routes to a subset no DestinationRule defines
# description: >-
#   Every subset a VirtualService route (or mirror) names must be defined by
#   a DestinationRule for the same host, visible from the VirtualService's
#   namespace, in the same cluster: otherwise Envoy has no cluster for the
#   route and its share of traffic fails with 503s (Istio's IST0101).
# custom:
#   code: IC4011
#   severity: error
#   layer: routing
#   scope: bundle
#   kinds: [VirtualService, DestinationRule]
#   blame:
#     - MeshService spec.placement
package intentc.bundle.missing_subset

import data.intentc.lib
import data.intentc.lib.bundle

# One rule per place a route names a destination (its route list, its
# mirror, its mirrors), rather than one over the set of all three that
# each route would build: three sets and two unions per route were most of
# this rule's cost.
deny contains finding if {
	some [k, vs] in bundle.virtual_services
	some proto in ["http", "tcp", "tls"]
	some i, route in vs.spec[proto]
	some j, d in route.route
	finding := missing(k, vs, proto, i, ["route", j, "destination", "subset"], d.destination)
}

deny contains finding if {
	some [k, vs] in bundle.virtual_services
	some proto in ["http", "tcp", "tls"]
	some i, route in vs.spec[proto]
	route.mirror
	finding := missing(k, vs, proto, i, ["mirror", "subset"], route.mirror)
}

deny contains finding if {
	some [k, vs] in bundle.virtual_services
	some proto in ["http", "tcp", "tls"]
	some i, route in vs.spec[proto]
	some j, m in route.mirrors
	finding := missing(k, vs, proto, i, ["mirrors", j, "destination", "subset"], m.destination)
}

# missing is the finding for a destination of route i of vs (bundle
# object k) at path (under the route) whose subset no DestinationRule
# visible from the VirtualService's namespace defines.
missing(k, vs, proto, i, path, dest) := {
	"msg": sprintf("%s route #%d sends to subset %q of %s, which no DestinationRule visible from %s defines", [proto, i, subset, host, ns]),
	"object": k,
	"path": array.concat(["spec", proto, i], path),
} if {
	subset := dest.subset
	is_string(subset)
	ns := vs.metadata.namespace
	host := lib.fqdn(dest.host, ns)
	not defined(host, subset, ns)
}

defined(host, subset, _) if [host, subset] in open_subsets

defined(host, subset, ns) if {
	some i in bundle.drs_for(host)
	dr := bundle.obj(i)
	lib.visible(dr, ns)
	some s in dr.spec.subsets
	s.name == subset
}

# open_subsets are the [host, subset] pairs of the DestinationRules every
# namespace sees (lib.visible without exportTo, or with "*"): one lookup
# for most destinations instead of a walk through the host's rules.
open_subsets := {[bundle.dr_host(dr), s.name] |
	some [_, dr] in bundle.destination_rules
	visible_everywhere(dr)
	some s in dr.spec.subsets
}

visible_everywhere(dr) if not lib.has_items(object.get(dr, "spec", {}), "exportTo")

visible_everywhere(dr) if "*" in dr.spec.exportTo
