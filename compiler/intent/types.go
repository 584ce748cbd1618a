package intent

// The Go types below are the language contract (DESIGN §2). They decode the
// YAML (with positions kept beside them, see Document), marshal back to the
// JSON a Kubernetes API server stores when the kinds are applied as custom
// resources, and generate deploy/crds/. Field docs become the CRD
// descriptions, so they are written for users.

// Group and Version of every intent kind.
const (
	Group      = "intentc.dev"
	Version    = "v1alpha1"
	APIVersion = Group + "/" + Version
)

// Kind names, chosen never to collide with core Kubernetes or Cluster API kinds.
const (
	KindMesh            = "Mesh"
	KindMeshCluster     = "MeshCluster"
	KindMeshService     = "MeshService"
	KindExternalService = "ExternalService"
	KindAccessPolicy    = "AccessPolicy"
)

// Kinds lists every intent kind in the order the compiler resolves them.
var Kinds = []string{KindMesh, KindMeshCluster, KindMeshService, KindExternalService, KindAccessPolicy}

// TypeMeta is the apiVersion/kind header of every document.
type TypeMeta struct {
	// APIVersion is intentc.dev/v1alpha1.
	APIVersion string `json:"apiVersion"`
	// Kind is Mesh, MeshCluster, MeshService, ExternalService or AccessPolicy.
	Kind string `json:"kind"`
}

// ObjectMeta is the subset of Kubernetes object metadata an intent carries.
type ObjectMeta struct {
	// Name of the object; a DNS-1123 label.
	Name string `json:"name"`
	// Namespace; required for MeshService, ExternalService and AccessPolicy.
	Namespace string `json:"namespace,omitempty"`
	// Labels are kept for the user; intentc does not read them.
	Labels map[string]string `json:"labels,omitempty"`
	// Annotations are kept for the user; intentc does not read them.
	Annotations map[string]string `json:"annotations,omitempty"`
}

// Mesh holds the mesh-wide settings. At most one per intent; defaults apply without it.
type Mesh struct {
	TypeMeta `json:",inline"`
	Metadata ObjectMeta `json:"metadata"`
	Spec     MeshSpec   `json:"spec,omitempty"`
}

// MeshSpec is the mesh-wide configuration.
type MeshSpec struct {
	// Model is multi-primary (one control plane view, shared identity) or federated (.global names). Default multi-primary.
	Model string `json:"model,omitempty" enum:"multi-primary,federated"`
	// TrustDomain is the default trust domain of every cluster. Default cluster.local.
	TrustDomain string `json:"trustDomain,omitempty"`
	// MTLS is strict or permissive (a migration window only). Default strict.
	MTLS string `json:"mtls,omitempty" enum:"strict,permissive"`
	// DefaultDeny gives every managed namespace deny-all at layers 2 and 3. Default true.
	DefaultDeny *bool `json:"defaultDeny,omitempty"`
	// Namespaces names the namespaces intentc never manages.
	Namespaces *MeshNamespaces `json:"namespaces,omitempty"`
	// Baseline lists platform peers every managed workload needs.
	Baseline *Baseline `json:"baseline,omitempty"`
	// Federation configures trust between meshes; model federated only.
	Federation *Federation `json:"federation,omitempty"`
	// Dataplane is sidecar; ambient is refused until intentc supports it. Default sidecar.
	Dataplane string `json:"dataplane,omitempty" enum:"sidecar,ambient"`
	// PathNormalization is the mesh's meshConfig.pathNormalization.normalization; DENY rules by path
	// are only safe with MERGE_SLASHES or DECODE_AND_MERGE_SLASHES. Default BASE (Istio's default).
	PathNormalization string `json:"pathNormalization,omitempty" enum:"NONE,BASE,MERGE_SLASHES,DECODE_AND_MERGE_SLASHES"`
	// IngressGateway is the ingress gateway workload that via: ingressGateway sources come through.
	IngressGateway *IngressGateway `json:"ingressGateway,omitempty"`
}

// IngressGateway identifies the mesh's ingress gateway workload.
type IngressGateway struct {
	// Namespace of the ingress gateway. Default istio-ingress.
	Namespace string `json:"namespace,omitempty"`
	// ServiceAccount of the ingress gateway pods. Default istio-ingressgateway.
	ServiceAccount string `json:"serviceAccount,omitempty"`
	// Selector of the ingress gateway pods. Default {istio: ingressgateway}.
	Selector map[string]string `json:"selector,omitempty"`
	// Ports the gateway pods listen on for HTTP and HTTPS (target ports). Default [80, 443].
	Ports []int32 `json:"ports,omitempty"`
}

// MeshNamespaces names the control-plane namespaces.
type MeshNamespaces struct {
	// Istio is the mesh root namespace and istiod's. Default istio-system.
	Istio string `json:"istio,omitempty"`
	// Gateways are where the east-west and ingress gateways run. Default [istio-system].
	Gateways []string `json:"gateways,omitempty"`
	// Intentc is the webhook's own namespace. Default intentc-system.
	Intentc string `json:"intentc,omitempty"`
	// OwnedElsewhere stops intentc from emitting Namespace objects (another tool owns them).
	OwnedElsewhere bool `json:"ownedElsewhere,omitempty"`
}

// Baseline lists the platform peers every managed workload needs.
type Baseline struct {
	// Scrapers may scrape the sidecars' metrics ports (15020, 15090).
	Scrapers []PeerSelector `json:"scrapers,omitempty"`
	// Telemetry collectors workloads may send to.
	Telemetry []PeerSelector `json:"telemetry,omitempty"`
	// APIServerAccess names workloads that may call their cluster's API server.
	APIServerAccess []WorkloadRef `json:"apiServerAccess,omitempty"`
	// NodeLocalDNS also allows 169.254.20.10:53.
	NodeLocalDNS bool `json:"nodeLocalDNS,omitempty"`
}

// PeerSelector selects pods by namespace and labels.
type PeerSelector struct {
	// Namespace of the peer pods.
	Namespace string `json:"namespace"`
	// PodLabels select the peer pods in the namespace; none selects them all.
	PodLabels map[string]string `json:"podLabels,omitempty"`
	// Ports of the peer; for telemetry, the collectors' ports workloads send to.
	Ports []int32 `json:"ports,omitempty"`
}

// WorkloadRef names a workload by namespace and service account.
type WorkloadRef struct {
	// Namespace of the workload.
	Namespace string `json:"namespace"`
	// ServiceAccount the workload runs as.
	ServiceAccount string `json:"serviceAccount"`
}

// Federation declares how meshes that do not share a control plane trust each other.
type Federation struct {
	// Trust is how the meshes validate each other's certificates: sharedRoot (one root CA; each mesh
	// lists the others' trust domains in meshConfig.trustDomainAliases) or trustBundles (each mesh
	// lists the others' roots in meshConfig.caCertificates). Required with model federated.
	Trust string `json:"trust,omitempty" enum:"sharedRoot,trustBundles"`
	// TrustDomainAliases are the trust domains every mesh accepts besides its own (meshConfig.trustDomainAliases).
	TrustDomainAliases []string `json:"trustDomainAliases,omitempty"`
	// ImportNamespace holds the ServiceEntries and DestinationRules that import other meshes' services. Default intentc-federation.
	ImportNamespace string `json:"importNamespace,omitempty"`
}

// MeshCluster is one Kubernetes cluster of the mesh.
type MeshCluster struct {
	TypeMeta `json:",inline"`
	Metadata ObjectMeta      `json:"metadata"`
	Spec     MeshClusterSpec `json:"spec"`
}

// MeshClusterSpec describes a cluster's platform, network and gateways.
type MeshClusterSpec struct {
	// Platform is openstack, openshift or kubernetes.
	Platform string `json:"platform" enum:"openstack,openshift,kubernetes"`
	// OpenShift settings; platform openshift only.
	OpenShift *OpenShift `json:"openshift,omitempty"`
	// Istio holds the values the cluster's Istio was installed with.
	Istio *IstioValues `json:"istio,omitempty"`
	// Network is the Istio network (topology.istio.io/network).
	Network string `json:"network"`
	// Region is the locality region of the cluster's nodes.
	Region string `json:"region,omitempty"`
	// Zone is the locality zone, if the whole cluster is in one.
	Zone string `json:"zone,omitempty"`
	// TrustDomain of the cluster's workloads. Default: the Mesh's.
	TrustDomain string `json:"trustDomain,omitempty"`
	// CNI plugin and mode.
	CNI string `json:"cni,omitempty" enum:"calico-vxlan,calico-ipip,calico-bgp,flannel-vxlan,cilium-vxlan,cilium-native,geneve"`
	// CIDRs of the cluster's pods, services, nodes and egress (SNAT) addresses.
	CIDRs *ClusterCIDRs `json:"cidrs,omitempty"`
	// APIServer is where istiod in other primaries reaches this cluster's API server.
	APIServer *Endpoint `json:"apiServer,omitempty"`
	// EastWestGateway is how other networks reach this cluster.
	EastWestGateway *EastWestGateway `json:"eastWestGateway,omitempty"`
	// OpenStack settings; platform openstack only.
	OpenStack *OpenStack `json:"openstack,omitempty"`
}

// OpenShift settings.
type OpenShift struct {
	// MeshFlavor is ossm3 (OpenShift Service Mesh 3), ossm2 (linted: its own NetworkPolicies defeat layer 2) or upstream. Default ossm3.
	MeshFlavor string `json:"meshFlavor,omitempty" enum:"ossm3,ossm2,upstream"`
}

// IstioValues must equal the cluster's Istio installation values.
type IstioValues struct {
	// ClusterID is values.global.multiCluster.clusterName. Default: the MeshCluster's name.
	ClusterID string `json:"clusterID,omitempty"`
	// Network is values.global.network. Default and required value: spec.network.
	Network string `json:"network,omitempty"`
	// MeshID is values.global.meshID: the mesh (control plane view) the cluster belongs to. Default: one
	// mesh for all clusters with model multi-primary, the cluster's name with model federated.
	MeshID string `json:"meshID,omitempty"`
}

// ClusterCIDRs are the address ranges of a cluster.
type ClusterCIDRs struct {
	// Pods are the pod address ranges.
	Pods []string `json:"pods,omitempty"`
	// Services are the service (ClusterIP) address ranges.
	Services []string `json:"services,omitempty"`
	// Nodes are the node (VM) address ranges.
	Nodes []string `json:"nodes,omitempty"`
	// Egress are the addresses the cluster's traffic leaves with (SNAT, NAT gateway).
	Egress []string `json:"egress,omitempty"`
}

// Endpoint is an address and port.
type Endpoint struct {
	// Address is an IP address or a DNS host name.
	Address string `json:"address"`
	// Port of the endpoint.
	Port int32 `json:"port,omitempty"`
}

// EastWestGateway is the cluster's cross-network gateway.
type EastWestGateway struct {
	// Address clients on other networks dial: an IP or a host name.
	Address string `json:"address"`
	// Port clients dial. Default 15443.
	Port int32 `json:"port,omitempty"`
	// NodePort pinned on the gateway Service (for load balancers that forward to node ports).
	NodePort int32 `json:"nodePort,omitempty"`
	// Namespace of the gateway. Default: the Mesh's first gateway namespace.
	Namespace string `json:"namespace,omitempty"`
	// Service name of the gateway. Default istio-eastwestgateway.
	Service string `json:"service,omitempty"`
	// Selector of the gateway pods. Default {istio: eastwestgateway}.
	Selector map[string]string `json:"selector,omitempty"`
}

// OpenStack describes where a cluster's nodes live in OpenStack.
type OpenStack struct {
	// Cloud is the clouds.yaml entry.
	Cloud string `json:"cloud"`
	// Project holding the nodes.
	Project string `json:"project"`
	// SecurityGroups says whether intentc owns a group or only audits.
	SecurityGroups *SecurityGroups `json:"securityGroups,omitempty"`
	// LoadBalancer in front of the east-west gateway.
	LoadBalancer *LoadBalancer `json:"loadBalancer,omitempty"`
}

// SecurityGroups settings.
type SecurityGroups struct {
	// Mode owned (intentc's own group) or audit (report only, write nothing). Default owned.
	Mode string `json:"mode,omitempty" enum:"owned,audit"`
	// Name of intentc's group.
	Name string `json:"name,omitempty"`
}

// LoadBalancer in front of the east-west gateway.
type LoadBalancer struct {
	// Provider is amphora, ovn or none.
	Provider string `json:"provider,omitempty" enum:"amphora,ovn,none"`
	// MemberSubnet the load balancer's members (the nodes) live in.
	MemberSubnet string `json:"memberSubnet,omitempty"`
}

// MeshService is one service, wherever it runs.
type MeshService struct {
	TypeMeta `json:",inline"`
	Metadata ObjectMeta      `json:"metadata"`
	Spec     MeshServiceSpec `json:"spec"`
}

// MeshServiceSpec places a service and shapes its traffic.
type MeshServiceSpec struct {
	// ServiceAccount of the workload. Default: the service's name.
	ServiceAccount string `json:"serviceAccount,omitempty"`
	// Selector of the workload's pods. Default {app: <name>}.
	Selector map[string]string `json:"selector,omitempty"`
	// Ports the service exposes.
	Ports []ServicePort `json:"ports"`
	// Split is weighted (exact shares, no failover) or locality (proportional, with failover). Default weighted.
	Split string `json:"split,omitempty" enum:"weighted,locality"`
	// Placement lists the clusters the service runs in and their relative weights.
	Placement []Placement `json:"placement"`
	// Failover is the order traffic falls back in; split locality only.
	Failover []string `json:"failover,omitempty"`
	// Routes are matched first, in order; the split is the default route.
	Routes []Route `json:"routes,omitempty"`
	// Resilience settings.
	Resilience *Resilience `json:"resilience,omitempty"`
}

// ServicePort is one port of a service.
type ServicePort struct {
	// Name of the port, unique in the service; AccessPolicies name ports by it.
	Name string `json:"name"`
	// Port number callers dial, 1-65535.
	Port int32 `json:"port"`
	// TargetPort on the pods. Default: port.
	TargetPort int32 `json:"targetPort,omitempty"`
	// Protocol is http, http2, grpc, tcp or tls. Default tcp.
	Protocol string `json:"protocol,omitempty" enum:"http,http2,grpc,tcp,tls"`
	// MTLS permissive declares a per-port exception for plaintext callers.
	MTLS string `json:"mtls,omitempty" enum:"strict,permissive"`
}

// Placement puts a service in a cluster.
type Placement struct {
	// Cluster is the name of a MeshCluster.
	Cluster string `json:"cluster"`
	// Weight is relative to the other placements. Default 1.
	Weight *int32 `json:"weight,omitempty"`
}

// Route sends matching requests to chosen clusters.
type Route struct {
	// Match selects the requests the route takes.
	Match RouteMatch `json:"match"`
	// To lists the clusters matching requests go to.
	To []RouteDestination `json:"to"`
}

// RouteMatch matches HTTP requests.
type RouteMatch struct {
	// Headers must equal the given values.
	Headers map[string]string `json:"headers,omitempty"`
	// PathPrefix matches the URI path prefix.
	PathPrefix string `json:"pathPrefix,omitempty"`
}

// RouteDestination is a cluster a route sends to.
type RouteDestination struct {
	// Cluster is a MeshCluster the service is placed in.
	Cluster string `json:"cluster"`
	// Weight relative to the route's other destinations. Default 1.
	Weight *int32 `json:"weight,omitempty"`
}

// Resilience shapes how callers treat the service.
type Resilience struct {
	// Timeout of a whole request, e.g. 2s.
	Timeout string `json:"timeout,omitempty"`
	// Retries of failed requests.
	Retries *Retries `json:"retries,omitempty"`
	// CircuitBreaker ejects failing endpoints.
	CircuitBreaker *CircuitBreaker `json:"circuitBreaker,omitempty"`
	// ConnectionPool limits connections and requests.
	ConnectionPool *ConnectionPool `json:"connectionPool,omitempty"`
}

// Retries policy.
type Retries struct {
	// Attempts is how many times a failed request is retried.
	Attempts int32 `json:"attempts"`
	// PerTryTimeout of each attempt, e.g. 500ms.
	PerTryTimeout string `json:"perTryTimeout,omitempty"`
	// RetryOn conditions (Envoy's x-envoy-retry-on values).
	RetryOn string `json:"retryOn,omitempty"`
}

// CircuitBreaker settings (Istio outlier detection).
type CircuitBreaker struct {
	// ConsecutiveErrors before an endpoint is ejected. Default 5.
	ConsecutiveErrors int32 `json:"consecutiveErrors,omitempty"`
	// Interval between ejection sweeps. Default 10s.
	Interval string `json:"interval,omitempty"`
	// BaseEjectionTime of an ejected endpoint. Default 30s.
	BaseEjectionTime string `json:"baseEjectionTime,omitempty"`
	// MaxEjectionPercent of a subset's endpoints. Default 50.
	MaxEjectionPercent int32 `json:"maxEjectionPercent,omitempty"`
}

// ConnectionPool limits.
type ConnectionPool struct {
	// MaxConnections a caller opens to the service. Default: Istio's.
	MaxConnections int32 `json:"maxConnections,omitempty"`
	// MaxPendingRequests waiting for a connection. Default: Istio's.
	MaxPendingRequests int32 `json:"maxPendingRequests,omitempty"`
	// MaxRequests in flight to the service at once. Default: Istio's.
	MaxRequests int32 `json:"maxRequests,omitempty"`
	// MaxRequestsPerConnection before a connection is closed. Default: Istio's.
	MaxRequestsPerConnection int32 `json:"maxRequestsPerConnection,omitempty"`
}

// ExternalService is something outside the mesh that workloads may call.
type ExternalService struct {
	TypeMeta `json:",inline"`
	Metadata ObjectMeta          `json:"metadata"`
	Spec     ExternalServiceSpec `json:"spec"`
}

// ExternalServiceSpec names the external hosts, addresses and ports.
type ExternalServiceSpec struct {
	// Hosts are the DNS names workloads call it by.
	Hosts []string `json:"hosts,omitempty"`
	// CIDRs are the addresses it is reached at.
	CIDRs []string `json:"cidrs,omitempty"`
	// Ports it listens on.
	Ports []ServicePort `json:"ports"`
}

// AccessPolicy says who may call a service.
type AccessPolicy struct {
	TypeMeta `json:",inline"`
	Metadata ObjectMeta       `json:"metadata"`
	Spec     AccessPolicySpec `json:"spec"`
}

// AccessPolicySpec is one rule: sources, a destination, optional L7 conditions.
type AccessPolicySpec struct {
	// To is the destination: a MeshService or an ExternalService.
	To Target `json:"to"`
	// From lists the callers the rule applies to.
	From []Source `json:"from"`
	// HTTP conditions; only on http, http2 and grpc ports.
	HTTP *HTTPRule `json:"http,omitempty"`
	// Action is allow or deny. Default allow.
	Action string `json:"action,omitempty" enum:"allow,deny"`
}

// Target is the destination of an AccessPolicy: a MeshService or an ExternalService.
type Target struct {
	// Service is a MeshService: namespace/name, or name in the policy's namespace.
	Service string `json:"service,omitempty"`
	// External is an ExternalService: namespace/name, or name in the policy's namespace.
	External string `json:"external,omitempty"`
	// Ports by name (or number); default all.
	Ports []string `json:"ports,omitempty"`
}

// Source is one kind of caller; exactly one of service, namespace, workload or cidr.
type Source struct {
	// Service is a MeshService: namespace/name, or name in the policy's namespace.
	Service string `json:"service,omitempty"`
	// Namespace allows every workload of a namespace.
	Namespace string `json:"namespace,omitempty"`
	// Workload is a caller that is not a MeshService.
	Workload *Workload `json:"workload,omitempty"`
	// CIDR is a peer seen by address, not identity.
	CIDR string `json:"cidr,omitempty"`
	// Via is direct (same network, no SNAT) or ingressGateway; cidr only.
	Via string `json:"via,omitempty" enum:"direct,ingressGateway"`
	// Network the CIDR lives in; cidr only. Default: the destination's network.
	Network string `json:"network,omitempty"`
	// Hosts are the names the ingress gateway serves the destination under; via ingressGateway
	// with a CIDR narrower than the whole internet only (the gateway's remoteIpBlocks rule is scoped to them).
	Hosts []string `json:"hosts,omitempty"`
	// Clusters the caller runs in. Default all.
	Clusters []string `json:"clusters,omitempty"`
}

// Workload identifies a caller by namespace, service account and pod labels.
type Workload struct {
	// Namespace of the caller.
	Namespace string `json:"namespace"`
	// ServiceAccount the caller runs as.
	ServiceAccount string `json:"serviceAccount"`
	// PodLabels of the caller's pods, for the layers that see pods rather than identities.
	PodLabels map[string]string `json:"podLabels,omitempty"`
}

// HTTPRule restricts methods and paths.
type HTTPRule struct {
	// Methods the rule applies to, e.g. GET. Default all.
	Methods []string `json:"methods,omitempty"`
	// Paths the rule applies to: exact, a prefix ending in *, or a suffix starting with *. Default all.
	Paths []string `json:"paths,omitempty"`
}
