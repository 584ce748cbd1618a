package istio

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	apinet "istio.io/api/networking/v1"
	clientnet "istio.io/client-go/pkg/apis/networking/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/yaml"

	"github.com/intentc/intentc/compiler/diag"
	"github.com/intentc/intentc/compiler/intent"
	"github.com/intentc/intentc/compiler/ir"
	"github.com/intentc/intentc/compiler/resolve"
	_ "github.com/intentc/intentc/internal/testflags" // accept -update like every test binary
)

// clusters are two clusters on two networks, one service in each namespace
// prod (both clusters) and web (dc2 only).
const clusters = `
apiVersion: intentc.dev/v1alpha1
kind: MeshCluster
metadata: {name: dc1}
spec:
  platform: kubernetes
  network: net-1
  cidrs: {pods: [10.1.0.0/16], egress: [203.0.113.1/32]}
  eastWestGateway: {address: 203.0.113.10}
---
apiVersion: intentc.dev/v1alpha1
kind: MeshCluster
metadata: {name: dc2}
spec:
  platform: kubernetes
  network: net-2
  cidrs: {pods: [10.2.0.0/16], egress: [203.0.113.2/32]}
  eastWestGateway: {address: 203.0.113.20}
---
apiVersion: intentc.dev/v1alpha1
kind: MeshService
metadata: {name: inventory, namespace: prod}
spec:
  ports:
    - {name: http, port: 80, targetPort: 8080, protocol: http}
    - {name: admin, port: 81, targetPort: 8080, protocol: http}
    - {name: pg, port: 5432, protocol: tcp}
  placement: [{cluster: dc1}, {cluster: dc2}]
---
apiVersion: intentc.dev/v1alpha1
kind: MeshService
metadata: {name: frontend, namespace: web}
spec:
  ports: [{name: http, port: 80, targetPort: 8080, protocol: http}]
  placement: [{cluster: dc2}]
`

// compile resolves the documents (which must be free of errors) and emits
// layers 4 and 3.
func compile(t *testing.T, docs ...string) ([]ir.Object, diag.List) {
	t.Helper()
	src := source(docs...)
	parsed, _, ds := intent.ParseFile("test.yaml", []byte(src))
	if ds.HasErrors() {
		t.Fatalf("parse:\n%s", ds.Error())
	}
	m, ds := resolve.Resolve(&intent.Set{Docs: parsed, Files: []string{"test.yaml"}})
	if ds.HasErrors() {
		t.Fatalf("resolve:\n%s", ds.Error())
	}
	return EmitSecurity(m)
}

func mustCompile(t *testing.T, docs ...string) []ir.Object {
	t.Helper()
	objs, ds := compile(t, docs...)
	if len(ds) > 0 {
		t.Fatalf("unexpected diagnostics:\n%s", ds.Error())
	}
	return objs
}

// key names an object as "cluster/Kind/namespace/name".
func key(o ir.Object) string {
	acc, _ := meta.Accessor(o.Body)
	return fmt.Sprintf("%s/%s/%s/%s", o.Cluster, o.Body.GetObjectKind().GroupVersionKind().Kind, acc.GetNamespace(), acc.GetName())
}

func keys(objs []ir.Object) []string {
	var out []string
	for _, o := range objs {
		out = append(out, key(o))
	}
	slices.Sort(out)
	return out
}

func find(t *testing.T, objs []ir.Object, k string) ir.Object {
	t.Helper()
	for _, o := range objs {
		if key(o) == k {
			return o
		}
	}
	t.Fatalf("no object %s; have:\n%s", k, strings.Join(keys(objs), "\n"))
	return ir.Object{}
}

// spec renders an object's spec as YAML, as the manifest writer would.
func spec(t *testing.T, o ir.Object) string {
	t.Helper()
	raw, err := json.Marshal(o.Body)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	out, err := yaml.Marshal(m["spec"])
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func wantSpec(t *testing.T, objs []ir.Object, k, want string) {
	t.Helper()
	got := spec(t, find(t, objs, k))
	want = strings.TrimLeft(want, "\n")
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("%s spec (-want +got):\n%s", k, d)
	}
}

func wantKeys(t *testing.T, objs []ir.Object, want ...string) {
	t.Helper()
	slices.Sort(want)
	if d := cmp.Diff(want, keys(objs)); d != "" {
		t.Errorf("objects (-want +got):\n%s", d)
	}
}

func source(docs ...string) string { return strings.Join(docs, "\n---\n") }

// at returns "line:code" for the first line of the documents containing
// marker, as codes reports a diagnostic there.
func at(t *testing.T, code diag.Code, marker string, docs ...string) string {
	t.Helper()
	for i, line := range strings.Split(source(docs...), "\n") {
		if strings.Contains(line, marker) {
			return fmt.Sprintf("%d:%s", i+1, code)
		}
	}
	t.Fatalf("no line contains %q", marker)
	return ""
}

func codes(ds diag.List) []string {
	var out []string
	for _, d := range ds {
		out = append(out, fmt.Sprintf("%d:%s", d.Pos.Line, d.Code))
	}
	return out
}

func mustPrefixes(ss ...string) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range ss {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}

func TestNamespaceDefaults(t *testing.T) {
	objs := mustCompile(t, clusters)
	// Managed namespaces only: web is managed in dc2, not in dc1.
	wantKeys(t, objs,
		"dc1/AuthorizationPolicy/prod/allow-nothing",
		"dc1/PeerAuthentication/prod/default",
		"dc2/AuthorizationPolicy/prod/allow-nothing",
		"dc2/AuthorizationPolicy/web/allow-nothing",
		"dc2/PeerAuthentication/prod/default",
		"dc2/PeerAuthentication/web/default",
	)
	wantSpec(t, objs, "dc1/PeerAuthentication/prod/default", `
mtls:
  mode: STRICT
`)
	// Allow-nothing is an empty spec, never rules: [{}].
	wantSpec(t, objs, "dc1/AuthorizationPolicy/prod/allow-nothing", "{}\n")
	// Without a Mesh document the namespace's services are the provenance.
	o := find(t, objs, "dc2/PeerAuthentication/web/default")
	if len(o.Sources) != 1 || o.Sources[0].Ref() != "MeshService/web/frontend" {
		t.Errorf("sources = %v", o.Sources)
	}
}

func TestPermissiveMesh(t *testing.T) {
	objs := mustCompile(t, clusters, `
apiVersion: intentc.dev/v1alpha1
kind: Mesh
metadata: {name: m}
spec: {mtls: permissive}
`)
	wantSpec(t, objs, "dc1/PeerAuthentication/prod/default", `
mtls:
  mode: PERMISSIVE
`)
	if o := find(t, objs, "dc1/PeerAuthentication/prod/default"); o.Sources[0].Ref() != "Mesh/m" {
		t.Errorf("sources = %v, want the Mesh", o.Sources)
	}
}

func TestDefaultDenyOff(t *testing.T) {
	objs := mustCompile(t, clusters, `
apiVersion: intentc.dev/v1alpha1
kind: Mesh
metadata: {name: m}
spec:
  defaultDeny: false
  baseline: {scrapers: [{namespace: monitoring}]}
---
apiVersion: intentc.dev/v1alpha1
kind: AccessPolicy
metadata: {name: web-reads, namespace: prod}
spec:
  to: {service: inventory, ports: [http]}
  from: [{service: web/frontend}]
`)
	// No allow-nothing and no namespace-wide baseline (it would flip every
	// workload of the namespace to deny-by-default), but the named
	// destination still gets its ALLOW.
	wantKeys(t, objs,
		"dc1/AuthorizationPolicy/prod/web-reads",
		"dc1/PeerAuthentication/prod/default",
		"dc2/AuthorizationPolicy/prod/web-reads",
		"dc2/PeerAuthentication/prod/default",
		"dc2/PeerAuthentication/web/default",
	)
}

func TestBaselineScrapers(t *testing.T) {
	objs := mustCompile(t, clusters, `
apiVersion: intentc.dev/v1alpha1
kind: Mesh
metadata: {name: m}
spec:
  baseline:
    scrapers:
      - {namespace: monitoring, podLabels: {app: prometheus}}
      - {namespace: monitoring, podLabels: {app: agent}}
      - {namespace: metrics}
`)
	wantSpec(t, objs, "dc2/AuthorizationPolicy/web/intentc-baseline-scrapers", `
rules:
- from:
  - source:
      principals:
      - cluster.local/ns/metrics/sa/*
  - source:
      principals:
      - cluster.local/ns/monitoring/sa/*
  to:
  - operation:
      ports:
      - "15020"
      - "15090"
`)
	// No scrapers, no baseline policy.
	for _, k := range keys(mustCompile(t, clusters)) {
		if strings.HasSuffix(k, BaselineScrapers) {
			t.Errorf("baseline emitted without scrapers: %s", k)
		}
	}
}

func TestPermissivePort(t *testing.T) {
	objs := mustCompile(t, clusters, `
apiVersion: intentc.dev/v1alpha1
kind: MeshService
metadata: {name: legacy, namespace: prod}
spec:
  selector: {app: legacy, tier: db}
  ports:
    - {name: http, port: 80, targetPort: 8080, protocol: http}
    - {name: sql, port: 3306, targetPort: 13306, protocol: tcp, mtls: permissive}
  placement: [{cluster: dc1}]
`)
	wantSpec(t, objs, "dc1/PeerAuthentication/prod/legacy-permissive", `
mtls:
  mode: STRICT
portLevelMtls:
  "13306":
    mode: PERMISSIVE
selector:
  matchLabels:
    app: legacy
    tier: db
`)
	// Only where it is placed, and not for services without the exception.
	for _, k := range keys(objs) {
		if strings.HasSuffix(k, PermissiveSuffix) && k != "dc1/PeerAuthentication/prod/legacy-permissive" {
			t.Errorf("unexpected exception %s", k)
		}
	}
}

const fourSources = `
apiVersion: intentc.dev/v1alpha1
kind: AccessPolicy
metadata: {name: reads, namespace: web}
spec:
  to: {service: prod/inventory, ports: [http, admin]}
  from:
    - {service: frontend}
    - {namespace: batch, clusters: [dc1]}
    - {workload: {namespace: ops, serviceAccount: reporter, podLabels: {app: reporter}}}
    - {cidr: 192.168.50.0/24, via: direct, network: net-1}
  http: {methods: [GET], paths: ["/api", "/api/*"]}
`

func TestAllowSources(t *testing.T) {
	objs := mustCompile(t, clusters, fourSources)
	// Named <policy-namespace>-<policy> in the destination's namespace; the
	// two service ports share target 8080, listed once.
	wantSpec(t, objs, "dc1/AuthorizationPolicy/prod/web-reads", `
rules:
- from:
  - source:
      principals:
      - cluster.local/ns/web/sa/frontend
  - source:
      principals:
      - cluster.local/ns/batch/sa/*
  - source:
      principals:
      - cluster.local/ns/ops/sa/reporter
  - source:
      ipBlocks:
      - 192.168.50.0/24
  to:
  - operation:
      methods:
      - GET
      paths:
      - /api
      - /api/*
      ports:
      - "8080"
selector:
  matchLabels:
    app: inventory
`)
	// dc2 is on net-2: the direct range cannot reach it with its own address.
	wantSpec(t, objs, "dc2/AuthorizationPolicy/prod/web-reads", `
rules:
- from:
  - source:
      principals:
      - cluster.local/ns/web/sa/frontend
  - source:
      principals:
      - cluster.local/ns/batch/sa/*
  - source:
      principals:
      - cluster.local/ns/ops/sa/reporter
  to:
  - operation:
      methods:
      - GET
      paths:
      - /api
      - /api/*
      ports:
      - "8080"
selector:
  matchLabels:
    app: inventory
`)
	o := find(t, objs, "dc1/AuthorizationPolicy/prod/web-reads")
	var refs []string
	for _, s := range o.Sources {
		refs = append(refs, s.Ref())
	}
	if d := cmp.Diff([]string{"AccessPolicy/web/reads", "MeshService/prod/inventory"}, refs); d != "" {
		t.Errorf("sources (-want +got):\n%s", d)
	}
}

func TestNoEmptyFrom(t *testing.T) {
	objs := mustCompile(t, clusters, `
apiVersion: intentc.dev/v1alpha1
kind: AccessPolicy
metadata: {name: lan, namespace: prod}
spec:
  to: {service: ledger}
  from: [{cidr: 192.168.50.0/24, via: direct, network: net-1}]
---
apiVersion: intentc.dev/v1alpha1
kind: MeshService
metadata: {name: ledger, namespace: prod}
spec:
  ports: [{name: pg, port: 5432, protocol: tcp, mtls: permissive}]
  placement: [{cluster: dc1}, {cluster: dc2}]
`)
	// In dc2 the only source cannot arrive: an ALLOW with an empty from would
	// admit anyone, so there is none; allow-nothing keeps dc2 closed.
	find(t, objs, "dc1/AuthorizationPolicy/prod/lan")
	for _, k := range keys(objs) {
		if k == "dc2/AuthorizationPolicy/prod/lan" {
			t.Errorf("%s emitted with no source that reaches it", k)
		}
	}
	wantSpec(t, objs, "dc1/AuthorizationPolicy/prod/lan", `
rules:
- from:
  - source:
      ipBlocks:
      - 192.168.50.0/24
  to:
  - operation:
      ports:
      - "5432"
selector:
  matchLabels:
    app: ledger
`)
}

// clusters with their own trust domains: the service must name both.
func TestMultiTrustDomain(t *testing.T) {
	tds := strings.NewReplacer(
		"network: net-1\n", "network: net-1\n  trustDomain: dc1.example.com\n",
		"network: net-2\n", "network: net-2\n  trustDomain: dc2.example.com\n",
	).Replace(clusters)
	objs := mustCompile(t, tds, `
apiVersion: intentc.dev/v1alpha1
kind: AccessPolicy
metadata: {name: peers, namespace: prod}
spec:
  to: {service: inventory, ports: [pg]}
  from: [{service: inventory}, {namespace: batch, clusters: [dc2]}]
`)
	wantSpec(t, objs, "dc1/AuthorizationPolicy/prod/peers", `
rules:
- from:
  - source:
      principals:
      - dc1.example.com/ns/prod/sa/inventory
      - dc2.example.com/ns/prod/sa/inventory
  - source:
      principals:
      - dc2.example.com/ns/batch/sa/*
  to:
  - operation:
      ports:
      - "5432"
selector:
  matchLabels:
    app: inventory
`)
}

func TestDenyPolicy(t *testing.T) {
	objs := mustCompile(t, clusters, `
apiVersion: intentc.dev/v1alpha1
kind: AccessPolicy
metadata: {name: no-batch-admin, namespace: prod}
spec:
  to: {service: inventory, ports: [admin]}
  from: [{namespace: batch}]
  action: deny
`)
	wantSpec(t, objs, "dc2/AuthorizationPolicy/prod/no-batch-admin", `
action: DENY
rules:
- from:
  - source:
      principals:
      - cluster.local/ns/batch/sa/*
  to:
  - operation:
      ports:
      - "8080"
selector:
  matchLabels:
    app: inventory
`)
}

const ingress = `
apiVersion: intentc.dev/v1alpha1
kind: Mesh
metadata: {name: m}
spec:
  ingressGateway: {namespace: istio-ingress, serviceAccount: gw, selector: {app: gw}}
---
apiVersion: intentc.dev/v1alpha1
kind: AccessPolicy
metadata: {name: partners, namespace: web}
spec:
  to: {service: frontend}
  from:
    - {cidr: 198.51.100.0/24, via: ingressGateway, network: net-2, hosts: [shop.example.com]}
    - {cidr: 192.0.2.0/24, via: ingressGateway, network: net-2, hosts: [shop.example.com, api.example.com]}
  http: {paths: ["/shop/*"]}
`

func TestIngressGatewayRestriction(t *testing.T) {
	objs := mustCompile(t, clusters, ingress)
	// The destination admits the gateway's identity, once for both sources ...
	wantSpec(t, objs, "dc2/AuthorizationPolicy/web/partners", `
rules:
- from:
  - source:
      principals:
      - cluster.local/ns/istio-ingress/sa/gw
  to:
  - operation:
      paths:
      - /shop/*
      ports:
      - "8080"
selector:
  matchLabels:
    app: frontend
`)
	// ... and the gateway of the sources' network keeps the ranges, per host,
	// the two sources' ranges united, host:port included.
	wantSpec(t, objs, "dc2/AuthorizationPolicy/istio-ingress/intentc-ingress-source-ranges", `
action: DENY
rules:
- from:
  - source:
      notRemoteIpBlocks:
      - 192.0.2.0/24
  to:
  - operation:
      hosts:
      - api.example.com
      - api.example.com:*
      paths:
      - /shop/*
      ports:
      - "80"
      - "443"
- from:
  - source:
      notRemoteIpBlocks:
      - 192.0.2.0/24
      - 198.51.100.0/24
  to:
  - operation:
      hosts:
      - shop.example.com
      - shop.example.com:*
      paths:
      - /shop/*
      ports:
      - "80"
      - "443"
selector:
  matchLabels:
    app: gw
`)
	// Not in dc1, where no such source arrives.
	for _, k := range keys(objs) {
		if strings.HasPrefix(k, "dc1/") && strings.HasSuffix(k, IngressSourceRanges) {
			t.Errorf("unexpected %s", k)
		}
	}
}

func TestIngressGatewayWorld(t *testing.T) {
	objs := mustCompile(t, clusters, `
apiVersion: intentc.dev/v1alpha1
kind: AccessPolicy
metadata: {name: public, namespace: web}
spec:
  to: {service: frontend}
  from: [{cidr: 0.0.0.0/0, via: ingressGateway}]
`)
	for _, k := range keys(objs) {
		if strings.HasSuffix(k, IngressSourceRanges) {
			t.Errorf("the whole internet needs no restriction: %s", k)
		}
	}
	find(t, objs, "dc2/AuthorizationPolicy/web/public")
}

func TestIngressGatewayDeny(t *testing.T) {
	objs := mustCompile(t, clusters, `
apiVersion: intentc.dev/v1alpha1
kind: AccessPolicy
metadata: {name: block, namespace: web}
spec:
  to: {service: frontend}
  from:
    - {cidr: 198.51.100.0/24, via: ingressGateway, hosts: [shop.example.com]}
    - {namespace: batch}
  action: deny
`)
	// The destination's DENY must not name the gateway's identity (that
	// would deny every caller through it); the gateway denies the range.
	wantSpec(t, objs, "dc2/AuthorizationPolicy/web/block", `
action: DENY
rules:
- from:
  - source:
      principals:
      - cluster.local/ns/batch/sa/*
  to:
  - operation:
      ports:
      - "8080"
selector:
  matchLabels:
    app: frontend
`)
	wantSpec(t, objs, "dc1/AuthorizationPolicy/istio-ingress/intentc-ingress-source-ranges", `
action: DENY
rules:
- from:
  - source:
      remoteIpBlocks:
      - 198.51.100.0/24
  to:
  - operation:
      hosts:
      - shop.example.com
      - shop.example.com:*
      ports:
      - "80"
      - "443"
selector:
  matchLabels:
    istio: ingressgateway
`)
}

func TestIngressGatewayConflict(t *testing.T) {
	office := `
apiVersion: intentc.dev/v1alpha1
kind: AccessPolicy
metadata: {name: office, namespace: prod}
spec:
  to: {service: inventory, ports: [http]}
  from: [{cidr: 203.0.113.0/24, via: ingressGateway, network: net-2, hosts: [shop.example.com]}]
`
	_, ds := compile(t, clusters, ingress, office)
	// Reported at the later policy in model order (web/partners), related to the other.
	if d := cmp.Diff([]string{at(t, diag.CodeIngressRestriction, "198.51.100.0/24", clusters, ingress, office)}, codes(ds)); d != "" {
		t.Errorf("diagnostics (-want +got):\n%s\n%s", d, ds.Error())
	}
	// Disjoint paths on the shared host: the rules cannot shut each other out.
	_, ds = compile(t, clusters, ingress, `
apiVersion: intentc.dev/v1alpha1
kind: AccessPolicy
metadata: {name: office, namespace: prod}
spec:
  to: {service: inventory, ports: [http]}
  from: [{cidr: 203.0.113.0/24, via: ingressGateway, network: net-2, hosts: [shop.example.com]}]
  http: {paths: ["/stock/*"]}
`)
	if len(ds) > 0 {
		t.Errorf("unexpected diagnostics:\n%s", ds.Error())
	}
}

func TestIngressGatewayWildcardHost(t *testing.T) {
	wild := `
apiVersion: intentc.dev/v1alpha1
kind: AccessPolicy
metadata: {name: partners, namespace: web}
spec:
  to: {service: frontend}
  from:
    - {cidr: 198.51.100.0/24, via: ingressGateway, hosts: ["*.example.com"]}
`
	_, ds := compile(t, clusters, wild)
	if d := cmp.Diff([]string{at(t, diag.CodeIngressRestriction, "*.example.com", clusters, wild)}, codes(ds)); d != "" {
		t.Errorf("diagnostics (-want +got):\n%s\n%s", d, ds.Error())
	}
}

const externals = `
apiVersion: intentc.dev/v1alpha1
kind: ExternalService
metadata: {name: payments-db, namespace: prod}
spec:
  hosts: [db.payments.example.com]
  cidrs: [198.51.100.7/32]
  ports: [{name: pg, port: 5432, protocol: tcp}]
---
apiVersion: intentc.dev/v1alpha1
kind: ExternalService
metadata: {name: stripe, namespace: prod}
spec:
  hosts: [api.stripe.com]
  ports: [{name: https, port: 443, protocol: tls}]
---
apiVersion: intentc.dev/v1alpha1
kind: ExternalService
metadata: {name: mainframe, namespace: prod}
spec:
  cidrs: [192.0.2.0/28]
  ports: [{name: mq, port: 1414, protocol: tcp}]
---
apiVersion: intentc.dev/v1alpha1
kind: AccessPolicy
metadata: {name: db, namespace: prod}
spec:
  to: {external: payments-db}
  from: [{service: inventory, clusters: [dc1]}]
---
apiVersion: intentc.dev/v1alpha1
kind: AccessPolicy
metadata: {name: pay, namespace: web}
spec:
  to: {external: prod/stripe}
  from: [{service: frontend}, {service: prod/inventory}]
---
apiVersion: intentc.dev/v1alpha1
kind: AccessPolicy
metadata: {name: no-mainframe, namespace: prod}
spec:
  to: {external: mainframe}
  from: [{namespace: batch}]
  action: deny
`

func TestServiceEntries(t *testing.T) {
	objs := mustCompile(t, clusters, externals)
	var ses []string
	for _, k := range keys(objs) {
		if strings.Contains(k, "/ServiceEntry/") {
			ses = append(ses, k)
		}
	}
	// Where a caller runs; nothing for a service only a deny names, and no
	// AuthorizationPolicy for an external destination.
	if d := cmp.Diff([]string{
		"dc1/ServiceEntry/prod/payments-db",
		"dc1/ServiceEntry/prod/stripe",
		"dc2/ServiceEntry/prod/stripe",
	}, ses); d != "" {
		t.Errorf("service entries (-want +got):\n%s", d)
	}
	for _, k := range keys(objs) {
		if strings.Contains(k, "AuthorizationPolicy/prod/db") || strings.Contains(k, "mainframe") {
			t.Errorf("unexpected %s", k)
		}
	}
	// location MESH_EXTERNAL and resolution NONE are the proto defaults, which
	// the JSON form leaves out; check the typed fields.
	se := find(t, objs, "dc1/ServiceEntry/prod/payments-db").Body.(*clientnet.ServiceEntry)
	if se.Spec.Location != apinet.ServiceEntry_MESH_EXTERNAL || se.Spec.Resolution != apinet.ServiceEntry_NONE {
		t.Errorf("location %v resolution %v, want MESH_EXTERNAL NONE", se.Spec.Location, se.Spec.Resolution)
	}
	// CIDRs: resolution NONE, the only one Istio accepts with CIDR addresses.
	wantSpec(t, objs, "dc1/ServiceEntry/prod/payments-db", `
addresses:
- 198.51.100.7/32
exportTo:
- .
hosts:
- db.payments.example.com
ports:
- name: pg
  number: 5432
  protocol: TCP
`)
	// Hosts only: DNS; exported to the callers' namespaces.
	wantSpec(t, objs, "dc2/ServiceEntry/prod/stripe", `
exportTo:
- .
- web
hosts:
- api.stripe.com
ports:
- name: https
  number: 443
  protocol: TLS
resolution: DNS
`)
	wantSpec(t, objs, "dc1/ServiceEntry/prod/stripe", `
exportTo:
- .
hosts:
- api.stripe.com
ports:
- name: https
  number: 443
  protocol: TLS
resolution: DNS
`)
}

func TestServiceEntryAddressesOnly(t *testing.T) {
	objs := mustCompile(t, clusters, `
apiVersion: intentc.dev/v1alpha1
kind: ExternalService
metadata: {name: mainframe, namespace: prod}
spec:
  cidrs: [192.0.2.0/28, "2001:db8::/64"]
  ports: [{name: mq, port: 1414, protocol: tcp}]
---
apiVersion: intentc.dev/v1alpha1
kind: AccessPolicy
metadata: {name: mq, namespace: prod}
spec:
  to: {external: mainframe}
  from: [{workload: {namespace: ops, serviceAccount: batch}, clusters: [dc2]}]
`)
	wantSpec(t, objs, "dc2/ServiceEntry/prod/mainframe", `
addresses:
- 192.0.2.0/28
- 2001:db8::/64
exportTo:
- ops
hosts:
- mainframe.prod.external
ports:
- name: mq
  number: 1414
  protocol: TCP
`)
}

func TestResolution(t *testing.T) {
	port := func(proto string) *ir.Port { return &ir.Port{Name: "p", Port: 1, TargetPort: 1, Protocol: proto} }
	for _, tc := range []struct {
		hosts []string
		cidrs bool
		port  string
		want  string
	}{
		{[]string{"a.example.com"}, false, ir.ProtoTCP, "DNS"},
		{[]string{"a.example.com"}, true, ir.ProtoHTTP, "NONE"},
		{[]string{"*.example.com"}, false, ir.ProtoHTTP, "NONE"},
		{[]string{"a.example.com", "b.example.com"}, false, ir.ProtoTLS, "DNS"},
		{[]string{"a.example.com", "b.example.com"}, false, ir.ProtoTCP, "NONE"},
	} {
		e := &ir.External{Hosts: tc.hosts, Ports: []*ir.Port{port(tc.port)}}
		if tc.cidrs {
			e.CIDRs = mustPrefixes("192.0.2.0/24")
		}
		if got := resolution(e).String(); got != tc.want {
			t.Errorf("resolution(%v, cidrs %v, %s) = %s, want %s", tc.hosts, tc.cidrs, tc.port, got, tc.want)
		}
	}
}

func TestServiceEntryNeverManaged(t *testing.T) {
	vault := `
apiVersion: intentc.dev/v1alpha1
kind: ExternalService
metadata: {name: vault, namespace: istio-system}
spec:
  hosts: [vault.example.com]
  ports: [{name: https, port: 443, protocol: tls}]
---
apiVersion: intentc.dev/v1alpha1
kind: AccessPolicy
metadata: {name: secrets, namespace: prod}
spec:
  to: {external: istio-system/vault}
  from: [{service: inventory}]
`
	_, ds := compile(t, clusters, vault)
	// At the ExternalService document, two lines above its metadata.
	line := 0
	fmt.Sscanf(at(t, diag.CodeNeverManagedNamespace, "name: vault", clusters, vault), "%d:", &line)
	if d := cmp.Diff([]string{fmt.Sprintf("%d:%s", line-2, diag.CodeNeverManagedNamespace)}, codes(ds)); d != "" {
		t.Errorf("diagnostics (-want +got):\n%s\n%s", d, ds.Error())
	}
	// Unused, it is not reported: nothing would be written.
	_, ds = compile(t, clusters, `
apiVersion: intentc.dev/v1alpha1
kind: ExternalService
metadata: {name: vault, namespace: istio-system}
spec:
  hosts: [vault.example.com]
  ports: [{name: https, port: 443, protocol: tls}]
`)
	if len(ds) > 0 {
		t.Errorf("unexpected diagnostics:\n%s", ds.Error())
	}
}

func TestPathsOverlap(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"/a", "/a", true},
		{"/a", "/b", false},
		{"/a/*", "/a/b", true},
		{"/a/*", "/b/c", false},
		{"/a/*", "/a/b/*", true},
		{"/a/*", "/b/*", false},
		{"*.png", "/x.png", true},
		{"*.png", "/x.jpg", false},
		{"*.png", "*.jpg", false},
		{"/a/*", "*.png", true},
		{"*", "/x", true},
	} {
		if got := pathsOverlap(tc.a, tc.b); got != tc.want {
			t.Errorf("pathsOverlap(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
		if got := pathsOverlap(tc.b, tc.a); got != tc.want {
			t.Errorf("pathsOverlap(%q, %q) = %v, want %v", tc.b, tc.a, got, tc.want)
		}
	}
}

func TestHostsOverlap(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"a.example.com", "A.example.com", true},
		{"a.example.com", "b.example.com", false},
		{"*.example.com", "a.example.com", true},
		{"*.example.com", "a.example.org", false},
	} {
		if got := hostsOverlap(tc.a, tc.b); got != tc.want {
			t.Errorf("hostsOverlap(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}

// TestNeverWritesNeverManaged checks that no policy object lands in a
// never-managed namespace, whatever the intent asks.
func TestNeverWritesNeverManaged(t *testing.T) {
	objs := mustCompile(t, clusters, fourSources, externals, ingress)
	m := &ir.Mesh{RootNamespace: "istio-system", IntentcNamespace: "intentc-system", GatewayNamespaces: []string{"istio-system"}}
	for _, o := range objs {
		acc, _ := meta.Accessor(o.Body)
		if m.NeverManaged(acc.GetNamespace()) {
			t.Errorf("%s is in a never-managed namespace", key(o))
		}
	}
}
