package ir

import (
	"slices"

	"github.com/intentc/intentc/compiler/diag"
)

// Mesh models (Mesh.spec.model).
const (
	ModelMultiPrimary = "multi-primary"
	ModelFederated    = "federated"
)

// Trust models of a federation (Mesh.spec.federation.trust).
const (
	TrustSharedRoot   = "sharedRoot"
	TrustTrustBundles = "trustBundles"
)

// Federation is how meshes that share no control plane trust each other and
// where the imports of each other's services live. Zero with multi-primary.
type Federation struct {
	Trust string // sharedRoot | trustBundles
	// TrustDomainAliases are the trust domains every mesh accepts besides
	// its own (meshConfig.trustDomainAliases). Istio treats an identity in
	// an alias as the same identity in its own domain.
	TrustDomainAliases []string
	// ImportNamespace holds the caller-side ServiceEntries and
	// DestinationRules of remote services: never the service's own
	// namespace, where the export of the same .global host may live.
	ImportNamespace string
	Pos             diag.Pos // of spec.federation (of spec.model when absent)
}

// Federated reports whether the mesh is a federation of meshes that share no
// control plane, joined by <svc>.<ns>.global names.
func (m *Mesh) Federated() bool { return m.Model == ModelFederated }

// CrossMesh reports whether traffic from a to b leaves a's mesh: b's
// endpoints are then unknown to a's control plane and are reached by their
// .global name through b's east-west gateway. Never true with multi-primary.
func CrossMesh(a, b *Cluster) bool { return a.MeshID != b.MeshID }

// GlobalHost is the name the service is known by between meshes.
func (s *Service) GlobalHost() string { return s.Name + "." + s.Namespace + ".global" }

// RemotePlacements returns the placements of s in meshes other than c's.
func (s *Service) RemotePlacements(c *Cluster) []*Placement {
	var out []*Placement
	for _, p := range s.Placements {
		if CrossMesh(c, p.Cluster) {
			out = append(out, p)
		}
	}
	return out
}

// ExportedFrom reports whether s, placed in c, is called from another mesh:
// c must then publish it as its .global host on its east-west gateway.
func (m *Model) ExportedFrom(s *Service, c *Cluster) bool {
	if !m.Mesh.Federated() || !s.PlacedIn(c) {
		return false
	}
	return slices.ContainsFunc(s.CallerClusters, func(x *Cluster) bool { return CrossMesh(x, c) })
}

// GatewayCallers returns the clusters whose calls into c arrive through c's
// east-west gateway, sorted by name: from another network, or, federated,
// from another mesh. With multi-primary it equals CrossNetworkCallers.
func (m *Model) GatewayCallers(c *Cluster) []*Cluster {
	seen := map[*Cluster]bool{}
	for _, s := range m.Services {
		if !s.PlacedIn(c) {
			continue
		}
		for _, caller := range s.CallerClusters {
			if caller.Network != c.Network || CrossMesh(caller, c) {
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

// CallerNamespaces returns the namespaces whose workloads in c call s, sorted:
// the namespaces of the sources of every allow AccessPolicy that names s and
// runs in c (the ingress gateway's for a source through it). known is false
// when no allow policy names s, which is then called from every namespace.
func (m *Model) CallerNamespaces(s *Service, c *Cluster) (nss []string, known bool) {
	for _, p := range m.Policies {
		if p.Service != s || p.Action != ActionAllow {
			continue
		}
		known = true
		for _, peer := range p.From {
			if !slices.Contains(peer.Clusters, c) {
				continue
			}
			switch {
			case peer.Kind == PeerCIDR && peer.Via == ViaDirect:
				// addresses, not mesh clients: they use no routing
			case peer.Kind == PeerCIDR:
				nss = append(nss, m.Mesh.IngressGateway.Namespace)
			default:
				nss = append(nss, peer.Namespace)
			}
		}
	}
	slices.Sort(nss)
	return slices.Compact(nss), known
}

// ImportedInto returns the remote placements (other meshes than c's) that
// c's callers send traffic to: a share of the split or of a route. c imports
// their .global host.
func (s *Service) ImportedInto(c *Cluster) []*Placement {
	used := map[*Cluster]bool{}
	for _, p := range s.Placements {
		if p.Percent > 0 {
			used[p.Cluster] = true
		}
	}
	for _, rt := range s.Routes {
		for _, t := range rt.To {
			if t.Percent > 0 {
				used[t.Cluster] = true
			}
		}
	}
	var out []*Placement
	for _, p := range s.RemotePlacements(c) {
		if used[p.Cluster] {
			out = append(out, p)
		}
	}
	return out
}
