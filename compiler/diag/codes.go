package diag

// Code is a stable diagnostic identifier such as "IC2003".
type Code string

// Severity returns the default severity the table gives the code.
func (c Code) Severity() Severity {
	if info, ok := byCode[c]; ok {
		return info.Severity
	}
	return Error
}

// Info returns the table entry for the code.
func (c Code) Info() (CodeInfo, bool) {
	info, ok := byCode[c]
	return info, ok
}

// CodeInfo documents one code; docs/diagnostics.md is generated from Table.
type CodeInfo struct {
	Code     Code
	Severity Severity
	Title    string // short, for SARIF rule names and the docs heading
	Doc      string // one line: what it means and how to fix it
	Example  string // a minimal intent fragment that triggers it
}

// The codes. Never renumber or reuse one: users suppress and grep by code.
const (
	// IC1xxx: reading and decoding intent files.
	CodeYAMLSyntax       Code = "IC1001"
	CodeUnknownField     Code = "IC1002"
	CodeWrongType        Code = "IC1003"
	CodeDuplicateKey     Code = "IC1004"
	CodeMissingField     Code = "IC1005"
	CodeUnknownKind      Code = "IC1006"
	CodeBadAPIVersion    Code = "IC1007"
	CodeFileTooLarge     Code = "IC1008"
	CodeTooDeep          Code = "IC1009"
	CodeAliases          Code = "IC1010"
	CodeNotText          Code = "IC1011"
	CodeReadFile         Code = "IC1012"
	CodeProjectFile      Code = "IC1013"
	CodeInvalidValue     Code = "IC1014"
	CodeNotIntent        Code = "IC1015"
	CodeNoIntent         Code = "IC1016"
	CodeTooManyDocuments Code = "IC1017"

	// IC2xxx: semantics across documents.
	CodeDuplicateObject       Code = "IC2001"
	CodeUnknownCluster        Code = "IC2002"
	CodeUnknownService        Code = "IC2003"
	CodeUnknownPort           Code = "IC2004"
	CodeUnknownExternal       Code = "IC2005"
	CodeNegativeWeight        Code = "IC2006"
	CodeZeroWeightTotal       Code = "IC2007"
	CodeDuplicatePlacement    Code = "IC2008"
	CodeInvalidCIDR           Code = "IC2009"
	CodeInvalidDuration       Code = "IC2010"
	CodeL7OnTCP               Code = "IC2011"
	CodeRouteNotPlaced        Code = "IC2012"
	CodeFailoverWeighted      Code = "IC2013"
	CodeNeverManagedNamespace Code = "IC2014"
	CodeMixedTrustDomain      Code = "IC2015"
	CodeIstioNetworkMismatch  Code = "IC2016"
	CodeMultipleMesh          Code = "IC2017"
	CodeDuplicatePort         Code = "IC2018"
	CodeInvalidPort           Code = "IC2019"
	CodeFailoverNotPlaced     Code = "IC2020"
	CodeLocalityNoRegion      Code = "IC2021"
	CodeInvalidName           Code = "IC2022"
	CodeNoEastWestGateway     Code = "IC2023"
	CodeInvalidAddress        Code = "IC2024"
	CodePermissiveMesh        Code = "IC2025"
	CodeModelUnsupported      Code = "IC2026"
	CodeDuplicateClusterID    Code = "IC2027"
	CodeInvalidLabels         Code = "IC2028"
	CodeRouteEmpty            Code = "IC2029"
	CodeNoEgressCIDR          Code = "IC2030"
	CodeFailoverOrder         Code = "IC2031"
	CodeCIDROnStrictPort      Code = "IC2032"
	CodeViaNotHonoured        Code = "IC2033"
	CodeLetsNothingThrough    Code = "IC2034"
	CodeGRPCMethod            Code = "IC2035"
	CodePathWildcard          Code = "IC2036"
	CodeDenyPathNormalization Code = "IC2037"
	CodeAmbient               Code = "IC2038"
	CodeIngressRestriction    Code = "IC2039"
	CodeOSSM2                 Code = "IC2040"
	CodeNoAPIServer           Code = "IC2041"
	CodeNoNodePort            Code = "IC2042"
	CodeNoOpenStack           Code = "IC2043"

	// IC3xxx: emission and output.
	CodeOutputCollision Code = "IC3001"
	CodeWriteOutput     Code = "IC3002"
	CodeStaleOutput     Code = "IC3003"

	CodeDenyNotExpressibleL2 Code = "IC3201"
	CodeEgressToAnyAddress   Code = "IC3202"

	CodeSGDescriptionHashed Code = "IC3301"
)

// Table is every code, in code order. A test keeps docs/diagnostics.md equal
// to what Markdown renders from it, and checks that codes are unique.
var Table = []CodeInfo{
	{CodeYAMLSyntax, Error, "invalid YAML", "The file is not well-formed YAML; fix the syntax at the position shown.", "spec: {ports: [}"},
	{CodeUnknownField, Error, "unknown field", "The field is not part of the kind's schema; the message suggests the closest known field.", "spec: {placment: []}"},
	{CodeWrongType, Error, "wrong type", "The value has the wrong YAML type (for example a string where a number is expected).", "weight: seventy"},
	{CodeDuplicateKey, Error, "duplicate key", "A mapping names the same key twice; YAML parsers disagree on which wins, so intentc refuses both.", "spec: {split: weighted, split: locality}"},
	{CodeMissingField, Error, "missing required field", "A required field is absent or empty.", "kind: MeshService\nmetadata: {name: inventory}   # no namespace"},
	{CodeUnknownKind, Error, "unknown kind", "The document has intentc's apiVersion but a kind intentc does not define.", "kind: MeshServce"},
	{CodeBadAPIVersion, Error, "misspelt apiVersion", "The apiVersion looks like intentc's but is not exactly intentc.dev/v1alpha1; it is never treated as some other manifest.", "apiVersion: intentc.dev/v1alpha"},
	{CodeFileTooLarge, Error, "file too large", "The file exceeds the input size limit (8 MiB); intent files are small, so this is almost always the wrong file.", "(a 20 MiB file)"},
	{CodeTooDeep, Error, "nesting too deep", "The YAML nests deeper than any intent needs (64 levels); refused to bound memory and time.", "a: [[[[[[...]]]]]]"},
	{CodeAliases, Error, "too many aliases", "The YAML uses aliases or anchors in a way that expands too far (an alias bomb); intent files need no aliases.", "a: &a [*b, *b]"},
	{CodeNotText, Error, "not a text file", "The file is not UTF-8 text (binary data or a NUL byte).", "(a gzip file named intent.yaml)"},
	{CodeReadFile, Error, "cannot read input", "A path given on the command line or in .intentc.yaml cannot be read.", "intentc compile missing-dir/"},
	{CodeProjectFile, Error, "invalid project file", "The .intentc.yaml project file is malformed or names a missing directory.", "intents: 42"},
	{CodeInvalidValue, Error, "invalid value", "The value is not one of those the field allows.", "split: roundrobin"},
	{CodeNotIntent, Warning, "not an intent document", "The document is not an intentc kind (another apiVersion); compile ignores it, lint checks it as a manifest.", "apiVersion: v1\nkind: ConfigMap"},
	{CodeNoIntent, Error, "no intent found", "The paths given contain no intent documents.", "intentc compile empty-dir/"},
	{CodeTooManyDocuments, Error, "too many documents", "A single file holds more YAML documents than the limit (10,000).", "(a generated file with 50,000 '---')"},

	{CodeDuplicateObject, Error, "duplicate object", "Two documents define the same kind, namespace and name.", "two MeshService prod/inventory documents"},
	{CodeUnknownCluster, Error, "unknown cluster", "A placement, route, failover or source names a MeshCluster that no document defines.", "placement: [{cluster: openstak-prod, weight: 70}]"},
	{CodeUnknownService, Error, "unknown service", "An AccessPolicy names a MeshService that no document defines.", "to: {service: inventroy}"},
	{CodeUnknownPort, Error, "unknown port", "An AccessPolicy names a port the destination does not declare.", "to: {service: inventory, ports: [grpc]}"},
	{CodeUnknownExternal, Error, "unknown external service", "An AccessPolicy names an ExternalService that no document defines.", "to: {external: payments}"},
	{CodeNegativeWeight, Error, "negative weight", "Placement weights are relative and must be zero or positive.", "placement: [{cluster: a, weight: -10}]"},
	{CodeZeroWeightTotal, Error, "weight total is zero", "The placement weights sum to zero, so no cluster would receive traffic.", "placement: [{cluster: a, weight: 0}]"},
	{CodeDuplicatePlacement, Error, "duplicate placement", "A MeshService is placed twice in the same cluster.", "placement: [{cluster: a}, {cluster: a}]"},
	{CodeInvalidCIDR, Error, "invalid CIDR", "The value is not a CIDR in canonical form (address bits beyond the prefix must be zero).", "pods: [10.244.0.1/16]"},
	{CodeInvalidDuration, Error, "invalid duration", "The value is not a positive Go/Istio duration of at least 1ms (for example 500ms, 2s, 1m).", "timeout: 2 seconds"},
	{CodeL7OnTCP, Error, "L7 match on a non-HTTP port", "HTTP header, method or path matches need an http, http2 or grpc port; Istio cannot see requests on tcp or tls ports.", "routes: [{match: {headers: {x: y}}}]   # service has only tcp ports"},
	{CodeRouteNotPlaced, Error, "route to a cluster without the service", "A route sends traffic to a cluster where the service is not placed.", "to: [{cluster: public-prod}]   # no placement there"},
	{CodeFailoverWeighted, Error, "failover with a weighted split", "split: weighted keeps exact shares and Istio never fails over between subsets; use split: locality for failover.", "split: weighted\nfailover: [a, b]"},
	{CodeNeverManagedNamespace, Error, "never-managed namespace", "The mesh root, istiod's, the gateways', intentc's own and the system namespaces are never managed; a policy there is mesh-wide or bricks the control plane.", "metadata: {name: dns, namespace: kube-system}"},
	{CodeMixedTrustDomain, Error, "cluster.local mixed with other trust domains", "cluster.local is a pointer to the local trust domain on sidecars, so it cannot name one domain among several; give every cluster its real trust domain.", "trustDomain: cluster.local   # another cluster has prod.example.com"},
	{CodeIstioNetworkMismatch, Error, "Istio values contradict the cluster", "MeshCluster.spec.istio.network must equal spec.network (topology.istio.io/network); otherwise routing and gateways target the wrong network.", "network: net-dc1\nistio: {network: net-dc2}"},
	{CodeMultipleMesh, Error, "more than one Mesh", "An intent holds at most one Mesh document.", "two kind: Mesh documents"},
	{CodeDuplicatePort, Error, "duplicate port", "Two ports of a service share a name or a number.", "ports: [{name: http, port: 80}, {name: http, port: 81}]"},
	{CodeInvalidPort, Error, "invalid port number", "Ports are 1-65535 (node ports 30000-32767).", "port: 70000"},
	{CodeFailoverNotPlaced, Error, "failover to a cluster without the service", "Every failover entry must be a cluster where the service is placed.", "failover: [public-prod]   # not placed there"},
	{CodeLocalityNoRegion, Error, "locality split without regions", "split: locality distributes by region, so every placed cluster needs a distinct region.", "split: locality   # a placed cluster has no region"},
	{CodeInvalidName, Error, "invalid name", "Names must be DNS-1123 labels (lower case, digits, '-', at most 63 characters).", "metadata: {name: Inventory_Svc}"},
	{CodeNoEastWestGateway, Error, "no east-west gateway", "The cluster receives cross-network traffic but declares no eastWestGateway, so callers on other networks cannot reach it.", "MeshCluster without eastWestGateway, called from another network"},
	{CodeInvalidAddress, Error, "invalid address", "The value is neither an IP address nor a DNS host name.", "address: 203.0.113.300"},
	{CodePermissiveMesh, Warning, "permissive mTLS", "mtls: permissive accepts plaintext; keep it for a migration window only.", "mtls: permissive"},
	{CodeModelUnsupported, Error, "mesh model not supported yet", "Only model: multi-primary is compiled today; the federated (.global) model is planned.", "model: federated"},
	{CodeDuplicateClusterID, Error, "duplicate Istio cluster ID", "Two MeshClusters share an Istio clusterID; subsets keyed on topology.istio.io/cluster would be ambiguous.", "istio: {clusterID: prod}   # twice"},
	{CodeInvalidLabels, Error, "invalid label", "A label key or value is not valid for Kubernetes.", "selector: {\"app!\": x}"},
	{CodeRouteEmpty, Error, "empty route", "A route needs a match and at least one destination cluster.", "routes: [{match: {headers: {x: y}}, to: []}]"},
	{CodeNoEgressCIDR, Warning, "no egress CIDR for a calling cluster", "A cluster calls across networks but declares no cidrs.egress, so the east-west gateway's loadBalancerSourceRanges cannot include it.", "cidrs: {pods: [...]}   # no egress"},

	{CodeFailoverOrder, Warning, "failover order not enforced", "With split: locality intentc emits localityLbSetting.distribute, and Istio allows only one of distribute, failover or failoverPriority: an unhealthy cluster's share moves to the other clusters in proportion to their weights, not in the listed order. With two clusters the order is implied; with more, drop failover or accept proportional fallback.", "split: locality\nplacement: [a, b, c]\nfailover: [b, c, a]"},
	{CodeCIDROnStrictPort, Warning, "CIDR source on a strict mTLS port", "With strict mTLS only mesh workloads in the range (VMs with sidecars, say) can connect; a plaintext host needs the port's declared mtls: permissive exception.", "from: [{cidr: 192.168.50.0/24}]   # port http is strict"},
	{CodeViaNotHonoured, Error, "via cannot be honoured", "via: direct needs the range on the destination's network with no SNAT on the path; across networks the east-west gateway or NAT rewrites the source, so ipBlock rules would never match. Use via: ingressGateway.", "{cidr: 10.9.0.0/16, via: direct, network: net-other}"},
	{CodeLetsNothingThrough, Error, "AccessPolicy lets nothing through", "Every source of the policy is unable to reach the destination, or is denied by a deny policy with no narrower condition; the policy is dead and almost certainly not what was meant.", "allow from batch, and a deny from batch on the same ports"},
	{CodeGRPCMethod, Warning, "method other than POST on a gRPC port", "gRPC sends every call as POST; a rule naming other methods never matches gRPC traffic.", "http: {methods: [GET]}   # grpc port"},
	{CodePathWildcard, Warning, "path wildcard without its base", "Istio's /api/* matches /api/ and below but not /api itself; list /api too if it is meant.", "http: {paths: [\"/api/*\"]}"},
	{CodeDenyPathNormalization, Warning, "deny by path without path normalisation", "With Istio's default path normalisation (BASE), //admin or %2Fadmin can slip past a DENY on /admin; set Mesh.spec.pathNormalization to MERGE_SLASHES or DECODE_AND_MERGE_SLASHES (and configure the mesh to match).", "action: deny\nhttp: {paths: [/admin]}"},
	{CodeAmbient, Error, "ambient data plane", "The ambient data plane (istio.io/dataplane-mode=ambient) is not supported yet; intentc refuses it rather than emit rules that mean something else there.", "dataplane: ambient"},
	{CodeIngressRestriction, Error, "ingress gateway restriction cannot be expressed", "A via: ingressGateway source narrower than the whole internet is enforced with remoteIpBlocks on the ingress gateway, scoped to the source's hosts: it needs hosts, and a gateway namespace intentc may write policy to.", "{cidr: 198.51.100.0/24, via: ingressGateway}   # no hosts"},
	{CodeOSSM2, Warning, "OpenShift Service Mesh 2 NetworkPolicies", "OSSM 2 creates its own NetworkPolicies (manageNetworkPolicy) that open every mesh namespace and defeat layer 2; set spec.security.manageNetworkPolicy: false in the ServiceMeshControlPlane.", "openshift: {meshFlavor: ossm2}"},
	{CodeNoAPIServer, Warning, "no API server address", "Other primaries' istiod must reach this cluster's API server, but without spec.apiServer intentc cannot emit the 6443 rule for it.", "MeshCluster without apiServer in a multi-cluster mesh"},
	{CodeNoNodePort, Error, "load balancer needs a pinned node port", "An amphora or ovn load balancer forwards to the east-west gateway's node port, so it must be pinned (eastWestGateway.nodePort) for the security group to open it.", "loadBalancer: {provider: amphora}\neastWestGateway: {address: 203.0.113.20}"},
	{CodeNoOpenStack, Warning, "OpenStack cluster without openstack settings", "A platform: openstack cluster without spec.openstack gets no security group; intentc cannot tell which cloud and project hold its nodes.", "platform: openstack   # no openstack:"},

	{CodeOutputCollision, Error, "output collision", "Two generated objects would be written to the same file; rename one of the intent objects.", "MeshService a-b and a with port b"},
	{CodeWriteOutput, Error, "cannot write output", "The output directory cannot be written; nothing was changed.", "intentc compile -o /read-only"},
	{CodeStaleOutput, Error, "stale output", "compile --check found the output directory differs from what the intent compiles to; rerun intentc compile.", "an edited intent, old out/"},

	{CodeDenyNotExpressibleL2, Error, "deny not expressible in NetworkPolicy", "Layer 2 can tell the denied caller apart from the allowed ones, but the NetworkPolicy API cannot express the difference (a NotIn over a multi-label selector); intentc refuses rather than widen layer 2. Give the denied workload a distinguishing label and select on it.", "allow {namespace: batch}; deny {workload: {podLabels: {app: a, tier: b}}}"},
	{CodeEgressToAnyAddress, Warning, "egress opened to any address", "NetworkPolicy selects addresses, not host names: egress to an ExternalService with hosts only, or to an east-west gateway whose address is a host name, is opened to any address on those ports.", "ExternalService {hosts: [db.example.com], ports: [5432]}   # no cidrs"},
	{CodeSGDescriptionHashed, Info, "security-group rule description shortened", "Neutron limits a rule's description to 255 characters; the provenance was replaced by a hash of it.", "a rule shared by many intent objects"},
}

var byCode = func() map[Code]CodeInfo {
	m := make(map[Code]CodeInfo, len(Table))
	for _, c := range Table {
		m[c.Code] = c
	}
	return m
}()
