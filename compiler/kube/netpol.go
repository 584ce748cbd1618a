package kube

import (
	"net/netip"
	"slices"
	"sync"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/intentc/intentc/compiler/diag"
	"github.com/intentc/intentc/compiler/ir"
)

// Names of the per-namespace NetworkPolicies (docs/security.md, "Object names").
const (
	NameDefaultDeny       = "intentc-default-deny"
	NameBaselineDNS       = "intentc-baseline-dns"
	NameBaselineIstiod    = "intentc-baseline-istiod"
	NameBaselineScrapers  = "intentc-baseline-scrapers"
	NameBaselineTelemetry = "intentc-baseline-telemetry"
	NameBaselineAPIServer = "intentc-baseline-apiserver"
)

// NamespaceNameLabel is the immutable label the API server sets on every
// namespace (Kubernetes 1.22+): the only namespace selector that cannot be
// spoofed by whoever may label namespaces.
const NamespaceNameLabel = "kubernetes.io/metadata.name"

// Platform peers layer 2 must let through for the mesh to work at all.
const (
	kubeDNSNamespace   = "kube-system"
	kubeDNSLabel       = "k8s-app"
	kubeDNSValue       = "kube-dns"
	kubeDNSPort        = 53
	openshiftDNSNS     = "openshift-dns"
	openshiftDNSLabel  = "dns.operator.openshift.io/daemonset-dns"
	openshiftDNSValue  = "default"
	openshiftDNSPort   = 5353 // dns-default maps 53 to 5353; policies see the pod port
	nodeLocalDNSAddr   = "169.254.20.10/32"
	istiodLabel        = "app"
	istiodValue        = "istiod"
	istiodXDSPort      = 15012
	openshiftIngressNS = "openshift-ingress"
)

// The namespace labels OpenShift's router traffic carries, whether the router
// runs on the pod network or on the host network: the current label (OVN-
// Kubernetes, the only network plugin of supported releases) and the legacy
// one that older releases and OpenShift SDN still rely on.
var openshiftRouterSelectors = []map[string]string{
	{"policy-group.network.openshift.io/ingress": ""},
	{"network.openshift.io/policy-group": "ingress"},
}

// sidecarMetricsPorts are the sidecar's Prometheus ports: the agent's merged
// metrics (15020) and Envoy's own (15090).
var sidecarMetricsPorts = []int32{15020, 15090}

var gvNetworkPolicy = networkingv1.SchemeGroupVersion.WithKind("NetworkPolicy")

// EmitNetworkPolicies returns layer 2 for every cluster, as docs/security.md
// describes: with defaultDeny, the default deny and the baseline in every
// managed namespace and egress policies for the callers; in any case one
// ingress policy per AccessPolicy and cluster its destination is placed in.
//
// Clusters are emitted side by side (at 10,000 services this is the
// longest backend, and a cluster's policies depend on no other cluster's)
// and joined in model order. A warning given once however many clusters
// reach its cause keeps the first cluster's.
func EmitNetworkPolicies(m *ir.Model) ([]ir.Object, diag.List) {
	es := make([]*emitter, len(m.Clusters))
	var wg sync.WaitGroup
	for i, c := range m.Clusters {
		es[i] = &emitter{m: m, warned: map[string]bool{}}
		wg.Go(func() { es[i].cluster(c) })
	}
	wg.Wait()
	var out []ir.Object
	var diags diag.List
	warned := map[string]bool{}
	for _, e := range es {
		out = append(out, e.out...)
		for i, d := range e.diags {
			if !warned[e.keys[i]] {
				warned[e.keys[i]] = true
				diags = append(diags, d)
			}
		}
	}
	return out, diags.Sorted()
}

func (e *emitter) cluster(c *ir.Cluster) {
	m := e.m
	if m.Mesh.DefaultDeny {
		for _, ns := range m.ManagedNamespaces(c) {
			if !m.Mesh.NeverManaged(ns) {
				e.baseline(c, ns)
			}
		}
	}
	for _, p := range m.Policies {
		if p.Action != ir.ActionAllow {
			continue // layer 2 only allows; denies are subtracted from the allows
		}
		if p.Service != nil && p.Service.PlacedIn(c) {
			e.ingress(p, c)
		}
		if m.Mesh.DefaultDeny {
			e.egress(p, c)
		}
	}
}

// emitter emits one cluster's NetworkPolicies.
type emitter struct {
	m     *ir.Model
	out   []ir.Object
	diags diag.List
	// keys[i] is what diags[i] is given once per: an opened destination,
	// a deny layer 2 cannot express.
	keys   []string
	warned map[string]bool
}

func (e *emitter) add(c *ir.Cluster, np *networkingv1.NetworkPolicy, srcs []ir.Source) {
	e.out = append(e.out, ir.Object{Cluster: c.Name, Body: np, Sources: srcs})
}

func networkPolicy(name, namespace string, podSelector metav1.LabelSelector, types ...networkingv1.PolicyType) *networkingv1.NetworkPolicy {
	np := &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace}}
	np.SetGroupVersionKind(gvNetworkPolicy)
	np.Spec.PodSelector = podSelector
	np.Spec.PolicyTypes = types
	return np
}

// namespaceSources are what a namespace-wide object comes from: the Mesh
// (when declared) and the services that make the namespace managed in c.
func (e *emitter) namespaceSources(c *ir.Cluster, ns string) []ir.Source {
	var out []ir.Source
	if e.m.Mesh.Src.Kind != "" {
		out = append(out, e.m.Mesh.Src)
	}
	for _, s := range e.m.ServicesIn(c, ns) {
		out = append(out, s.Src)
	}
	return out
}

// baseline emits the default deny and the platform peers of one managed
// namespace.
func (e *emitter) baseline(c *ir.Cluster, ns string) {
	mesh := &e.m.Mesh
	srcs := e.namespaceSources(c, ns)
	// An implicit policyTypes would leave egress open: Kubernetes infers
	// Egress only from a non-empty egress list.
	e.add(c, networkPolicy(NameDefaultDeny, ns, metav1.LabelSelector{}, networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress), srcs)

	var dns []flow
	if c.Platform == "openshift" {
		// OpenShift has no kube-dns: pods resolve through dns-default,
		// whose pods listen on 5353.
		dns = append(dns, flow{podsPeer(openshiftDNSNS, map[string]string{openshiftDNSLabel: openshiftDNSValue}), udpTCP(openshiftDNSPort)})
	} else {
		dns = append(dns, flow{podsPeer(kubeDNSNamespace, map[string]string{kubeDNSLabel: kubeDNSValue}), udpTCP(kubeDNSPort)})
	}
	if mesh.Baseline.NodeLocalDNS {
		dns = append(dns, flow{ipPeer(nodeLocalDNSAddr, nil), udpTCP(kubeDNSPort)})
	}
	np := networkPolicy(NameBaselineDNS, ns, metav1.LabelSelector{}, networkingv1.PolicyTypeEgress)
	np.Spec.Egress = egressRules(dns)
	e.add(c, np, srcs)

	np = networkPolicy(NameBaselineIstiod, ns, metav1.LabelSelector{}, networkingv1.PolicyTypeEgress)
	np.Spec.Egress = egressRules([]flow{{podsPeer(mesh.RootNamespace, map[string]string{istiodLabel: istiodValue}), tcp(istiodXDSPort)}})
	e.add(c, np, srcs)

	if len(mesh.Baseline.Scrapers) > 0 {
		np = networkPolicy(NameBaselineScrapers, ns, metav1.LabelSelector{}, networkingv1.PolicyTypeIngress)
		np.Spec.Ingress = ingressRules(e.scraperFlows())
		e.add(c, np, srcs)
	}
	if len(mesh.Baseline.Telemetry) > 0 {
		var flows []flow
		for _, t := range mesh.Baseline.Telemetry {
			// A collector declared without ports is reachable on all of
			// them: a rule without ports means every port.
			flows = append(flows, flow{podsPeer(t.Namespace, t.PodLabels), tcp(t.Ports...)})
		}
		np = networkPolicy(NameBaselineTelemetry, ns, metav1.LabelSelector{}, networkingv1.PolicyTypeEgress)
		np.Spec.Egress = egressRules(flows)
		e.add(c, np, srcs)
	}
	if api := c.APIServer; api != nil && slices.ContainsFunc(mesh.Baseline.APIServerAccess, func(w ir.WorkloadRef) bool { return w.Namespace == ns }) {
		// Layer 2 cannot see service accounts, so the namespace's pods
		// are what it can open for the named workload.
		np = networkPolicy(NameBaselineAPIServer, ns, metav1.LabelSelector{}, networkingv1.PolicyTypeEgress)
		np.Spec.Egress = egressRules(e.addressFlows(api.Address, api.Port, c.Src.Pos, "apiserver/"+c.Name,
			"the API server of %s is a host name (%s); NetworkPolicy selects addresses, so %s opens any address on port %d to the namespaces baseline.apiServerAccess names",
			c.Name, api.Address, NameBaselineAPIServer, api.Port))
		e.add(c, np, append(srcs, c.Src))
	}
}

func (e *emitter) scraperFlows() []flow {
	var flows []flow
	for _, s := range e.m.Mesh.Baseline.Scrapers {
		flows = append(flows, flow{podsPeer(s.Namespace, s.PodLabels), tcp(sidecarMetricsPorts...)})
	}
	return flows
}

// addressFlows opens port on address: the address itself when it is an IP,
// else (a host name, which NetworkPolicy cannot select) any address, with an
// IC3202 warning once per key.
func (e *emitter) addressFlows(address string, port int32, pos diag.Pos, key, format string, args ...any) []flow {
	if a, err := netip.ParseAddr(address); err == nil {
		return []flow{{ipPeer(netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()).String(), nil), tcp(port)}}
	}
	e.warn(pos, key, format, args...)
	return worldFlows(tcp(port))
}

func worldFlows(ports []networkingv1.NetworkPolicyPort) []flow {
	return []flow{{ipPeer("0.0.0.0/0", nil), ports}, {ipPeer("::/0", nil), ports}}
}

func (e *emitter) warn(pos diag.Pos, key, format string, args ...any) {
	if e.warned[key] {
		return
	}
	e.warned[key] = true
	e.keys = append(e.keys, key)
	e.diags.Add(diag.CodeEgressToAnyAddress, pos, format, args...)
}

func protoPorts(proto corev1.Protocol, ports ...int32) []networkingv1.NetworkPolicyPort {
	var out []networkingv1.NetworkPolicyPort
	for _, p := range ports {
		pr := proto
		out = append(out, networkingv1.NetworkPolicyPort{Protocol: &pr, Port: intOrString(p)})
	}
	return out
}

func tcp(ports ...int32) []networkingv1.NetworkPolicyPort {
	return protoPorts(corev1.ProtocolTCP, ports...)
}

func udpTCP(port int32) []networkingv1.NetworkPolicyPort {
	return append(protoPorts(corev1.ProtocolUDP, port), protoPorts(corev1.ProtocolTCP, port)...)
}
