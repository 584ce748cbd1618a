package istio

import (
	"fmt"
	"slices"
	"strconv"
	"time"

	apinet "istio.io/api/networking/v1"
	clientnet "istio.io/client-go/pkg/apis/networking/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/intentc/intentc/compiler/ir"
)

// ClusterLabel is the label istiod puts on every endpoint naming its cluster;
// subsets select on it so a subset means "this service in that cluster".
const ClusterLabel = "topology.istio.io/cluster"

// CrossNetworkGateway is the conventional name of the AUTO_PASSTHROUGH
// Gateway that exposes *.local services on the east-west gateway.
const CrossNetworkGateway = "cross-network-gateway"

// eastWestListenPort is the port the east-west gateway proxy listens on for
// AUTO_PASSTHROUGH mTLS (Istio's convention, independent of what a load
// balancer in front of it exposes).
const eastWestListenPort = 15443

var (
	gvVS  = clientnet.SchemeGroupVersion.WithKind("VirtualService")
	gvDR  = clientnet.SchemeGroupVersion.WithKind("DestinationRule")
	gvGW  = clientnet.SchemeGroupVersion.WithKind("Gateway")
	gvSvc = corev1.SchemeGroupVersion.WithKind("Service")
)

// Emit returns the routing objects for every cluster, in model order.
func Emit(m *ir.Model) []ir.Object {
	if m.Mesh.Federated() {
		return emitFederated(m) // federated.go
	}
	var out []ir.Object
	// A service's VirtualService is the same in every cluster that calls
	// it, and its DestinationRule in every cluster of a network: one body
	// each, which manifest renders once.
	vs := make([]*clientnet.VirtualService, len(m.Services))
	type drKey struct {
		service int
		network string
	}
	drs := map[drKey]*clientnet.DestinationRule{}
	for _, c := range m.Clusters {
		for i, s := range m.Services {
			if s.NeedsDestinationRule(c) {
				k := drKey{service: i, network: c.Network}
				dr := drs[k]
				if dr == nil {
					dr = destinationRule(s, c)
					drs[k] = dr
				}
				out = append(out, ir.Object{Cluster: c.Name, Body: dr, Sources: []ir.Source{s.Src}})
			}
			if s.NeedsVirtualService(c) {
				if vs[i] == nil {
					vs[i] = virtualService(s)
				}
				out = append(out, ir.Object{Cluster: c.Name, Body: vs[i], Sources: []ir.Source{s.Src}})
			}
		}
		out = append(out, eastWest(m, c)...)
	}
	return out
}

func objectMeta(name, namespace string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: namespace}
}

func dur(d time.Duration) *durationpb.Duration {
	if d == 0 {
		return nil
	}
	return durationpb.New(d)
}

// destinationRule reads c's network and nothing else of c: Emit shares
// one body between the clusters of a network.
func destinationRule(s *ir.Service, c *ir.Cluster) *clientnet.DestinationRule {
	dr := &clientnet.DestinationRule{ObjectMeta: objectMeta(s.Name, s.Namespace)}
	dr.SetGroupVersionKind(gvDR)
	dr.Spec.Host = s.Host()
	tp := &apinet.TrafficPolicy{}
	if cp := s.Resil.ConnectionPool; cp != nil {
		tp.ConnectionPool = &apinet.ConnectionPoolSettings{}
		if cp.MaxConnections > 0 {
			tp.ConnectionPool.Tcp = &apinet.ConnectionPoolSettings_TCPSettings{MaxConnections: cp.MaxConnections}
		}
		if cp.MaxPendingRequests > 0 || cp.MaxRequests > 0 || cp.MaxRequestsPerConnection > 0 {
			tp.ConnectionPool.Http = &apinet.ConnectionPoolSettings_HTTPSettings{
				Http1MaxPendingRequests:  cp.MaxPendingRequests,
				Http2MaxRequests:         cp.MaxRequests,
				MaxRequestsPerConnection: cp.MaxRequestsPerConnection,
			}
		}
	}
	cb := s.Resil.CircuitBreaker
	switch s.Split {
	case ir.SplitLocality:
		// Proportional with failover: Envoy scales each locality's weight by
		// its health, which outlier detection feeds; without detection there
		// is no failover at all.
		tp.LoadBalancer = &apinet.LoadBalancerSettings{LocalityLbSetting: &apinet.LocalityLoadBalancerSetting{
			Enabled:    wrapperspb.Bool(true),
			Distribute: distribute(s),
		}}
		tp.OutlierDetection = &apinet.OutlierDetection{
			Consecutive_5XxErrors:    wrapperspb.UInt32(uint32(cb.ConsecutiveErrors)),
			ConsecutiveGatewayErrors: wrapperspb.UInt32(uint32(cb.ConsecutiveErrors)),
			Interval:                 dur(cb.Interval),
			BaseEjectionTime:         dur(cb.BaseEjectionTime),
			MaxEjectionPercent:       cb.MaxEjectionPercent,
		}
	default:
		// Weighted: exact shares. Locality load balancing is switched off so
		// that outlier detection cannot turn into locality failover.
		tp.LoadBalancer = &apinet.LoadBalancerSettings{LocalityLbSetting: &apinet.LocalityLoadBalancerSetting{Enabled: wrapperspb.Bool(false)}}
	}
	if tp.ConnectionPool != nil || tp.LoadBalancer != nil || tp.OutlierDetection != nil {
		dr.Spec.TrafficPolicy = tp
	}
	for _, p := range s.Placements {
		sub := &apinet.Subset{Name: p.Cluster.Name, Labels: map[string]string{ClusterLabel: p.Cluster.ClusterID}}
		if s.Split == ir.SplitLocality && p.Percent == 0 {
			// A zero share is still a route target (a header route may name
			// it), but the inherited distribute would drop every endpoint of a
			// locality without a share, so that route would find nothing.
			sub.TrafficPolicy = &apinet.TrafficPolicy{LoadBalancer: &apinet.LoadBalancerSettings{
				LocalityLbSetting: &apinet.LocalityLoadBalancerSetting{Enabled: wrapperspb.Bool(false)}}}
		}
		// Weighted mode ejects only endpoints that are pods on c's own
		// network, and only for gateway errors (502/503/504, connect
		// failures): the endpoints of a subset on another network collapse
		// into the single east-west gateway endpoint, and ejecting that
		// would silently drop the whole share, with no failover to catch it.
		if s.Split == ir.SplitWeighted && p.Cluster.Network == c.Network {
			sub.TrafficPolicy = &apinet.TrafficPolicy{OutlierDetection: &apinet.OutlierDetection{
				ConsecutiveGatewayErrors: wrapperspb.UInt32(uint32(cb.ConsecutiveErrors)),
				Consecutive_5XxErrors:    wrapperspb.UInt32(0),
				Interval:                 dur(cb.Interval),
				BaseEjectionTime:         dur(cb.BaseEjectionTime),
				MaxEjectionPercent:       cb.MaxEjectionPercent,
			}}
		}
		dr.Spec.Subsets = append(dr.Spec.Subsets, sub)
	}
	return dr
}

func locality(c *ir.Cluster) string {
	if c.Zone != "" {
		return c.Region + "/" + c.Zone + "/*"
	}
	return c.Region + "/*"
}

// distribute sends the same shares from every caller: the split is a
// property of the service, not of where the caller runs. One rule from "*"
// says exactly that, and also covers callers in clusters without a region,
// whose "<region>/*" would be empty (Istio rejects it, and it matches no
// proxy).
func distribute(s *ir.Service) []*apinet.LocalityLoadBalancerSetting_Distribute {
	to := map[string]uint32{}
	for _, p := range s.Placements {
		if p.Percent > 0 {
			to[locality(p.Cluster)] = uint32(p.Percent)
		}
	}
	return []*apinet.LocalityLoadBalancerSetting_Distribute{{From: "*", To: to}}
}

func splitDestinations(s *ir.Service) []*ir.RouteDest {
	var out []*ir.RouteDest
	for _, p := range s.Placements {
		out = append(out, &ir.RouteDest{Cluster: p.Cluster, Percent: p.Percent})
	}
	return out
}

func httpDestinations(s *ir.Service, dests []*ir.RouteDest) []*apinet.HTTPRouteDestination {
	var out []*apinet.HTTPRouteDestination
	for _, d := range dests {
		if d.Percent == 0 {
			continue // a zero share is no destination; Istio would still build a cluster for it
		}
		out = append(out, &apinet.HTTPRouteDestination{
			Destination: &apinet.Destination{Host: s.Host(), Subset: d.Cluster.Name},
			Weight:      d.Percent,
		})
	}
	return out
}

func l4Destinations(s *ir.Service, dests []*ir.RouteDest) []*apinet.RouteDestination {
	var out []*apinet.RouteDestination
	for _, d := range httpDestinations(s, dests) {
		out = append(out, &apinet.RouteDestination{Destination: d.Destination, Weight: d.Weight})
	}
	return out
}

func virtualService(s *ir.Service) *clientnet.VirtualService {
	vs := &clientnet.VirtualService{ObjectMeta: objectMeta(s.Name, s.Namespace)}
	vs.SetGroupVersionKind(gvVS)
	vs.Spec.Hosts = []string{s.Host()}
	hasTCP, hasTLS := false, false
	var tlsPorts []uint32
	for _, p := range s.Ports {
		switch p.Protocol {
		case ir.ProtoTCP:
			hasTCP = true
		case ir.ProtoTLS:
			hasTLS = true
			tlsPorts = append(tlsPorts, uint32(p.Port))
		}
	}
	split := splitDestinations(s)
	if s.HasL7Port() {
		for i, r := range s.Routes {
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
			vs.Spec.Http = append(vs.Spec.Http, httpRoute(s, fmt.Sprintf("route-%d", i), []*apinet.HTTPMatchRequest{match}, httpDestinations(s, r.To)))
		}
		def := httpRoute(s, "default", nil, httpDestinations(s, split))
		if s.Split == ir.SplitLocality {
			// The DestinationRule's distribute does the split (with failover);
			// subsets here would pin traffic and defeat it.
			def.Route = []*apinet.HTTPRouteDestination{{Destination: &apinet.Destination{Host: s.Host()}}}
		}
		vs.Spec.Http = append(vs.Spec.Http, def)
	}
	l4 := l4Destinations(s, split)
	if s.Split == ir.SplitLocality {
		l4 = []*apinet.RouteDestination{{Destination: &apinet.Destination{Host: s.Host()}}}
	}
	if hasTCP {
		vs.Spec.Tcp = []*apinet.TCPRoute{{Route: l4}}
	}
	if hasTLS {
		var match []*apinet.TLSMatchAttributes
		for _, p := range tlsPorts {
			match = append(match, &apinet.TLSMatchAttributes{Port: p, SniHosts: []string{s.Host()}})
		}
		vs.Spec.Tls = []*apinet.TLSRoute{{Match: match, Route: l4}}
	}
	return vs
}

func httpRoute(s *ir.Service, name string, match []*apinet.HTTPMatchRequest, dests []*apinet.HTTPRouteDestination) *apinet.HTTPRoute {
	r := &apinet.HTTPRoute{Name: name, Match: match, Route: dests, Timeout: dur(s.Resil.Timeout)}
	if rt := s.Resil.Retries; rt != nil {
		r.Retries = &apinet.HTTPRetry{Attempts: rt.Attempts, PerTryTimeout: dur(rt.PerTryTimeout), RetryOn: rt.RetryOn}
	}
	return r
}

// eastWest returns the gateway plumbing of a cluster that receives
// cross-network traffic: the AUTO_PASSTHROUGH Gateway and the patch pinning
// the gateway Service's node port and source ranges.
func eastWest(m *ir.Model, c *ir.Cluster) []ir.Object {
	callers := m.CrossNetworkCallers(c)
	if len(callers) == 0 || c.EastWest == nil {
		return nil
	}
	ew := c.EastWest
	srcs := []ir.Source{c.Src}
	for _, s := range m.Services {
		if s.PlacedIn(c) && slices.ContainsFunc(s.CallerClusters, func(x *ir.Cluster) bool { return x.Network != c.Network }) {
			srcs = append(srcs, s.Src)
		}
	}
	gw := &clientnet.Gateway{ObjectMeta: objectMeta(CrossNetworkGateway, ew.Namespace)}
	gw.SetGroupVersionKind(gvGW)
	gw.Spec.Selector = ew.Selector
	gw.Spec.Servers = []*apinet.Server{{
		Port:  &apinet.Port{Number: eastWestListenPort, Name: "tls", Protocol: "TLS"},
		Tls:   &apinet.ServerTLSSettings{Mode: apinet.ServerTLSSettings_AUTO_PASSTHROUGH},
		Hosts: []string{"*.local"},
	}}
	out := []ir.Object{{Cluster: c.Name, Body: gw, Sources: srcs}}
	if patch := eastWestPatch(c, callers, srcs); patch != nil {
		out = append(out, *patch)
	}
	return out
}

// eastWestPatch returns the kustomize patch of c's east-west gateway Service
// (pinned node port, the callers' source ranges, the advertised port), or
// nil when there is nothing to patch.
func eastWestPatch(c *ir.Cluster, callers []*ir.Cluster, srcs []ir.Source) *ir.Object {
	ew := c.EastWest
	// The source ranges admit exactly the calling clusters; if one of them
	// declares no egress ranges (resolve warns), restricting would cut it
	// off, so the gateway stays open and mTLS is the only gate.
	var ranges []string
	for _, caller := range callers {
		if len(caller.Egress) == 0 {
			ranges = nil
			break
		}
		for _, p := range caller.Egress {
			ranges = append(ranges, p.String())
		}
	}
	slices.Sort(ranges)
	ranges = slices.Compact(ranges)
	if len(ranges) == 0 && ew.NodePort == 0 && ew.Port == eastWestListenPort {
		return nil
	}
	svc := &corev1.Service{ObjectMeta: objectMeta(ew.Service, ew.Namespace)}
	svc.SetGroupVersionKind(gvSvc)
	svc.Spec.LoadBalancerSourceRanges = ranges
	if ew.Port != eastWestListenPort {
		// Clients dial another port (a load balancer's listener); istiod
		// advertises the gateway with the port this label names.
		svc.Labels = map[string]string{"networking.istio.io/gatewayPort": strconv.Itoa(int(ew.Port))}
	}
	if ew.NodePort != 0 {
		// The patch pins the node port of the Service's own 15443 port (ports
		// merge on port and protocol, which is why both are named; protocol is
		// part of the server-side-apply list-map key too).
		svc.Spec.Ports = []corev1.ServicePort{{
			Name: "tls", Port: eastWestListenPort, TargetPort: intstr.FromInt32(eastWestListenPort), NodePort: ew.NodePort,
			Protocol: corev1.ProtocolTCP,
		}}
	}
	return &ir.Object{Cluster: c.Name, Body: svc, Sources: srcs, Patch: true}
}
