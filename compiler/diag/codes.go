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
	CodeNoPodCIDRs            Code = "IC2044"
	CodeTCPExternalNoCIDRs    Code = "IC2045"
	CodeDenyClustersWider     Code = "IC2046"

	// IC205x: the federated model (compiler/resolve/federated.go).
	CodeFederationTrust        Code = "IC2050"
	CodeFederationIgnored      Code = "IC2051"
	CodeTrustDomainNotAccepted Code = "IC2052"
	CodeMeshIDMismatch         Code = "IC2053"
	CodeImportNamespace        Code = "IC2054"
	CodeImportVisibleToGateway Code = "IC2055"

	// IC3xxx: emission and output.
	CodeOutputCollision Code = "IC3001"
	CodeWriteOutput     Code = "IC3002"
	CodeStaleOutput     Code = "IC3003"

	CodeDenyNotExpressibleL2 Code = "IC3201"
	CodeEgressToAnyAddress   Code = "IC3202"

	CodeSGDescriptionHashed Code = "IC3301"

	// IC34xx: intentc openstack plan/apply (package neutron) against a live
	// Neutron.
	CodeSGDocument         Code = "IC3401"
	CodeSGNameTaken        Code = "IC3402"
	CodeSGQuota            Code = "IC3403"
	CodeSGWiderGroup       Code = "IC3404"
	CodeSGPortSecurityOff  Code = "IC3405"
	CodeSGNotAttached      Code = "IC3406"
	CodeSGDuplicateOwned   Code = "IC3407"
	CodeSGOrphan           Code = "IC3408"
	CodeSGAuditMissing     Code = "IC3409"
	CodeSGStaleDescription Code = "IC3410"

	// IC4xxx: policy checks (lint). IC4001–IC4099 are the built-in Rego
	// rules of policies/ (their METADATA names the same code, title and
	// severity; a test keeps the two equal); IC41xx the engine; IC42xx the
	// findings of user policies.
	CodeWeightsSum          Code = "IC4001"
	CodeAllowAll            Code = "IC4002"
	CodeSPIFFEPrincipal     Code = "IC4003"
	CodeL7OnTCPPort         Code = "IC4004"
	CodeWeakPeerAuthn       Code = "IC4005"
	CodeImplicitPolicyTypes Code = "IC4006"
	CodeEthertypeMismatch   Code = "IC4007"
	CodeAdminPortWorld      Code = "IC4008"
	CodeInvalidPortRange    Code = "IC4009"
	CodePolicyNeverManaged  Code = "IC4010"
	CodeMissingSubset       Code = "IC4011"
	CodeDuplicateVSHost     Code = "IC4012"
	CodeNoDefaultDeny       Code = "IC4013"
	CodeShadowingDR         Code = "IC4014"

	CodeInvalidPolicy   Code = "IC4101"
	CodeInvalidData     Code = "IC4102"
	CodePolicyEvalError Code = "IC4103"

	CodePolicyDeny Code = "IC4201"
	CodePolicyWarn Code = "IC4202"

	// IC43xx: the admission webhook's rules (intentc serve; their names
	// are what --rule-action takes). IC44xx: loading the intent for the
	// cluster the webhook runs in.
	CodeAdmissionDrift           Code = "IC4301"
	CodeAdmissionManagedDelete   Code = "IC4302"
	CodeAdmissionUnknownManaged  Code = "IC4303"
	CodeAdmissionIntentCR        Code = "IC4304"
	CodeAdmissionTooLarge        Code = "IC4305"
	CodeAdmissionSecondVS        Code = "IC4311"
	CodeAdmissionShadowDR        Code = "IC4312"
	CodeAdmissionAuthzWidening   Code = "IC4313"
	CodeAdmissionPeerAuthnWeak   Code = "IC4314"
	CodeAdmissionExtraNetpol     Code = "IC4315"
	CodeAdmissionServiceEntry    Code = "IC4316"
	CodeAdmissionWorkloadEntry   Code = "IC4317"
	CodeAdmissionEnvoyFilter     Code = "IC4318"
	CodeAdmissionSidecar         Code = "IC4319"
	CodeAdmissionServiceProtocol Code = "IC4320"

	CodeServeCluster    Code = "IC4401"
	CodeServeNextDigest Code = "IC4402"

	// IC5xxx: the cross-layer proof and explain (package verify), which
	// read the generated manifests back independently of the backends.
	CodeLayerTooTight        Code = "IC5001"
	CodeLayerTooLoose        Code = "IC5002"
	CodeLayersTogetherLoose  Code = "IC5003"
	CodeRoutingMismatch      Code = "IC5004"
	CodeMTLSMismatch         Code = "IC5005"
	CodeVerifyUnreadable     Code = "IC5006"
	CodeVerifyUnmodeled      Code = "IC5007"
	CodeVerifyUnjudged       Code = "IC5008"
	CodeVerifyUnknownCluster Code = "IC5009"
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
	{CodeModelUnsupported, Error, "mesh model feature not supported yet", "model: federated compiles one mesh per cluster; it does not compile yet several clusters in one mesh (a shared meshID), split: locality across meshes, or a route to one of several remote meshes (their shares share one .global host).", "model: federated\nistio: {meshID: dc}   # on two MeshClusters"},
	{CodeDuplicateClusterID, Error, "duplicate Istio cluster ID", "Two MeshClusters share an Istio clusterID; subsets keyed on topology.istio.io/cluster would be ambiguous.", "istio: {clusterID: prod}   # twice"},
	{CodeInvalidLabels, Error, "invalid label", "A label key or value is not valid for Kubernetes.", "selector: {\"app!\": x}"},
	{CodeRouteEmpty, Error, "empty route", "A route needs a match and at least one destination cluster.", "routes: [{match: {}, to: [{cluster: a}]}]"},
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
	{CodeNoPodCIDRs, Warning, "flat-network caller without pod CIDRs", "A cluster calls a service placed in another cluster on the same (flat) network, where NetworkPolicy admits it by its pod CIDRs; without cidrs.pods no rule can admit it, and with default deny its calls are blocked.", "cidrs: {}   # the caller's pods reach the other cluster directly"},
	{CodeTCPExternalNoCIDRs, Warning, "TCP ExternalService without addresses", "A sidecar routes TCP by destination address, and a ServiceEntry with host names only has none: the call works only where Istio's DNS capture with address auto-allocation is on (istioctl analyze reports IST0134). Declare the service's cidrs to make it independent of that.", "ExternalService {hosts: [db.example.com], ports: [{name: pg, port: 5432, protocol: tcp}]}"},
	{CodeDenyClustersWider, Warning, "deny narrowed to clusters applies wider", "Layer 3 denies by identity, and an identity is the same in every cluster of a trust domain: a deny narrowed to some clusters also denies the same caller in the other clusters that share the trust domain (stricter than the intent, never wider).", "action: deny\nfrom: [{workload: {...}, clusters: [dc1]}]   # dc2 shares dc1's trust domain"},
	{CodeFederationTrust, Error, "federation without a root of trust", "model: federated needs spec.federation.trust (sharedRoot or trustBundles): callers reach another mesh's pods through a passthrough gateway with end-to-end mTLS, which works only if each mesh can validate the other's certificates.", "model: federated   # no federation.trust"},
	{CodeFederationIgnored, Warning, "federation settings without model federated", "spec.federation applies to model: federated only; with multi-primary the clusters share one control plane and identity, and the settings are ignored.", "model: multi-primary\nfederation: {trust: sharedRoot}"},
	{CodeTrustDomainNotAccepted, Error, "caller's trust domain not accepted by the destination mesh", "With trust: sharedRoot Istio accepts a peer only from its own trust domain or a trustDomainAliases entry (meshConfig), so a cross-mesh call from another trust domain is refused; add the caller's trust domain to federation.trustDomainAliases (and to the meshes' meshConfig), or use trust: trustBundles.", "federation: {trust: sharedRoot}   # dc1.example.com calls public.example.com"},
	{CodeMeshIDMismatch, Error, "clusters of one multi-primary mesh declare different meshIDs", "With model: multi-primary every cluster belongs to one mesh, so their istio.meshID values must be equal; clusters with their own control plane view form a federation (model: federated).", "model: multi-primary\nistio: {meshID: a}   # another cluster has meshID: b"},
	{CodeImportNamespace, Error, "invalid federation import namespace", "federation.importNamespace holds the imports of remote .global hosts; it must be a DNS-1123 label, not a never-managed namespace, and hold no MeshService (the export of a host and its import cannot share a namespace: Istio keys services by host and namespace).", "federation: {importNamespace: prod}   # prod holds MeshService inventory"},
	{CodeImportVisibleToGateway, Error, "import of a .global host would be visible to the east-west gateway", "A cluster that exports a service (the gateway routes its .global host to local pods) and also imports the same host for its callers must keep the import away from the gateway's namespace: name the calling namespaces in an AccessPolicy (a service no policy names is called from every namespace), and not the gateway's.", "inventory in two meshes, called from both, no AccessPolicy naming it"},

	{CodeOutputCollision, Error, "output collision", "Two generated objects would be written to the same file; rename one of the intent objects.", "MeshService a-b and a with port b"},
	{CodeWriteOutput, Error, "cannot write output", "The output directory cannot be written; nothing was changed.", "intentc compile -o /read-only"},
	{CodeStaleOutput, Error, "stale output", "compile --check found the output directory differs from what the intent compiles to; rerun intentc compile.", "an edited intent, old out/"},

	{CodeDenyNotExpressibleL2, Error, "deny not expressible in NetworkPolicy", "Layer 2 can tell the denied caller apart from the allowed ones, but the NetworkPolicy API cannot express the difference (a NotIn over a multi-label selector); intentc refuses rather than widen layer 2. Give the denied workload a distinguishing label and select on it.", "allow {namespace: batch}; deny {workload: {podLabels: {app: a, tier: b}}}"},
	{CodeEgressToAnyAddress, Warning, "egress opened to any address", "NetworkPolicy selects addresses, not host names: egress to an ExternalService with hosts only, or to an east-west gateway whose address is a host name, is opened to any address on those ports.", "ExternalService {hosts: [db.example.com], ports: [5432]}   # no cidrs"},
	{CodeSGDescriptionHashed, Info, "security-group rule description shortened", "Neutron limits a rule's description to 255 characters; the provenance was replaced by a hash of it.", "a rule shared by many intent objects"},
	{CodeSGDocument, Error, "invalid security-groups document", "A security-groups.json given to intentc openstack plan/apply is not what intentc compile writes (bad JSON, an unknown field, a rule Neutron would refuse); recompile it.", "{\"cloud\": \"dc1\", \"security_groups\": [{\"name\": \"\"}]}"},
	{CodeSGNameTaken, Error, "security group name taken by a group intentc does not own", "The project already has a group of that name without intentc's tag or description marker; intentc never writes a group it does not own: adopt it or rename intentc's.", "securityGroups: {mode: owned, name: default-nodes}"},
	{CodeSGQuota, Error, "plan exceeds the project's quota", "Rules are created before old ones are deleted, so the project's rule (or group) quota must hold today's use plus every create; nothing was changed.", "quota security_group_rule: 100, 98 used, 5 to add"},
	{CodeSGWiderGroup, Warning, "another group on a node port is wider than the intent", "Neutron applies the union of every group on a port; a group intentc does not own (Magnum's, Cluster API's, default) admits traffic the intent does not, so layer 1 is no narrower than it.", "a node port with groups k8s-prod-mesh and default"},
	{CodeSGPortSecurityOff, Warning, "port security disabled on a node port", "With port_security_enabled false no security group filters the port at all.", "openstack port set --disable-port-security node-0"},
	{CodeSGNotAttached, Warning, "intentc's group not attached to a node port", "A port the node selector names carries none of intentc's groups, so the intent's layer 1 does not apply to it.", "intentc openstack plan --nodes k8s-prod- (a node without k8s-prod-mesh)"},
	{CodeSGDuplicateOwned, Warning, "several groups carry intentc's marker under one name", "intentc manages the tagged (then oldest) one and leaves the others alone; delete the extra ones when no port uses them.", "two groups named k8s-prod-mesh tagged managed-by:intentc"},
	{CodeSGOrphan, Info, "intentc's group no longer in the intent", "A group tagged managed-by:intentc that the document does not name is left as it is (another intent may own it, and a group in use cannot be deleted); delete it or remove the tag.", "a cluster removed from the intent"},
	{CodeSGAuditMissing, Warning, "audited group lacks what the intent needs", "In audit mode the group (someone else's) is missing, or lacks a rule the intent expects; intentc changes nothing.", "securityGroups: {mode: audit, name: magnum-nodes}"},
	{CodeSGStaleDescription, Info, "security-group rule provenance changed", "The rule is right but its description (provenance) is not; Neutron cannot update a rule, so it is kept; apply --replace-stale recreates it (a gap of one request).", "a new caller of an existing east-west gateway rule"},

	{CodeWeightsSum, Error, "VirtualService weights must sum to 100", "A route of a VirtualService that splits traffic gives weights that do not sum to exactly 100 (a warning on hand-written manifests, where Istio accepts relative weights).", "route: [{weight: 60}, {weight: 30}]"},
	{CodeAllowAll, Error, "AuthorizationPolicy allows everything", "An ALLOW AuthorizationPolicy has a rule with no from, to or when, which lets every caller in; allow-nothing is spec: {}.", "spec: {rules: [{}]}"},
	{CodeSPIFFEPrincipal, Error, "spiffe:// principal in an AuthorizationPolicy", "Istio principals are written without the spiffe:// scheme; with it they never match.", "principals: [spiffe://cluster.local/ns/web/sa/frontend]"},
	{CodeL7OnTCPPort, Error, "HTTP conditions on a TCP port", "An AuthorizationPolicy operation with methods, paths or hosts applies to a port the intent declares tcp or tls, where the sidecar cannot see requests.", "to: [{operation: {methods: [GET], ports: [\"5432\"]}}]"},
	{CodeWeakPeerAuthn, Error, "PeerAuthentication weaker than the mesh's mTLS", "A PeerAuthentication is DISABLE or PERMISSIVE where the mesh says strict, outside a port the intent declares mtls: permissive.", "mtls: {mode: PERMISSIVE}"},
	{CodeImplicitPolicyTypes, Error, "NetworkPolicy without explicit policyTypes", "Kubernetes infers policyTypes from the rules present, so a direction without rules is silently left open; write policyTypes.", "spec: {podSelector: {}}"},
	{CodeEthertypeMismatch, Error, "Security-group ethertype does not match the remote prefix", "A security-group rule's ethertype is not the address family of its remote_ip_prefix (an absent ethertype is IPv4); Neutron rejects it.", "{ethertype: IPv4, remote_ip_prefix: \"::/0\"}"},
	{CodeAdminPortWorld, Error, "Admin port open to the world", "An ingress security-group rule admits any address (0.0.0.0/0, ::/0 or no remote) on a range containing 22, 3389, 6443, 2379-2380 or 10250 (no range is every port).", "{protocol: tcp, port_range_min: 1, port_range_max: 1024, remote_ip_prefix: 0.0.0.0/0}"},
	{CodeInvalidPortRange, Error, "Invalid port range", "A security-group, NetworkPolicy or AuthorizationPolicy port range the platform rejects or misreads (reversed, 0, above 65535, one bound, no protocol).", "{protocol: tcp, port_range_min: 2000, port_range_max: 1000}"},
	{CodePolicyNeverManaged, Error, "Policy object in a never-managed namespace", "An AuthorizationPolicy, PeerAuthentication, NetworkPolicy, Sidecar or EnvoyFilter is in a never-managed namespace (a warning on hand-written manifests).", "kind: NetworkPolicy\nmetadata: {namespace: kube-system}"},
	{CodeMissingSubset, Error, "VirtualService routes to a subset no DestinationRule defines", "A VirtualService names a subset that no DestinationRule for its host, visible from its namespace, defines in that cluster; that share of traffic fails.", "destination: {host: inventory, subset: openstack-prod}   # no such subset"},
	{CodeDuplicateVSHost, Error, "More than one VirtualService for a host", "Two mesh VirtualServices in one cluster name the same host; Istio merges them in no defined order.", "two VirtualServices with hosts: [inventory.prod.svc.cluster.local]"},
	{CodeNoDefaultDeny, Error, "Managed namespace without default deny", "With defaultDeny, a managed namespace lacks the allow-nothing AuthorizationPolicy, the default-deny NetworkPolicy, or (egress being denied) DNS egress.", "networkpolicy-intentc-baseline-dns.yaml deleted from out/"},
	{CodeShadowingDR, Error, "DestinationRule in a client namespace shadows the service's", "A DestinationRule for a service host in a client namespace takes precedence over the service's own there, dropping its subsets and traffic policy (a warning on hand-written manifests).", "DestinationRule web/inventory with host: inventory.prod.svc.cluster.local"},

	{CodeInvalidPolicy, Error, "invalid policy", "A Rego policy file does not parse or compile (syntax, type or safety error); the position is in the policy file.", "deny[msg] { input.kind = }"},
	{CodeInvalidData, Error, "invalid policy data", "A --data file cannot be read or parsed, or conflicts with another.", "intentc lint --data missing.json"},
	{CodePolicyEvalError, Error, "policy evaluation failed", "A policy failed while evaluating an object (for example a complete rule with two values, or a builtin error); the object was not fully checked.", "kind := input.kind\nkind := \"x\""},

	{CodePolicyDeny, Error, "user policy denies", "A deny or violation rule of a user policy (--policy) fired.", "deny contains msg if { input.kind == \"Service\"; msg := \"no Services\" }"},
	{CodePolicyWarn, Warning, "user policy warns", "A warn rule of a user policy (--policy) fired.", "warn contains msg if { not input.metadata.labels.team; msg := \"no team label\" }"},
	{CodeAdmissionDrift, Error, "managed object differs from the intent", "An object the intent generates for this cluster (or one labelled app.kubernetes.io/managed-by: intentc) was written with a spec that differs from what the intent compiles to, after ignoring status, managedFields, server defaults, last-applied-configuration and GitOps tracking labels. Change the intent in git instead (rule drift).", "kubectl edit virtualservice inventory   # weights 70/30 -> 50/50"},
	{CodeAdmissionManagedDelete, Error, "managed object deleted", "The object is one the intent generates for this cluster; deleting it would remove part of the intent (an allow-nothing policy, say). Remove it from the intent in git instead (rule managed-delete).", "kubectl delete authorizationpolicy allow-nothing -n prod"},
	{CodeAdmissionUnknownManaged, Error, "unknown managed object", "The object carries app.kubernetes.io/managed-by: intentc but neither the loaded intent nor the declared next intent generates it for this cluster (rule unknown-managed).", "metadata: {labels: {app.kubernetes.io/managed-by: intentc}, name: not-in-the-intent}"},
	{CodeAdmissionIntentCR, Error, "intent object does not compile", "An intent custom resource (intentc.dev/v1alpha1) was denied: compiled together with the loaded intent it has errors (listed with their own codes), or it redefines an object of the intent directory, which wins (rule intent-cr).", "kind: MeshService\nspec: {placement: [{cluster: nowhere}]}"},
	{CodeAdmissionTooLarge, Error, "request too large", "The AdmissionReview is larger than --max-request-bytes, so the object cannot be judged; it is denied rather than admitted unchecked (rule too-large).", "a 20 MiB ConfigMap"},
	{CodeAdmissionSecondVS, Error, "second VirtualService for a managed host", "An unmanaged VirtualService names a host intentc routes (for the mesh gateway); Istio merges or picks between two VirtualServices for one host unpredictably (rule second-virtualservice).", "kind: VirtualService\nspec: {hosts: [inventory.prod.svc.cluster.local]}"},
	{CodeAdmissionShadowDR, Error, "DestinationRule shadows a managed one", "An unmanaged DestinationRule for a managed host: in a client namespace it takes precedence over the service's own for those clients (dropping its subsets and outlier detection); in the service's namespace it competes with it (rule shadowing-destinationrule).", "kind: DestinationRule\nmetadata: {namespace: web}\nspec: {host: inventory.prod.svc.cluster.local}"},
	{CodeAdmissionAuthzWidening, Error, "AuthorizationPolicy widens access", "An unmanaged ALLOW AuthorizationPolicy applies to a managed workload and allows a caller, port or request that no AccessPolicy of the intent allows (ALLOW policies add up) (rule authz-widening).", "kind: AuthorizationPolicy\nmetadata: {namespace: prod}\nspec: {rules: [{}]}"},
	{CodeAdmissionPeerAuthnWeak, Error, "PeerAuthentication weakens mTLS", "An unmanaged PeerAuthentication in a managed namespace (or the mesh root namespace) sets PERMISSIVE or DISABLE where the intent says STRICT, outside the ports it declares mtls: permissive (rule peerauthn-weakening).", "kind: PeerAuthentication\nspec: {mtls: {mode: PERMISSIVE}}"},
	{CodeAdmissionExtraNetpol, Error, "extra NetworkPolicy in a managed namespace", "An unmanaged NetworkPolicy with allow rules in a managed namespace: NetworkPolicies add up, so it widens layer 2 beyond the intent. A policy that only isolates (no ingress or egress rules) is admitted (rule extra-networkpolicy).", "kind: NetworkPolicy\nmetadata: {namespace: prod}\nspec: {podSelector: {}, ingress: [{}]}"},
	{CodeAdmissionServiceEntry, Error, "ServiceEntry claims a managed host", "An unmanaged ServiceEntry names a host of a MeshService or of an ExternalService the intent emits a ServiceEntry for; its endpoints or resolution would take over the host (rule serviceentry-hijack).", "kind: ServiceEntry\nspec: {hosts: [inventory.prod.svc.cluster.local], endpoints: [{address: 10.0.0.9}]}"},
	{CodeAdmissionWorkloadEntry, Error, "WorkloadEntry injects endpoints", "An unmanaged WorkloadEntry (or WorkloadGroup template) in a managed namespace carries labels a MeshService's selector matches, so its address becomes an endpoint of the managed service (rule workloadentry-injection).", "kind: WorkloadEntry\nmetadata: {namespace: prod}\nspec: {address: 10.9.9.9, labels: {app: inventory}}"},
	{CodeAdmissionEnvoyFilter, Error, "EnvoyFilter on a managed workload", "An unmanaged EnvoyFilter in a managed namespace (or the mesh root namespace) applies to a managed workload; it can rewrite routes, filters and listeners beneath every policy intentc generates (rule envoyfilter).", "kind: EnvoyFilter\nmetadata: {namespace: prod}\nspec: {configPatches: [...]}"},
	{CodeAdmissionSidecar, Error, "Sidecar on a managed workload", "An unmanaged Sidecar applies to a managed workload and declares ingress listeners, an outbound traffic policy or egress hosts narrower than */*, changing which ports it serves or which managed hosts it can reach (rule sidecar).", "kind: Sidecar\nmetadata: {namespace: web}\nspec: {egress: [{hosts: [./*]}]}"},
	{CodeAdmissionServiceProtocol, Error, "Service port protocol contradicts the intent", "The Kubernetes Service of a MeshService names a port (by its name prefix or appProtocol) with a protocol other than the intent's: Istio would treat HTTP rules as TCP (a DENY with paths then fails open) or the reverse (rule service-protocol).", "kind: Service\nspec: {ports: [{name: tcp-web, port: 8080}]}   # intent: protocol http"},
	{CodeServeCluster, Error, "cluster not in the intent", "intentc serve --cluster names a cluster that is not a MeshCluster of the intent; the webhook would judge nothing, so the compile is refused.", "intentc serve --cluster nowhere"},
	{CodeServeNextDigest, Error, "invalid next digest", "A line of .intentc-next-digest (or --next-digest) is not an intent digest of the form sha256:<16 hex digits>.", "sha256:not-hex"},
	{CodeLayerTooTight, Error, "A security layer denies what the intent allows", "The proof found a connection the intent allows that one layer of the generated manifests denies; the message names the layer, the connection and the object that denies it (or the default-deny it falls to).", "an AccessPolicy's NetworkPolicy deleted from out/"},
	{CodeLayerTooLoose, Error, "A security layer is looser than the intent", "The proof found a connection one layer allows although the intent denies every connection that layer cannot tell apart from it (seen through what the layer observes: addresses and pods at layer 2, identities and requests at layer 3); the message names the rule that allows it.", "an AuthorizationPolicy with principals: [cluster.local/ns/web/sa/*] where the intent names web/frontend"},
	{CodeLayersTogetherLoose, Warning, "The layers together allow what the intent denies", "Every layer is as tight as it can see, but none can tell this connection from an allowed one (for example a namespace named with clusters: in a trust domain shared across clusters, arriving through an east-west gateway another caller opened); give the caller its own identity or keep the clusters on one network.", "from: [{namespace: batch, clusters: [openstack-prod]}]   # batch also runs in public-prod"},
	{CodeRoutingMismatch, Error, "Routing differs from the intent", "The VirtualService and DestinationRules a caller's cluster sees send the service's traffic to other clusters or shares than the intent's placement and routes, or a destination cluster's east-west gateway knows no subset for it.", "route weights 50/50 where the placement says 70/30"},
	{CodeMTLSMismatch, Error, "Layer 4 requires mTLS differently from the intent", "The PeerAuthentication in effect for a service port (workload over namespace over mesh, port-level over workload) is not the mode the intent gives it.", "PeerAuthentication prod/default with mtls: PERMISSIVE under a strict mesh"},
	{CodeVerifyUnreadable, Error, "Manifest cannot be read back", "A manifest given to the proof or to explain does not parse as the object its kind says, or holds a value its platform rejects; it is judged as absent.", "spec: {podSelector: {matchExpressions: [{key: app, operator: Bogus}]}}"},
	{CodeVerifyUnmodeled, Warning, "Object of an engine verify does not model", "An AdminNetworkPolicy, Calico or Cilium policy, or an Istio EnvoyFilter, may change a verdict; verify reports the verdicts it could change as unknown, never as allowed.", "kind: AdminNetworkPolicy"},
	{CodeVerifyUnjudged, Warning, "Connection not judged", "The proof could not judge a layer for a connection (an address given as a host name, an undeclared CNI, a source network with no declared ranges); the rest of the proof holds.", "eastWestGateway: {address: gw.example.com}"},
	{CodeVerifyUnknownCluster, Warning, "Manifests for a cluster the inventory lacks", "A manifest path names clusters/<name>/ but no MeshCluster of that name is among the intent documents, so its objects are not judged.", "out/clusters/old-cluster/prod/networkpolicy-x.yaml"},
}

var byCode = func() map[Code]CodeInfo {
	m := make(map[Code]CodeInfo, len(Table))
	for _, c := range Table {
		m[c.Code] = c
	}
	return m
}()
