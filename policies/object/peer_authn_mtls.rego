# METADATA
# title: PeerAuthentication weaker than the mesh's mTLS
# description: >-
#   Where the mesh says mtls strict (data.intentc.mesh.mtls, strict by
#   default), a PeerAuthentication in mode DISABLE or PERMISSIVE accepts
#   plaintext. The one exception is a port the intent declares
#   mtls permissive (data.intentc.mesh.permissivePorts): a port-level
#   PERMISSIVE on that target port, in a PeerAuthentication selecting that
#   service's pods. DISABLE is never an exception.
# custom:
#   code: IC4005
#   severity: error
#   layer: "4"
#   scope: object
#   kinds: [PeerAuthentication]
#   blame:
#     - MeshService spec.ports
#     - Mesh spec.mtls
package intentc.object.peer_authn_mtls

import data.intentc.lib

weak := {"DISABLE", "PERMISSIVE"}

deny contains finding if {
	is_pa
	mode := upper(input.spec.mtls.mode)
	mode in weak
	finding := {
		"msg": sprintf("mtls mode %s, but the mesh requires STRICT", [mode]),
		"path": ["spec", "mtls", "mode"],
	}
}

deny contains finding if {
	is_pa
	some port, setting in input.spec.portLevelMtls
	mode := upper(setting.mode)
	mode in weak
	not declared_permissive(port, mode)
	finding := {
		"msg": sprintf("port %v: mtls mode %s, but the mesh requires STRICT and the intent declares no mtls: permissive exception for it", [port, mode]),
		"path": ["spec", "portLevelMtls", port, "mode"],
	}
}

is_pa if {
	input.kind == "PeerAuthentication"
	startswith(input.apiVersion, "security.istio.io/") # lib.is_kind(input, "security.istio.io", "PeerAuthentication"), inline
	lib.mtls == "strict"
}

declared_permissive(port, "PERMISSIVE") if {
	permissive_port(input.metadata.namespace, lib.selector_labels(input), lib.port_number(port))
}

# permissive_port holds when a service of namespace ns that a workload
# selector sel picks (lib.selects_only) declares port n permissive. It is
# false rather than undefined otherwise, and reads nothing of the input:
# intentc keeps its values from one object to the next
# (lint/sharedcache.go), where scanning the namespace's services was most
# of this rule's cost.
default permissive_port(_, _, _) := false

permissive_port(ns, sel, n) if {
	count(sel) > 0
	some e in data.intentc.mesh.permissivePorts[ns]
	labels := object.get(e, "selector", {})
	every k, v in sel {
		labels[k] == v
	}
	n in {m | some p in e.ports; m := lib.port_number(p)}
}
