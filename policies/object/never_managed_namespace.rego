# METADATA
# title: Policy object in a never-managed namespace
# description: >-
#   An AuthorizationPolicy, PeerAuthentication, NetworkPolicy, Sidecar or
#   EnvoyFilter in a namespace intentc never manages: the mesh root (where a
#   policy is mesh-wide), istiod's and the gateways' namespaces, the
#   Kubernetes system namespaces, openshift-* and intentc's own
#   (data.intentc.mesh.neverManaged). intentc never writes one there; a
#   hand-written one may be the platform team's on purpose, so there it is a
#   warning.
# custom:
#   code: IC4010
#   severity: error
#   handwritten_severity: warning
#   layer: "2,3,4"
#   scope: object
#   kinds: [AuthorizationPolicy, PeerAuthentication, NetworkPolicy, Sidecar, EnvoyFilter]
#   blame:
#     - AccessPolicy
#     - MeshService
#     - Mesh spec.namespaces
package intentc.object.never_managed_namespace

import data.intentc.lib

# policy_kinds: kind → its API group and a "/", how its apiVersion starts.
policy_kinds := {
	"AuthorizationPolicy": "security.istio.io/",
	"PeerAuthentication": "security.istio.io/",
	"NetworkPolicy": "networking.k8s.io/",
	"Sidecar": "networking.istio.io/",
	"EnvoyFilter": "networking.istio.io/",
}

deny contains finding if {
	ns := input.metadata.namespace
	lib.never_managed(ns) # first: false for nearly every object, and kept from one to the next
	kind := input.kind
	startswith(input.apiVersion, policy_kinds[kind]) # lib.is_kind(input, group, kind), inline
	finding := {
		"msg": sprintf("%s in namespace %s, which is never managed: a policy there is mesh-wide or can break the control plane", [kind, ns]),
		"path": ["metadata", "namespace"],
	}
}
