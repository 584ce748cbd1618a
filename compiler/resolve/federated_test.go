package resolve

import (
	"slices"
	"strings"
	"testing"

	"github.com/intentc/intentc/compiler/diag"
	"github.com/intentc/intentc/compiler/intent"
	"github.com/intentc/intentc/compiler/ir"
	_ "github.com/intentc/intentc/internal/testflags" // accept -update like every test binary
)

func fedResolve(t *testing.T, src string) (*ir.Model, diag.List) {
	t.Helper()
	parsed, _, ds := intent.ParseFile("test.yaml", []byte(src))
	if ds.HasErrors() {
		t.Fatal(ds.Error())
	}
	return Resolve(&intent.Set{Docs: parsed, Files: []string{"test.yaml"}})
}

const fedTwo = `
apiVersion: intentc.dev/v1alpha1
kind: Mesh
metadata: {name: corp}
spec:
  model: MODEL
  FEDERATION
---
apiVersion: intentc.dev/v1alpha1
kind: MeshCluster
metadata: {name: a}
spec: {platform: kubernetes, network: na, trustDomain: a.example.com, cidrs: {egress: [192.0.2.1/32]}, eastWestGateway: {address: 192.0.2.10}}
---
apiVersion: intentc.dev/v1alpha1
kind: MeshCluster
metadata: {name: b}
spec: {platform: kubernetes, network: nb, trustDomain: b.example.com, istio: {meshID: bee}, cidrs: {egress: [192.0.2.2/32]}, eastWestGateway: {address: 192.0.2.20}}
---
apiVersion: intentc.dev/v1alpha1
kind: MeshService
metadata: {name: api, namespace: shop}
spec:
  ports: [{name: http, port: 8080, protocol: http}]
  placement: [{cluster: a}, {cluster: b}]
---
apiVersion: intentc.dev/v1alpha1
kind: AccessPolicy
metadata: {name: callers, namespace: shop}
spec:
  to: {service: api}
  from: [{namespace: web}, {namespace: jobs, clusters: [b]}, {cidr: 192.0.2.0/28, via: direct}, {cidr: 198.51.100.0/24, via: ingressGateway, hosts: [api.example.com]}]
`

func fedSrc(model, federation string) string {
	return strings.NewReplacer("MODEL", model, "FEDERATION", federation).Replace(fedTwo)
}

// fedCodes returns the federation codes (IC205x) of ds; the intent's direct
// CIDR source draws an unrelated warning (IC2032).
func fedCodes(ds diag.List) []diag.Code {
	var out []diag.Code
	for _, d := range ds {
		if strings.HasPrefix(string(d.Code), "IC205") {
			out = append(out, d.Code)
		}
	}
	return out
}

func TestMeshIDs(t *testing.T) {
	m, ds := fedResolve(t, fedSrc("federated", "federation: {trust: trustBundles}"))
	if ds.HasErrors() {
		t.Fatal(ds.Error())
	}
	// Federated: each cluster is its own mesh, named by its meshID or its name.
	if got := []string{m.Cluster("a").MeshID, m.Cluster("b").MeshID}; !slices.Equal(got, []string{"a", "bee"}) {
		t.Errorf("federated meshIDs %v", got)
	}
	if !ir.CrossMesh(m.Cluster("a"), m.Cluster("b")) {
		t.Error("a and b must be different meshes")
	}
	// Multi-primary: one mesh, the declared meshID, for every cluster.
	src := strings.ReplaceAll(fedSrc("multi-primary", ""), "trustDomain: a.example.com", "trustDomain: corp.example.com")
	src = strings.ReplaceAll(src, "trustDomain: b.example.com", "trustDomain: corp.example.com")
	m, ds = fedResolve(t, src)
	if ds.HasErrors() {
		t.Fatal(ds.Error())
	}
	if got := []string{m.Cluster("a").MeshID, m.Cluster("b").MeshID}; !slices.Equal(got, []string{"bee", "bee"}) {
		t.Errorf("multi-primary meshIDs %v", got)
	}
	if ir.CrossMesh(m.Cluster("a"), m.Cluster("b")) {
		t.Error("multi-primary clusters are one mesh")
	}
}

func TestFederationSettings(t *testing.T) {
	m, ds := fedResolve(t, fedSrc("federated", "federation: {trust: sharedRoot, trustDomainAliases: [b.example.com, a.example.com, b.example.com], importNamespace: imports}"))
	if len(fedCodes(ds)) > 0 || ds.HasErrors() {
		t.Fatal(ds.Error())
	}
	f := m.Mesh.Federation
	if f.Trust != ir.TrustSharedRoot || f.ImportNamespace != "imports" || !slices.Equal(f.TrustDomainAliases, []string{"a.example.com", "b.example.com"}) {
		t.Errorf("federation %+v", f)
	}
	m, _ = fedResolve(t, fedSrc("federated", "federation: {trust: trustBundles}"))
	if m.Mesh.Federation.ImportNamespace != DefaultImportNamespace {
		t.Errorf("default import namespace %q", m.Mesh.Federation.ImportNamespace)
	}
}

func TestFederationTrust(t *testing.T) {
	for _, tc := range []struct {
		name, federation string
		want             []diag.Code
	}{
		{"no federation", "", []diag.Code{diag.CodeFederationTrust}},
		{"no trust", "federation: {trustDomainAliases: [a.example.com, b.example.com]}", []diag.Code{diag.CodeFederationTrust}},
		// With a shared root each destination must accept the caller's domain.
		{"shared root, no aliases", "federation: {trust: sharedRoot}", []diag.Code{diag.CodeTrustDomainNotAccepted, diag.CodeTrustDomainNotAccepted}},
		{"shared root, one alias", "federation: {trust: sharedRoot, trustDomainAliases: [b.example.com]}", []diag.Code{diag.CodeTrustDomainNotAccepted}},
		{"shared root, both aliases", "federation: {trust: sharedRoot, trustDomainAliases: [a.example.com, b.example.com]}", nil},
		// Trust bundles carry their trust domains: nothing intentc can check.
		{"trust bundles", "federation: {trust: trustBundles}", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, ds := fedResolve(t, fedSrc("federated", tc.federation))
			if got := fedCodes(ds); !slices.Equal(got, tc.want) {
				t.Errorf("codes %v, want %v:\n%s", got, tc.want, ds.Error())
			}
			for _, d := range ds {
				if d.Code == diag.CodeFederationTrust && (!strings.Contains(d.Message, "spec.federation.trust") || !strings.Contains(d.Message, "sharedRoot")) {
					t.Errorf("IC2050 must say what to declare: %s", d.Message)
				}
			}
		})
	}
}

func TestCallerNamespaces(t *testing.T) {
	m, ds := fedResolve(t, fedSrc("federated", "federation: {trust: trustBundles}"))
	if ds.HasErrors() {
		t.Fatal(ds.Error())
	}
	api := m.Services[0]
	// A direct CIDR is no mesh client; a range through the ingress gateway
	// calls from the gateway's namespace; jobs runs in b only.
	if nss, known := m.CallerNamespaces(api, m.Cluster("a")); !known || !slices.Equal(nss, []string{"istio-ingress", "web"}) {
		t.Errorf("a: %v %v", nss, known)
	}
	if nss, _ := m.CallerNamespaces(api, m.Cluster("b")); !slices.Equal(nss, []string{"istio-ingress", "jobs", "web"}) {
		t.Errorf("b: %v", nss)
	}
	if !m.ExportedFrom(api, m.Cluster("a")) || len(api.ImportedInto(m.Cluster("a"))) != 1 {
		t.Error("api is placed in a and b and called from both: each exports it and imports the other's")
	}
}
