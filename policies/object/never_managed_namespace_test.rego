package intentc.object.never_managed_namespace_test

import data.intentc.object.never_managed_namespace

obj(api, kind, ns) := {"apiVersion": api, "kind": kind, "metadata": {"name": "x", "namespace": ns}, "spec": {}}

test_fires_on_each_policy_kind if {
	count(never_managed_namespace.deny) == 1 with input as obj("security.istio.io/v1", "AuthorizationPolicy", "istio-system")
	count(never_managed_namespace.deny) == 1 with input as obj("security.istio.io/v1beta1", "PeerAuthentication", "kube-system")
	count(never_managed_namespace.deny) == 1 with input as obj("networking.k8s.io/v1", "NetworkPolicy", "kube-node-lease")
	count(never_managed_namespace.deny) == 1 with input as obj("networking.istio.io/v1", "Sidecar", "intentc-system")
	count(never_managed_namespace.deny) == 1 with input as obj("networking.istio.io/v1alpha3", "EnvoyFilter", "openshift-ingress")
}

test_fires_on_namespace_from_data if {
	f := never_managed_namespace.deny with input as obj("networking.k8s.io/v1", "NetworkPolicy", "mesh-gateways")
		with data.intentc.mesh.neverManaged as ["istio-system", "mesh-gateways"]
	count(f) == 1
	some x in f
	x.path == ["metadata", "namespace"]
}

test_quiet_on_managed_namespace if {
	count(never_managed_namespace.deny) == 0 with input as obj("security.istio.io/v1", "AuthorizationPolicy", "prod")
	count(never_managed_namespace.deny) == 0 with input as obj("networking.k8s.io/v1", "NetworkPolicy", "openshiftish")
}

test_quiet_on_routing_plumbing if {
	count(never_managed_namespace.deny) == 0 with input as obj("networking.istio.io/v1", "Gateway", "istio-system")
	count(never_managed_namespace.deny) == 0 with input as obj("v1", "Service", "istio-system")
}

test_quiet_when_data_replaces_the_defaults if {
	count(never_managed_namespace.deny) == 0 with input as obj("networking.k8s.io/v1", "NetworkPolicy", "kube-public")
		with data.intentc.mesh.neverManaged as ["istio-system"]
}
