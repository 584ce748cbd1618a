package kube

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/intentc/intentc/compiler/diag"
	"github.com/intentc/intentc/compiler/intent"
	"github.com/intentc/intentc/compiler/ir"
	"github.com/intentc/intentc/compiler/resolve"
	_ "github.com/intentc/intentc/internal/testflags" // accept -update like every test binary
)

// Three clusters: a and b share the flat network n1, c is alone on n2.
const clusters = `
apiVersion: intentc.dev/v1alpha1
kind: MeshCluster
metadata: {name: a}
spec:
  platform: kubernetes
  network: n1
  cidrs: {pods: [10.1.0.0/16, "fd00:1::/56"], egress: [192.0.2.1/32]}
  eastWestGateway: {address: 192.0.2.10}
---
apiVersion: intentc.dev/v1alpha1
kind: MeshCluster
metadata: {name: b}
spec:
  platform: kubernetes
  network: n1
  cidrs: {pods: [10.2.0.0/16], egress: [192.0.2.2/32]}
  eastWestGateway: {address: 192.0.2.20}
---
apiVersion: intentc.dev/v1alpha1
kind: MeshCluster
metadata: {name: c}
spec:
  platform: kubernetes
  network: n2
  cidrs: {pods: [10.3.0.0/16], egress: [198.51.100.1/32]}
  eastWestGateway: {address: 198.51.100.30, port: 15443}
`

// build resolves the intent documents and emits layer 2.
func build(t *testing.T, docs ...string) ([]ir.Object, diag.List) {
	t.Helper()
	src := strings.Join(docs, "\n---\n")
	parsed, _, ds := intent.ParseFile("test.yaml", []byte(src))
	if ds.HasErrors() {
		t.Fatalf("parse:\n%s", ds.Error())
	}
	m, ds := resolve.Resolve(&intent.Set{Docs: parsed, Files: []string{"test.yaml"}})
	if ds.HasErrors() {
		t.Fatalf("resolve:\n%s", ds.Error())
	}
	objs, ds := EmitNetworkPolicies(m)
	for _, o := range objs {
		np := o.Body.(*networkingv1.NetworkPolicy)
		if m.Mesh.NeverManaged(np.Namespace) {
			t.Errorf("%s/%s/%s written into never-managed namespace", o.Cluster, np.Namespace, np.Name)
		}
		if !slices.Contains(m.ManagedNamespaces(m.Cluster(o.Cluster)), np.Namespace) {
			t.Errorf("%s/%s/%s written into a namespace not managed in %s", o.Cluster, np.Namespace, np.Name, o.Cluster)
		}
		if len(np.Spec.PolicyTypes) == 0 {
			t.Errorf("%s/%s/%s has implicit policyTypes", o.Cluster, np.Namespace, np.Name)
		}
		for _, r := range np.Spec.Ingress {
			if len(r.From) == 0 {
				t.Errorf("%s/%s/%s has an ingress rule from anyone", o.Cluster, np.Namespace, np.Name)
			}
		}
		for _, r := range np.Spec.Egress {
			if len(r.To) == 0 {
				t.Errorf("%s/%s/%s has an egress rule to anywhere", o.Cluster, np.Namespace, np.Name)
			}
		}
	}
	return objs, ds
}

func find(objs []ir.Object, cluster, ns, name string) *networkingv1.NetworkPolicy {
	for _, o := range objs {
		np := o.Body.(*networkingv1.NetworkPolicy)
		if o.Cluster == cluster && np.Namespace == ns && np.Name == name {
			return np
		}
	}
	return nil
}

func names(objs []ir.Object) []string {
	var out []string
	for _, o := range objs {
		np := o.Body.(*networkingv1.NetworkPolicy)
		out = append(out, o.Cluster+"/"+np.Namespace+"/"+np.Name)
	}
	slices.Sort(out)
	return out
}

// wantSpec compares the policy's spec with YAML.
func wantSpec(t *testing.T, objs []ir.Object, cluster, ns, name, want string) {
	t.Helper()
	np := find(objs, cluster, ns, name)
	if np == nil {
		t.Fatalf("no NetworkPolicy %s/%s/%s; have %v", cluster, ns, name, names(objs))
	}
	got, err := yaml.Marshal(np.Spec)
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(string(got)) != strings.TrimSpace(want) {
		t.Errorf("%s/%s/%s spec:\n%s\nwant:\n%s", cluster, ns, name, got, want)
	}
}

func wantAbsent(t *testing.T, objs []ir.Object, cluster, ns, name string) {
	t.Helper()
	if find(objs, cluster, ns, name) != nil {
		t.Errorf("unexpected NetworkPolicy %s/%s/%s", cluster, ns, name)
	}
}

func wantCodes(t *testing.T, ds diag.List, codes ...diag.Code) {
	t.Helper()
	var got []diag.Code
	for _, d := range ds {
		got = append(got, d.Code)
	}
	if !slices.Equal(got, codes) {
		t.Errorf("diagnostics %v, want %v:\n%s", got, codes, ds.Error())
	}
}

func service(name, ns string, placement string, extra ...string) string {
	return fmt.Sprintf(`apiVersion: intentc.dev/v1alpha1
kind: MeshService
metadata: {name: %s, namespace: %s}
spec:
  ports: [{name: http, port: 80, targetPort: 8080, protocol: http}]
  placement: [%s]
%s`, name, ns, placement, strings.Join(extra, "\n"))
}

func policy(name, ns, spec string) string {
	return fmt.Sprintf(`apiVersion: intentc.dev/v1alpha1
kind: AccessPolicy
metadata: {name: %s, namespace: %s}
spec:
%s`, name, ns, spec)
}

func TestDefaultDenyAndBaseline(t *testing.T) {
	objs, ds := build(t, clusters,
		service("inv", "prod", "{cluster: a}"),
		service("web", "web", "{cluster: a}"),
		policy("web-reads-inv", "prod", "  to: {service: inv}\n  from: [{service: web/web}]"))
	wantCodes(t, ds)
	wantSpec(t, objs, "a", "prod", NameDefaultDeny, `
podSelector: {}
policyTypes:
- Ingress
- Egress`)
	wantSpec(t, objs, "a", "prod", NameBaselineDNS, `
egress:
- ports:
  - port: 53
    protocol: TCP
  - port: 53
    protocol: UDP
  to:
  - namespaceSelector:
      matchLabels:
        kubernetes.io/metadata.name: kube-system
    podSelector:
      matchLabels:
        k8s-app: kube-dns
podSelector: {}
policyTypes:
- Egress`)
	wantSpec(t, objs, "a", "prod", NameBaselineIstiod, `
egress:
- ports:
  - port: 15012
    protocol: TCP
  to:
  - namespaceSelector:
      matchLabels:
        kubernetes.io/metadata.name: istio-system
    podSelector:
      matchLabels:
        app: istiod
podSelector: {}
policyTypes:
- Egress`)
	// Nothing declared, nothing emitted; b and c hold no service.
	for _, name := range []string{NameBaselineScrapers, NameBaselineTelemetry, NameBaselineAPIServer} {
		wantAbsent(t, objs, "a", "prod", name)
	}
	for _, c := range []string{"b", "c"} {
		wantAbsent(t, objs, c, "prod", NameDefaultDeny)
	}
}

func TestBaselineDeclared(t *testing.T) {
	mesh := `apiVersion: intentc.dev/v1alpha1
kind: Mesh
metadata: {name: m}
spec:
  namespaces: {istio: mesh-system, gateways: [mesh-system]}
  baseline:
    scrapers: [{namespace: monitoring, podLabels: {app: prometheus}}]
    telemetry: [{namespace: obs, podLabels: {app: otel}, ports: [4318, 4317]}, {namespace: logs}]
    apiServerAccess: [{namespace: ops, serviceAccount: operator}]
    nodeLocalDNS: true`
	apiClusters := strings.Replace(clusters, "  eastWestGateway: {address: 192.0.2.10}", "  eastWestGateway: {address: 192.0.2.10, namespace: mesh-system}\n  apiServer: {address: 192.0.2.5}", 1)
	apiClusters = strings.Replace(apiClusters, "  eastWestGateway: {address: 192.0.2.20}", "  eastWestGateway: {address: 192.0.2.20, namespace: mesh-system}\n  apiServer: {address: api.b.example.com, port: 443}", 1)
	apiClusters = strings.Replace(apiClusters, "  eastWestGateway: {address: 198.51.100.30, port: 15443}", "  eastWestGateway: {address: 198.51.100.30, namespace: mesh-system}", 1)
	objs, ds := build(t, mesh, apiClusters,
		service("op", "ops", "{cluster: a}, {cluster: b}"),
		service("inv", "prod", "{cluster: a}"))
	wantSpec(t, objs, "a", "ops", NameBaselineDNS, `
egress:
- ports:
  - port: 53
    protocol: TCP
  - port: 53
    protocol: UDP
  to:
  - namespaceSelector:
      matchLabels:
        kubernetes.io/metadata.name: kube-system
    podSelector:
      matchLabels:
        k8s-app: kube-dns
  - ipBlock:
      cidr: 169.254.20.10/32
podSelector: {}
policyTypes:
- Egress`)
	wantSpec(t, objs, "a", "prod", NameBaselineIstiod, `
egress:
- ports:
  - port: 15012
    protocol: TCP
  to:
  - namespaceSelector:
      matchLabels:
        kubernetes.io/metadata.name: mesh-system
    podSelector:
      matchLabels:
        app: istiod
podSelector: {}
policyTypes:
- Egress`)
	wantSpec(t, objs, "a", "prod", NameBaselineScrapers, `
ingress:
- from:
  - namespaceSelector:
      matchLabels:
        kubernetes.io/metadata.name: monitoring
    podSelector:
      matchLabels:
        app: prometheus
  ports:
  - port: 15020
    protocol: TCP
  - port: 15090
    protocol: TCP
podSelector: {}
policyTypes:
- Ingress`)
	wantSpec(t, objs, "a", "prod", NameBaselineTelemetry, `
egress:
- to:
  - namespaceSelector:
      matchLabels:
        kubernetes.io/metadata.name: logs
- ports:
  - port: 4317
    protocol: TCP
  - port: 4318
    protocol: TCP
  to:
  - namespaceSelector:
      matchLabels:
        kubernetes.io/metadata.name: obs
    podSelector:
      matchLabels:
        app: otel
podSelector: {}
policyTypes:
- Egress`)
	// Only in the namespace apiServerAccess names.
	wantAbsent(t, objs, "a", "prod", NameBaselineAPIServer)
	wantSpec(t, objs, "a", "ops", NameBaselineAPIServer, `
egress:
- ports:
  - port: 6443
    protocol: TCP
  to:
  - ipBlock:
      cidr: 192.0.2.5/32
podSelector: {}
policyTypes:
- Egress`)
	// A host name cannot be selected: any address on the port, and a warning.
	wantSpec(t, objs, "b", "ops", NameBaselineAPIServer, `
egress:
- ports:
  - port: 443
    protocol: TCP
  to:
  - ipBlock:
      cidr: 0.0.0.0/0
  - ipBlock:
      cidr: ::/0
podSelector: {}
policyTypes:
- Egress`)
	wantCodes(t, ds, diag.CodeEgressToAnyAddress)
}

func TestOpenShiftDNS(t *testing.T) {
	osc := strings.Replace(clusters, "metadata: {name: a}\nspec:\n  platform: kubernetes", "metadata: {name: a}\nspec:\n  platform: openshift", 1)
	objs, _ := build(t, osc, service("inv", "prod", "{cluster: a}, {cluster: b}"))
	wantSpec(t, objs, "a", "prod", NameBaselineDNS, `
egress:
- ports:
  - port: 5353
    protocol: TCP
  - port: 5353
    protocol: UDP
  to:
  - namespaceSelector:
      matchLabels:
        kubernetes.io/metadata.name: openshift-dns
    podSelector:
      matchLabels:
        dns.operator.openshift.io/daemonset-dns: default
podSelector: {}
policyTypes:
- Egress`)
	if np := find(objs, "b", "prod", NameBaselineDNS); np == nil || np.Spec.Egress[0].Ports[0].Port.IntVal != 53 {
		t.Errorf("a kubernetes cluster keeps kube-dns on 53: %+v", np)
	}
}

// TestSameClusterAND: a caller in the destination's cluster is ONE peer
// element with both selectors (pods of that namespace), never two (that
// namespace, or those pods anywhere in the policy's namespace).
func TestSameClusterAND(t *testing.T) {
	objs, ds := build(t, clusters,
		service("inv", "prod", "{cluster: a}"),
		service("web", "web", "{cluster: a}"),
		policy("web-reads-inv", "prod", "  to: {service: inv}\n  from: [{service: web/web}, {namespace: batch, clusters: [a]}]"))
	wantCodes(t, ds)
	np := find(objs, "a", "prod", "web-reads-inv")
	if np == nil {
		t.Fatalf("no ingress policy; have %v", names(objs))
	}
	for _, p := range np.Spec.Ingress[0].From {
		if p.NamespaceSelector == nil {
			t.Errorf("peer without namespaceSelector: %+v", p)
		}
	}
	wantSpec(t, objs, "a", "prod", "web-reads-inv", `
ingress:
- from:
  - namespaceSelector:
      matchLabels:
        kubernetes.io/metadata.name: batch
  - namespaceSelector:
      matchLabels:
        kubernetes.io/metadata.name: web
    podSelector:
      matchLabels:
        app: web
  ports:
  - port: 8080
    protocol: TCP
podSelector:
  matchLabels:
    app: inv
policyTypes:
- Ingress`)
	wantSpec(t, objs, "a", "web", "prod-web-reads-inv-egress", `
egress:
- ports:
  - port: 8080
    protocol: TCP
  to:
  - namespaceSelector:
      matchLabels:
        kubernetes.io/metadata.name: prod
    podSelector:
      matchLabels:
        app: inv
podSelector:
  matchLabels:
    app: web
policyTypes:
- Egress`)
	// batch holds no service: not managed, so no egress policy there.
	wantAbsent(t, objs, "a", "batch", "prod-web-reads-inv-egress")
}

func TestAcrossClusters(t *testing.T) {
	objs, ds := build(t, clusters,
		service("inv", "prod", "{cluster: a}, {cluster: c}"),
		service("web", "web", "{cluster: b}"),
		service("job", "jobs", "{cluster: c}"),
		policy("callers", "prod", "  to: {service: inv}\n  from: [{service: web/web}, {service: jobs/job}]"))
	wantCodes(t, ds)
	// In a: web from flat b by its pod range, job from c through a's gateway.
	wantSpec(t, objs, "a", "prod", "callers", `
ingress:
- from:
  - namespaceSelector:
      matchLabels:
        kubernetes.io/metadata.name: istio-system
    podSelector:
      matchLabels:
        istio: eastwestgateway
  - ipBlock:
      cidr: 10.2.0.0/16
  ports:
  - port: 8080
    protocol: TCP
podSelector:
  matchLabels:
    app: inv
policyTypes:
- Ingress`)
	// In c: job locally, web from another network through c's gateway.
	wantSpec(t, objs, "c", "prod", "callers", `
ingress:
- from:
  - namespaceSelector:
      matchLabels:
        kubernetes.io/metadata.name: istio-system
    podSelector:
      matchLabels:
        istio: eastwestgateway
  - namespaceSelector:
      matchLabels:
        kubernetes.io/metadata.name: jobs
    podSelector:
      matchLabels:
        app: job
  ports:
  - port: 8080
    protocol: TCP
podSelector:
  matchLabels:
    app: inv
policyTypes:
- Ingress`)
	// web in b reaches a's pods directly and c's gateway.
	wantSpec(t, objs, "b", "web", "prod-callers-egress", `
egress:
- ports:
  - port: 8080
    protocol: TCP
  to:
  - ipBlock:
      cidr: 10.1.0.0/16
  - ipBlock:
      cidr: fd00:1::/56
- ports:
  - port: 15443
    protocol: TCP
  to:
  - ipBlock:
      cidr: 198.51.100.30/32
podSelector:
  matchLabels:
    app: web
policyTypes:
- Egress`)
	// job in c reaches its own cluster's pods and a's gateway.
	wantSpec(t, objs, "c", "jobs", "prod-callers-egress", `
egress:
- ports:
  - port: 8080
    protocol: TCP
  to:
  - namespaceSelector:
      matchLabels:
        kubernetes.io/metadata.name: prod
    podSelector:
      matchLabels:
        app: inv
- ports:
  - port: 15443
    protocol: TCP
  to:
  - ipBlock:
      cidr: 192.0.2.10/32
podSelector:
  matchLabels:
    app: job
policyTypes:
- Egress`)
}

func TestGatewayHostName(t *testing.T) {
	hc := strings.Replace(clusters, "address: 198.51.100.30", "address: ew.c.example.com", 1)
	objs, ds := build(t, hc,
		service("inv", "prod", "{cluster: c}"),
		service("web", "web", "{cluster: a}"),
		policy("p", "prod", "  to: {service: inv}\n  from: [{service: web/web}]"))
	wantCodes(t, ds, diag.CodeEgressToAnyAddress)
	wantSpec(t, objs, "a", "web", "prod-p-egress", `
egress:
- ports:
  - port: 15443
    protocol: TCP
  to:
  - ipBlock:
      cidr: 0.0.0.0/0
  - ipBlock:
      cidr: ::/0
podSelector:
  matchLabels:
    app: web
policyTypes:
- Egress`)
}

func TestDirectCIDR(t *testing.T) {
	objs, _ := build(t, clusters,
		service("inv", "prod", "{cluster: a}, {cluster: c}"),
		policy("on-n1", "prod", "  to: {service: inv}\n  from: [{cidr: 192.168.50.0/24, via: direct, network: n1}]"),
		policy("anywhere", "prod", "  to: {service: inv}\n  from: [{cidr: \"2001:db8::/64\", via: direct}]"))
	wantSpec(t, objs, "a", "prod", "on-n1", `
ingress:
- from:
  - ipBlock:
      cidr: 192.168.50.0/24
  ports:
  - port: 8080
    protocol: TCP
podSelector:
  matchLabels:
    app: inv
policyTypes:
- Ingress`)
	wantAbsent(t, objs, "c", "prod", "on-n1") // its addresses mean nothing on n2
	if find(objs, "a", "prod", "anywhere") == nil || find(objs, "c", "prod", "anywhere") == nil {
		t.Errorf("a CIDR without network applies everywhere; have %v", names(objs))
	}
	for _, n := range names(objs) {
		if strings.HasSuffix(n, "-egress") {
			t.Errorf("a direct CIDR has no pods to give an egress policy: %s", n)
		}
	}
}

func TestViaIngressGateway(t *testing.T) {
	objs, _ := build(t, clusters,
		service("fe", "web", "{cluster: a}"),
		policy("internet", "web", "  to: {service: fe}\n  from: [{cidr: 0.0.0.0/0, via: ingressGateway}]"))
	wantSpec(t, objs, "a", "web", "internet", `
ingress:
- from:
  - namespaceSelector:
      matchLabels:
        kubernetes.io/metadata.name: istio-ingress
    podSelector:
      matchLabels:
        istio: ingressgateway
  - namespaceSelector:
      matchLabels:
        kubernetes.io/metadata.name: istio-system
    podSelector:
      matchLabels:
        istio: eastwestgateway
  - ipBlock:
      cidr: 10.2.0.0/16
  ports:
  - port: 8080
    protocol: TCP
podSelector:
  matchLabels:
    app: fe
policyTypes:
- Ingress`)
}

func TestOpenShiftRouter(t *testing.T) {
	osc := strings.Replace(clusters, "metadata: {name: a}\nspec:\n  platform: kubernetes", "metadata: {name: a}\nspec:\n  platform: openshift", 1)
	objs, _ := build(t, osc,
		service("fe", "web", "{cluster: a}, {cluster: b}"),
		policy("router", "web", "  to: {service: fe}\n  from: [{namespace: openshift-ingress, clusters: [a, b]}]"))
	wantSpec(t, objs, "a", "web", "router", `
ingress:
- from:
  - namespaceSelector:
      matchLabels:
        network.openshift.io/policy-group: ingress
  - namespaceSelector:
      matchLabels:
        policy-group.network.openshift.io/ingress: ""
  - ipBlock:
      cidr: 10.2.0.0/16
  ports:
  - port: 8080
    protocol: TCP
podSelector:
  matchLabels:
    app: fe
policyTypes:
- Ingress`)
	// On plain Kubernetes the namespace is just a namespace.
	wantSpec(t, objs, "b", "web", "router", `
ingress:
- from:
  - namespaceSelector:
      matchLabels:
        kubernetes.io/metadata.name: openshift-ingress
  - ipBlock:
      cidr: 10.1.0.0/16
  - ipBlock:
      cidr: fd00:1::/56
  ports:
  - port: 8080
    protocol: TCP
podSelector:
  matchLabels:
    app: fe
policyTypes:
- Ingress`)
}

func TestDenySubtraction(t *testing.T) {
	objs, ds := build(t, clusters,
		service("inv", "prod", "{cluster: a}"),
		policy("allow", "prod", `  to: {service: inv}
  from:
    - {namespace: batch, clusters: [a, b]}
    - {workload: {namespace: ops, serviceAccount: r, podLabels: {app: r, tier: x}}, clusters: [a]}
    - {cidr: 192.168.0.0/16, via: direct}
    - {cidr: 172.16.0.0/24, via: direct}`),
		policy("deny", "prod", `  to: {service: inv}
  action: deny
  from:
    - {workload: {namespace: batch, serviceAccount: legacy, podLabels: {app: legacy}}, clusters: [a]}
    - {workload: {namespace: ops, serviceAccount: r2, podLabels: {app: r, tier: x, v: "1"}}, clusters: [a]}
    - {workload: {namespace: ops, serviceAccount: other, podLabels: {app: other}}, clusters: [a]}
    - {cidr: 192.168.5.0/24, via: direct}
    - {cidr: 192.168.5.128/25, via: direct}
    - {cidr: 10.2.3.0/24, via: direct}
    - {cidr: 172.16.0.0/16, via: direct}`))
	wantCodes(t, ds)
	// batch loses app=legacy (seen in a), not b's range (left to layer 3) —
	// but b's pod range loses the denied direct range inside it; ops loses
	// v=1 (the only label that tells r2 apart), and app=other is disjoint;
	// 172.16.0.0/24 is wholly denied and dropped.
	wantSpec(t, objs, "a", "prod", "allow", `
ingress:
- from:
  - namespaceSelector:
      matchLabels:
        kubernetes.io/metadata.name: batch
    podSelector:
      matchExpressions:
      - key: app
        operator: NotIn
        values:
        - legacy
  - namespaceSelector:
      matchLabels:
        kubernetes.io/metadata.name: ops
    podSelector:
      matchExpressions:
      - key: v
        operator: NotIn
        values:
        - "1"
      matchLabels:
        app: r
        tier: x
  - ipBlock:
      cidr: 10.2.0.0/16
      except:
      - 10.2.3.0/24
  - ipBlock:
      cidr: 192.168.0.0/16
      except:
      - 192.168.5.0/24
  ports:
  - port: 8080
    protocol: TCP
podSelector:
  matchLabels:
    app: inv
policyTypes:
- Ingress`)
	if np := find(objs, "a", "prod", "allow"); np != nil {
		if got := objsSources(objs, "a", "allow"); !slices.Contains(got, "AccessPolicy/prod/deny") {
			t.Errorf("the subtracting deny is not among the sources: %v", got)
		}
	}
}

func objsSources(objs []ir.Object, cluster, name string) []string {
	for _, o := range objs {
		np := o.Body.(*networkingv1.NetworkPolicy)
		if o.Cluster == cluster && np.Name == name {
			var out []string
			for _, s := range o.Sources {
				out = append(out, s.Ref())
			}
			return out
		}
	}
	return nil
}

func TestDenyNotSubtracted(t *testing.T) {
	objs, ds := build(t, clusters,
		service("inv", "prod", "{cluster: a}"),
		policy("allow", "prod", "  to: {service: inv}\n  from: [{namespace: batch}]"),
		// Remote callers are a range or the gateway at layer 2; an L7 deny
		// still lets the port through; a workload without labels is an
		// identity layer 2 cannot see.
		policy("deny-remote", "prod", "  to: {service: inv}\n  action: deny\n  from: [{workload: {namespace: batch, serviceAccount: x, podLabels: {app: x}}, clusters: [b, c]}]"),
		policy("deny-l7", "prod", "  to: {service: inv}\n  action: deny\n  http: {methods: [DELETE]}\n  from: [{namespace: batch}]"),
		policy("deny-sa", "prod", "  to: {service: inv}\n  action: deny\n  from: [{workload: {namespace: batch, serviceAccount: y}}]"))
	wantCodes(t, ds)
	wantSpec(t, objs, "a", "prod", "allow", `
ingress:
- from:
  - namespaceSelector:
      matchLabels:
        kubernetes.io/metadata.name: batch
  - namespaceSelector:
      matchLabels:
        kubernetes.io/metadata.name: istio-system
    podSelector:
      matchLabels:
        istio: eastwestgateway
  - ipBlock:
      cidr: 10.2.0.0/16
  ports:
  - port: 8080
    protocol: TCP
podSelector:
  matchLabels:
    app: inv
policyTypes:
- Ingress`)
	if got := objsSources(objs, "a", "allow"); len(got) != 1 {
		t.Errorf("no deny changed the policy, yet sources are %v", got)
	}
}

func TestDenyOnSomePorts(t *testing.T) {
	svc := `apiVersion: intentc.dev/v1alpha1
kind: MeshService
metadata: {name: inv, namespace: prod}
spec:
  ports: [{name: http, port: 80, targetPort: 8080, protocol: http}, {name: grpc, port: 90, targetPort: 9090, protocol: grpc}, {name: raw, port: 91, targetPort: 9090, protocol: tcp}]
  placement: [{cluster: a}]`
	objs, ds := build(t, clusters, svc,
		policy("allow", "prod", "  to: {service: inv}\n  from: [{namespace: batch, clusters: [a]}, {namespace: jobs, clusters: [a]}]"),
		policy("deny", "prod", "  to: {service: inv, ports: [raw]}\n  action: deny\n  from: [{namespace: jobs}]"))
	wantCodes(t, ds)
	// The deny covers target port 9090 (whichever service port reaches
	// it): jobs is gone there and kept on 8080.
	wantSpec(t, objs, "a", "prod", "allow", `
ingress:
- from:
  - namespaceSelector:
      matchLabels:
        kubernetes.io/metadata.name: batch
  - namespaceSelector:
      matchLabels:
        kubernetes.io/metadata.name: jobs
  ports:
  - port: 8080
    protocol: TCP
- from:
  - namespaceSelector:
      matchLabels:
        kubernetes.io/metadata.name: batch
  ports:
  - port: 9090
    protocol: TCP
podSelector:
  matchLabels:
    app: inv
policyTypes:
- Ingress`)
}

func TestDenyInexpressible(t *testing.T) {
	_, ds := build(t, clusters,
		service("inv", "prod", "{cluster: a}"),
		policy("allow", "prod", "  to: {service: inv}\n  from: [{namespace: batch, clusters: [a]}]"),
		policy("deny", "prod", "  to: {service: inv}\n  action: deny\n  from: [{workload: {namespace: batch, serviceAccount: x, podLabels: {app: x, tier: y}}, clusters: [a]}]"))
	wantCodes(t, ds, diag.CodeDenyNotExpressibleL2)
	if len(ds) == 1 && ds[0].Pos.Line == 0 {
		t.Errorf("IC3201 has no position: %v", ds[0])
	}
}

func TestDenyRouterInexpressible(t *testing.T) {
	osc := strings.Replace(clusters, "metadata: {name: a}\nspec:\n  platform: kubernetes", "metadata: {name: a}\nspec:\n  platform: openshift", 1)
	objs, ds := build(t, osc,
		service("fe", "web", "{cluster: a}"),
		policy("router", "web", "  to: {service: fe}\n  from: [{namespace: openshift-ingress, clusters: [a]}, {namespace: web, clusters: [a]}]"),
		policy("deny", "web", "  to: {service: fe}\n  action: deny\n  from: [{workload: {namespace: openshift-ingress, serviceAccount: r, podLabels: {app: r}}, clusters: [a]}]"))
	wantCodes(t, ds, diag.CodeDenyNotExpressibleL2)
	objs, ds = build(t, osc,
		service("fe", "web", "{cluster: a}"),
		policy("router", "web", "  to: {service: fe}\n  from: [{namespace: openshift-ingress, clusters: [a]}, {namespace: web, clusters: [a]}]"),
		policy("deny", "web", "  to: {service: fe}\n  action: deny\n  from: [{namespace: openshift-ingress, clusters: [a]}]"))
	wantCodes(t, ds)
	np := find(objs, "a", "web", "router")
	if np == nil || len(np.Spec.Ingress[0].From) != 1 {
		t.Errorf("a denied router namespace drops the router entries: %+v", np)
	}
}

func TestAllDeniedEmitsNothing(t *testing.T) {
	objs, _ := build(t, clusters,
		service("inv", "prod", "{cluster: a}, {cluster: c}"),
		policy("allow", "prod", "  to: {service: inv}\n  from: [{cidr: 192.168.0.0/16, via: direct, network: n1}, {cidr: 10.9.0.0/16, via: direct, network: n2}]"),
		policy("deny", "prod", "  to: {service: inv}\n  action: deny\n  from: [{cidr: 192.168.0.0/15, via: direct, network: n1}]"))
	// In a, the only source is denied: no policy (one without rules would
	// isolate the pods, one with an empty from would admit anyone).
	wantAbsent(t, objs, "a", "prod", "allow")
	if find(objs, "c", "prod", "allow") == nil {
		t.Errorf("c keeps its own source; have %v", names(objs))
	}
}

func TestNoDefaultDeny(t *testing.T) {
	mesh := `apiVersion: intentc.dev/v1alpha1
kind: Mesh
metadata: {name: m}
spec:
  defaultDeny: false
  baseline: {scrapers: [{namespace: monitoring}]}`
	objs, ds := build(t, mesh, clusters,
		service("inv", "prod", "{cluster: a}"),
		service("web", "web", "{cluster: a}"),
		service("db", "data", "{cluster: a}"),
		`apiVersion: intentc.dev/v1alpha1
kind: ExternalService
metadata: {name: ext, namespace: web}
spec:
  hosts: [ext.example.com]
  ports: [{name: https, port: 443, protocol: tls}]`,
		policy("p", "prod", "  to: {service: inv}\n  from: [{service: web/web}]"),
		policy("e", "web", "  to: {external: ext}\n  from: [{service: web}]"))
	wantCodes(t, ds) // no egress, so nothing opened to any address
	if got, want := names(objs), []string{"a/prod/p"}; !slices.Equal(got, want) {
		t.Errorf("without defaultDeny got %v, want only %v", got, want)
	}
	// This policy isolates inv's pods, so it keeps the scrapers.
	wantSpec(t, objs, "a", "prod", "p", `
ingress:
- from:
  - namespaceSelector:
      matchLabels:
        kubernetes.io/metadata.name: web
    podSelector:
      matchLabels:
        app: web
  ports:
  - port: 8080
    protocol: TCP
- from:
  - namespaceSelector:
      matchLabels:
        kubernetes.io/metadata.name: monitoring
  ports:
  - port: 15020
    protocol: TCP
  - port: 15090
    protocol: TCP
podSelector:
  matchLabels:
    app: inv
policyTypes:
- Ingress`)
}

func TestExternalService(t *testing.T) {
	ext := `apiVersion: intentc.dev/v1alpha1
kind: ExternalService
metadata: {name: %s, namespace: web}
spec:
  %s
  ports: [{name: pg, port: 5432, targetPort: 15432, protocol: tcp}]`
	objs, ds := build(t, clusters,
		service("web", "web", "{cluster: a}, {cluster: c}"),
		fmt.Sprintf(ext, "db", `cidrs: [198.51.100.7/32, "2001:db8::7/128"]`),
		fmt.Sprintf(ext, "saas", `hosts: [db.example.com]`),
		policy("db", "web", "  to: {external: db}\n  from: [{service: web}]"),
		policy("saas", "web", "  to: {external: saas}\n  from: [{service: web, clusters: [a]}]"),
		policy("saas-again", "web", "  to: {external: saas}\n  from: [{service: web, clusters: [a]}]"))
	wantCodes(t, ds, diag.CodeEgressToAnyAddress) // once per ExternalService, however many policies
	for _, c := range []string{"a", "c"} {
		wantSpec(t, objs, c, "web", "web-db-egress", `
egress:
- ports:
  - port: 5432
    protocol: TCP
  to:
  - ipBlock:
      cidr: 198.51.100.7/32
  - ipBlock:
      cidr: 2001:db8::7/128
podSelector:
  matchLabels:
    app: web
policyTypes:
- Egress`)
	}
	wantSpec(t, objs, "a", "web", "web-saas-egress", `
egress:
- ports:
  - port: 5432
    protocol: TCP
  to:
  - ipBlock:
      cidr: 0.0.0.0/0
  - ipBlock:
      cidr: ::/0
podSelector:
  matchLabels:
    app: web
policyTypes:
- Egress`)
	wantAbsent(t, objs, "c", "web", "web-saas-egress")
	for _, n := range names(objs) {
		if strings.HasSuffix(n, "/web/db") || strings.HasSuffix(n, "/web/saas") {
			t.Errorf("an ExternalService gets no ingress policy: %s", n)
		}
	}
}

func TestCallerSelectors(t *testing.T) {
	render := func(sels ...map[string]string) string {
		b, _ := yaml.Marshal(callerSelectors(sels))
		return strings.TrimSpace(string(b))
	}
	for _, tc := range []struct {
		in   []map[string]string
		want string
	}{
		{[]map[string]string{{"app": "a"}, nil}, "- {}"},
		{[]map[string]string{{"app": "a"}, {"app": "a", "v": "1"}, {"app": "a"}}, "- matchLabels:\n    app: a"},
		{[]map[string]string{{"app": "b"}, {"app": "a"}}, "- matchExpressions:\n  - key: app\n    operator: In\n    values:\n    - a\n    - b"},
		{[]map[string]string{{"tier": "b"}, {"app": "a"}}, "- matchLabels:\n    app: a\n- matchLabels:\n    tier: b"},
	} {
		if got := render(tc.in...); got != tc.want {
			t.Errorf("callerSelectors(%v):\n%s\nwant:\n%s", tc.in, got, tc.want)
		}
	}
	objs, _ := build(t, clusters,
		service("inv", "prod", "{cluster: a}"),
		service("w1", "web", "{cluster: a}"),
		policy("p", "prod", "  to: {service: inv}\n  from: [{service: web/w1}, {workload: {namespace: web, serviceAccount: s, podLabels: {tier: t}}, clusters: [a]}]"))
	if find(objs, "a", "web", "prod-p-egress") == nil || find(objs, "a", "web", "prod-p-egress-2") == nil {
		t.Errorf("two unrelated selectors need two egress policies; have %v", names(objs))
	}
}

func TestIPv6AndPortsSorted(t *testing.T) {
	svc := `apiVersion: intentc.dev/v1alpha1
kind: MeshService
metadata: {name: inv, namespace: prod}
spec:
  ports: [{name: z, port: 9000, protocol: tcp}, {name: http, port: 80, targetPort: 8080, protocol: http}, {name: alt, port: 81, targetPort: 8080, protocol: http}]
  placement: [{cluster: b}]`
	objs, _ := build(t, clusters, svc,
		policy("p", "prod", "  to: {service: inv}\n  from: [{namespace: batch, clusters: [a]}, {cidr: \"2001:db8:1::/48\", via: direct}, {cidr: 10.0.0.0/8, via: direct}]"))
	wantSpec(t, objs, "b", "prod", "p", `
ingress:
- from:
  - ipBlock:
      cidr: 10.0.0.0/8
  - ipBlock:
      cidr: 10.1.0.0/16
  - ipBlock:
      cidr: 2001:db8:1::/48
  - ipBlock:
      cidr: fd00:1::/56
  ports:
  - port: 8080
    protocol: TCP
  - port: 9000
    protocol: TCP
podSelector:
  matchLabels:
    app: inv
policyTypes:
- Ingress`)
}

func TestDeterministic(t *testing.T) {
	docs := []string{clusters,
		service("inv", "prod", "{cluster: a}, {cluster: b}, {cluster: c}"),
		service("web", "web", "{cluster: a}, {cluster: c}"),
		policy("p", "prod", "  to: {service: inv}\n  from: [{service: web/web}, {namespace: batch}, {cidr: 10.0.0.0/8, via: direct}]")}
	first, _ := build(t, docs...)
	for range 5 {
		again, _ := build(t, docs...)
		a, _ := yaml.Marshal(first)
		b, _ := yaml.Marshal(again)
		if string(a) != string(b) {
			t.Fatal("two runs differ")
		}
	}
}

func TestNamesAcrossNamespaces(t *testing.T) {
	objs, _ := build(t, clusters,
		service("inv", "prod", "{cluster: a}"),
		service("web", "web", "{cluster: a}"),
		policy("web-reads-inv", "sec", "  to: {service: prod/inv}\n  from: [{service: web/web}]"))
	// The ingress policy lives in the destination's namespace, named after
	// the policy's namespace too; the egress one in the caller's.
	if find(objs, "a", "prod", "sec-web-reads-inv") == nil || find(objs, "a", "web", "sec-web-reads-inv-egress") == nil {
		t.Errorf("names: %v", names(objs))
	}
}

func TestDenyMerging(t *testing.T) {
	objs, ds := build(t, clusters,
		service("inv", "prod", "{cluster: a}"),
		policy("allow", "prod", "  to: {service: inv}\n  from: [{namespace: batch, clusters: [a]}, {namespace: jobs, clusters: [a]}, {cidr: 192.168.0.0/16, via: direct}]"),
		policy("deny1", "prod", `  to: {service: inv}
  action: deny
  from:
    - {workload: {namespace: batch, serviceAccount: x, podLabels: {app: x}}, clusters: [a]}
    - {cidr: 192.168.7.128/25, via: direct}
    - {cidr: 192.168.9.0/24, via: direct}
    - {namespace: jobs, clusters: [a]}`),
		policy("deny2", "prod", `  to: {service: inv}
  action: deny
  from:
    - {workload: {namespace: batch, serviceAccount: x2, podLabels: {app: x}}, clusters: [a]}
    - {workload: {namespace: batch, serviceAccount: y, podLabels: {app: y}}, clusters: [a]}
    - {cidr: 192.168.7.0/24, via: direct}
    - {cidr: 192.168.1.0/24, via: direct}`))
	wantCodes(t, ds)
	// One NotIn per key with every denied value; a wider except replaces
	// the narrower one it contains; excepts in address order; the denied
	// namespace is gone.
	wantSpec(t, objs, "a", "prod", "allow", `
ingress:
- from:
  - namespaceSelector:
      matchLabels:
        kubernetes.io/metadata.name: batch
    podSelector:
      matchExpressions:
      - key: app
        operator: NotIn
        values:
        - x
        - "y"
  - ipBlock:
      cidr: 192.168.0.0/16
      except:
      - 192.168.1.0/24
      - 192.168.7.0/24
      - 192.168.9.0/24
  ports:
  - port: 8080
    protocol: TCP
podSelector:
  matchLabels:
    app: inv
policyTypes:
- Ingress`)
}

// TestFlatNetworkWithoutPodCIDRs: a flat-network cluster that declares no
// pod range gives layer 2 nothing to admit or reach; no rule is invented.
func TestFlatNetworkWithoutPodCIDRs(t *testing.T) {
	noPods := strings.Replace(clusters, "  cidrs: {pods: [10.2.0.0/16], egress: [192.0.2.2/32]}\n", "", 1)
	objs, _ := build(t, noPods,
		service("inv", "prod", "{cluster: a}"),
		service("web", "web", "{cluster: b}"),
		policy("p", "prod", "  to: {service: inv}\n  from: [{service: web/web}]"))
	wantAbsent(t, objs, "a", "prod", "p")
	if find(objs, "b", "web", "prod-p-egress") == nil {
		t.Errorf("a's pod ranges are declared: b's callers reach them; have %v", names(objs))
	}
	objs, _ = build(t, noPods,
		service("inv", "prod", "{cluster: b}"),
		service("web", "web", "{cluster: a}"),
		policy("p", "prod", "  to: {service: inv}\n  from: [{service: web/web}]"))
	wantAbsent(t, objs, "a", "web", "prod-p-egress")
	if find(objs, "b", "prod", "p") == nil {
		t.Errorf("a's pod ranges are declared: b admits them; have %v", names(objs))
	}
}

func TestSelectorKeyIsItsJSON(t *testing.T) {
	sels := []*metav1.LabelSelector{
		{},
		{MatchLabels: map[string]string{"app": "a"}},
		{MatchLabels: map[string]string{"b": "2", "a": "1", "app.kubernetes.io/name": "x-y_z.0", "empty": ""}},
		{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "k", Operator: metav1.LabelSelectorOpExists}}},
		{MatchLabels: map[string]string{"app": "a"}, MatchExpressions: []metav1.LabelSelectorRequirement{
			{Key: "k", Operator: metav1.LabelSelectorOpNotIn, Values: []string{"v1", "v2"}},
			{Key: "j", Operator: metav1.LabelSelectorOpIn, Values: []string{}},
		}},
		// Written by encoding/json: escaped, or not ASCII.
		{MatchLabels: map[string]string{"a": `q"b\s`}},
		{MatchLabels: map[string]string{"a<b>": "&"}},
		{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "k", Operator: "NotIn", Values: []string{"ü", "\x01", "\xff"}}}},
	}
	for _, s := range sels {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := selectorKey(s); got != string(want) {
			t.Errorf("selectorKey(%+v) = %s, want %s", s, got, want)
		}
	}
	if selectorKey(nil) != "" {
		t.Error("selectorKey(nil) is not empty")
	}
}
