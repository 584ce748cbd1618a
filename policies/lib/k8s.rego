# Helpers shared by the built-in rules: object kinds, selectors, hosts and
# the mesh settings the rules read from data.intentc.mesh (with DESIGN's
# defaults when no data is given, as when linting hand-written manifests).
package intentc.lib

# is_kind holds when obj is a kind of the given API group ("" for core).
# The version is not checked: v1beta1 and v1 objects mean the same here.
is_kind(obj, group, kind) if {
	obj.kind == kind
	contains(obj.apiVersion, "/")
	split(obj.apiVersion, "/")[0] == group
}

is_kind(obj, "", kind) if {
	obj.kind == kind
	api_group(obj.apiVersion) == ""
}

# api_group is the API group of an apiVersion. (is_kind has it inline: a
# function call costs more than the check, and is_kind runs for every rule
# on every object.)
api_group(v) := split(v, "/")[0] if contains(v, "/")

api_group(v) := "" if {
	is_string(v)
	not contains(v, "/")
}

# has_items holds when x[k] is a non-empty list or map: absent, null and
# empty read alike, as they do for Istio and Kubernetes.
has_items(x, k) if count(x[k]) > 0

# value_or returns obj[key] unless it is absent or null.
value_or(obj, key, d) := v if {
	v := obj[key]
	v != null
} else := d

# --- mesh settings -----------------------------------------------------------

mtls := lower(m) if {
	m := data.intentc.mesh.mtls
	is_string(m)
} else := "strict"

default default_deny := false

default_deny if data.intentc.mesh.defaultDeny == true

root_namespace := ns if {
	ns := data.intentc.mesh.rootNamespace
	is_string(ns)
} else := "istio-system"

default_never_managed := [
	"istio-system", "intentc-system", "kube-system", "kube-public",
	"kube-node-lease", "openshift", "openshift-*",
]

# never_managed_patterns: exact names, or a prefix ending in "*".
never_managed_patterns := l if {
	l := data.intentc.mesh.neverManaged
	is_array(l)
} else := default_never_managed

# never_managed(ns) is false rather than undefined for a namespace that is
# managed: OPA keeps a function's value, never its failure, and intentc
# keeps these values from one object to the next (lint/sharedcache.go), so
# the patterns are matched once per namespace instead of once per object.
default never_managed(_) := false

never_managed(ns) if ns in never_managed_patterns

never_managed(ns) if {
	some p in never_managed_patterns
	endswith(p, "*")
	startswith(ns, trim_suffix(p, "*"))
}

# --- workload selectors --------------------------------------------------------

selector_labels(obj) := l if {
	l := obj.spec.selector.matchLabels
	is_object(l)
} else := {}

# selects holds when obj's workload selector picks pods that carry labels:
# every label it matches on is one of them (no selector picks every pod of
# the namespace).
selects(obj, labels) if {
	every k, v in selector_labels(obj) {
		labels[k] == v
	}
}

# selects_only holds when obj has a selector and it picks such pods: a
# namespace-wide object is not an exception for one service.
selects_only(obj, labels) if {
	count(selector_labels(obj)) > 0
	selects(obj, labels)
}

# port_number reads a port written as a number or a numeric string.
port_number(p) := to_number(p) if is_number(p)

port_number(p) := to_number(p) if {
	is_string(p)
	regex.match(`^[0-9]+$`, p)
}

# --- hosts -----------------------------------------------------------------------

# fqdn expands a short host name the way Istio does: a name without dots is
# relative to the namespace of the object that names it. (One rule with an
# else, not two: a function evaluates every rule it has, and most hosts
# intentc writes are already full names.)
fqdn(host, ns) := host if contains(host, ".")

else := sprintf("%s.%s.svc.cluster.local", [host, ns]) if host != "*"

# service_namespace is the namespace of a Kubernetes service host.
service_namespace(host) := parts[1] if {
	endswith(host, ".svc.cluster.local")
	parts := split(host, ".")
	count(parts) == 5
}

# visible holds when obj (a DestinationRule or VirtualService) applies to
# clients in namespace ns, after its exportTo.
visible(obj, _) if not has_items(object.get(obj, "spec", {}), "exportTo")

visible(obj, _) if "*" in obj.spec.exportTo

visible(obj, ns) if ns in obj.spec.exportTo

visible(obj, ns) if {
	"." in obj.spec.exportTo
	obj.metadata.namespace == ns
}

# name names an object for messages: "namespace/name" or "name".
name(obj) := sprintf("%s/%s", [ns, obj.metadata.name]) if {
	ns := obj.metadata.namespace
	ns != ""
} else := obj.metadata.name
