package istio

import (
	"slices"
	"strings"

	apinet "istio.io/api/networking/v1"
	clientnet "istio.io/client-go/pkg/apis/networking/v1"

	"github.com/intentc/intentc/compiler/diag"
	"github.com/intentc/intentc/compiler/ir"
)

var gvSE = clientnet.SchemeGroupVersion.WithKind("ServiceEntry")

// seProtocol maps the intent's protocol to a ServiceEntry port protocol.
var seProtocol = map[string]string{
	ir.ProtoHTTP: "HTTP", ir.ProtoHTTP2: "HTTP2", ir.ProtoGRPC: "GRPC", ir.ProtoTCP: "TCP", ir.ProtoTLS: "TLS",
}

// externalCallers returns, per cluster, the namespaces that call e under some
// allow AccessPolicy, and the policies. A via: direct CIDR source is not a
// mesh workload and needs no registry entry; a via: ingressGateway one calls
// through the gateway's proxy.
func externalCallers(m *ir.Model, e *ir.External) (map[*ir.Cluster][]string, []*ir.Policy) {
	byCluster := map[*ir.Cluster][]string{}
	var policies []*ir.Policy
	for _, p := range m.Policies {
		if p.External != e || p.Action != ir.ActionAllow {
			continue
		}
		policies = append(policies, p)
		for _, peer := range p.From {
			ns := peer.Namespace
			if peer.Kind == ir.PeerCIDR {
				if peer.Via != ir.ViaIngressGateway {
					continue
				}
				ns = m.Mesh.IngressGateway.Namespace
			}
			for _, c := range peer.Clusters {
				byCluster[c] = append(byCluster[c], ns)
			}
		}
	}
	return byCluster, policies
}

// serviceEntries returns a MESH_EXTERNAL ServiceEntry for every
// ExternalService an allow AccessPolicy names, in each cluster where one of
// its callers runs, in the ExternalService's namespace. No DestinationRule
// goes with it: the traffic is left as the application sends it (forcing
// ISTIO_MUTUAL would break a connection to, say, PostgreSQL).
func serviceEntries(m *ir.Model) ([]ir.Object, diag.List) {
	var out []ir.Object
	var diags diag.List
	for _, e := range m.Externals {
		callers, policies := externalCallers(m, e)
		if len(policies) == 0 {
			continue
		}
		if m.Mesh.NeverManaged(e.Namespace) {
			d := diags.Add(diag.CodeNeverManagedNamespace, e.Src.Pos,
				"%s is in namespace %q, which intentc never manages (control plane, gateways or system), so its ServiceEntry cannot be written there; move it to an application namespace",
				e.Src.Ref(), e.Namespace)
			for _, p := range policies {
				d.WithRelated(p.Src.Pos, "%s calls it", p.Src.Ref())
			}
			continue
		}
		srcs := []ir.Source{e.Src}
		for _, p := range policies {
			srcs = append(srcs, p.Src)
		}
		for _, c := range m.Clusters {
			if nss := callers[c]; len(nss) > 0 {
				out = append(out, ir.Object{Cluster: c.Name, Body: serviceEntry(e, nss), Sources: srcs})
			}
		}
	}
	return out, diags
}

// ExternalHost is the registry name of an ExternalService that declares only
// addresses: a ServiceEntry needs a host, and for such a service Istio
// matches the addresses, never this name. It cannot collide with a
// Kubernetes service name (those end in .svc.<domain>).
func ExternalHost(e *ir.External) string { return e.Name + "." + e.Namespace + ".external" }

func serviceEntry(e *ir.External, callerNamespaces []string) *clientnet.ServiceEntry {
	se := &clientnet.ServiceEntry{ObjectMeta: objectMeta(e.Name, e.Namespace)}
	se.SetGroupVersionKind(gvSE)
	se.Spec.Location = apinet.ServiceEntry_MESH_EXTERNAL
	se.Spec.Hosts = slices.Clone(e.Hosts)
	if len(se.Spec.Hosts) == 0 {
		se.Spec.Hosts = []string{ExternalHost(e)}
	}
	for _, p := range e.CIDRs {
		se.Spec.Addresses = append(se.Spec.Addresses, p.String())
	}
	se.Spec.Resolution = resolution(e)
	for _, p := range e.Ports {
		sp := &apinet.ServicePort{Number: uint32(p.Port), Name: p.Name, Protocol: seProtocol[p.Protocol]}
		if se.Spec.Resolution == apinet.ServiceEntry_DNS && p.TargetPort != p.Port {
			// Only DNS resolution picks the endpoint port; with NONE the
			// connection keeps the port the application dialled.
			sp.TargetPort = uint32(p.TargetPort)
		}
		se.Spec.Ports = append(se.Spec.Ports, sp)
	}
	se.Spec.ExportTo = exportTo(e.Namespace, callerNamespaces)
	return se
}

// resolution picks how the sidecar finds the endpoints. With addresses it is
// NONE: the CIDRs are where the hosts live, the connection goes to the
// address the application resolved, and Istio accepts CIDR addresses only
// with NONE or STATIC. With host names only it is DNS, unless Istio refuses
// DNS for them: a wildcard host has no name to resolve, and several hosts
// cannot share a port that carries neither a Host header nor SNI.
func resolution(e *ir.External) apinet.ServiceEntry_Resolution {
	if len(e.CIDRs) > 0 {
		return apinet.ServiceEntry_NONE
	}
	if slices.ContainsFunc(e.Hosts, func(h string) bool { return strings.HasPrefix(h, "*") }) {
		return apinet.ServiceEntry_NONE
	}
	if len(e.Hosts) > 1 && slices.ContainsFunc(e.Ports, func(p *ir.Port) bool { return !p.IsL7() && p.Protocol != ir.ProtoTLS }) {
		return apinet.ServiceEntry_NONE
	}
	return apinet.ServiceEntry_DNS
}

// exportTo makes the entry visible exactly to the namespaces that call it:
// "." for its own, the others by name.
func exportTo(own string, callers []string) []string {
	var out []string
	for _, ns := range callers {
		if ns == own {
			ns = "."
		}
		out = append(out, ns)
	}
	slices.Sort(out) // "." sorts before any namespace name
	return slices.Compact(out)
}
