package resolve

import (
	"cmp"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/intentc/intentc/compiler/diag"
	"github.com/intentc/intentc/compiler/intent"
	"github.com/intentc/intentc/compiler/ir"
)

// Defaults that the language documents.
const (
	DefaultTrustDomain      = "cluster.local"
	DefaultRootNamespace    = "istio-system"
	DefaultIntentcNamespace = "intentc-system"
	DefaultEastWestPort     = 15443
	DefaultEastWestService  = "istio-eastwestgateway"
	DefaultIngressNamespace = "istio-ingress"
	DefaultIngressSA        = "istio-ingressgateway"
)

// ambientLabel marks a namespace (or workload) as using the ambient data plane.
const ambientLabel = "istio.io/dataplane-mode"

var dns1123Label = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

type resolver struct {
	diags    diag.List
	model    *ir.Model
	docs     map[string]*intent.Document // by Ref, for related positions
	clusters map[string]*ir.Cluster
	services map[string]*ir.Service // by namespace/name
	svcDocs  map[*ir.Service]*intent.Document
	external map[string]*ir.External
	networks map[string]bool
}

// Resolve checks and links the intent set into a model. The model is
// returned even with errors (without the bad nodes) so that callers that only
// report can go on; emission needs an error-free list.
func Resolve(set *intent.Set) (*ir.Model, diag.List) {
	r := &resolver{
		model:    &ir.Model{Digest: set.Digest()},
		docs:     map[string]*intent.Document{},
		clusters: map[string]*ir.Cluster{},
		services: map[string]*ir.Service{},
		svcDocs:  map[*ir.Service]*intent.Document{},
		external: map[string]*ir.External{},
		networks: map[string]bool{},
	}
	byKind := map[string][]*intent.Document{}
	for _, d := range set.Docs {
		if first, dup := r.docs[d.Ref()]; dup {
			r.diags.Add(diag.CodeDuplicateObject, d.Pos, "%s is defined twice", d.Ref()).
				WithRelated(first.Pos, "first defined here")
			continue
		}
		r.docs[d.Ref()] = d
		byKind[d.Kind] = append(byKind[d.Kind], d)
	}
	r.mesh(byKind[intent.KindMesh])
	for _, d := range byKind[intent.KindMeshCluster] {
		r.cluster(d)
	}
	r.clusterChecks()
	r.meshes() // federated.go
	for _, d := range byKind[intent.KindMeshService] {
		r.service(d)
	}
	for _, d := range byKind[intent.KindExternalService] {
		r.externalService(d)
	}
	for _, d := range byKind[intent.KindAccessPolicy] {
		r.policy(d)
	}
	r.deadPolicies()
	r.callGraph()
	r.crossNetwork()
	r.federationChecks() // federated.go

	m := r.model
	slices.SortFunc(m.Clusters, func(a, b *ir.Cluster) int { return cmp.Compare(a.Name, b.Name) })
	byNsName := func(ns1, n1, ns2, n2 string) int { return cmp.Or(cmp.Compare(ns1, ns2), cmp.Compare(n1, n2)) }
	slices.SortFunc(m.Services, func(a, b *ir.Service) int { return byNsName(a.Namespace, a.Name, b.Namespace, b.Name) })
	slices.SortFunc(m.Externals, func(a, b *ir.External) int { return byNsName(a.Namespace, a.Name, b.Namespace, b.Name) })
	slices.SortFunc(m.Policies, func(a, b *ir.Policy) int { return byNsName(a.Namespace, a.Name, b.Namespace, b.Name) })
	return m, r.diags.Sorted()
}

func src(d *intent.Document) ir.Source {
	return ir.Source{Kind: d.Kind, Namespace: d.Meta.Namespace, Name: d.Meta.Name, Pos: d.Pos}
}

func (r *resolver) checkName(d *intent.Document, path, name string) bool {
	if name == "" {
		return false // reported by the decoder as missing
	}
	if len(name) > 63 || !dns1123Label.MatchString(name) {
		r.diags.Add(diag.CodeInvalidName, d.PosOf(path), "%s: %q is not a DNS-1123 label (lower case letters, digits and '-', at most 63 characters)", path, name)
		return false
	}
	return true
}

func (r *resolver) mesh(docs []*intent.Document) {
	m := &r.model.Mesh
	*m = ir.Mesh{
		Name: "default", Model: "multi-primary", TrustDomain: DefaultTrustDomain, MTLS: "strict", DefaultDeny: true,
		RootNamespace: DefaultRootNamespace, GatewayNamespaces: []string{DefaultRootNamespace},
		IntentcNamespace: DefaultIntentcNamespace, EmitNamespaces: true, PathNormalization: "BASE",
		IngressGateway: ir.IngressGateway{Namespace: DefaultIngressNamespace, ServiceAccount: DefaultIngressSA,
			Selector: map[string]string{"istio": "ingressgateway"}, Ports: []int32{80, 443}},
	}
	if len(docs) == 0 {
		return
	}
	for _, extra := range docs[1:] {
		r.diags.Add(diag.CodeMultipleMesh, extra.Pos, "an intent holds at most one Mesh; %s is a second", extra.Ref()).
			WithRelated(docs[0].Pos, "first Mesh defined here")
	}
	d := docs[0]
	spec := d.Object.(*intent.Mesh).Spec
	m.Name = d.Meta.Name
	m.Src = src(d)
	m.Model = cmp.Or(spec.Model, m.Model)
	m.TrustDomain = cmp.Or(spec.TrustDomain, m.TrustDomain)
	m.MTLS = cmp.Or(spec.MTLS, m.MTLS)
	if m.MTLS == "permissive" {
		r.diags.Add(diag.CodePermissiveMesh, d.PosOf("spec.mtls"), "mtls: permissive accepts plaintext from any caller; keep it for a migration window only")
	}
	if spec.DefaultDeny != nil {
		m.DefaultDeny = *spec.DefaultDeny
	}
	if spec.Dataplane == "ambient" {
		r.diags.Add(diag.CodeAmbient, d.PosOf("spec.dataplane"), "the ambient data plane is not supported yet; intentc would emit sidecar rules that mean something else there")
	}
	m.PathNormalization = cmp.Or(spec.PathNormalization, m.PathNormalization)
	if ig := spec.IngressGateway; ig != nil {
		m.IngressGateway.Namespace = cmp.Or(ig.Namespace, m.IngressGateway.Namespace)
		m.IngressGateway.ServiceAccount = cmp.Or(ig.ServiceAccount, m.IngressGateway.ServiceAccount)
		if len(ig.Selector) > 0 {
			m.IngressGateway.Selector = ig.Selector
		}
		if len(ig.Ports) > 0 {
			m.IngressGateway.Ports = slices.Clone(ig.Ports)
			for i, p := range ig.Ports {
				r.port(d, fmt.Sprintf("spec.ingressGateway.ports[%d]", i), p, 1, 65535)
			}
		}
	}
	if ns := spec.Namespaces; ns != nil {
		m.RootNamespace = cmp.Or(ns.Istio, m.RootNamespace)
		if len(ns.Gateways) > 0 {
			m.GatewayNamespaces = slices.Clone(ns.Gateways)
		} else {
			m.GatewayNamespaces = []string{m.RootNamespace}
		}
		m.IntentcNamespace = cmp.Or(ns.Intentc, m.IntentcNamespace)
		m.EmitNamespaces = !ns.OwnedElsewhere
	}
	if b := spec.Baseline; b != nil {
		for _, s := range b.Scrapers {
			m.Baseline.Scrapers = append(m.Baseline.Scrapers, ir.PeerSelector{Namespace: s.Namespace, PodLabels: s.PodLabels, Ports: s.Ports})
		}
		for _, s := range b.Telemetry {
			m.Baseline.Telemetry = append(m.Baseline.Telemetry, ir.PeerSelector{Namespace: s.Namespace, PodLabels: s.PodLabels, Ports: s.Ports})
		}
		for _, w := range b.APIServerAccess {
			m.Baseline.APIServerAccess = append(m.Baseline.APIServerAccess, ir.WorkloadRef{Namespace: w.Namespace, ServiceAccount: w.ServiceAccount})
		}
		m.Baseline.NodeLocalDNS = b.NodeLocalDNS
	}
	r.federation(d, spec.Federation) // federated.go
}

// prefixes parses CIDRs, reporting each bad one at its own position.
func (r *resolver) prefixes(d *intent.Document, path string, in []string) []netip.Prefix {
	var out []netip.Prefix
	for i, s := range in {
		p := fmt.Sprintf("%s[%d]", path, i)
		if pfx, ok := r.prefix(d, p, s); ok {
			out = append(out, pfx)
		}
	}
	return out
}

func (r *resolver) prefix(d *intent.Document, path, s string) (netip.Prefix, bool) {
	pfx, err := netip.ParsePrefix(s)
	if err != nil {
		r.diags.Add(diag.CodeInvalidCIDR, d.PosOf(path), "%s: %q is not a CIDR (for example 10.244.0.0/16)", path, s)
		return netip.Prefix{}, false
	}
	if pfx.Masked() != pfx {
		r.diags.Add(diag.CodeInvalidCIDR, d.PosOf(path), "%s: %q has host bits set; did you mean %s?", path, s, pfx.Masked())
		return netip.Prefix{}, false
	}
	return pfx, true
}

var hostnameRE = regexp.MustCompile(`^(\*\.)?([a-z0-9]([-a-z0-9]*[a-z0-9])?)(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)

// address accepts an IP address or a DNS host name.
func (r *resolver) address(d *intent.Document, path, s string, wildcard bool) bool {
	if _, err := netip.ParseAddr(s); err == nil {
		return true
	}
	looksNumeric := strings.Trim(s, "0123456789.") == ""
	if !looksNumeric && len(s) <= 253 && hostnameRE.MatchString(s) && (wildcard || !strings.HasPrefix(s, "*.")) {
		return true
	}
	r.diags.Add(diag.CodeInvalidAddress, d.PosOf(path), "%s: %q is neither an IP address nor a DNS host name", path, s)
	return false
}

func (r *resolver) port(d *intent.Document, path string, p int32, min, max int32) bool {
	if p < min || p > max {
		r.diags.Add(diag.CodeInvalidPort, d.PosOf(path), "%s: %d is outside %d-%d", path, p, min, max)
		return false
	}
	return true
}

func (r *resolver) cluster(d *intent.Document) {
	spec := d.Object.(*intent.MeshCluster).Spec
	if !r.checkName(d, "metadata.name", d.Meta.Name) {
		return
	}
	c := &ir.Cluster{
		Name: d.Meta.Name, Platform: spec.Platform, ClusterID: d.Meta.Name, Network: spec.Network,
		Region: spec.Region, Zone: spec.Zone, TrustDomain: cmp.Or(spec.TrustDomain, r.model.Mesh.TrustDomain),
		CNI: spec.CNI, Src: src(d),
	}
	if spec.OpenShift != nil {
		c.MeshFlavor = spec.OpenShift.MeshFlavor
	}
	if c.Platform == "openshift" {
		c.MeshFlavor = cmp.Or(c.MeshFlavor, "ossm3")
		if c.MeshFlavor == "ossm2" {
			r.diags.Add(diag.CodeOSSM2, d.PosOf("spec.openshift.meshFlavor"),
				"OpenShift Service Mesh 2 creates its own NetworkPolicies (manageNetworkPolicy) that open every mesh namespace; set spec.security.manageNetworkPolicy: false in the ServiceMeshControlPlane")
		}
	}
	if c.Platform == "openstack" && spec.OpenStack == nil {
		r.diags.Add(diag.CodeNoOpenStack, d.PosOf("spec.platform"), "platform openstack without spec.openstack: no security group is emitted for %s", c.Name)
	}
	if iv := spec.Istio; iv != nil {
		c.ClusterID = cmp.Or(iv.ClusterID, c.ClusterID)
		if iv.Network != "" && iv.Network != spec.Network {
			r.diags.Add(diag.CodeIstioNetworkMismatch, d.PosOf("spec.istio.network"),
				"spec.istio.network %q contradicts spec.network %q; they must be equal", iv.Network, spec.Network).
				WithRelated(d.PosOf("spec.network"), "spec.network set here")
		}
	}
	if cidrs := spec.CIDRs; cidrs != nil {
		c.Pods = r.prefixes(d, "spec.cidrs.pods", cidrs.Pods)
		c.ServiceNets = r.prefixes(d, "spec.cidrs.services", cidrs.Services)
		c.Nodes = r.prefixes(d, "spec.cidrs.nodes", cidrs.Nodes)
		c.Egress = r.prefixes(d, "spec.cidrs.egress", cidrs.Egress)
	}
	if a := spec.APIServer; a != nil {
		if r.address(d, "spec.apiServer.address", a.Address, false) {
			c.APIServer = &ir.Endpoint{Address: a.Address, Port: cmp.Or(a.Port, 6443), Pos: d.PosOf("spec.apiServer.address")}
			r.port(d, "spec.apiServer.port", c.APIServer.Port, 1, 65535)
		}
	}
	if g := spec.EastWestGateway; g != nil {
		ew := &ir.EastWestGateway{
			Address: g.Address, Port: cmp.Or(g.Port, DefaultEastWestPort), NodePort: g.NodePort,
			Namespace: cmp.Or(g.Namespace, r.model.Mesh.GatewayNamespaces[0]),
			Service:   cmp.Or(g.Service, DefaultEastWestService),
			Selector:  g.Selector,
		}
		if len(ew.Selector) == 0 {
			ew.Selector = map[string]string{"istio": "eastwestgateway"}
		}
		ew.Pos = d.PosOf("spec.eastWestGateway.address")
		ok := r.labels(d, "spec.eastWestGateway.selector", g.Selector)
		ok = r.address(d, "spec.eastWestGateway.address", g.Address, false) && ok
		ok = r.port(d, "spec.eastWestGateway.port", ew.Port, 1, 65535) && ok
		if ew.NodePort != 0 {
			ok = r.port(d, "spec.eastWestGateway.nodePort", ew.NodePort, 30000, 32767) && ok
		}
		if !slices.Contains(r.model.Mesh.GatewayNamespaces, ew.Namespace) {
			r.diags.Add(diag.CodeInvalidValue, d.PosOf("spec.eastWestGateway.namespace"),
				"spec.eastWestGateway.namespace %q is not one of the Mesh's gateway namespaces %v", ew.Namespace, r.model.Mesh.GatewayNamespaces)
			ok = false
		}
		if ok {
			c.EastWest = ew
		}
	}
	if o := spec.OpenStack; o != nil {
		osp := &ir.OpenStack{Cloud: o.Cloud, Project: o.Project, SecurityGroupMode: "owned", LBProvider: "amphora"}
		if sg := o.SecurityGroups; sg != nil {
			osp.SecurityGroupMode = cmp.Or(sg.Mode, osp.SecurityGroupMode)
			osp.SecurityGroupName = sg.Name
		}
		if lb := o.LoadBalancer; lb != nil {
			osp.LBProvider = cmp.Or(lb.Provider, osp.LBProvider)
			if lb.MemberSubnet != "" {
				osp.LBMemberSubnet, osp.HasLBMemberSubnet = r.prefix(d, "spec.openstack.loadBalancer.memberSubnet", lb.MemberSubnet)
			}
		}
		osp.SecurityGroupName = cmp.Or(osp.SecurityGroupName, "intentc-"+c.Name)
		c.OpenStack = osp
	}
	r.clusters[c.Name] = c
	r.networks[c.Network] = true
	r.model.Clusters = append(r.model.Clusters, c)
}

func (r *resolver) clusterChecks() {
	clusters := slices.Clone(r.model.Clusters)
	slices.SortFunc(clusters, func(a, b *ir.Cluster) int { return cmp.Compare(a.Name, b.Name) })
	ids := map[string]*ir.Cluster{}
	var local, other []*ir.Cluster
	for _, c := range clusters {
		if first, dup := ids[c.ClusterID]; dup {
			r.diags.Add(diag.CodeDuplicateClusterID, r.doc(c.Src).PosOf("spec.istio.clusterID"),
				"Istio cluster ID %q is used by %s and %s", c.ClusterID, first.Name, c.Name).
				WithRelated(first.Src.Pos, "%s defined here", first.Name)
		}
		ids[c.ClusterID] = c
		if c.TrustDomain == DefaultTrustDomain {
			local = append(local, c)
		} else {
			other = append(other, c)
		}
	}
	if len(local) > 0 && len(other) > 0 {
		for _, c := range local {
			r.diags.Add(diag.CodeMixedTrustDomain, r.doc(c.Src).PosOf("spec.trustDomain"),
				"cluster %s uses trust domain cluster.local while %s uses %q; cluster.local means \"the local domain\" on each sidecar, so give every cluster its real trust domain",
				c.Name, other[0].Name, other[0].TrustDomain).
				WithRelated(other[0].Src.Pos, "%s defined here", other[0].Name)
		}
	}
}

func (r *resolver) doc(s ir.Source) *intent.Document { return r.docs[s.Ref()] }

// labels checks label keys and values as Kubernetes does: they end up
// verbatim in Istio and NetworkPolicy selectors, where the API server would
// reject them, or worse, they would select nothing.
func (r *resolver) labels(d *intent.Document, path string, m map[string]string) bool {
	ok := true
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		p := path + "." + k
		if errs := validation.IsQualifiedName(k); len(errs) > 0 {
			r.diags.Add(diag.CodeInvalidLabels, d.KeyPosOf(p), "%s: label key %q is invalid: %s", path, k, errs[0])
			ok = false
		}
		if errs := validation.IsValidLabelValue(m[k]); len(errs) > 0 {
			r.diags.Add(diag.CodeInvalidLabels, d.PosOf(p), "%s: label value %q is invalid: %s", p, m[k], errs[0])
			ok = false
		}
	}
	return ok
}

func (r *resolver) unknownCluster(d *intent.Document, path, name string) {
	names := make([]string, 0, len(r.clusters))
	for n := range r.clusters {
		names = append(names, n)
	}
	slices.Sort(names)
	msg := fmt.Sprintf("%s: unknown cluster %q", path, name)
	if s := intent.Suggest(name, names); s != "" {
		msg += fmt.Sprintf("; did you mean %q?", s)
	}
	r.diags.Add(diag.CodeUnknownCluster, d.PosOf(path), "%s", msg)
}

func (r *resolver) duration(d *intent.Document, path, s string) (time.Duration, bool) {
	if s == "" {
		return 0, true
	}
	v, err := time.ParseDuration(s)
	if err != nil || v < time.Millisecond {
		r.diags.Add(diag.CodeInvalidDuration, d.PosOf(path), "%s: %q is not a duration of at least 1ms (for example 500ms, 2s, 1m)", path, s)
		return 0, false
	}
	return v, true
}

func (r *resolver) ports(d *intent.Document, path string, in []intent.ServicePort) []*ir.Port {
	var out []*ir.Port
	names := map[string]int{}
	numbers := map[int32]int{}
	for i, sp := range in {
		p := fmt.Sprintf("%s[%d]", path, i)
		port := &ir.Port{
			Name: sp.Name, Port: sp.Port, TargetPort: cmp.Or(sp.TargetPort, sp.Port),
			Protocol: cmp.Or(sp.Protocol, ir.ProtoTCP), Permissive: sp.MTLS == "permissive", Pos: d.PosOf(p),
		}
		ok := r.checkName(d, p+".name", sp.Name)
		ok = r.port(d, p+".port", sp.Port, 1, 65535) && ok
		if sp.TargetPort != 0 {
			ok = r.port(d, p+".targetPort", sp.TargetPort, 1, 65535) && ok
		}
		if j, dup := names[sp.Name]; dup && sp.Name != "" {
			r.diags.Add(diag.CodeDuplicatePort, d.PosOf(p+".name"), "%s: port name %q is also used by %s[%d]", p, sp.Name, path, j).
				WithRelated(d.PosOf(fmt.Sprintf("%s[%d]", path, j)), "first used here")
			ok = false
		}
		if j, dup := numbers[sp.Port]; dup && sp.Port != 0 {
			r.diags.Add(diag.CodeDuplicatePort, d.PosOf(p+".port"), "%s: port %d is also used by %s[%d]", p, sp.Port, path, j).
				WithRelated(d.PosOf(fmt.Sprintf("%s[%d]", path, j)), "first used here")
			ok = false
		}
		names[sp.Name], numbers[sp.Port] = i, i
		if ok {
			out = append(out, port)
		}
	}
	return out
}

func (r *resolver) service(d *intent.Document) {
	spec := d.Object.(*intent.MeshService).Spec
	ok := r.checkName(d, "metadata.name", d.Meta.Name)
	ok = r.checkName(d, "metadata.namespace", d.Meta.Namespace) && ok
	if !ok {
		return
	}
	if d.Meta.Labels[ambientLabel] == "ambient" {
		r.diags.Add(diag.CodeAmbient, d.PosOf("metadata.labels."+ambientLabel), "%s is labelled for the ambient data plane, which intentc does not support yet", d.Ref())
		return
	}
	if r.model.Mesh.NeverManaged(d.Meta.Namespace) {
		r.diags.Add(diag.CodeNeverManagedNamespace, d.PosOf("metadata.namespace"),
			"namespace %q is never managed by intentc (control plane, gateways or system); place the service in an application namespace", d.Meta.Namespace)
		return
	}
	s := &ir.Service{
		Name: d.Meta.Name, Namespace: d.Meta.Namespace,
		ServiceAccount: cmp.Or(spec.ServiceAccount, d.Meta.Name),
		Selector:       spec.Selector,
		Split:          cmp.Or(spec.Split, ir.SplitWeighted),
		Src:            src(d),
	}
	if len(s.Selector) == 0 {
		s.Selector = map[string]string{"app": d.Meta.Name}
	}
	// Bad labels are reported but the service stays, so references to it
	// resolve; a compile with errors emits nothing anyway.
	r.labels(d, "spec.selector", spec.Selector)
	s.Ports = r.ports(d, "spec.ports", spec.Ports)

	// Placement and weights.
	var keys []string
	var weights []int64
	var total int64
	seen := map[string]int{}
	named := map[string]bool{} // every cluster the placement names, valid or not
	for _, p := range spec.Placement {
		named[p.Cluster] = true
	}
	for i, p := range spec.Placement {
		path := fmt.Sprintf("spec.placement[%d]", i)
		c := r.clusters[p.Cluster]
		if c == nil {
			if p.Cluster != "" {
				r.unknownCluster(d, path+".cluster", p.Cluster)
			}
			continue
		}
		if j, dup := seen[p.Cluster]; dup {
			r.diags.Add(diag.CodeDuplicatePlacement, d.PosOf(path+".cluster"), "%s is placed in %s twice", s.Name, p.Cluster).
				WithRelated(d.PosOf(fmt.Sprintf("spec.placement[%d]", j)), "first placed here")
			continue
		}
		seen[p.Cluster] = i
		w := int32(1)
		if p.Weight != nil {
			w = *p.Weight
		}
		if w < 0 {
			r.diags.Add(diag.CodeNegativeWeight, d.PosOf(path+".weight"), "%s.weight: %d is negative; weights are relative shares", path, w)
			continue
		}
		total += int64(w)
		s.Placements = append(s.Placements, &ir.Placement{Cluster: c, Weight: w, Pos: d.PosOf(path)})
	}
	if len(s.Placements) > 0 && total == 0 {
		r.diags.Add(diag.CodeZeroWeightTotal, d.KeyPosOf("spec.placement"), "placement weights of %s sum to 0, so no cluster would receive traffic", s.Name)
		s.Placements = nil
	}
	slices.SortFunc(s.Placements, func(a, b *ir.Placement) int { return cmp.Compare(a.Cluster.Name, b.Cluster.Name) })
	for _, p := range s.Placements {
		keys = append(keys, p.Cluster.Name)
		weights = append(weights, int64(p.Weight))
	}
	if len(s.Placements) > 0 {
		for i, pct := range Percentages(keys, weights) {
			s.Placements[i].Percent = pct
		}
	}

	// Failover.
	if len(spec.Failover) > 0 && s.Split == ir.SplitWeighted {
		r.diags.Add(diag.CodeFailoverWeighted, d.KeyPosOf("spec.failover"),
			"failover needs split: locality; split: weighted keeps exact shares and Istio never fails over between subsets")
	}
	for i, name := range spec.Failover {
		path := fmt.Sprintf("spec.failover[%d]", i)
		c := r.clusters[name]
		switch {
		case c == nil:
			r.unknownCluster(d, path, name)
		case !named[name]:
			r.diags.Add(diag.CodeFailoverNotPlaced, d.PosOf(path), "%s: %s is not placed in %s", path, s.Name, name)
		case s.PlacedIn(c):
			s.Failover = append(s.Failover, c)
		}
	}
	if s.Split == ir.SplitLocality && len(spec.Failover) > 0 && len(spec.Placement) > 2 {
		r.diags.Add(diag.CodeFailoverOrder, d.KeyPosOf("spec.failover"),
			"failover order is not enforced: Istio cannot combine distribute with failover, so an unhealthy cluster's share moves to the others in proportion to their weights")
	}
	if s.Split == ir.SplitLocality {
		loc := map[string]*ir.Placement{}
		for _, p := range s.Placements {
			if p.Cluster.Region == "" {
				r.diags.Add(diag.CodeLocalityNoRegion, p.Pos, "split: locality distributes by region, but cluster %s has no spec.region", p.Cluster.Name)
				continue
			}
			key := p.Cluster.Region + "/" + p.Cluster.Zone
			if q, dup := loc[key]; dup {
				r.diags.Add(diag.CodeLocalityNoRegion, p.Pos, "split: locality needs a distinct locality per cluster, but %s and %s are both in %s", q.Cluster.Name, p.Cluster.Name, strings.TrimSuffix(key, "/")).
					WithRelated(q.Pos, "%s placed here", q.Cluster.Name)
			}
			loc[key] = p
		}
	}

	// Routes.
	for i, rt := range spec.Routes {
		path := fmt.Sprintf("spec.routes[%d]", i)
		route := &ir.Route{Headers: rt.Match.Headers, PathPrefix: rt.Match.PathPrefix, Pos: d.PosOf(path)}
		if len(rt.Match.Headers) == 0 && rt.Match.PathPrefix == "" {
			if !d.Has(path + ".match") {
				continue // reported by the decoder as a missing field
			}
			r.diags.Add(diag.CodeRouteEmpty, d.PosOf(path+".match"), "%s.match: a route needs headers or pathPrefix; the split is already the default route", path)
			continue
		}
		if !s.HasL7Port() && len(s.Ports) > 0 {
			r.diags.Add(diag.CodeL7OnTCP, d.PosOf(path+".match"), "%s.match: header and path matches need an http, http2 or grpc port; %s has none", path, s.Name)
			continue
		}
		var rkeys []string
		var rweights []int64
		var rtotal int64
		okRoute := true
		for j, to := range rt.To {
			tp := fmt.Sprintf("%s.to[%d]", path, j)
			c := r.clusters[to.Cluster]
			switch {
			case c == nil:
				if to.Cluster != "" {
					r.unknownCluster(d, tp+".cluster", to.Cluster)
				}
				okRoute = false
				continue
			case !named[to.Cluster]:
				r.diags.Add(diag.CodeRouteNotPlaced, d.PosOf(tp+".cluster"), "%s: %s is not placed in %s, so nothing there can serve this route", tp, s.Name, to.Cluster)
				okRoute = false
				continue
			case !s.PlacedIn(c):
				okRoute = false // the placement itself is in error, reported there
				continue
			}
			w := int32(1)
			if to.Weight != nil {
				w = *to.Weight
			}
			if w < 0 {
				r.diags.Add(diag.CodeNegativeWeight, d.PosOf(tp+".weight"), "%s.weight: %d is negative", tp, w)
				okRoute = false
				continue
			}
			if slices.Contains(rkeys, c.Name) {
				r.diags.Add(diag.CodeDuplicatePlacement, d.PosOf(tp+".cluster"), "%s: %s is named twice in this route", tp, c.Name)
				okRoute = false
				continue
			}
			rtotal += int64(w)
			rkeys = append(rkeys, c.Name)
			rweights = append(rweights, int64(w))
			route.To = append(route.To, &ir.RouteDest{Cluster: c})
		}
		if !okRoute || len(route.To) == 0 {
			continue
		}
		if rtotal == 0 {
			r.diags.Add(diag.CodeZeroWeightTotal, d.PosOf(path+".to"), "%s.to: weights sum to 0", path)
			continue
		}
		for k, pct := range Percentages(rkeys, rweights) {
			route.To[k].Percent = pct
		}
		s.Routes = append(s.Routes, route)
	}

	// Resilience.
	cb := ir.CircuitBreaker{ConsecutiveErrors: 5, Interval: 10 * time.Second, BaseEjectionTime: 30 * time.Second, MaxEjectionPercent: 50}
	if rs := spec.Resilience; rs != nil {
		s.Resil.Timeout, _ = r.duration(d, "spec.resilience.timeout", rs.Timeout)
		if rt := rs.Retries; rt != nil {
			if rt.Attempts < 0 {
				r.diags.Add(diag.CodeInvalidValue, d.PosOf("spec.resilience.retries.attempts"), "retries.attempts: %d is negative", rt.Attempts)
			} else {
				ptt, _ := r.duration(d, "spec.resilience.retries.perTryTimeout", rt.PerTryTimeout)
				s.Resil.Retries = &ir.Retries{Attempts: rt.Attempts, PerTryTimeout: ptt, RetryOn: rt.RetryOn}
			}
		}
		if c := rs.CircuitBreaker; c != nil {
			if c.ConsecutiveErrors < 0 {
				r.diags.Add(diag.CodeInvalidValue, d.PosOf("spec.resilience.circuitBreaker.consecutiveErrors"), "consecutiveErrors: %d is negative", c.ConsecutiveErrors)
			} else if c.ConsecutiveErrors > 0 {
				cb.ConsecutiveErrors = c.ConsecutiveErrors
			}
			if v, ok := r.duration(d, "spec.resilience.circuitBreaker.interval", c.Interval); ok && v > 0 {
				cb.Interval = v
			}
			if v, ok := r.duration(d, "spec.resilience.circuitBreaker.baseEjectionTime", c.BaseEjectionTime); ok && v > 0 {
				cb.BaseEjectionTime = v
			}
			if c.MaxEjectionPercent < 0 || c.MaxEjectionPercent > 100 {
				r.diags.Add(diag.CodeInvalidValue, d.PosOf("spec.resilience.circuitBreaker.maxEjectionPercent"), "maxEjectionPercent: %d is outside 0-100", c.MaxEjectionPercent)
			} else if c.MaxEjectionPercent > 0 {
				cb.MaxEjectionPercent = c.MaxEjectionPercent
			}
		}
		if cp := rs.ConnectionPool; cp != nil {
			s.Resil.ConnectionPool = &ir.ConnectionPool{
				MaxConnections: cp.MaxConnections, MaxPendingRequests: cp.MaxPendingRequests,
				MaxRequests: cp.MaxRequests, MaxRequestsPerConnection: cp.MaxRequestsPerConnection,
			}
		}
	}
	s.Resil.CircuitBreaker = cb

	if len(s.Placements) == 0 || len(s.Ports) == 0 {
		return // errors reported; a service with no placement or port emits nothing
	}
	r.services[s.Namespace+"/"+s.Name] = s
	r.svcDocs[s] = d
	r.model.Services = append(r.model.Services, s)
}

func (r *resolver) externalService(d *intent.Document) {
	spec := d.Object.(*intent.ExternalService).Spec
	ok := r.checkName(d, "metadata.name", d.Meta.Name)
	ok = r.checkName(d, "metadata.namespace", d.Meta.Namespace) && ok
	if !ok {
		return
	}
	e := &ir.External{Name: d.Meta.Name, Namespace: d.Meta.Namespace, Src: src(d)}
	for i, h := range spec.Hosts {
		if r.address(d, fmt.Sprintf("spec.hosts[%d]", i), h, true) {
			e.Hosts = append(e.Hosts, h)
		}
	}
	e.CIDRs = r.prefixes(d, "spec.cidrs", spec.CIDRs)
	e.Ports = r.ports(d, "spec.ports", spec.Ports)
	if len(spec.Hosts) == 0 && len(spec.CIDRs) == 0 {
		r.diags.Add(diag.CodeMissingField, d.PosOf("spec"), "spec: an ExternalService needs hosts or cidrs")
	}
	if len(spec.CIDRs) == 0 && len(spec.Hosts) > 0 {
		for _, p := range e.Ports {
			if p.Protocol == ir.ProtoTCP {
				r.diags.Add(diag.CodeTCPExternalNoCIDRs, p.Pos,
					"port %s is tcp and %s declares no cidrs: sidecars route TCP by address, so the call works only with Istio's DNS capture and address auto-allocation on; declare cidrs", p.Name, e.Name)
				break
			}
		}
	}
	r.external[e.Namespace+"/"+e.Name] = e
	r.model.Externals = append(r.model.Externals, e)
}

// qualify turns "name" or "namespace/name" into "namespace/name".
func qualify(ref, ns string) string {
	if strings.Contains(ref, "/") {
		return ref
	}
	return ns + "/" + ref
}

func suggestKey[V any](m map[string]V, key string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return intent.Suggest(key, keys)
}

func (r *resolver) policy(d *intent.Document) {
	spec := d.Object.(*intent.AccessPolicy).Spec
	if !r.checkName(d, "metadata.name", d.Meta.Name) || !r.checkName(d, "metadata.namespace", d.Meta.Namespace) {
		return
	}
	p := &ir.Policy{Name: d.Meta.Name, Namespace: d.Meta.Namespace, Action: cmp.Or(spec.Action, ir.ActionAllow), Src: src(d)}
	ok := true
	var ports []*ir.Port
	switch {
	case spec.To.Service != "" && spec.To.External != "":
		r.diags.Add(diag.CodeInvalidValue, d.PosOf("spec.to"), "spec.to: set either service or external, not both")
		ok = false
	case spec.To.Service != "":
		key := qualify(spec.To.Service, d.Meta.Namespace)
		p.Service = r.services[key]
		if p.Service == nil {
			msg := fmt.Sprintf("spec.to.service: unknown MeshService %q", key)
			if s := suggestKey(r.services, key); s != "" {
				msg += fmt.Sprintf("; did you mean %q?", s)
			}
			r.diags.Add(diag.CodeUnknownService, d.PosOf("spec.to.service"), "%s", msg)
			ok = false
		} else {
			ports = p.Service.Ports
		}
	case spec.To.External != "":
		key := qualify(spec.To.External, d.Meta.Namespace)
		p.External = r.external[key]
		if p.External == nil {
			msg := fmt.Sprintf("spec.to.external: unknown ExternalService %q", key)
			if s := suggestKey(r.external, key); s != "" {
				msg += fmt.Sprintf("; did you mean %q?", s)
			}
			r.diags.Add(diag.CodeUnknownExternal, d.PosOf("spec.to.external"), "%s", msg)
			ok = false
		} else {
			ports = p.External.Ports
		}
	default:
		if d.Has("spec.to") {
			r.diags.Add(diag.CodeMissingField, d.PosOf("spec.to"), "spec.to: set service or external")
		}
		ok = false
	}
	if ok {
		if len(spec.To.Ports) == 0 {
			p.Ports = ports
		}
		for i, name := range spec.To.Ports {
			path := fmt.Sprintf("spec.to.ports[%d]", i)
			idx := slices.IndexFunc(ports, func(pt *ir.Port) bool { return pt.Name == name || fmt.Sprint(pt.Port) == name })
			if idx < 0 {
				names := make([]string, len(ports))
				for k, pt := range ports {
					names[k] = pt.Name
				}
				msg := fmt.Sprintf("%s: the destination has no port %q (it has %s)", path, name, strings.Join(names, ", "))
				if s := intent.Suggest(name, names); s != "" {
					msg += fmt.Sprintf("; did you mean %q?", s)
				}
				r.diags.Add(diag.CodeUnknownPort, d.PosOf(path), "%s", msg)
				ok = false
				continue
			}
			if !slices.Contains(p.Ports, ports[idx]) {
				p.Ports = append(p.Ports, ports[idx])
			}
		}
	}
	if h := spec.HTTP; h != nil {
		p.Methods, p.Paths = h.Methods, h.Paths
		for _, pt := range p.Ports {
			if !pt.IsL7() {
				r.diags.Add(diag.CodeL7OnTCP, d.PosOf("spec.http"), "spec.http: methods and paths need http, http2 or grpc ports, but port %s is %s", pt.Name, pt.Protocol).
					WithRelated(pt.Pos, "port %s declared here", pt.Name)
				ok = false
				break
			}
		}
	}
	for i, f := range spec.From {
		if peer := r.peer(d, fmt.Sprintf("spec.from[%d]", i), f); peer != nil {
			p.From = append(p.From, peer)
		} else {
			ok = false
		}
	}
	if ok {
		r.policyChecks(d, p)
		r.model.Policies = append(r.model.Policies, p)
	}
}

// policyChecks reports what a resolved policy means on the platforms: CIDR
// sources the network or mTLS cannot honour, and L7 rules that do not do
// what they seem to.
func (r *resolver) policyChecks(d *intent.Document, p *ir.Policy) {
	mesh := &r.model.Mesh
	for _, peer := range p.From {
		if peer.Kind != ir.PeerCIDR {
			continue
		}
		switch peer.Via {
		case ir.ViaDirect:
			if p.Service != nil && peer.Network != "" && !slices.ContainsFunc(p.Destinations(), func(c *ir.Cluster) bool { return c.Network == peer.Network }) {
				r.diags.Add(diag.CodeViaNotHonoured, peer.Pos,
					"%s lives on network %s, but %s runs on no cluster of that network; across networks the east-west gateway or NAT rewrites the source address, so via: direct can never match (use via: ingressGateway)",
					peer.CIDR, peer.Network, p.Service.Name)
			}
			if p.Service != nil && mesh.MTLS == "strict" && p.Action == ir.ActionAllow {
				var strict []string
				for _, pt := range p.Ports {
					if !pt.Permissive {
						strict = append(strict, pt.Name)
					}
				}
				if len(strict) > 0 {
					r.diags.Add(diag.CodeCIDROnStrictPort, peer.Pos,
						"%s on strict mTLS port(s) %s: only mesh workloads in that range can connect; a plaintext host needs the port's mtls: permissive exception",
						peer.CIDR, strings.Join(strict, ", "))
				}
			}
		case ir.ViaIngressGateway:
			if peer.IsWorld() {
				break
			}
			switch {
			case len(peer.Hosts) == 0:
				r.diags.Add(diag.CodeIngressRestriction, peer.Pos,
					"%s via ingressGateway is narrower than the internet, so the ingress gateway must check remoteIpBlocks for this destination: list the host names it serves it under in hosts", peer.CIDR)
			case mesh.NeverManaged(mesh.IngressGateway.Namespace):
				r.diags.Add(diag.CodeIngressRestriction, peer.Pos,
					"%s via ingressGateway needs a remoteIpBlocks rule on the ingress gateway, but its namespace %s is never managed; run the gateway in its own namespace (Mesh.spec.ingressGateway.namespace)",
					peer.CIDR, mesh.IngressGateway.Namespace)
			}
		}
	}
	if p.Action == ir.ActionDeny {
		for _, peer := range p.From {
			if peer.Kind == ir.PeerCIDR || len(peer.Clusters) == len(r.model.Clusters) {
				continue
			}
			var wider []string
			for _, c := range r.model.Clusters {
				if !slices.Contains(peer.Clusters, c) && slices.ContainsFunc(peer.Clusters, func(x *ir.Cluster) bool { return x.TrustDomain == c.TrustDomain }) {
					wider = append(wider, c.Name)
				}
			}
			if len(wider) > 0 {
				r.diags.Add(diag.CodeDenyClustersWider, peer.Pos,
					"layer 3 denies by identity, which is the same in %s (same trust domain), so this deny applies there too", strings.Join(wider, ", "))
			}
		}
	}
	if len(p.Methods) > 0 {
		for _, pt := range p.Ports {
			if pt.Protocol == ir.ProtoGRPC && slices.ContainsFunc(p.Methods, func(m string) bool { return m != "POST" }) {
				r.diags.Add(diag.CodeGRPCMethod, d.PosOf("spec.http.methods"), "port %s is grpc, and gRPC sends every call as POST; the other methods never match", pt.Name)
				break
			}
		}
	}
	for i, path := range p.Paths {
		if base, ok := strings.CutSuffix(path, "/*"); ok && base != "" && !slices.Contains(p.Paths, base) {
			r.diags.Add(diag.CodePathWildcard, d.PosOf(fmt.Sprintf("spec.http.paths[%d]", i)),
				"%q does not match %q itself; add %q if it is meant", path, base, base)
		}
	}
	if p.Action == ir.ActionDeny && len(p.Paths) > 0 && mesh.PathNormalization != "MERGE_SLASHES" && mesh.PathNormalization != "DECODE_AND_MERGE_SLASHES" {
		r.diags.Add(diag.CodeDenyPathNormalization, d.PosOf("spec.http.paths"),
			"a deny by path with path normalisation %s can be bypassed (//admin, %%2Fadmin); set Mesh.spec.pathNormalization to MERGE_SLASHES or DECODE_AND_MERGE_SLASHES and configure the mesh to match", mesh.PathNormalization)
	}
}

// covers reports whether deny peer d matches every caller allow peer a matches.
func covers(d, a *ir.Peer) bool {
	clustersCovered := func() bool {
		for _, c := range a.Clusters {
			if !slices.Contains(d.Clusters, c) {
				return false
			}
		}
		return true
	}
	switch d.Kind {
	case ir.PeerNamespace:
		return a.Kind != ir.PeerCIDR && a.Namespace == d.Namespace && clustersCovered()
	case ir.PeerService, ir.PeerWorkload:
		return (a.Kind == ir.PeerService || a.Kind == ir.PeerWorkload) && a.Namespace == d.Namespace &&
			a.ServiceAccount == d.ServiceAccount && len(d.PodLabels) == 0 && clustersCovered() ||
			a.Kind == d.Kind && a.Service != nil && a.Service == d.Service && clustersCovered()
	case ir.PeerCIDR:
		return a.Kind == ir.PeerCIDR && a.Via == d.Via && d.CIDR.Bits() <= a.CIDR.Bits() && d.CIDR.Contains(a.CIDR.Addr())
	}
	return false
}

// deadPolicies reports allow policies that a deny policy shadows entirely:
// every source and port denied, with no narrower L7 condition on the deny.
func (r *resolver) deadPolicies() {
	// The unconditional denies of each service, in policy order: comparing
	// every allow with every policy would be quadratic in the intent.
	denies := map[*ir.Service][]*ir.Policy{}
	for _, dn := range r.model.Policies {
		if dn.Action == ir.ActionDeny && dn.Service != nil && len(dn.Methods) == 0 && len(dn.Paths) == 0 {
			denies[dn.Service] = append(denies[dn.Service], dn)
		}
	}
	for _, a := range r.model.Policies {
		if a.Action != ir.ActionAllow || a.Service == nil {
			continue
		}
		for _, dn := range denies[a.Service] {
			portsCovered := !slices.ContainsFunc(a.Ports, func(pt *ir.Port) bool { return !slices.Contains(dn.Ports, pt) })
			peersCovered := !slices.ContainsFunc(a.From, func(ap *ir.Peer) bool {
				return !slices.ContainsFunc(dn.From, func(dp *ir.Peer) bool { return covers(dp, ap) })
			})
			if portsCovered && peersCovered {
				r.diags.Add(diag.CodeLetsNothingThrough, r.doc(a.Src).KeyPosOf("spec.from"), "%s lets nothing through: %s denies every source on every port it allows", a.Src.Ref(), dn.Src.Ref()).
					WithRelated(r.doc(dn.Src).KeyPosOf("spec.from"), "the deny is here")
				break
			}
		}
	}
}

func (r *resolver) clusterList(d *intent.Document, path string, names []string) ([]*ir.Cluster, bool) {
	ok := true
	var out []*ir.Cluster
	for i, n := range names {
		c := r.clusters[n]
		if c == nil {
			r.unknownCluster(d, fmt.Sprintf("%s[%d]", path, i), n)
			ok = false
			continue
		}
		out = append(out, c)
	}
	return out, ok
}

func (r *resolver) peer(d *intent.Document, path string, f intent.Source) *ir.Peer {
	set := 0
	for _, b := range []bool{f.Service != "", f.Namespace != "", f.Workload != nil, f.CIDR != ""} {
		if b {
			set++
		}
	}
	if set != 1 {
		r.diags.Add(diag.CodeInvalidValue, d.PosOf(path), "%s: set exactly one of service, namespace, workload or cidr", path)
		return nil
	}
	if (f.Via != "" || f.Network != "" || len(f.Hosts) > 0) && f.CIDR == "" {
		r.diags.Add(diag.CodeInvalidValue, d.PosOf(path), "%s: via, network and hosts apply to cidr sources only", path)
		return nil
	}
	if len(f.Hosts) > 0 && f.Via != ir.ViaIngressGateway {
		r.diags.Add(diag.CodeInvalidValue, d.PosOf(path+".hosts"), "%s.hosts: host names apply to via: ingressGateway only", path)
		return nil
	}
	for i, h := range f.Hosts {
		if !r.address(d, fmt.Sprintf("%s.hosts[%d]", path, i), h, true) {
			return nil
		}
	}
	p := &ir.Peer{Pos: d.PosOf(path)}
	clusters, ok := r.clusterList(d, path+".clusters", f.Clusters)
	if !ok {
		return nil
	}
	switch {
	case f.Service != "":
		key := qualify(f.Service, d.Meta.Namespace)
		s := r.services[key]
		if s == nil {
			msg := fmt.Sprintf("%s.service: unknown MeshService %q", path, key)
			if sug := suggestKey(r.services, key); sug != "" {
				msg += fmt.Sprintf("; did you mean %q?", sug)
			}
			r.diags.Add(diag.CodeUnknownService, d.PosOf(path+".service"), "%s", msg)
			return nil
		}
		p.Kind, p.Service, p.Namespace, p.ServiceAccount, p.PodLabels = ir.PeerService, s, s.Namespace, s.ServiceAccount, s.Selector
		for _, pl := range s.Placements {
			if len(clusters) == 0 || slices.Contains(clusters, pl.Cluster) {
				p.Clusters = append(p.Clusters, pl.Cluster)
			}
		}
		if len(p.Clusters) == 0 {
			r.diags.Add(diag.CodeRouteNotPlaced, d.PosOf(path+".clusters"), "%s: %s is placed in none of these clusters", path, s.Name)
			return nil
		}
		return p
	case f.Namespace != "":
		if !r.checkName(d, path+".namespace", f.Namespace) {
			return nil
		}
		p.Kind, p.Namespace = ir.PeerNamespace, f.Namespace
	case f.Workload != nil:
		w := f.Workload
		if !r.checkName(d, path+".workload.namespace", w.Namespace) || !r.checkName(d, path+".workload.serviceAccount", w.ServiceAccount) ||
			!r.labels(d, path+".workload.podLabels", w.PodLabels) {
			return nil
		}
		p.Kind, p.Namespace, p.ServiceAccount, p.PodLabels = ir.PeerWorkload, w.Namespace, w.ServiceAccount, w.PodLabels
	default:
		pfx, ok := r.prefix(d, path+".cidr", f.CIDR)
		if !ok {
			return nil
		}
		p.Kind, p.CIDR, p.Via, p.Network, p.Hosts = ir.PeerCIDR, pfx, cmp.Or(f.Via, ir.ViaDirect), f.Network, f.Hosts
		if f.Network != "" && !r.networks[f.Network] {
			r.diags.Add(diag.CodeUnknownCluster, d.PosOf(path+".network"), "%s.network: no MeshCluster is on network %q", path, f.Network)
			return nil
		}
		if len(clusters) == 0 && f.Network != "" {
			for _, c := range r.model.Clusters {
				if c.Network == f.Network {
					clusters = append(clusters, c)
				}
			}
		}
	}
	if len(clusters) == 0 {
		clusters = slices.Clone(r.model.Clusters)
	}
	slices.SortFunc(clusters, func(a, b *ir.Cluster) int { return cmp.Compare(a.Name, b.Name) })
	p.Clusters = clusters
	return p
}

// callGraph sets each service's caller clusters: the clusters of every
// source of every allow policy that names it, or every cluster when none
// does (DESIGN §3: routing is client-side, so the VirtualService lives where
// the callers are).
func (r *resolver) callGraph() {
	callers := map[*ir.Service]map[*ir.Cluster]bool{}
	for _, p := range r.model.Policies {
		if p.Service == nil || p.Action != ir.ActionAllow {
			continue
		}
		if callers[p.Service] == nil {
			callers[p.Service] = map[*ir.Cluster]bool{}
		}
		for _, peer := range p.From {
			if peer.Kind == ir.PeerCIDR && peer.Via == ir.ViaDirect {
				continue // addresses, not mesh clients: they use no routing
			}
			for _, c := range peer.Clusters {
				callers[p.Service][c] = true
			}
		}
	}
	for _, s := range r.model.Services {
		set, named := callers[s]
		for _, c := range r.model.Clusters {
			if !named || set[c] {
				s.CallerClusters = append(s.CallerClusters, c)
			}
		}
		slices.SortFunc(s.CallerClusters, func(a, b *ir.Cluster) int { return cmp.Compare(a.Name, b.Name) })
	}
}

// flatNetworkPods warns about callers that layer 2 must admit by pod
// address (another cluster on the same network) but that declare no pod
// CIDRs. Only AccessPolicy sources count: a service no policy names gets no
// NetworkPolicy, so its implicit callers need no ranges.
func (r *resolver) flatNetworkPods() {
	warned := map[*ir.Cluster]bool{}
	for _, p := range r.model.Policies {
		if p.Service == nil || p.Action != ir.ActionAllow {
			continue
		}
		for _, peer := range p.From {
			if peer.Kind == ir.PeerCIDR {
				continue
			}
			for _, c := range peer.Clusters {
				for _, pl := range p.Service.Placements {
					if c != pl.Cluster && c.Network == pl.Cluster.Network && !ir.CrossMesh(c, pl.Cluster) && len(c.Pods) == 0 && !warned[c] {
						warned[c] = true
						r.diags.Add(diag.CodeNoPodCIDRs, r.doc(c.Src).PosOf("spec.cidrs"),
							"%s calls %s in %s on the same network, where NetworkPolicy admits it by pod address, but declares no cidrs.pods", c.Name, p.Service.Name, pl.Cluster.Name).
							WithRelated(peer.Pos, "caller named here")
					}
				}
			}
		}
	}
}

// crossNetwork checks that every placement reached from another network has
// a gateway to be reached through, and that the callers can be admitted by it.
func (r *resolver) crossNetwork() {
	warnedEgress := map[*ir.Cluster]bool{}
	warnedNodePort := map[*ir.Cluster]bool{}
	r.flatNetworkPods()
	for _, s := range r.model.Services {
		d := r.svcDocs[s]
		for _, pl := range s.Placements {
			for _, c := range s.CallerClusters {
				if c.Network == pl.Cluster.Network && !ir.CrossMesh(c, pl.Cluster) {
					continue // the same network and control plane: pod to pod
				}
				if ew, osp := pl.Cluster.EastWest, pl.Cluster.OpenStack; ew != nil && osp != nil && ew.NodePort == 0 &&
					(osp.LBProvider == "amphora" || osp.LBProvider == "ovn") && !warnedNodePort[pl.Cluster] {
					warnedNodePort[pl.Cluster] = true
					r.diags.Add(diag.CodeNoNodePort, r.doc(pl.Cluster.Src).PosOf("spec.eastWestGateway"),
						"%s's %s load balancer forwards to the east-west gateway's node port, which must be pinned (eastWestGateway.nodePort) for the security group to open it", pl.Cluster.Name, osp.LBProvider)
				}
				if pl.Cluster.EastWest == nil {
					r.diags.Add(diag.CodeNoEastWestGateway, pl.Pos,
						"%s in %s is called from %s on network %s, but %s declares no eastWestGateway", s.Name, pl.Cluster.Name, c.Name, c.Network, pl.Cluster.Name).
						WithRelated(pl.Cluster.Src.Pos, "%s defined here", pl.Cluster.Name)
					break
				}
				if len(c.Egress) == 0 && !warnedEgress[c] {
					warnedEgress[c] = true
					r.diags.Add(diag.CodeNoEgressCIDR, r.doc(c.Src).PosOf("spec.cidrs"),
						"%s calls across networks (%s in %s) but declares no cidrs.egress, so the east-west gateway cannot admit it by source range and stays open to any source", c.Name, s.Name, pl.Cluster.Name).
						WithRelated(d.PosOf("spec.placement"), "placement here")
				}
			}
		}
	}
}
