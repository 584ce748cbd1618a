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
# this rule's cost. The routes are listed once for the three. A subset is
# tested in the rule's body and the finding built only when it is missing:
# a function call per destination (its arguments hashed and its result
# cached, then never read again) was most of what remained.
deny contains finding(k, vs, proto, i, ["route", j, "destination", "subset"], host, subset) if {
	some [k, vs, proto, i, route] in routes
	some j, d in route.route
	subset := d.destination.subset
	is_string(subset)
	ns := vs.metadata.namespace
	host := lib.fqdn(d.destination.host, ns)
	not defined(host, subset, ns)
}

deny contains finding(k, vs, proto, i, ["mirror", "subset"], host, subset) if {
	some [k, vs, proto, i, route] in routes
	subset := route.mirror.subset
	is_string(subset)
	ns := vs.metadata.namespace
	host := lib.fqdn(route.mirror.host, ns)
	not defined(host, subset, ns)
}

deny contains finding(k, vs, proto, i, ["mirrors", j, "destination", "subset"], host, subset) if {
	some [k, vs, proto, i, route] in routes
	some j, m in route.mirrors
	subset := m.destination.subset
	is_string(subset)
	ns := vs.metadata.namespace
	host := lib.fqdn(m.destination.host, ns)
	not defined(host, subset, ns)
}

routes := [[k, vs, proto, i, route] |
	some [k, vs] in bundle.virtual_services
	some proto in ["http", "tcp", "tls"]
	some i, route in vs.spec[proto]
]

finding(k, vs, proto, i, path, host, subset) := {
	"msg": sprintf("%s route #%d sends to subset %q of %s, which no DestinationRule visible from %s defines", [proto, i, subset, host, vs.metadata.namespace]),
	"object": k,
	"path": array.concat(["spec", proto, i], path),
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
