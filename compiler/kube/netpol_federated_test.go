package kube

import (
	"strings"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
	"sigs.k8s.io/yaml"

	"github.com/intentc/intentc/compiler/intent"
	"github.com/intentc/intentc/compiler/resolve"
	_ "github.com/intentc/intentc/internal/testflags" // accept -update like every test binary
)

// fedFlat is two meshes on one flat network: orders in both, cart (its
// caller) in both. Within a mesh pods reach pods; across meshes they reach
// only the other mesh's east-west gateway, even on the same network.
const fedFlat = `
apiVersion: intentc.dev/v1alpha1
kind: Mesh
metadata: {name: prod}
spec: {model: federated, federation: {trust: trustBundles}}
---
apiVersion: intentc.dev/v1alpha1
kind: MeshCluster
metadata: {name: east}
spec:
  platform: kubernetes
  network: flat
  trustDomain: east.example.com
  cidrs: {pods: [10.1.0.0/16], egress: [192.0.2.1/32]}
  eastWestGateway: {address: 192.0.2.10, port: 443}
---
apiVersion: intentc.dev/v1alpha1
kind: MeshCluster
metadata: {name: west}
spec:
  platform: kubernetes
  network: flat
  trustDomain: west.example.com
  cidrs: {pods: [10.2.0.0/16], egress: [192.0.2.2/32]}
  eastWestGateway: {address: 192.0.2.20}
---
apiVersion: intentc.dev/v1alpha1
kind: MeshService
metadata: {name: orders, namespace: shop}
spec:
  ports: [{name: http, port: 80, targetPort: 8080, protocol: http}]
  placement: [{cluster: east}, {cluster: west}]
---
apiVersion: intentc.dev/v1alpha1
kind: MeshService
metadata: {name: cart, namespace: shop}
spec:
  ports: [{name: http, port: 80, targetPort: 8080, protocol: http}]
  placement: [{cluster: east}, {cluster: west}]
---
apiVersion: intentc.dev/v1alpha1
kind: AccessPolicy
metadata: {name: cart-calls-orders, namespace: shop}
spec:
  to: {service: orders}
  from: [{service: cart}]
---
apiVersion: intentc.dev/v1alpha1
kind: AccessPolicy
metadata: {name: orders-calls-cart, namespace: shop}
spec:
  to: {service: cart}
  from: [{service: orders}]
`

func fedNetpol(t *testing.T, cluster, ns, name string) string {
	t.Helper()
	parsed, _, ds := intent.ParseFile("test.yaml", []byte(fedFlat))
	if ds.HasErrors() {
		t.Fatal(ds.Error())
	}
	m, ds := resolve.Resolve(&intent.Set{Docs: parsed, Files: []string{"test.yaml"}})
	if len(ds) > 0 {
		t.Fatalf("resolve (a flat network across meshes needs no pod CIDRs of the other, so no IC2044):\n%s", ds.Error())
	}
	objs, ds := EmitNetworkPolicies(m)
	if len(ds) > 0 {
		t.Fatal(ds.Error())
	}
	for _, o := range objs {
		np := o.Body.(*networkingv1.NetworkPolicy)
		if o.Cluster == cluster && np.Namespace == ns && np.Name == name {
			b, err := yaml.Marshal(np.Spec)
			if err != nil {
				t.Fatal(err)
			}
			return strings.TrimSpace(string(b))
		}
	}
	t.Fatalf("no NetworkPolicy %s/%s/%s", cluster, ns, name)
	return ""
}

func TestCrossMeshEgressToRemoteGateway(t *testing.T) {
	// cart in east calls orders in east (pods) and in west (west's gateway,
	// on the port callers dial), never west's pod range.
	got := fedNetpol(t, "east", "shop", "shop-cart-calls-orders-egress")
	want := strings.TrimSpace(`
egress:
- ports:
  - port: 8080
    protocol: TCP
  to:
  - namespaceSelector:
      matchLabels:
        kubernetes.io/metadata.name: shop
    podSelector:
      matchLabels:
        app: orders
- ports:
  - port: 15443
    protocol: TCP
  to:
  - ipBlock:
      cidr: 192.0.2.20/32
podSelector:
  matchLabels:
    app: cart
policyTypes:
- Egress`)
	if got != want {
		t.Errorf("egress:\n%s\nwant:\n%s", got, want)
	}
}

func TestCrossMeshIngressFromLocalGateway(t *testing.T) {
	// orders in west admits west's own cart pods and, for east's cart, west's
	// east-west gateway pods: never east's pod range, though it is routable.
	got := fedNetpol(t, "west", "shop", "cart-calls-orders")
	want := strings.TrimSpace(`
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
        kubernetes.io/metadata.name: shop
    podSelector:
      matchLabels:
        app: cart
  ports:
  - port: 8080
    protocol: TCP
podSelector:
  matchLabels:
    app: orders
policyTypes:
- Ingress`)
	if got != want {
		t.Errorf("ingress:\n%s\nwant:\n%s", got, want)
	}
}
