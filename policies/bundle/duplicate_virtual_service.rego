# METADATA
# title: More than one VirtualService for a host
# description: >-
#   Two VirtualServices bound to the mesh (no gateways, or the mesh gateway)
#   that name the same host in one cluster: Istio merges them in an
#   unspecified order, so which routes win is undefined (Istio's IST0109).
#   intentc emits one VirtualService per host.
# custom:
#   code: IC4012
#   severity: error
#   layer: routing
#   scope: bundle
#   kinds: [VirtualService]
#   blame:
#     - MeshService spec.routes
package intentc.bundle.duplicate_virtual_service

import data.intentc.lib
import data.intentc.lib.bundle

deny contains finding if {
	some host, ks in bundle.vs_by_host
	count(ks) > 1
	some k in ks
	vs := bundle.obj(k)
	some h, name in vs.spec.hosts
	lib.fqdn(name, vs.metadata.namespace) == host
	others := sort([lib.name(bundle.obj(o)) | some o in ks; o != k])
	finding := {
		"msg": sprintf("host %s is also routed by VirtualService %s: Istio merges them in no defined order", [host, concat(", ", others)]),
		"object": k,
		"path": ["spec", "hosts", h],
	}
}
