package resolve

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/intentc/intentc/compiler/diag"
	"github.com/intentc/intentc/compiler/intent"
	"github.com/intentc/intentc/compiler/ir"
)

// DefaultImportNamespace holds the imports of remote .global hosts when the
// Mesh names no federation.importNamespace.
const DefaultImportNamespace = "intentc-federation"

// federation reads spec.federation once the rest of the Mesh is known. With
// multi-primary the settings mean nothing (one control plane, one identity);
// with federated a declared root of trust is required, because callers reach
// another mesh's pods through a passthrough gateway with end-to-end mTLS.
func (r *resolver) federation(d *intent.Document, f *intent.Federation) {
	m := &r.model.Mesh
	if !m.Federated() {
		if f != nil {
			r.diags.Add(diag.CodeFederationIgnored, d.KeyPosOf("spec.federation"),
				"spec.federation applies to model federated only; with model %s the clusters share one control plane and identity, so it is ignored", m.Model)
		}
		return
	}
	m.Federation = ir.Federation{ImportNamespace: DefaultImportNamespace, Pos: d.PosOf("spec.model")}
	if f != nil {
		m.Federation.Pos = d.KeyPosOf("spec.federation")
	}
	if f == nil || f.Trust == "" {
		r.diags.Add(diag.CodeFederationTrust, m.Federation.Pos,
			"model federated needs spec.federation.trust: sharedRoot (one root CA signs every mesh's certificates) or trustBundles (each mesh trusts the others' roots); "+
				"a call to another mesh passes its east-west gateway untouched (AUTO_PASSTHROUGH), so mTLS runs from the caller's sidecar to the destination's and works only if each side can validate the other's certificate")
	}
	if f == nil {
		return
	}
	m.Federation.Trust = f.Trust
	for i, a := range f.TrustDomainAliases {
		path := fmt.Sprintf("spec.federation.trustDomainAliases[%d]", i)
		if strings.HasPrefix(a, "*") || !r.address(d, path, a, false) {
			continue
		}
		if a == DefaultTrustDomain {
			r.diags.Add(diag.CodeInvalidValue, d.PosOf(path),
				"%s: cluster.local stands for each sidecar's own trust domain, so it cannot name another mesh's; list the meshes' real trust domains", path)
			continue
		}
		m.Federation.TrustDomainAliases = append(m.Federation.TrustDomainAliases, a)
	}
	slices.Sort(m.Federation.TrustDomainAliases)
	m.Federation.TrustDomainAliases = slices.Compact(m.Federation.TrustDomainAliases)
	if f.ImportNamespace != "" && r.checkName(d, "spec.federation.importNamespace", f.ImportNamespace) {
		m.Federation.ImportNamespace = f.ImportNamespace
	}
}

// declaredMeshID is the cluster's spec.istio.meshID ("" when not declared).
func (r *resolver) declaredMeshID(c *ir.Cluster) string {
	if d := r.doc(c.Src); d != nil {
		if iv := d.Object.(*intent.MeshCluster).Spec.Istio; iv != nil {
			return iv.MeshID
		}
	}
	return ""
}

// meshes sets every cluster's mesh. Multi-primary: one mesh, whose meshID
// every cluster that declares one must agree on. Federated: each cluster is
// its own mesh (its own control plane); clusters sharing a meshID would form
// a multi-cluster mesh inside the federation, which is not compiled yet.
func (r *resolver) meshes() {
	clusters := slices.Clone(r.model.Clusters)
	slices.SortFunc(clusters, func(a, b *ir.Cluster) int { return cmp.Compare(a.Name, b.Name) })
	if !r.model.Mesh.Federated() {
		var first *ir.Cluster
		for _, c := range clusters {
			id := r.declaredMeshID(c)
			switch {
			case id == "":
			case first == nil:
				first = c
			case id != r.declaredMeshID(first):
				r.diags.Add(diag.CodeMeshIDMismatch, r.doc(c.Src).PosOf("spec.istio.meshID"),
					"%s declares meshID %q but %s declares %q: with model %s every cluster belongs to one mesh; clusters with their own control plane view form a federation (model: federated)",
					c.Name, id, first.Name, r.declaredMeshID(first), r.model.Mesh.Model).
					WithRelated(r.doc(first.Src).PosOf("spec.istio.meshID"), "%s declares it here", first.Name)
			}
		}
		id := r.model.Mesh.Name
		if first != nil {
			id = r.declaredMeshID(first)
		}
		for _, c := range clusters {
			c.MeshID = id
		}
		return
	}
	byID := map[string]*ir.Cluster{}
	for _, c := range clusters {
		c.MeshID = cmp.Or(r.declaredMeshID(c), c.Name)
		if first, dup := byID[c.MeshID]; dup {
			r.diags.Add(diag.CodeModelUnsupported, r.doc(c.Src).PosOf("spec.istio"),
				"%s and %s are both in mesh %q: model federated compiles one mesh per cluster, and a federation of multi-cluster meshes is not supported yet; give each cluster its own meshID",
				first.Name, c.Name, c.MeshID).
				WithRelated(first.Src.Pos, "%s defined here", first.Name)
			continue
		}
		byID[c.MeshID] = c
	}
}

// federationChecks reports what a federated intent asks of the platforms
// that they cannot do: a trust domain the destination mesh refuses, imports
// that would collide with exports, and splits and routes the .global form
// cannot express.
func (r *resolver) federationChecks() {
	m := r.model
	if !m.Mesh.Federated() {
		return
	}
	r.importNamespace()
	r.acceptedTrustDomains()
	for _, s := range m.Services {
		r.federatedService(s)
	}
}

func (r *resolver) importNamespace() {
	m := &r.model.Mesh
	ns := m.Federation.ImportNamespace
	pos := m.Federation.Pos
	if d := r.doc(m.Src); d != nil && d.Has("spec.federation.importNamespace") {
		pos = d.PosOf("spec.federation.importNamespace")
	}
	if m.NeverManaged(ns) || ns == m.IngressGateway.Namespace {
		r.diags.Add(diag.CodeImportNamespace, pos,
			"federation.importNamespace %q is a control-plane, gateway or system namespace; the imports of remote .global hosts need a namespace of their own", ns)
		return
	}
	for _, s := range r.model.Services {
		if s.Namespace == ns {
			r.diags.Add(diag.CodeImportNamespace, r.svcDocs[s].PosOf("metadata.namespace"),
				"%s is in %s, the namespace that holds the imports of remote .global hosts; Istio keys services by host and namespace, so an import there would merge with this service's export of %s; place the service elsewhere or set federation.importNamespace",
				s.Src.Ref(), ns, s.GlobalHost()).
				WithRelated(pos, "import namespace set here")
		}
	}
}

// acceptedTrustDomains checks, with a shared root, that every mesh accepts
// the trust domains of the meshes that call into it: Istio validates a
// peer's trust domain against its own and meshConfig.trustDomainAliases (or,
// with trust bundles, the trustDomains of meshConfig.caCertificates, which
// intentc cannot see).
func (r *resolver) acceptedTrustDomains() {
	f := &r.model.Mesh.Federation
	if f.Trust != ir.TrustSharedRoot {
		return
	}
	pos := f.Pos
	if d := r.doc(r.model.Mesh.Src); d != nil && d.Has("spec.federation.trustDomainAliases") {
		pos = d.KeyPosOf("spec.federation.trustDomainAliases")
	}
	reported := map[[2]string]bool{}
	for _, s := range r.model.Services {
		for _, pl := range s.Placements {
			dst := pl.Cluster
			for _, c := range s.CallerClusters {
				if !ir.CrossMesh(c, dst) || c.TrustDomain == dst.TrustDomain || slices.Contains(f.TrustDomainAliases, c.TrustDomain) {
					continue
				}
				key := [2]string{c.TrustDomain, dst.TrustDomain}
				if reported[key] {
					continue
				}
				reported[key] = true
				r.diags.Add(diag.CodeTrustDomainNotAccepted, pos,
					"%s (trust domain %s) calls %s in %s (trust domain %s), but %s is not in federation.trustDomainAliases: with a shared root Istio accepts peers of its own trust domain and its aliases only, so %s's sidecars would refuse the connection; list it (and set the meshes' meshConfig.trustDomainAliases to match), or use trust: trustBundles",
					c.Name, c.TrustDomain, s.Name, dst.Name, dst.TrustDomain, c.TrustDomain, dst.Name).
					WithRelated(c.Src.Pos, "%s defined here", c.Name).
					WithRelated(pl.Pos, "%s placed in %s here", s.Name, dst.Name)
			}
		}
	}
}

// federatedService reports what one service asks that the .global form
// cannot do.
func (r *resolver) federatedService(s *ir.Service) {
	m := r.model
	d := r.svcDocs[s]
	meshes := map[string]bool{}
	for _, p := range s.Placements {
		meshes[p.Cluster.MeshID] = true
	}
	if s.Split == ir.SplitLocality && len(meshes) > 1 {
		r.diags.Add(diag.CodeModelUnsupported, d.PosOf("spec.split"),
			"split: locality across meshes is not supported yet with model federated: locality load balancing needs every endpoint behind one host, and each mesh's share is a host of its own (the local service, the remote .global host); use split: weighted")
	}
	reportedRoute := map[*ir.Route]bool{}
	for _, c := range s.CallerClusters {
		remote := s.RemotePlacements(c)
		if len(remote) > 1 {
			for _, rt := range s.Routes {
				if reportedRoute[rt] || !slices.ContainsFunc(rt.To, func(t *ir.RouteDest) bool { return ir.CrossMesh(c, t.Cluster) }) {
					continue
				}
				reportedRoute[rt] = true
				var names []string
				for _, p := range remote {
					names = append(names, p.Cluster.Name)
				}
				r.diags.Add(diag.CodeModelUnsupported, rt.Pos,
					"this route sends %s's callers in %s to another mesh, where %s runs in %s: their shares are endpoints of the one host %s, which a route cannot pick apart; routes to one of several remote meshes are not supported yet",
					s.Name, c.Name, s.Name, strings.Join(names, " and "), s.GlobalHost())
			}
		}
		if !m.ExportedFrom(s, c) || len(s.ImportedInto(c)) == 0 || c.EastWest == nil {
			continue
		}
		nss, known := m.CallerNamespaces(s, c)
		switch {
		case !known:
			r.diags.Add(diag.CodeImportVisibleToGateway, d.KeyPosOf("spec.placement"),
				"%s exports %s (other meshes call %s there) and also imports it for its own callers, but no AccessPolicy names %s's callers, so the import would be visible to every namespace, the east-west gateway's too, which would then route %s to the remote mesh instead of the local pods; name the callers in an AccessPolicy",
				c.Name, s.GlobalHost(), s.Name, s.Name, s.GlobalHost())
		case slices.Contains(nss, c.EastWest.Namespace):
			r.diags.Add(diag.CodeImportVisibleToGateway, d.KeyPosOf("spec.placement"),
				"%s exports %s and also imports it for callers in %s, the east-west gateway's namespace, which would then route %s to the remote mesh instead of the local pods; call %s from another namespace",
				c.Name, s.GlobalHost(), c.EastWest.Namespace, s.GlobalHost(), s.Name)
		}
	}
}
