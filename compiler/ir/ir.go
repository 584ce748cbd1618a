package ir

import (
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/intentc/intentc/compiler/diag"
)

// Source is the provenance of a node: the intent object it came from and
// where. Emitted objects name Ref (never a line number, so goldens do not
// churn when a comment moves); diagnostics use Pos.
type Source struct {
	Kind, Namespace, Name string
	Pos                   diag.Pos
}

// Ref is "Kind/namespace/name" or "Kind/name".
func (s Source) Ref() string {
	if s.Namespace == "" {
		return s.Kind + "/" + s.Name
	}
	return s.Kind + "/" + s.Namespace + "/" + s.Name
}

// Model is the resolved intent: every reference is a pointer, every default
// applied, every weight normalised. Slices are sorted by name so that any
// iteration over the model is deterministic.
type Model struct {
	Mesh      Mesh
	Clusters  []*Cluster  // by name
	Services  []*Service  // by namespace, name
	Externals []*External // by namespace, name
	Policies  []*Policy   // by namespace, name
	// Digest identifies the intent set (intentc.dev/intent-digest).
	Digest string

	// The index is built on first use, from the finished model (resolve
	// never changes a model it has returned): the backends ask which
	// namespaces are managed in a cluster, which services a namespace
	// holds there and which policies name a service once per policy and
	// cluster, and a scan of the whole model per question made emission
	// quadratic in the number of services.
	indexOnce sync.Once
	index     map[*Cluster]*clusterIndex
	policyTo  map[*Service][]*Policy
}

// clusterIndex is what the model's index knows of one cluster.
type clusterIndex struct {
	namespaces []string              // managed, sorted
	services   map[string][]*Service // placed here, by namespace, in model order
}

func (m *Model) clusterIndex(c *Cluster) *clusterIndex {
	m.buildIndex()
	return m.index[c]
}

func (m *Model) buildIndex() {
	m.indexOnce.Do(func() {
		m.policyTo = map[*Service][]*Policy{}
		for _, p := range m.Policies {
			if p.Service != nil {
				m.policyTo[p.Service] = append(m.policyTo[p.Service], p)
			}
		}
		m.index = map[*Cluster]*clusterIndex{}
		for _, s := range m.Services {
			for _, p := range s.Placements {
				ci := m.index[p.Cluster]
				if ci == nil {
					ci = &clusterIndex{services: map[string][]*Service{}}
					m.index[p.Cluster] = ci
				}
				if list := ci.services[s.Namespace]; len(list) == 0 || list[len(list)-1] != s {
					ci.services[s.Namespace] = append(list, s)
				}
			}
		}
		for _, ci := range m.index {
			for ns := range ci.services {
				ci.namespaces = append(ci.namespaces, ns)
			}
			slices.Sort(ci.namespaces)
		}
	})
}

// PoliciesTo returns the AccessPolicies whose destination is s, in model
// order. The result is shared between callers: do not modify it.
func (m *Model) PoliciesTo(s *Service) []*Policy {
	m.buildIndex()
	list := m.policyTo[s]
	return list[:len(list):len(list)]
}

// Cluster returns the cluster with the given name, or nil.
func (m *Model) Cluster(name string) *Cluster {
	i, ok := slices.BinarySearchFunc(m.Clusters, name, func(c *Cluster, n string) int {
		switch {
		case c.Name < n:
			return -1
		case c.Name > n:
			return 1
		}
		return 0
	})
	if !ok {
		return nil
	}
	return m.Clusters[i]
}

// Mesh holds the mesh-wide settings, defaults applied.
type Mesh struct {
	Name              string
	Model             string // multi-primary | federated
	TrustDomain       string
	MTLS              string // strict | permissive
	DefaultDeny       bool
	RootNamespace     string   // istio-system by default; istiod's too
	GatewayNamespaces []string // where the east-west and ingress gateways run
	IntentcNamespace  string
	// EmitNamespaces is false when the Mesh says namespaces are owned elsewhere.
	EmitNamespaces bool
	Baseline       Baseline
	// PathNormalization is the mesh's meshConfig path normalisation (BASE by default).
	PathNormalization string
	IngressGateway    IngressGateway
	// Federation is set with model federated (federated.go).
	Federation Federation
	Src        Source
}

// IngressGateway is the workload via: ingressGateway sources come through.
type IngressGateway struct {
	Namespace, ServiceAccount string
	Selector                  map[string]string
	// Ports the gateway pods listen on (target ports): a DENY rule on the
	// gateway must name them, or on TCP listeners it would deny everything.
	Ports []int32
}

// Baseline peers every managed workload needs.
type Baseline struct {
	Scrapers        []PeerSelector
	Telemetry       []PeerSelector
	APIServerAccess []WorkloadRef
	NodeLocalDNS    bool
}

// PeerSelector selects pods by namespace and labels.
type PeerSelector struct {
	Namespace string
	PodLabels map[string]string
	Ports     []int32
}

// WorkloadRef is a namespace and service account.
type WorkloadRef struct{ Namespace, ServiceAccount string }

// NeverManaged reports whether intentc must write no policy object in ns:
// there a policy is mesh-wide or bricks the control plane.
func (m *Mesh) NeverManaged(ns string) bool {
	switch {
	case ns == m.RootNamespace, ns == m.IntentcNamespace,
		ns == "kube-system", ns == "kube-public", ns == "kube-node-lease",
		len(ns) >= len("openshift-") && ns[:len("openshift-")] == "openshift-",
		ns == "openshift":
		return true
	}
	return slices.Contains(m.GatewayNamespaces, ns)
}

// Cluster is one Kubernetes cluster of the mesh.
type Cluster struct {
	Name        string
	Platform    string // openstack | openshift | kubernetes
	MeshFlavor  string // openshift only: ossm3 | upstream
	ClusterID   string // Istio's cluster ID (topology.istio.io/cluster)
	Network     string // Istio network (topology.istio.io/network)
	MeshID      string // the mesh (control plane view) it belongs to; one for all with multi-primary
	Region      string
	Zone        string
	TrustDomain string
	CNI         string
	Pods        []netip.Prefix
	ServiceNets []netip.Prefix
	Nodes       []netip.Prefix
	Egress      []netip.Prefix
	APIServer   *Endpoint
	EastWest    *EastWestGateway
	OpenStack   *OpenStack
	Src         Source
}

// Endpoint is an address (IP or host name) and port.
type Endpoint struct {
	Address string
	Port    int32
	Pos     diag.Pos // of the address
}

// EastWestGateway is a cluster's cross-network gateway.
type EastWestGateway struct {
	Address   string
	Port      int32 // what clients dial; 15443 by default
	NodePort  int32 // 0 when not pinned
	Namespace string
	Service   string
	Selector  map[string]string
	Pos       diag.Pos // of the address
}

// OpenStack placement of a cluster's nodes.
type OpenStack struct {
	Cloud, Project    string
	SecurityGroupMode string // owned | audit
	SecurityGroupName string
	LBProvider        string // amphora | ovn | none
	LBMemberSubnet    netip.Prefix
	HasLBMemberSubnet bool
}

// Protocol of a service port, as the intent names it.
const (
	ProtoHTTP  = "http"
	ProtoHTTP2 = "http2"
	ProtoGRPC  = "grpc"
	ProtoTCP   = "tcp"
	ProtoTLS   = "tls"
)

// Port is one service port.
type Port struct {
	Name       string
	Port       int32
	TargetPort int32
	Protocol   string
	// Permissive is a declared per-port exception for plaintext callers.
	Permissive bool
	Pos        diag.Pos
}

// IsL7 reports whether Istio sees requests (methods, paths, headers) on the port.
func (p *Port) IsL7() bool {
	return p.Protocol == ProtoHTTP || p.Protocol == ProtoHTTP2 || p.Protocol == ProtoGRPC
}

// Split modes.
const (
	SplitWeighted = "weighted"
	SplitLocality = "locality"
)

// Service is one MeshService across all the clusters it is placed in.
type Service struct {
	Name, Namespace string
	ServiceAccount  string
	Selector        map[string]string
	Ports           []*Port
	Split           string
	// Placements by cluster name; Percent sums to exactly 100.
	Placements []*Placement
	// Failover order (split locality only).
	Failover []*Cluster
	Routes   []*Route
	Resil    Resilience
	// CallerClusters are the clusters the service is called from, by name.
	// A service no AccessPolicy names is called from every cluster.
	CallerClusters []*Cluster
	Src            Source
}

// Host is the service's mesh host name.
func (s *Service) Host() string { return s.Name + "." + s.Namespace + ".svc.cluster.local" }

// PlacedIn reports whether the service runs in c.
func (s *Service) PlacedIn(c *Cluster) bool { return s.Placement(c) != nil }

// Placement returns the service's placement in c, or nil.
func (s *Service) Placement(c *Cluster) *Placement {
	for _, p := range s.Placements {
		if p.Cluster == c {
			return p
		}
	}
	return nil
}

// CalledFrom reports whether c is one of the caller clusters.
func (s *Service) CalledFrom(c *Cluster) bool { return slices.Contains(s.CallerClusters, c) }

// HasL7Port reports whether any port is http, http2 or grpc.
func (s *Service) HasL7Port() bool {
	return slices.ContainsFunc(s.Ports, (*Port).IsL7)
}

// Placement of a service in one cluster.
type Placement struct {
	Cluster *Cluster
	Weight  int32 // relative, as written
	Percent int32 // normalised; all placements sum to 100
	Pos     diag.Pos
}

// Route is a header/path match sending to chosen clusters.
type Route struct {
	Headers    map[string]string
	PathPrefix string
	To         []*RouteDest
	Pos        diag.Pos
}

// RouteDest is one destination cluster of a route; Percent sums to 100.
type RouteDest struct {
	Cluster *Cluster
	Percent int32
}

// Resilience settings with defaults left zero where the intent is silent.
type Resilience struct {
	Timeout        time.Duration
	Retries        *Retries
	CircuitBreaker CircuitBreaker
	ConnectionPool *ConnectionPool
}

// Retries policy.
type Retries struct {
	Attempts      int32
	PerTryTimeout time.Duration
	RetryOn       string
}

// CircuitBreaker settings; defaults applied.
type CircuitBreaker struct {
	ConsecutiveErrors  int32
	Interval           time.Duration
	BaseEjectionTime   time.Duration
	MaxEjectionPercent int32
}

// ConnectionPool limits; zero means unset.
type ConnectionPool struct {
	MaxConnections           int32
	MaxPendingRequests       int32
	MaxRequests              int32
	MaxRequestsPerConnection int32
}

// External is an ExternalService.
type External struct {
	Name, Namespace string
	Hosts           []string
	CIDRs           []netip.Prefix
	Ports           []*Port
	Src             Source
}

// Actions of an AccessPolicy.
const (
	ActionAllow = "allow"
	ActionDeny  = "deny"
)

// Policy is a resolved AccessPolicy.
type Policy struct {
	Name, Namespace string
	Service         *Service  // destination; nil when External is set
	External        *External // destination; nil when Service is set
	Ports           []*Port   // the destination ports the policy names (all when it names none)
	From            []*Peer
	Methods         []string
	Paths           []string
	Action          string
	Src             Source
}

// Peer kinds.
const (
	PeerService   = "service"
	PeerNamespace = "namespace"
	PeerWorkload  = "workload"
	PeerCIDR      = "cidr"
)

// Peer is one source of an AccessPolicy.
type Peer struct {
	Kind           string
	Service        *Service // PeerService
	Namespace      string   // PeerNamespace, PeerWorkload, PeerService (the service's)
	ServiceAccount string   // PeerWorkload, PeerService
	PodLabels      map[string]string
	CIDR           netip.Prefix // PeerCIDR
	Via            string       // direct | ingressGateway
	Network        string       // PeerCIDR: the network the range lives in ("" = the destination's)
	Hosts          []string     // PeerCIDR via ingressGateway: gateway host names
	// Clusters the peer runs in (resolved; for a service, where it is placed,
	// narrowed by the policy's clusters).
	Clusters []*Cluster
	Pos      diag.Pos
}

// NeedsDestinationRule reports whether the service's DestinationRule goes to
// c: wherever it is placed or called. The east-west gateway of a destination
// cluster routes only to subsets its own istiod knows, so a cluster that is
// only ever reached from another network still needs the subsets.
func (s *Service) NeedsDestinationRule(c *Cluster) bool { return s.PlacedIn(c) || s.CalledFrom(c) }

// NeedsVirtualService reports whether the service's VirtualService goes to c:
// routing is client-side, so wherever it is called.
func (s *Service) NeedsVirtualService(c *Cluster) bool { return s.CalledFrom(c) }

// NeedsStubService reports whether c needs a selector-less Kubernetes Service
// so the service's name resolves there: called but not placed.
func (s *Service) NeedsStubService(c *Cluster) bool { return s.CalledFrom(c) && !s.PlacedIn(c) }

// CrossNetworkCallers returns the clusters that call into c across networks
// (for any service placed in c), sorted by name.
func (m *Model) CrossNetworkCallers(c *Cluster) []*Cluster {
	seen := map[*Cluster]bool{}
	for _, s := range m.Services {
		if !s.PlacedIn(c) {
			continue
		}
		for _, caller := range s.CallerClusters {
			if caller.Network != c.Network {
				seen[caller] = true
			}
		}
	}
	var out []*Cluster
	for _, cl := range m.Clusters {
		if seen[cl] {
			out = append(out, cl)
		}
	}
	return out
}

// Via values of a CIDR peer.
const (
	ViaDirect         = "direct"
	ViaIngressGateway = "ingressGateway"
)

// ManagedNamespaces returns the namespaces intentc manages in c, sorted:
// those holding a MeshService placed there. intentc writes policy objects
// only into these.
//
// The result is shared between callers: do not modify it.
func (m *Model) ManagedNamespaces(c *Cluster) []string {
	if ci := m.clusterIndex(c); ci != nil {
		return ci.namespaces[:len(ci.namespaces):len(ci.namespaces)]
	}
	return nil
}

// ServicesIn returns the services placed in c in namespace ns, in model
// order. The result is shared between callers: do not modify it.
func (m *Model) ServicesIn(c *Cluster, ns string) []*Service {
	if ci := m.clusterIndex(c); ci != nil {
		list := ci.services[ns]
		return list[:len(list):len(list)]
	}
	return nil
}

// IsWorld reports whether a CIDR peer is "anyone" (0.0.0.0/0 or ::/0).
func (p *Peer) IsWorld() bool { return p.Kind == PeerCIDR && p.CIDR.Bits() == 0 }

// Principals returns the identities (without spiffe://) a peer presents, one
// per trust domain of the clusters it runs in, sorted. A namespace peer is
// every service account of the namespace; a CIDR peer through the ingress
// gateway presents the gateway's identity; a direct CIDR peer has none.
func (m *Model) Principals(p *Peer) []string {
	var out []string
	for _, c := range p.Clusters {
		td := c.TrustDomain
		switch p.Kind {
		case PeerService, PeerWorkload:
			out = append(out, td+"/ns/"+p.Namespace+"/sa/"+p.ServiceAccount)
		case PeerNamespace:
			out = append(out, td+"/ns/"+p.Namespace+"/sa/*")
		case PeerCIDR:
			if p.Via == ViaIngressGateway {
				out = append(out, td+"/ns/"+m.Mesh.IngressGateway.Namespace+"/sa/"+m.Mesh.IngressGateway.ServiceAccount)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Destinations returns the clusters an AccessPolicy's destination runs in:
// where the service is placed, or, for an ExternalService, every cluster one
// of the policy's sources runs in (the egress side is all there is).
func (p *Policy) Destinations() []*Cluster {
	var out []*Cluster
	if p.Service != nil {
		for _, pl := range p.Service.Placements {
			out = append(out, pl.Cluster)
		}
		return out
	}
	seen := map[*Cluster]bool{}
	for _, peer := range p.From {
		for _, c := range peer.Clusters {
			if !seen[c] {
				seen[c] = true
				out = append(out, c)
			}
		}
	}
	slices.SortFunc(out, func(a, b *Cluster) int { return strings.Compare(a.Name, b.Name) })
	return out
}
