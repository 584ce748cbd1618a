package istio

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"google.golang.org/protobuf/types/known/wrapperspb"
	apinet "istio.io/api/networking/v1"
	clientnet "istio.io/client-go/pkg/apis/networking/v1"

	"github.com/intentc/intentc/compiler/ir"
)

// CrossMeshGateway is the AUTO_PASSTHROUGH Gateway that exposes the exported
// *.global hosts on a cluster's east-west gateway. It is named apart from
// cross-network-gateway (*.local), which Istio's own multi-network install
// may have put on the same gateway.
const CrossMeshGateway = "cross-mesh-gateway"

// globalAddressRange holds the virtual addresses of .global hosts with TCP
// ports: a sidecar routes TCP by destination address, and a TCP
// ServiceEntry without one becomes a listener on 0.0.0.0:<port> that takes
// every connection to that port. The range is in 240.0.0.0/4, which no
// network routes, and outside 240.240.0.0/16, where Istio allocates
// addresses itself.
var globalAddressRange = netip.MustParsePrefix("240.0.0.0/12")

// emitFederated returns the routing objects of model federated, for every
// cluster (each its own mesh):
//   - caller side, where a service is called: a VirtualService on the
//     service's own host, splitting between the local service and the
//     remote .global host; a DestinationRule on the local host where it is
//     placed; and, when a remote share is used, the import of the .global
//     host: a ServiceEntry whose endpoint is the remote east-west gateway
//     and a DestinationRule with ISTIO_MUTUAL, both in the import namespace
//     and exported to the calling namespaces only;
//   - destination side, where a service is called from another mesh: the
//     export of the .global host, a MESH_INTERNAL ServiceEntry selecting the
//     local pods and exported to the east-west gateway's namespace only, and
//     the cross-mesh-gateway Gateway (AUTO_PASSTHROUGH, *.global, 15443) with
//     the gateway Service patch.
//
// The export and the import of one host live in different namespaces and are
// visible to disjoint proxies: Istio keys a service by host and namespace, and
// a proxy that saw both would pick one of them.
func emitFederated(m *ir.Model) []ir.Object {
	vips := globalAddresses(m)
	var out []ir.Object
	for _, c := range m.Clusters {
		for _, s := range m.Services {
			out = append(out, callerSide(m, s, c, vips[s])...)
			if m.ExportedFrom(s, c) && c.EastWest != nil {
				out = append(out, ir.Object{Cluster: c.Name, Body: exportEntry(s, c, vips[s]), Sources: []ir.Source{s.Src}})
			}
		}
		out = append(out, crossMeshGateway(m, c)...)
	}
	return out
}

// callerSide returns s's routing objects in c where s is called from c.
func callerSide(m *ir.Model, s *ir.Service, c *ir.Cluster, vip string) []ir.Object {
	if !s.CalledFrom(c) {
		return nil
	}
	nss, known := m.CallerNamespaces(s, c)
	var out []ir.Object
	if s.PlacedIn(c) {
		out = append(out, ir.Object{Cluster: c.Name, Body: localDestinationRule(s), Sources: []ir.Source{s.Src}})
	}
	out = append(out, ir.Object{Cluster: c.Name, Body: federatedVirtualService(s, c, nss, known), Sources: []ir.Source{s.Src}})
	imported := s.ImportedInto(c)
	if len(imported) == 0 {
		return out
	}
	ns := m.Mesh.Federation.ImportNamespace
	seSrcs := []ir.Source{s.Src}
	for _, p := range imported {
		seSrcs = append(seSrcs, p.Cluster.Src) // the endpoint is its gateway
	}
	drSrcs := []ir.Source{s.Src}
	if m.Mesh.Src.Kind != "" {
		drSrcs = append(drSrcs, m.Mesh.Src) // the federation's trust
	}
	return append(out,
		ir.Object{Cluster: c.Name, Body: importEntry(s, ns, imported, importExportTo(nss, known), vip), Sources: seSrcs},
		ir.Object{Cluster: c.Name, Body: importDestinationRule(s, ns, imported, importExportTo(nss, known)), Sources: drSrcs},
	)
}

// importExportTo is the visibility of an import: the calling namespaces by
// name (the import lives in a namespace of its own), or everyone when no
// AccessPolicy names the callers.
func importExportTo(nss []string, known bool) []string {
	if !known {
		return []string{"*"}
	}
	return slices.Clone(nss)
}

// localDestinationRule shapes the traffic to the local pods. Their endpoints
// are this cluster's own pods, so outlier detection may eject them (on
// gateway errors only, as in weighted mode); there are no subsets, since no
// other cluster's endpoints are behind this host.
func localDestinationRule(s *ir.Service) *clientnet.DestinationRule {
	dr := &clientnet.DestinationRule{ObjectMeta: objectMeta(s.Name, s.Namespace)}
	dr.SetGroupVersionKind(gvDR)
	dr.Spec.Host = s.Host()
	cb := s.Resil.CircuitBreaker
	dr.Spec.TrafficPolicy = &apinet.TrafficPolicy{
		ConnectionPool: connectionPool(s),
		OutlierDetection: &apinet.OutlierDetection{
			ConsecutiveGatewayErrors: wrapperspb.UInt32(uint32(cb.ConsecutiveErrors)),
			Consecutive_5XxErrors:    wrapperspb.UInt32(0),
			Interval:                 dur(cb.Interval),
			BaseEjectionTime:         dur(cb.BaseEjectionTime),
			MaxEjectionPercent:       cb.MaxEjectionPercent,
		},
	}
	return dr
}

// connectionPool is the intent's connection limits, nil when it sets none.
func connectionPool(s *ir.Service) *apinet.ConnectionPoolSettings {
	cp := s.Resil.ConnectionPool
	if cp == nil {
		return nil
	}
	out := &apinet.ConnectionPoolSettings{}
	if cp.MaxConnections > 0 {
		out.Tcp = &apinet.ConnectionPoolSettings_TCPSettings{MaxConnections: cp.MaxConnections}
	}
	if cp.MaxPendingRequests > 0 || cp.MaxRequests > 0 || cp.MaxRequestsPerConnection > 0 {
		out.Http = &apinet.ConnectionPoolSettings_HTTPSettings{
			Http1MaxPendingRequests:  cp.MaxPendingRequests,
			Http2MaxRequests:         cp.MaxRequests,
			MaxRequestsPerConnection: cp.MaxRequestsPerConnection,
		}
	}
	return out
}

// federatedDestinations maps a split or a route onto hosts as callers in c
// see them: the local placement is the service's own host, every other
// mesh's placement the .global host (one host, so their shares add up).
// Local comes first; zero shares are left out.
func federatedDestinations(s *ir.Service, c *ir.Cluster, dests []*ir.RouteDest) []*apinet.HTTPRouteDestination {
	var local, global int32
	for _, d := range dests {
		if ir.CrossMesh(c, d.Cluster) {
			global += d.Percent
		} else {
			local += d.Percent
		}
	}
	var out []*apinet.HTTPRouteDestination
	if local > 0 {
		out = append(out, &apinet.HTTPRouteDestination{Destination: &apinet.Destination{Host: s.Host()}, Weight: local})
	}
	if global > 0 {
		out = append(out, &apinet.HTTPRouteDestination{Destination: &apinet.Destination{Host: s.GlobalHost()}, Weight: global})
	}
	return out
}

// federatedVirtualService routes the service's own host, which callers keep
// dialling whatever mesh serves them: no application changes its address,
// and no .global name has to resolve in DNS.
func federatedVirtualService(s *ir.Service, c *ir.Cluster, nss []string, known bool) *clientnet.VirtualService {
	vs := &clientnet.VirtualService{ObjectMeta: objectMeta(s.Name, s.Namespace)}
	vs.SetGroupVersionKind(gvVS)
	vs.Spec.Hosts = []string{s.Host()}
	if known {
		// The route names the .global host, which only the calling
		// namespaces import; elsewhere the route would lead nowhere.
		vs.Spec.ExportTo = exportTo(s.Namespace, nss)
	}
	split := federatedDestinations(s, c, splitDestinations(s))
	if s.HasL7Port() {
		for i, r := range s.Routes {
			vs.Spec.Http = append(vs.Spec.Http, httpRoute(s, fmt.Sprintf("route-%d", i), []*apinet.HTTPMatchRequest{routeMatch(r)}, federatedDestinations(s, c, r.To)))
		}
		vs.Spec.Http = append(vs.Spec.Http, httpRoute(s, "default", nil, split))
	}
	var l4 []*apinet.RouteDestination
	for _, d := range split {
		l4 = append(l4, &apinet.RouteDestination{Destination: d.Destination, Weight: d.Weight})
	}
	var tlsMatch []*apinet.TLSMatchAttributes
	for _, p := range s.Ports {
		switch p.Protocol {
		case ir.ProtoTCP:
			if vs.Spec.Tcp == nil {
				vs.Spec.Tcp = []*apinet.TCPRoute{{Route: l4}}
			}
		case ir.ProtoTLS:
			tlsMatch = append(tlsMatch, &apinet.TLSMatchAttributes{Port: uint32(p.Port), SniHosts: []string{s.Host()}})
		}
	}
	if len(tlsMatch) > 0 {
		vs.Spec.Tls = []*apinet.TLSRoute{{Match: tlsMatch, Route: l4}}
	}
	return vs
}

func routeMatch(r *ir.Route) *apinet.HTTPMatchRequest {
	match := &apinet.HTTPMatchRequest{}
	if len(r.Headers) > 0 {
		match.Headers = map[string]*apinet.StringMatch{}
		for k, v := range r.Headers {
			match.Headers[k] = &apinet.StringMatch{MatchType: &apinet.StringMatch_Exact{Exact: v}}
		}
	}
	if r.PathPrefix != "" {
		match.Uri = &apinet.StringMatch{MatchType: &apinet.StringMatch_Prefix{Prefix: r.PathPrefix}}
	}
	return match
}

// globalPorts are the service's ports on its .global host, with the pods'
// port as targetPort when asked for (the export selects pods).
func globalPorts(s *ir.Service, withTarget bool) []*apinet.ServicePort {
	var out []*apinet.ServicePort
	for _, p := range s.Ports {
		sp := &apinet.ServicePort{Number: uint32(p.Port), Name: p.Name, Protocol: seProtocol[p.Protocol]}
		if withTarget && p.TargetPort != p.Port {
			sp.TargetPort = uint32(p.TargetPort)
		}
		out = append(out, sp)
	}
	return out
}

func globalEntry(s *ir.Service, ns, vip string) *clientnet.ServiceEntry {
	se := &clientnet.ServiceEntry{ObjectMeta: objectMeta(s.GlobalHost(), ns)}
	se.SetGroupVersionKind(gvSE)
	se.Spec.Hosts = []string{s.GlobalHost()}
	se.Spec.Location = apinet.ServiceEntry_MESH_INTERNAL
	if vip != "" {
		se.Spec.Addresses = []string{vip}
	}
	return se
}

// exportEntry publishes s's local pods under its .global host, for the
// east-west gateway only: the gateway's AUTO_PASSTHROUGH listener routes a
// connection whose SNI names outbound_.<port>_._.<svc>.<ns>.global to the
// endpoints of that host. Since Istio 1.8 the gateway no longer rewrites
// .global to .svc.cluster.local, so without this entry it knows no such
// host and resets the connection.
func exportEntry(s *ir.Service, c *ir.Cluster, vip string) *clientnet.ServiceEntry {
	se := globalEntry(s, s.Namespace, vip)
	se.Spec.Ports = globalPorts(s, true)
	se.Spec.Resolution = apinet.ServiceEntry_STATIC
	se.Spec.WorkloadSelector = &apinet.WorkloadSelector{Labels: s.Selector}
	se.Spec.ExportTo = []string{c.EastWest.Namespace}
	return se
}

// importEntry is the remote shares of s as callers in this cluster reach
// them: one endpoint per remote mesh, its east-west gateway, with the remote
// network and locality, and the port callers' sidecars dial there for every
// service port. The remote identities go in subjectAltNames, so the caller
// verifies whom the passthrough gateway connected it to.
func importEntry(s *ir.Service, ns string, imported []*ir.Placement, exportTo []string, vip string) *clientnet.ServiceEntry {
	se := globalEntry(s, ns, vip)
	se.Spec.Ports = globalPorts(s, false)
	se.Spec.Resolution = apinet.ServiceEntry_STATIC
	var sans []string
	for _, p := range imported {
		rc := p.Cluster
		ew := rc.EastWest
		if _, err := netip.ParseAddr(ew.Address); err != nil {
			se.Spec.Resolution = apinet.ServiceEntry_DNS // a host name: STATIC takes addresses only
		}
		we := &apinet.WorkloadEntry{Address: ew.Address, Ports: map[string]uint32{}, Network: rc.Network}
		for _, pt := range s.Ports {
			we.Ports[pt.Name] = uint32(ew.Port)
		}
		if rc.Region != "" {
			we.Locality = strings.TrimSuffix(strings.TrimSuffix(locality(rc), "*"), "/")
		}
		if len(imported) > 1 {
			// Several meshes' shares behind one host: the split among them
			// is by load-balancing weight, proportional, not per request.
			we.Weight = uint32(p.Percent)
		}
		se.Spec.Endpoints = append(se.Spec.Endpoints, we)
		sans = append(sans, "spiffe://"+rc.TrustDomain+"/ns/"+s.Namespace+"/sa/"+s.ServiceAccount)
	}
	slices.Sort(sans)
	se.Spec.SubjectAltNames = slices.Compact(sans)
	se.Spec.ExportTo = exportTo
	return se
}

// importDestinationRule makes the caller's sidecar originate Istio mTLS to
// the remote gateway. Without it the endpoints (gateways, with no sidecar
// labels) get plaintext from auto-mTLS, which the passthrough gateway cannot
// route: it routes on the SNI of the mTLS handshake, which ISTIO_MUTUAL sets
// to the cluster name outbound_.<port>_._.<svc>.<ns>.global. There is no
// outlier detection: each remote mesh is a single gateway endpoint, and
// ejecting it would drop that mesh's whole share.
func importDestinationRule(s *ir.Service, ns string, imported []*ir.Placement, exportTo []string) *clientnet.DestinationRule {
	dr := &clientnet.DestinationRule{ObjectMeta: objectMeta(s.GlobalHost(), ns)}
	dr.SetGroupVersionKind(gvDR)
	dr.Spec.Host = s.GlobalHost()
	dr.Spec.ExportTo = exportTo
	dr.Spec.TrafficPolicy = &apinet.TrafficPolicy{
		ConnectionPool: connectionPool(s),
		Tls:            &apinet.ClientTLSSettings{Mode: apinet.ClientTLSSettings_ISTIO_MUTUAL},
	}
	if len(imported) > 1 {
		// The weights of the endpoints decide; locality preference would
		// send everything to the nearest mesh.
		dr.Spec.TrafficPolicy.LoadBalancer = &apinet.LoadBalancerSettings{LocalityLbSetting: &apinet.LocalityLoadBalancerSetting{Enabled: wrapperspb.Bool(false)}}
	}
	return dr
}

// crossMeshGateway returns the Gateway that passes *.global connections
// through c's east-west gateway, and the gateway Service patch, when some
// service placed in c is called from another mesh.
func crossMeshGateway(m *ir.Model, c *ir.Cluster) []ir.Object {
	if c.EastWest == nil {
		return nil
	}
	srcs := []ir.Source{c.Src}
	for _, s := range m.Services {
		if m.ExportedFrom(s, c) {
			srcs = append(srcs, s.Src)
		}
	}
	if len(srcs) == 1 {
		return nil
	}
	ew := c.EastWest
	gw := &clientnet.Gateway{ObjectMeta: objectMeta(CrossMeshGateway, ew.Namespace)}
	gw.SetGroupVersionKind(gvGW)
	gw.Spec.Selector = ew.Selector
	gw.Spec.Servers = []*apinet.Server{{
		Port:  &apinet.Port{Number: eastWestListenPort, Name: "tls", Protocol: "TLS"},
		Tls:   &apinet.ServerTLSSettings{Mode: apinet.ServerTLSSettings_AUTO_PASSTHROUGH},
		Hosts: []string{"*.global"},
	}}
	out := []ir.Object{{Cluster: c.Name, Body: gw, Sources: srcs}}
	if patch := eastWestPatch(c, m.GatewayCallers(c), srcs); patch != nil {
		out = append(out, *patch)
	}
	return out
}

// globalAddresses gives every service with a TCP port a virtual address for
// its .global host, the same in every cluster: a hash of the host name into
// globalAddressRange, so that adding a service moves no other one's address
// (unless two hash alike, when the one later in name order takes the next
// free address).
func globalAddresses(m *ir.Model) map[*ir.Service]string {
	out := map[*ir.Service]string{}
	taken := map[netip.Addr]bool{}
	base := globalAddressRange.Addr().As4()
	size := uint32(1) << (32 - globalAddressRange.Bits())
	for _, s := range m.Services { // sorted by namespace and name
		if !slices.ContainsFunc(s.Ports, func(p *ir.Port) bool { return p.Protocol == ir.ProtoTCP }) {
			continue
		}
		sum := sha256.Sum256([]byte(s.GlobalHost()))
		off := binary.BigEndian.Uint32(sum[:4]) % size
		for {
			v := binary.BigEndian.Uint32(base[:]) + off
			var b [4]byte
			binary.BigEndian.PutUint32(b[:], v)
			a := netip.AddrFrom4(b)
			// .0 and .255 are left out: some tools read them as network
			// and broadcast addresses.
			if b[3] != 0 && b[3] != 255 && !taken[a] {
				taken[a] = true
				out[s] = a.String()
				break
			}
			off = (off + 1) % size
		}
	}
	return out
}
