package istio

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	apinet "istio.io/api/networking/v1"
	clientnet "istio.io/client-go/pkg/apis/networking/v1"
	"k8s.io/apimachinery/pkg/api/meta"

	"github.com/intentc/intentc/compiler/intent"
	"github.com/intentc/intentc/compiler/ir"
	"github.com/intentc/intentc/compiler/resolve"
	_ "github.com/intentc/intentc/internal/testflags" // accept -update like every test binary
)

// fedSeed is the seed's scenario: inventory 70% in the data centre's mesh,
// 30% in the public cloud's, called from both.
const fedSeed = `
apiVersion: intentc.dev/v1alpha1
kind: Mesh
metadata: {name: retail}
spec:
  model: federated
  federation: {trust: sharedRoot, trustDomainAliases: [dc1.example.com, public.example.com]}
---
apiVersion: intentc.dev/v1alpha1
kind: MeshCluster
metadata: {name: openstack-prod}
spec:
  platform: kubernetes
  network: net-dc1
  region: dc1
  trustDomain: dc1.example.com
  cidrs: {pods: [10.244.0.0/16], egress: [203.0.113.10/32]}
  eastWestGateway: {address: 203.0.113.20}
---
apiVersion: intentc.dev/v1alpha1
kind: MeshCluster
metadata: {name: public-prod}
spec:
  platform: kubernetes
  network: net-public
  region: eu-west-1
  zone: eu-west-1a
  trustDomain: public.example.com
  cidrs: {pods: [10.60.0.0/16], egress: [198.51.100.20/32]}
  eastWestGateway: {address: 198.51.100.30, port: 443}
---
apiVersion: intentc.dev/v1alpha1
kind: MeshService
metadata: {name: inventory, namespace: prod}
spec:
  ports: [{name: http, port: 8080, protocol: http}]
  placement: [{cluster: openstack-prod, weight: 70}, {cluster: public-prod, weight: 30}]
---
apiVersion: intentc.dev/v1alpha1
kind: MeshService
metadata: {name: frontend, namespace: web}
spec:
  ports: [{name: http, port: 80, targetPort: 8080, protocol: http}]
  placement: [{cluster: public-prod}]
---
apiVersion: intentc.dev/v1alpha1
kind: AccessPolicy
metadata: {name: readers, namespace: prod}
spec:
  to: {service: inventory}
  from: [{service: web/frontend}, {namespace: batch, clusters: [openstack-prod]}]
---
apiVersion: intentc.dev/v1alpha1
kind: AccessPolicy
metadata: {name: internet, namespace: web}
spec:
  to: {service: frontend}
  from: [{cidr: 0.0.0.0/0, via: ingressGateway, network: net-public}]
`

// fedModel resolves an intent that must be free of errors.
func fedModel(t *testing.T, src string) *ir.Model {
	t.Helper()
	parsed, _, ds := intent.ParseFile("test.yaml", []byte(src))
	if ds.HasErrors() {
		t.Fatalf("parse:\n%s", ds.Error())
	}
	m, ds := resolve.Resolve(&intent.Set{Docs: parsed, Files: []string{"test.yaml"}})
	if ds.HasErrors() {
		t.Fatalf("resolve:\n%s", ds.Error())
	}
	return m
}

// fedObject returns the cluster's object of that kind, namespace and name.
func fedObject[T any](t *testing.T, objs []ir.Object, cluster, kind, ns, name string) T {
	t.Helper()
	var zero T
	for _, o := range objs {
		acc, _ := meta.Accessor(o.Body)
		if o.Cluster == cluster && o.Body.GetObjectKind().GroupVersionKind().Kind == kind && acc.GetNamespace() == ns && acc.GetName() == name {
			if v, ok := o.Body.(T); ok {
				return v
			}
		}
	}
	t.Fatalf("no %s %s/%s in cluster %s", kind, ns, name, cluster)
	return zero
}

type hostWeight struct {
	Host   string
	Weight int32
}

func defaultRoute(vs *clientnet.VirtualService) []hostWeight {
	var out []hostWeight
	for _, r := range vs.Spec.Http {
		if r.Name != "default" {
			continue
		}
		for _, d := range r.Route {
			out = append(out, hostWeight{d.Destination.Host, d.Weight})
		}
	}
	return out
}

func TestFederatedSeedSplit(t *testing.T) {
	objs := Emit(fedModel(t, fedSeed))
	for _, tc := range []struct {
		cluster string
		want    []hostWeight
	}{
		{"openstack-prod", []hostWeight{{"inventory.prod.svc.cluster.local", 70}, {"inventory.prod.global", 30}}},
		{"public-prod", []hostWeight{{"inventory.prod.svc.cluster.local", 30}, {"inventory.prod.global", 70}}},
	} {
		vs := fedObject[*clientnet.VirtualService](t, objs, tc.cluster, "VirtualService", "prod", "inventory")
		if d := cmp.Diff(tc.want, defaultRoute(vs)); d != "" {
			t.Errorf("%s: split (-want +got):\n%s", tc.cluster, d)
		}
		if slices.ContainsFunc(vs.Spec.Http, func(r *apinet.HTTPRoute) bool {
			return slices.ContainsFunc(r.Route, func(d *apinet.HTTPRouteDestination) bool { return d.Destination.Subset != "" })
		}) {
			t.Errorf("%s: a federated route names a subset; no mesh knows the other's subsets", tc.cluster)
		}
	}
	// Destination side, openstack-prod: its pods under the .global host, for
	// the east-west gateway only, and the *.global passthrough.
	exp := fedObject[*clientnet.ServiceEntry](t, objs, "openstack-prod", "ServiceEntry", "prod", "inventory.prod.global")
	if exp.Spec.Location != apinet.ServiceEntry_MESH_INTERNAL || exp.Spec.Resolution != apinet.ServiceEntry_STATIC ||
		!cmp.Equal(exp.Spec.WorkloadSelector.GetLabels(), map[string]string{"app": "inventory"}) ||
		!slices.Equal(exp.Spec.ExportTo, []string{"istio-system"}) || len(exp.Spec.Endpoints) > 0 {
		t.Errorf("export: %v", exp.Spec.String())
	}
	gw := fedObject[*clientnet.Gateway](t, objs, "openstack-prod", "Gateway", "istio-system", CrossMeshGateway)
	srv := gw.Spec.Servers[0]
	if srv.Port.Number != 15443 || srv.Tls.Mode != apinet.ServerTLSSettings_AUTO_PASSTHROUGH || !slices.Equal(srv.Hosts, []string{"*.global"}) {
		t.Errorf("gateway: %v", gw.Spec.String())
	}
	// Caller side, openstack-prod: the public mesh's gateway (its LB port),
	// network and locality, verified as the public mesh's identity.
	imp := fedObject[*clientnet.ServiceEntry](t, objs, "openstack-prod", "ServiceEntry", "intentc-federation", "inventory.prod.global")
	if len(imp.Spec.Endpoints) != 1 {
		t.Fatalf("import endpoints: %v", imp.Spec.Endpoints)
	}
	ep := imp.Spec.Endpoints[0]
	if ep.Address != "198.51.100.30" || ep.Network != "net-public" || ep.Locality != "eu-west-1/eu-west-1a" || ep.Ports["http"] != 443 || ep.Weight != 0 {
		t.Errorf("import endpoint: %v", ep.String())
	}
	if !slices.Equal(imp.Spec.SubjectAltNames, []string{"spiffe://public.example.com/ns/prod/sa/inventory"}) {
		t.Errorf("import subjectAltNames: %v", imp.Spec.SubjectAltNames)
	}
	if !slices.Equal(imp.Spec.ExportTo, []string{"batch"}) {
		t.Errorf("import exportTo %v, want only the caller namespace batch", imp.Spec.ExportTo)
	}
	dr := fedObject[*clientnet.DestinationRule](t, objs, "openstack-prod", "DestinationRule", "intentc-federation", "inventory.prod.global")
	if dr.Spec.TrafficPolicy.GetTls().GetMode() != apinet.ClientTLSSettings_ISTIO_MUTUAL || dr.Spec.TrafficPolicy.GetOutlierDetection() != nil {
		t.Errorf("import DestinationRule: %v", dr.Spec.String())
	}
	// frontend is called from public-prod only: openstack-prod neither
	// imports nor routes it.
	for _, o := range objs {
		acc, _ := meta.Accessor(o.Body)
		if o.Cluster == "openstack-prod" && strings.HasPrefix(acc.GetName(), "frontend") {
			t.Errorf("openstack-prod got %s", acc.GetName())
		}
	}
}

// visible reports whether an object in ns with exportTo is visible to
// proxies in namespace client (Istio's rules; empty exportTo is public).
func visible(ns string, exportTo []string, client string) bool {
	if len(exportTo) == 0 || slices.Contains(exportTo, "*") {
		return true
	}
	for _, e := range exportTo {
		if e == client || e == "." && ns == client {
			return true
		}
	}
	return false
}

// TestFederatedVisibility checks, over several intents, what no offline
// analyzer checks: Istio keys a service by host and namespace, and a proxy
// that sees two ServiceEntries for one host picks one of them.
//   - no two ServiceEntries of one host share a namespace;
//   - the east-west gateway's namespace sees exactly the export, if any;
//   - no other namespace sees more than one entry of a host;
//   - every .global destination of a VirtualService is visible in every
//     namespace the VirtualService is exported to, with an ISTIO_MUTUAL
//     DestinationRule visible there too.
func TestFederatedVisibility(t *testing.T) {
	three := strings.NewReplacer(
		"placement: [{cluster: openstack-prod, weight: 70}, {cluster: public-prod, weight: 30}]",
		"placement: [{cluster: openstack-prod, weight: 60}, {cluster: public-prod, weight: 30}, {cluster: third, weight: 10}]",
		"{namespace: batch, clusters: [openstack-prod]}", "{namespace: batch, clusters: [openstack-prod, lonely]}, {namespace: prod}",
	).Replace(fedSeed) + `
---
apiVersion: intentc.dev/v1alpha1
kind: MeshCluster
metadata: {name: third}
spec: {platform: kubernetes, network: net-3, trustDomain: dc1.example.com, cidrs: {egress: [192.0.2.1/32]}, eastWestGateway: {address: 192.0.2.10}}
---
apiVersion: intentc.dev/v1alpha1
kind: MeshCluster
metadata: {name: lonely}
spec: {platform: kubernetes, network: net-4, trustDomain: public.example.com, cidrs: {egress: [192.0.2.129/32]}}
`
	tcp := strings.Replace(fedSeed, "ports: [{name: http, port: 8080, protocol: http}]",
		"ports: [{name: http, port: 8080, protocol: http}, {name: pg, port: 5432, targetPort: 15432, protocol: tcp}, {name: tls, port: 8443, protocol: tls}]", 1)
	for name, src := range map[string]string{"seed": fedSeed, "three meshes": three, "tcp and tls": tcp} {
		t.Run(name, func(t *testing.T) {
			m := fedModel(t, src)
			objs := Emit(m)
			type entry struct {
				cluster, ns, host string
				exportTo          []string
			}
			var entries []entry
			drs := map[string][]*clientnet.DestinationRule{}
			for _, o := range objs {
				switch b := o.Body.(type) {
				case *clientnet.ServiceEntry:
					entries = append(entries, entry{o.Cluster, b.Namespace, b.Spec.Hosts[0], b.Spec.ExportTo})
				case *clientnet.DestinationRule:
					drs[o.Cluster] = append(drs[o.Cluster], b)
				}
			}
			for i, a := range entries {
				for _, b := range entries[:i] {
					if a.cluster == b.cluster && a.host == b.host && a.ns == b.ns {
						t.Errorf("%s: two ServiceEntries for %s in namespace %s", a.cluster, a.host, a.ns)
					}
				}
			}
			seeing := func(cluster, host, client string) []entry {
				var out []entry
				for _, e := range entries {
					if e.cluster == cluster && e.host == host && visible(e.ns, e.exportTo, client) {
						out = append(out, e)
					}
				}
				return out
			}
			checked := 0
			for _, c := range m.Clusters {
				if c.EastWest == nil {
					continue // a caller-only cluster exports nothing
				}
				for _, s := range m.Services {
					gwSees := seeing(c.Name, s.GlobalHost(), c.EastWest.Namespace)
					switch {
					case m.ExportedFrom(s, c) && (len(gwSees) != 1 || gwSees[0].ns != s.Namespace):
						t.Errorf("%s: the east-west gateway sees %v for %s, want only the export", c.Name, gwSees, s.GlobalHost())
					case !m.ExportedFrom(s, c) && slices.ContainsFunc(gwSees, func(e entry) bool { return e.ns == s.Namespace }):
						t.Errorf("%s: %s is not exported but its namespace holds an entry", c.Name, s.GlobalHost())
					}
				}
			}
			for _, o := range objs {
				vs, ok := o.Body.(*clientnet.VirtualService)
				if !ok {
					continue
				}
				clients := vs.Spec.ExportTo
				if len(clients) == 0 {
					clients = []string{"some-other-namespace"}
				}
				for _, r := range vs.Spec.Http {
					for _, d := range r.Route {
						if !strings.HasSuffix(d.Destination.Host, ".global") {
							continue
						}
						for _, cl := range clients {
							if cl == "." {
								cl = vs.Namespace
							}
							checked++
							if n := len(seeing(o.Cluster, d.Destination.Host, cl)); n != 1 {
								t.Errorf("%s: VirtualService %s/%s routes to %s, which namespace %s sees %d times", o.Cluster, vs.Namespace, vs.Name, d.Destination.Host, cl, n)
							}
							if !slices.ContainsFunc(drs[o.Cluster], func(dr *clientnet.DestinationRule) bool {
								return dr.Spec.Host == d.Destination.Host && visible(dr.Namespace, dr.Spec.ExportTo, cl) &&
									dr.Spec.TrafficPolicy.GetTls().GetMode() == apinet.ClientTLSSettings_ISTIO_MUTUAL
							}) {
								t.Errorf("%s: namespace %s routes to %s without an ISTIO_MUTUAL DestinationRule", o.Cluster, cl, d.Destination.Host)
							}
						}
					}
				}
			}
			if checked == 0 {
				t.Fatal("no .global route checked: the test is vacuous")
			}
		})
	}
}

func TestFederatedWeightsAmongRemoteMeshes(t *testing.T) {
	src := strings.Replace(fedSeed,
		"placement: [{cluster: openstack-prod, weight: 70}, {cluster: public-prod, weight: 30}]",
		"placement: [{cluster: openstack-prod, weight: 60}, {cluster: public-prod, weight: 30}, {cluster: third, weight: 10}]", 1) + `
---
apiVersion: intentc.dev/v1alpha1
kind: MeshCluster
metadata: {name: third}
spec: {platform: kubernetes, network: net-3, trustDomain: dc1.example.com, cidrs: {egress: [192.0.2.1/32]}, eastWestGateway: {address: third.example.com}}
`
	objs := Emit(fedModel(t, src))
	vs := fedObject[*clientnet.VirtualService](t, objs, "openstack-prod", "VirtualService", "prod", "inventory")
	if d := cmp.Diff([]hostWeight{{"inventory.prod.svc.cluster.local", 60}, {"inventory.prod.global", 40}}, defaultRoute(vs)); d != "" {
		t.Errorf("split (-want +got):\n%s", d)
	}
	imp := fedObject[*clientnet.ServiceEntry](t, objs, "openstack-prod", "ServiceEntry", "intentc-federation", "inventory.prod.global")
	var got []hostWeight
	for _, ep := range imp.Spec.Endpoints {
		got = append(got, hostWeight{ep.Address, int32(ep.Weight)})
	}
	if d := cmp.Diff([]hostWeight{{"198.51.100.30", 30}, {"third.example.com", 10}}, got); d != "" {
		t.Errorf("endpoint weights (-want +got):\n%s", d)
	}
	if imp.Spec.Resolution != apinet.ServiceEntry_DNS {
		t.Errorf("a gateway host name needs DNS resolution, got %v", imp.Spec.Resolution)
	}
	dr := fedObject[*clientnet.DestinationRule](t, objs, "openstack-prod", "DestinationRule", "intentc-federation", "inventory.prod.global")
	if dr.Spec.TrafficPolicy.GetLoadBalancer().GetLocalityLbSetting().GetEnabled().GetValue() {
		t.Errorf("locality preference must be off among weighted meshes: %v", dr.Spec.String())
	}
}

func TestGlobalAddresses(t *testing.T) {
	src := strings.Replace(fedSeed, "ports: [{name: http, port: 8080, protocol: http}]",
		"ports: [{name: pg, port: 5432, protocol: tcp}]", 1)
	m := fedModel(t, src)
	a := globalAddresses(m)
	inv := m.Services[slices.IndexFunc(m.Services, func(s *ir.Service) bool { return s.Name == "inventory" })]
	addr, err := netip.ParseAddr(a[inv])
	if err != nil || !globalAddressRange.Contains(addr) || netip.MustParsePrefix("240.240.0.0/16").Contains(addr) {
		t.Fatalf("address %q: %v", a[inv], err)
	}
	if len(a) != 1 {
		t.Errorf("only services with a tcp port get an address: %v", a)
	}
	// Adding services moves no existing address.
	more := src
	for _, n := range []string{"a1", "a2", "a3", "a4", "a5", "a6", "a7", "a8"} {
		more += "\n---\napiVersion: intentc.dev/v1alpha1\nkind: MeshService\nmetadata: {name: " + n + ", namespace: prod}\nspec: {ports: [{name: t, port: 9000, protocol: tcp}], placement: [{cluster: openstack-prod}]}\n"
	}
	m2 := fedModel(t, more)
	b := globalAddresses(m2)
	seen := map[string]bool{}
	for s, v := range b {
		if seen[v] {
			t.Errorf("address %s given twice", v)
		}
		seen[v] = true
		if s.Name == "inventory" && v != a[inv] {
			t.Errorf("inventory moved from %s to %s when other services were added", a[inv], v)
		}
		if p, _ := netip.ParseAddr(v); p.As4()[3] == 0 || p.As4()[3] == 255 {
			t.Errorf("%s ends in .0 or .255", v)
		}
	}
	// The same address in both clusters, on the export and the import.
	objs := Emit(m)
	var vips []string
	for _, o := range objs {
		if se, ok := o.Body.(*clientnet.ServiceEntry); ok {
			vips = append(vips, se.Spec.Addresses...)
		}
	}
	if len(vips) != 4 || slices.ContainsFunc(vips, func(v string) bool { return v != a[inv] }) {
		t.Errorf("want %s on all four entries (two exports, two imports), got %v", a[inv], vips)
	}
}

// TestFederatedPrincipals: a remote caller is admitted by its own mesh's
// trust domain, at the destination's sidecar, which it reaches with its own
// certificate through the passthrough gateway.
func TestFederatedPrincipals(t *testing.T) {
	objs, ds := EmitSecurity(fedModel(t, fedSeed))
	if len(ds) > 0 {
		t.Fatal(ds.Error())
	}
	for _, tc := range []struct{ cluster, want string }{
		{"openstack-prod", "dc1.example.com/ns/batch/sa/*,public.example.com/ns/web/sa/frontend"},
		{"public-prod", "dc1.example.com/ns/batch/sa/*,public.example.com/ns/web/sa/frontend"},
	} {
		found := false
		for _, o := range objs {
			acc, _ := meta.Accessor(o.Body)
			if o.Cluster != tc.cluster || acc.GetName() != "readers" || o.Body.GetObjectKind().GroupVersionKind().Kind != "AuthorizationPolicy" {
				continue
			}
			found = true
			raw := spec(t, o)
			for _, p := range strings.Split(tc.want, ",") {
				if !strings.Contains(raw, p) {
					t.Errorf("%s: AuthorizationPolicy readers lacks principal %s:\n%s", tc.cluster, p, raw)
				}
			}
			if strings.Contains(raw, "cluster.local") || strings.Contains(raw, "spiffe://") {
				t.Errorf("%s: principals must name each caller's own trust domain, without spiffe://:\n%s", tc.cluster, raw)
			}
		}
		if !found {
			t.Errorf("%s: no AuthorizationPolicy readers", tc.cluster)
		}
	}
}

// TestMultiPrimaryEmitsNoGlobal: the multi-primary path never emits the
// federated objects.
func TestMultiPrimaryEmitsNoGlobal(t *testing.T) {
	src := strings.Replace(strings.Replace(fedSeed, "model: federated", "model: multi-primary", 1),
		"federation: {trust: sharedRoot, trustDomainAliases: [dc1.example.com, public.example.com]}", "trustDomain: corp.example.com", 1)
	src = strings.ReplaceAll(strings.ReplaceAll(src, "trustDomain: dc1.example.com", ""), "trustDomain: public.example.com", "")
	for _, o := range Emit(fedModel(t, src)) {
		acc, _ := meta.Accessor(o.Body)
		if strings.HasSuffix(acc.GetName(), ".global") || acc.GetName() == CrossMeshGateway || acc.GetNamespace() == resolve.DefaultImportNamespace {
			t.Errorf("multi-primary emitted %s %s/%s", o.Body.GetObjectKind().GroupVersionKind().Kind, acc.GetNamespace(), acc.GetName())
		}
	}
}
