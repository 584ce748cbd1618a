# METADATA
# title: DestinationRule in a client namespace shadows the service's
# description: >-
#   A DestinationRule for a service host in a namespace other than the
#   service's (and other than the mesh root), when the service's own
#   DestinationRule for that host is also visible there: Istio looks up the
#   client's namespace first, so that namespace's clients lose the subsets,
#   outlier detection and connection pools intentc wrote. Hand-written, it
#   may be a deliberate per-client policy, so there it is a warning.
# custom:
#   code: IC4014
#   severity: error
#   handwritten_severity: warning
#   layer: routing
#   scope: bundle
#   kinds: [DestinationRule]
#   blame:
#     - MeshService
package intentc.bundle.destination_rule_shadowing

import data.intentc.lib
import data.intentc.lib.bundle

deny contains finding if {
	some host, ks in bundle.dr_by_host
	count(ks) > 1
	svc_ns := lib.service_namespace(host)
	some k in ks
	dr := bundle.obj(k)
	ns := dr.metadata.namespace
	ns != svc_ns
	ns != lib.root_namespace
	lib.visible(dr, ns)
	some o in ks
	own := bundle.obj(o)
	own.metadata.namespace == svc_ns
	lib.visible(own, ns)
	finding := {
		"msg": sprintf("DestinationRule for %s in namespace %s shadows %s for clients in %s: Istio applies the client namespace's rule first", [host, ns, lib.name(own), ns]),
		"object": k,
		"path": ["spec", "host"],
	}
}
