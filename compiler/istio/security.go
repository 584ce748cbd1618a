package istio

import (
	"slices"
	"strconv"

	apisec "istio.io/api/security/v1"
	apitype "istio.io/api/type/v1beta1"
	clientsec "istio.io/client-go/pkg/apis/security/v1"

	"github.com/intentc/intentc/compiler/diag"
	"github.com/intentc/intentc/compiler/ir"
)

// Names of the objects layers 4 and 3 emit (docs/security.md, "Object
// names"). Per-service and per-policy objects are named after their intent.
const (
	NamespacePeerAuthentication = "default"
	PermissiveSuffix            = "-permissive"
	AllowNothing                = "allow-nothing"
	BaselineScrapers            = "intentc-baseline-scrapers"
	// IngressSourceRanges is the ingress gateway's DENY that enforces the
	// address ranges of via: ingressGateway sources. It is one object per
	// cluster, not one per AccessPolicy: the rules of several DENY objects
	// on one workload add up, so per-policy objects would intersect the
	// ranges two policies allow on a shared host instead of uniting them.
	IngressSourceRanges = "intentc-ingress-source-ranges"
)

// scrapePorts are the sidecar's merged-metrics (pilot-agent) and Envoy stats
// ports that Prometheus scrapes.
var scrapePorts = []string{"15020", "15090"}

var (
	gvAP = clientsec.SchemeGroupVersion.WithKind("AuthorizationPolicy")
	gvPA = clientsec.SchemeGroupVersion.WithKind("PeerAuthentication")
)

// EmitSecurity returns layers 4 and 3 (PeerAuthentication,
// AuthorizationPolicy) and the ServiceEntries of ExternalServices, for every
// cluster, as docs/security.md describes.
func EmitSecurity(m *ir.Model) ([]ir.Object, diag.List) {
	var out []ir.Object
	var diags diag.List
	aps := apBodies{}
	for _, c := range m.Clusters {
		out = append(out, namespaceDefaults(m, c)...)
		out = append(out, permissiveExceptions(m, c)...)
		out = append(out, accessPolicies(m, c, aps)...)
	}
	gw, ds := ingressGateway(m)
	out = append(out, gw...)
	diags.Append(ds)
	se, ds := serviceEntries(m)
	out = append(out, se...)
	diags.Append(ds)
	return out, diags.Sorted()
}

// mtlsMode is the namespace-wide mode the Mesh asks for.
func mtlsMode(m *ir.Model) apisec.PeerAuthentication_MutualTLS_Mode {
	if m.Mesh.MTLS == "permissive" {
		return apisec.PeerAuthentication_MutualTLS_PERMISSIVE
	}
	return apisec.PeerAuthentication_MutualTLS_STRICT
}

// namespaceSources is the provenance of a namespace-wide object: the Mesh that
// sets its mode, or, with no Mesh document, the services that make the
// namespace managed.
func namespaceSources(m *ir.Model, c *ir.Cluster, ns string) []ir.Source {
	if m.Mesh.Src.Kind != "" {
		return []ir.Source{m.Mesh.Src}
	}
	var out []ir.Source
	for _, s := range m.Services {
		if s.Namespace == ns && s.PlacedIn(c) {
			out = append(out, s.Src)
		}
	}
	return out
}

func selector(labels map[string]string) *apitype.WorkloadSelector {
	return &apitype.WorkloadSelector{MatchLabels: labels}
}

func peerAuthentication(name, ns string) *clientsec.PeerAuthentication {
	pa := &clientsec.PeerAuthentication{ObjectMeta: objectMeta(name, ns)}
	pa.SetGroupVersionKind(gvPA)
	return pa
}

func authorizationPolicy(name, ns string) *clientsec.AuthorizationPolicy {
	ap := &clientsec.AuthorizationPolicy{ObjectMeta: objectMeta(name, ns)}
	ap.SetGroupVersionKind(gvAP)
	return ap
}

// namespaceDefaults returns, per managed namespace of c, the namespace-wide
// PeerAuthentication and, with defaultDeny, allow-nothing and the scrapers'
// baseline.
func namespaceDefaults(m *ir.Model, c *ir.Cluster) []ir.Object {
	var out []ir.Object
	for _, ns := range m.ManagedNamespaces(c) {
		if m.Mesh.NeverManaged(ns) {
			continue // resolve refuses services there; never write policy there regardless
		}
		srcs := namespaceSources(m, c, ns)
		pa := peerAuthentication(NamespacePeerAuthentication, ns)
		pa.Spec.Mtls = &apisec.PeerAuthentication_MutualTLS{Mode: mtlsMode(m)}
		out = append(out, ir.Object{Cluster: c.Name, Body: pa, Sources: srcs})

		// Without defaultDeny intentc only shapes the destinations a policy
		// names: a namespace-wide ALLOW (the baseline has no selector) would
		// turn every other workload of the namespace to deny-by-default.
		if !m.Mesh.DefaultDeny {
			continue
		}
		// spec: {} matches no request, so ALLOW policies alone decide; the
		// look-alike rules: [{}] matches every request and allows all.
		out = append(out, ir.Object{Cluster: c.Name, Body: authorizationPolicy(AllowNothing, ns), Sources: srcs})
		if ap := scrapersPolicy(m, c, ns); ap != nil {
			out = append(out, ir.Object{Cluster: c.Name, Body: ap, Sources: srcs})
		}
	}
	return out
}

// scrapersPolicy admits the baseline scrapers to the sidecar's metrics ports.
// The scrapers of a cluster scrape its own pods, so the principal carries
// c's trust domain.
func scrapersPolicy(m *ir.Model, c *ir.Cluster, ns string) *clientsec.AuthorizationPolicy {
	var namespaces []string
	for _, s := range m.Mesh.Baseline.Scrapers {
		namespaces = append(namespaces, s.Namespace)
	}
	slices.Sort(namespaces)
	namespaces = slices.Compact(namespaces)
	if len(namespaces) == 0 {
		return nil
	}
	rule := &apisec.Rule{To: []*apisec.Rule_To{{Operation: &apisec.Operation{Ports: slices.Clone(scrapePorts)}}}}
	for _, sns := range namespaces {
		rule.From = append(rule.From, &apisec.Rule_From{Source: &apisec.Source{
			Principals: []string{c.TrustDomain + "/ns/" + sns + "/sa/*"},
		}})
	}
	ap := authorizationPolicy(BaselineScrapers, ns)
	ap.Spec.Rules = []*apisec.Rule{rule}
	return ap
}

// permissiveExceptions returns a workload PeerAuthentication for every service
// placed in c that declares a port mtls: permissive.
func permissiveExceptions(m *ir.Model, c *ir.Cluster) []ir.Object {
	var out []ir.Object
	for _, s := range m.Services {
		if !s.PlacedIn(c) || m.Mesh.NeverManaged(s.Namespace) {
			continue
		}
		levels := map[uint32]*apisec.PeerAuthentication_MutualTLS{}
		for _, p := range s.Ports {
			if p.Permissive {
				// Keyed by the target port: the sidecar sees the pod's port,
				// not the Service's.
				levels[uint32(p.TargetPort)] = &apisec.PeerAuthentication_MutualTLS{Mode: apisec.PeerAuthentication_MutualTLS_PERMISSIVE}
			}
		}
		if len(levels) == 0 {
			continue
		}
		pa := peerAuthentication(s.Name+PermissiveSuffix, s.Namespace)
		// portLevelMtls only takes effect (and only validates) with a selector.
		pa.Spec.Selector = selector(s.Selector)
		pa.Spec.Mtls = &apisec.PeerAuthentication_MutualTLS{Mode: mtlsMode(m)}
		pa.Spec.PortLevelMtls = levels
		out = append(out, ir.Object{Cluster: c.Name, Body: pa, Sources: []ir.Source{s.Src}})
	}
	return out
}

// policyName is the name of an AccessPolicy's object in the destination's
// namespace: prefixed with the policy's namespace when that differs, so that
// policies of two namespaces on one destination cannot collide.
func policyName(p *ir.Policy, destNamespace string) string {
	if p.Namespace == destNamespace {
		return p.Name
	}
	return p.Namespace + "-" + p.Name
}

// targetPorts returns the policy's target ports as AuthorizationPolicy wants
// them: strings, sorted, each once (two service ports may share a target).
func targetPorts(ports []*ir.Port) []string {
	var nums []int32
	for _, p := range ports {
		nums = append(nums, p.TargetPort)
	}
	slices.Sort(nums)
	var out []string
	for _, n := range slices.Compact(nums) {
		out = append(out, strconv.Itoa(int(n)))
	}
	return out
}

// directApplies reports whether a via: direct CIDR peer can reach
// destination cluster c with its own source address: only on the range's
// network ("" is the destination's own), since across networks the east-west
// gateway or NAT rewrites it.
func directApplies(peer *ir.Peer, c *ir.Cluster) bool {
	return slices.Contains(peer.Clusters, c) && (peer.Network == "" || peer.Network == c.Network)
}

// restricted reports whether peer is a via: ingressGateway source narrower
// than the internet, which only the gateway can tell apart by address.
func restricted(peer *ir.Peer) bool {
	return peer.Kind == ir.PeerCIDR && peer.Via == ir.ViaIngressGateway && !peer.IsWorld()
}

// fromEntries returns one rule source per peer of p that can reach c.
func fromEntries(m *ir.Model, p *ir.Policy, c *ir.Cluster) []*apisec.Rule_From {
	var out []*apisec.Rule_From
	for _, peer := range p.From {
		src := &apisec.Source{}
		switch {
		case peer.Kind == ir.PeerCIDR && peer.Via == ir.ViaDirect:
			if !directApplies(peer, c) {
				continue
			}
			src.IpBlocks = []string{peer.CIDR.String()}
		case restricted(peer) && p.Action == ir.ActionDeny:
			// At the destination every caller through the gateway carries the
			// gateway's identity: denying it would deny them all. The range
			// is denied on the gateway instead (ingressGateway).
			continue
		default:
			// Identities hold across networks (the east-west gateway passes
			// mTLS through), so every cluster the peer runs in reaches c.
			src.Principals = m.Principals(peer)
			if len(src.Principals) == 0 {
				continue
			}
		}
		// Sources that come out the same (two ranges through one gateway,
		// say) are one entry.
		if slices.ContainsFunc(out, func(f *apisec.Rule_From) bool {
			return slices.Equal(f.Source.Principals, src.Principals) && slices.Equal(f.Source.IpBlocks, src.IpBlocks)
		}) {
			continue
		}
		out = append(out, &apisec.Rule_From{Source: src})
	}
	return out
}

// apBodies are the AuthorizationPolicies accessPolicies made, by policy
// and the direct address ranges that apply in the cluster (fromEntries
// reads nothing else of it): a policy's is the same in every cluster where
// the same ranges apply, one body that manifest renders once. A nil body
// is a policy that has none there.
type apBodies map[apKey]*clientsec.AuthorizationPolicy

type apKey struct {
	policy int
	direct string // '1' for each direct range of the policy that applies, '0' for each that does not
}

// accessPolicies returns one ALLOW or DENY per AccessPolicy whose destination
// service is placed in c. A policy none of whose sources reaches c is left
// out there: a rule with an empty from matches anyone.
func accessPolicies(m *ir.Model, c *ir.Cluster, bodies apBodies) []ir.Object {
	var out []ir.Object
	for i, p := range m.Policies {
		s := p.Service
		if s == nil || !s.PlacedIn(c) || m.Mesh.NeverManaged(s.Namespace) {
			continue // an ExternalService has no sidecar of ours to enforce at
		}
		key := apKey{policy: i}
		for _, peer := range p.From {
			if peer.Kind == ir.PeerCIDR && peer.Via == ir.ViaDirect {
				if directApplies(peer, c) {
					key.direct += "1"
				} else {
					key.direct += "0"
				}
			}
		}
		if ap, ok := bodies[key]; ok {
			if ap != nil {
				out = append(out, ir.Object{Cluster: c.Name, Body: ap, Sources: []ir.Source{p.Src, s.Src}})
			}
			continue
		}
		ap := accessPolicy(m, p, c)
		bodies[key] = ap
		if ap != nil {
			out = append(out, ir.Object{Cluster: c.Name, Body: ap, Sources: []ir.Source{p.Src, s.Src}})
		}
	}
	return out
}

// accessPolicy is p's AuthorizationPolicy in c, or nil. It reads nothing
// of c but which direct ranges apply there (apBodies).
func accessPolicy(m *ir.Model, p *ir.Policy, c *ir.Cluster) *clientsec.AuthorizationPolicy {
	s := p.Service
	from := fromEntries(m, p, c)
	if len(from) == 0 {
		if p.Action == ir.ActionAllow && !m.Mesh.DefaultDeny {
			// No source reaches c, but the policy names the service:
			// without the namespace's allow-nothing, an ALLOW with no
			// rules is what keeps everyone else out here.
			ap := authorizationPolicy(policyName(p, s.Namespace), s.Namespace)
			ap.Spec.Selector = selector(s.Selector)
			ap.Spec.Action = apisec.AuthorizationPolicy_ALLOW
			return ap
		}
		return nil
	}
	op := &apisec.Operation{Ports: targetPorts(p.Ports), Methods: slices.Clone(p.Methods), Paths: slices.Clone(p.Paths)}
	ap := authorizationPolicy(policyName(p, s.Namespace), s.Namespace)
	ap.Spec.Selector = selector(s.Selector)
	ap.Spec.Action = apisec.AuthorizationPolicy_ALLOW
	if p.Action == ir.ActionDeny {
		ap.Spec.Action = apisec.AuthorizationPolicy_DENY
	}
	ap.Spec.Rules = []*apisec.Rule{{From: from, To: []*apisec.Rule_To{{Operation: op}}}}
	return ap
}
