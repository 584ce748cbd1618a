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

deny contains finding if {
	some [k, vs] in bundle.virtual_services
	ns := vs.metadata.namespace
	some proto in ["http", "tcp", "tls"]
	some i, route in vs.spec[proto]
	some [path, dest] in destinations(route)
	subset := dest.subset
	is_string(subset)
	host := lib.fqdn(dest.host, ns)
	not defined(host, subset, ns)
	finding := {
		"msg": sprintf("%s route #%d sends to subset %q of %s, which no DestinationRule visible from %s defines", [proto, i, subset, host, ns]),
		"object": k,
		"path": array.concat(["spec", proto, i], path),
	}
}

destinations(route) := routed(route) | mirrored(route) | mirrors(route)

routed(route) := {[["route", j, "destination", "subset"], d.destination] | some j, d in route.route}

mirrored(route) := {[["mirror", "subset"], route.mirror] | route.mirror}

mirrors(route) := {[["mirrors", j, "destination", "subset"], m.destination] | some j, m in route.mirrors}

defined(host, subset, ns) if {
	some i in bundle.drs_for(host)
	dr := bundle.obj(i)
	lib.visible(dr, ns)
	some s in dr.spec.subsets
	s.name == subset
}
