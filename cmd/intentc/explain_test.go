package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The acceptance: the four layers' verdicts with their rules, and
// the 70/30 landing clusters.
func TestExplainExample(t *testing.T) {
	code, out, errOut := intentc(t, "explain", "--from", "web/frontend", "--to", "prod/inventory:8080", example)
	if code != exitOK {
		t.Fatalf("exit %d, want 0\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	for _, want := range []string{
		"routing: VirtualService prod/inventory in public-prod, route \"default\": openstack-prod 70% (subset openstack-prod), public-prod 30% (subset public-prod); failover: no",
		"layer 1: allowed — openstack-prod: SecurityGroup k8s-prod-mesh rule 3, SecurityGroup k8s-prod-mesh rule 4 [intentc's security group alone]",
		"layer 2: allowed — openstack-prod: NetworkPolicy web/prod-frontend-reads-inventory-egress egress rule 1, NetworkPolicy prod/frontend-reads-inventory ingress rule 0; public-prod: NetworkPolicy web/prod-frontend-reads-inventory-egress egress rule 0, NetworkPolicy prod/frontend-reads-inventory ingress rule 0",
		"layer 3: allowed — openstack-prod: AuthorizationPolicy prod/frontend-reads-inventory rule 0; public-prod: AuthorizationPolicy prod/frontend-reads-inventory rule 0",
		"layer 4: allowed — openstack-prod: PeerAuthentication prod/inventory-permissive; public-prod: PeerAuthentication prod/inventory-permissive",
		"from AccessPolicy/prod/frontend-reads-inventory",
		"intent: allowed in openstack-prod (AccessPolicy/prod/frontend-reads-inventory)",
		"verdict: allowed",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// One line per layer, each beginning "layer N: allowed|denied".
	re := regexp.MustCompile(`(?m)^layer [1-4]: (allowed|denied)`)
	if n := len(re.FindAllString(out, -1)); n != 4 {
		t.Errorf("%d layer lines, want 4:\n%s", n, out)
	}
}

// The acceptance, the other half: on the generated tree with
// inventory's ingress NetworkPolicy deleted, layer 2 is denied and names
// the default deny.
func TestExplainGeneratedTreeWithoutIngressPolicy(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	if code, _, errOut := intentc(t, "compile", example, "-o", dir); code != exitOK {
		t.Fatalf("compile: exit %d\n%s", code, errOut)
	}
	if err := os.Remove(filepath.Join(dir, "clusters", "openstack-prod", "prod", "networkpolicy-frontend-reads-inventory.yaml")); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := intentc(t, "explain", "--from", "web/frontend", "--to", "prod/inventory:8080", "--method", "GET", "--path", "/api/items", example, dir)
	if code != exitFindings {
		t.Fatalf("exit %d, want 1\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if !regexp.MustCompile(`(?m)^layer 2: denied — openstack-prod: NetworkPolicy prod/intentc-default-deny$`).MatchString(out) {
		t.Errorf("want layer 2 denied by prod/intentc-default-deny:\n%s", out)
	}
	if !strings.Contains(out, "selects the pods of prod/inventory for Ingress and admits nothing (default deny)") {
		t.Errorf("the default deny's reason is missing:\n%s", out)
	}
	// Manifests given as they are: the intent's AccessPolicies are not
	// read, so there is no intent verdict.
	if strings.Contains(out, "intent:") {
		t.Errorf("manifest mode must not report the intent's verdict:\n%s", out)
	}
	if !strings.Contains(out, "layer 3: allowed") || !strings.Contains(out, "verdict: denied") {
		t.Errorf("want layer 3 allowed and a denied verdict:\n%s", out)
	}
}

// Hand-written manifests with only the inventory from the intent: the
// analyzer takes MeshClusters and MeshServices, and judges the rest as
// given.
func TestExplainHandWritten(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("inventory.yaml", `apiVersion: intentc.dev/v1alpha1
kind: MeshCluster
metadata: {name: dc}
spec: {platform: kubernetes, network: n1}
---
apiVersion: intentc.dev/v1alpha1
kind: MeshService
metadata: {name: api, namespace: shop}
spec:
  ports: [{name: http, port: 80, targetPort: 8080, protocol: http}]
  placement: [{cluster: dc}]
`)
	write("manifests/policies.yaml", `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: api-from-web, namespace: shop}
spec:
  podSelector: {matchLabels: {app: api}}
  policyTypes: [Ingress]
  ingress:
  - from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: web}}}]
    ports: [{port: 8080}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: api, namespace: shop}
spec:
  selector: {matchLabels: {app: api}}
  rules:
  - from: [{source: {namespaces: [web]}}]
    to: [{operation: {methods: [GET]}}]
`)
	code, out, errOut := intentc(t, "explain", "--from", "web/*", "--to", "shop/api", "--method", "GET", "--path", "/", dir)
	if code != exitOK {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, _ = intentc(t, "explain", "--from", "web/*", "--to", "shop/api", "--method", "POST", "--path", "/", dir)
	if code != exitFindings || !strings.Contains(out, "layer 3: denied — dc: AuthorizationPolicy shop/api") {
		t.Errorf("POST: exit %d, want 1 and layer 3 denied by shop/api:\n%s", code, out)
	}
	code, out, _ = intentc(t, "explain", "--from", "batch/*", "--to", "shop/api:80", dir)
	if code != exitFindings || !strings.Contains(out, "layer 2: denied — dc: NetworkPolicy shop/api-from-web") {
		t.Errorf("batch: exit %d, want 1 and layer 2 denied by shop/api-from-web:\n%s", code, out)
	}
}

func TestExplainJSON(t *testing.T) {
	code, out, errOut := intentc(t, "explain", "--from", "web/frontend", "--to", "prod/inventory:http", "--format", "json", example)
	if code != exitOK {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	var x struct {
		Verdict string
		Layer1  string
		Paths   []struct {
			Routing struct {
				Landings []struct {
					Cluster string
					Percent int
				}
				Failover bool
			}
			Layers []struct {
				Layer   int
				Verdict string
			}
			Landings []struct {
				Cluster string
				Layers  []struct {
					Layer     int
					Verdict   string
					Decisions []struct {
						Object *struct{ Kind, Name, File string }
						Rule   int
					}
				}
			}
		}
	}
	if err := json.Unmarshal([]byte(out), &x); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if x.Verdict != "allowed" || len(x.Paths) != 1 || len(x.Paths[0].Layers) != 4 {
		t.Fatalf("unexpected: %+v", x)
	}
	got := map[string]int{}
	for _, l := range x.Paths[0].Routing.Landings {
		got[l.Cluster] = l.Percent
	}
	if got["openstack-prod"] != 70 || got["public-prod"] != 30 || x.Paths[0].Routing.Failover {
		t.Errorf("landings %v failover %v, want 70/30 without failover", got, x.Paths[0].Routing.Failover)
	}
	found := false
	for _, lj := range x.Paths[0].Landings {
		for _, l := range lj.Layers {
			for _, d := range l.Decisions {
				if l.Layer == 2 && d.Object != nil && d.Object.Name == "frontend-reads-inventory" && d.Rule == 0 && strings.HasSuffix(d.Object.File, ".yaml") {
					found = true
				}
			}
		}
	}
	if !found {
		t.Errorf("no layer-2 decision naming NetworkPolicy frontend-reads-inventory rule 0 and its file:\n%s", out)
	}
}

func TestExplainUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"explain", "--to", "prod/inventory", example}, "needs --from and --to"},
		{[]string{"explain", "--from", "web/frontend", "--to", "prod/nothing", example}, "no MeshService or ExternalService prod/nothing"},
		{[]string{"explain", "--from", "web/frontend", "--to", "prod/inventory:7", example}, "has no port \"7\""},
		{[]string{"explain", "--from", "frontend", "--to", "prod/inventory", example}, "want namespace/name"},
		{[]string{"explain", "--from", "web/frontend", "--to", "prod/inventory", "--format", "xml", example}, "--format must be text or json"},
		{[]string{"explain", "--from", "web/frontend", "--from-cluster", "nowhere", "--to", "prod/inventory", example}, "no MeshCluster \"nowhere\""},
	} {
		code, _, errOut := intentc(t, tc.args...)
		if code != exitUsage || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args, code, errOut, tc.want)
		}
	}
}
