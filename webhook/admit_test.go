package webhook

import (
	"context"
	"encoding/json"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	admissionv1 "k8s.io/api/admission/v1"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/intentc/intentc/compiler"
	"github.com/intentc/intentc/compiler/diag"
	_ "github.com/intentc/intentc/internal/testflags"
	"github.com/intentc/intentc/webhook/webhooktest"
)

const testCluster = "openstack-prod"

// exampleDir copies the bundled example into a fresh directory (tests may
// change it) and returns it.
func exampleDir(t testing.TB) string {
	t.Helper()
	src := filepath.Join("..", "examples", "cross-cloud", "intents")
	dst := t.TempDir()
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

func loadExample(t testing.TB) *Intent {
	t.Helper()
	in, diags := LoadIntent(exampleDir(t), testCluster, nil)
	if in == nil {
		t.Fatalf("example does not load:\n%v", diags)
	}
	return in
}

// generated returns a deep copy of an object the intent generates, as the
// API server would store it: with the fields it adds.
func generated(t testing.TB, in *Intent, group, kind, ns, name string) map[string]any {
	t.Helper()
	d := in.generates(objKey{group, kind, ns, name})
	if d == nil {
		t.Fatalf("the example generates no %s %s/%s for %s", kind, ns, name, in.Cluster)
	}
	obj := clone(t, d.Object)
	md := obj["metadata"].(map[string]any)
	md["uid"] = "0d3c1b7e-0000-4000-8000-000000000001"
	md["resourceVersion"] = "4711"
	md["generation"] = json.Number("3")
	md["creationTimestamp"] = "2025-01-01T00:00:00Z"
	md["managedFields"] = []any{map[string]any{"manager": "argocd-controller", "operation": "Apply"}}
	ann := md["annotations"].(map[string]any)
	ann["kubectl.kubernetes.io/last-applied-configuration"] = `{"apiVersion":"x"}`
	ann["argocd.argoproj.io/tracking-id"] = "intent:networking.istio.io/VirtualService:prod/inventory"
	labels := md["labels"].(map[string]any)
	labels["app.kubernetes.io/instance"] = "intent-openstack-prod"
	obj["status"] = map[string]any{"observedGeneration": json.Number("3")}
	return obj
}

func clone(t testing.TB, v map[string]any) map[string]any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	m, err := decodeJSON(b)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// yamlObj decodes a manifest written in a test.
func obj(t testing.TB, js string) map[string]any {
	t.Helper()
	m, err := decodeJSON([]byte(js))
	if err != nil {
		t.Fatalf("bad test object %s: %v", js, err)
	}
	return m
}

// request builds a Request the way the server does, through an
// AdmissionReview body.
func request(t testing.TB, op string, object, old map[string]any, user string) *Request {
	t.Helper()
	r := webhooktest.Review{UID: "uid-1", Operation: op, User: user}
	if object != nil {
		r.Object = object
	}
	if old != nil {
		r.OldObject = old
	}
	body, err := r.JSON()
	if err != nil {
		t.Fatal(err)
	}
	var review admissionv1.AdmissionReview
	if err := json.Unmarshal(body, &review); err != nil {
		t.Fatal(err)
	}
	req, err := NewRequest(review.Request)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

type want struct {
	allowed  bool
	rule     string // the rule expected to fire ("" none)
	action   Action
	contains []string // substrings of the deny message or the warnings
}

func check(t *testing.T, d Decision, w want) {
	t.Helper()
	if d.Allowed != w.allowed {
		t.Errorf("allowed = %v, want %v; findings: %+v", d.Allowed, w.allowed, d.Findings)
	}
	switch {
	case w.rule == "" && len(d.Findings) > 0:
		t.Errorf("unexpected findings: %+v", d.Findings)
	case w.rule != "":
		i := slices.IndexFunc(d.Findings, func(f Finding) bool { return f.Rule == w.rule })
		if i < 0 {
			t.Fatalf("rule %s did not fire; findings: %+v", w.rule, d.Findings)
		}
		act := w.action
		if act == "" {
			act = Deny
		}
		if d.Findings[i].Action != act {
			t.Errorf("rule %s action = %s, want %s", w.rule, d.Findings[i].Action, act)
		}
	}
	text := d.Message() + "\n" + strings.Join(d.Warnings(), "\n")
	for _, s := range w.contains {
		if !strings.Contains(text, s) {
			t.Errorf("answer does not mention %q:\n%s", s, text)
		}
	}
}

func TestDrift(t *testing.T) {
	in := loadExample(t)
	j := NewJudge(nil, nil)
	vs := func() map[string]any {
		return generated(t, in, "networking.istio.io", "VirtualService", "prod", "inventory")
	}

	t.Run("compliant generated object with server fields is admitted", func(t *testing.T) {
		check(t, j.Admit(context.Background(), in, request(t, "CREATE", vs(), nil, "")), want{allowed: true})
	})
	t.Run("duration respelled is the same value", func(t *testing.T) {
		o := vs()
		retries := lookup(o, "spec", "http").([]any)[1].(map[string]any)["retries"].(map[string]any)
		retries["perTryTimeout"] = "500ms"
		check(t, j.Admit(context.Background(), in, request(t, "UPDATE", o, vs(), "")), want{allowed: true})
	})
	t.Run("weights edited to 50/50 are denied with the intent's reason", func(t *testing.T) {
		o := vs()
		route := lookup(o, "spec", "http").([]any)[1].(map[string]any)["route"].([]any)
		route[0].(map[string]any)["weight"] = json.Number("50")
		route[1].(map[string]any)["weight"] = json.Number("50")
		check(t, j.Admit(context.Background(), in, request(t, "UPDATE", o, vs(), "")), want{rule: "drift", contains: []string{
			"IC4301", "VirtualService prod/inventory", "MeshService/prod/inventory",
			"spec.http[1].route[0].weight: the intent says 70, the object has 50", "fix: change the intent in git",
		}})
	})
	t.Run("an extra route is drift", func(t *testing.T) {
		o := vs()
		http := lookup(o, "spec").(map[string]any)
		http["http"] = append(http["http"].([]any), map[string]any{"name": "extra"})
		check(t, j.Admit(context.Background(), in, request(t, "UPDATE", o, vs(), "")), want{rule: "drift", contains: []string{"spec.http: the intent has 2 items, the object has 3"}})
	})
	t.Run("an added field is drift", func(t *testing.T) {
		o := vs()
		lookup(o, "spec", "http").([]any)[1].(map[string]any)["mirror"] = map[string]any{"host": "evil.example.com"}
		check(t, j.Admit(context.Background(), in, request(t, "UPDATE", o, vs(), "")), want{rule: "drift", contains: []string{"spec.http[1].mirror: not in the intent"}})
	})
	t.Run("removing the managed-by label is drift", func(t *testing.T) {
		o := vs()
		delete(lookup(o, "metadata", "labels").(map[string]any), "app.kubernetes.io/managed-by")
		check(t, j.Admit(context.Background(), in, request(t, "UPDATE", o, vs(), "")), want{rule: "drift", contains: []string{"metadata.labels[app.kubernetes.io/managed-by]"}})
	})
	t.Run("a semantic label added is drift, bookkeeping labels are not", func(t *testing.T) {
		ns := generated(t, in, "", "Namespace", "", "prod")
		ns["spec"] = map[string]any{"finalizers": []any{"kubernetes"}}
		lookup(ns, "metadata", "labels").(map[string]any)["kubernetes.io/metadata.name"] = "prod"
		check(t, j.Admit(context.Background(), in, request(t, "UPDATE", ns, ns, "")), want{allowed: true})
		lookup(ns, "metadata", "labels").(map[string]any)["istio.io/dataplane-mode"] = "ambient"
		check(t, j.Admit(context.Background(), in, request(t, "UPDATE", ns, ns, "")), want{rule: "drift", contains: []string{"istio.io/dataplane-mode"}})
	})
	t.Run("a Namespace request naming itself as its namespace is still the managed Namespace", func(t *testing.T) {
		ns := generated(t, in, "", "Namespace", "", "prod")
		req := request(t, "DELETE", nil, ns, "")
		req.Namespace = "prod"
		check(t, j.Admit(context.Background(), in, req), want{rule: "managed-delete", contains: []string{"Namespace prod"}})
	})
	t.Run("deleting the allow-nothing policy is denied", func(t *testing.T) {
		ap := generated(t, in, "security.istio.io", "AuthorizationPolicy", "prod", "allow-nothing")
		check(t, j.Admit(context.Background(), in, request(t, "DELETE", nil, ap, "")), want{rule: "managed-delete", contains: []string{"IC4302", "AuthorizationPolicy prod/allow-nothing"}})
	})
	t.Run("the namespace controller may empty a terminating namespace", func(t *testing.T) {
		ap := generated(t, in, "security.istio.io", "AuthorizationPolicy", "prod", "allow-nothing")
		check(t, j.Admit(context.Background(), in, request(t, "DELETE", nil, ap, namespaceController)), want{allowed: true})
	})
	t.Run("a stale managed object may be pruned", func(t *testing.T) {
		o := vs()
		lookup(o, "metadata").(map[string]any)["name"] = "retired"
		check(t, j.Admit(context.Background(), in, request(t, "DELETE", nil, o, "")), want{allowed: true})
	})
	t.Run("an object claiming to be intentc's is denied", func(t *testing.T) {
		o := vs()
		lookup(o, "metadata").(map[string]any)["name"] = "not-in-the-intent"
		check(t, j.Admit(context.Background(), in, request(t, "CREATE", o, nil, "")), want{rule: "unknown-managed", contains: []string{"no next digest declared"}})
	})
	t.Run("an unlabelled object with a generated object's name is judged as managed", func(t *testing.T) {
		o := obj(t, `{"apiVersion":"security.istio.io/v1","kind":"AuthorizationPolicy","metadata":{"name":"allow-nothing","namespace":"prod"},"spec":{"rules":[{}]}}`)
		check(t, j.Admit(context.Background(), in, request(t, "CREATE", o, nil, "")), want{rule: "drift"})
	})
}

func TestDigestWindow(t *testing.T) {
	dir := exampleDir(t)
	const next = "sha256:0123456789abcdef"
	if err := os.WriteFile(filepath.Join(dir, NextDigestFile), []byte("# the intent of PR 42\n"+next+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	in, diags := LoadIntent(dir, testCluster, nil)
	if in == nil {
		t.Fatal(diags)
	}
	if !slices.Equal(in.Next, []string{next}) {
		t.Fatalf("next = %v", in.Next)
	}
	j := NewJudge(nil, nil)
	o := generated(t, in, "networking.istio.io", "VirtualService", "prod", "inventory")
	old := clone(t, o)
	route := lookup(o, "spec", "http").([]any)[1].(map[string]any)["route"].([]any)
	route[0].(map[string]any)["weight"] = json.Number("40")
	route[1].(map[string]any)["weight"] = json.Number("60")
	lookup(o, "metadata", "annotations").(map[string]any)["intentc.dev/intent-digest"] = next
	d := j.Admit(context.Background(), in, request(t, "UPDATE", o, old, ""))
	check(t, d, want{allowed: true})
	if !d.Window {
		t.Error("not admitted through the digest window")
	}
	// A new object of the next intent.
	n := clone(t, o)
	lookup(n, "metadata").(map[string]any)["name"] = "added-by-next"
	check(t, j.Admit(context.Background(), in, request(t, "CREATE", n, nil, "")), want{allowed: true})
	// Some other digest is not a pass.
	lookup(o, "metadata", "annotations").(map[string]any)["intentc.dev/intent-digest"] = "sha256:ffffffffffffffff"
	check(t, j.Admit(context.Background(), in, request(t, "UPDATE", o, old, "")), want{rule: "drift"})

	if err := os.WriteFile(filepath.Join(dir, NextDigestFile), []byte("sha256:nope\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if in, diags := LoadIntent(dir, testCluster, nil); in != nil || !hasCode(diags, diag.CodeServeNextDigest) {
		t.Errorf("a bad next digest loaded: %v", diags)
	} else if !strings.Contains(diags.Error(), NextDigestFile+":1:1") {
		t.Errorf("the finding does not point at the file: %v", diags)
	}
}

func hasCode(ds diag.List, c diag.Code) bool {
	return slices.ContainsFunc(ds, func(d diag.Diagnostic) bool { return d.Code == c })
}

func TestLoadIntentErrors(t *testing.T) {
	dir := exampleDir(t)
	if in, diags := LoadIntent(dir, "nowhere", nil); in != nil || !hasCode(diags, diag.CodeServeCluster) {
		t.Errorf("unknown cluster: %v", diags)
	}
	if err := os.WriteFile(filepath.Join(dir, "broken.yaml"), []byte("apiVersion: intentc.dev/v1alpha1\nkind: MeshService\nmetadata: {name: x, namespace: prod}\nspec: {placment: []}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	in, diags := LoadIntent(dir, testCluster, nil)
	if in != nil || !hasCode(diags, diag.CodeUnknownField) {
		t.Fatalf("broken intent: %v", diags)
	}
	// Positions are in the intent directory, never in the staging copy.
	if !strings.Contains(diags.Error(), filepath.ToSlash(filepath.Join(dir, "broken.yaml"))+":4:") {
		t.Errorf("findings do not point at the directory's file:\n%v", diags)
	}
	if in, diags := LoadIntent(filepath.Join(dir, "missing"), testCluster, nil); in != nil || !hasCode(diags, diag.CodeReadFile) {
		t.Errorf("missing directory: %v", diags)
	}
}

func TestLoadIntentFollowsSymlinkedRoot(t *testing.T) {
	// A ConfigMap volume: keys are symlinks into ..data, itself a symlink
	// to a timestamped directory; git-sync links the root itself.
	vol := t.TempDir()
	rev := filepath.Join(vol, "..2025_01_01")
	if err := os.Mkdir(rev, 0o755); err != nil {
		t.Fatal(err)
	}
	src := exampleDir(t)
	entries, _ := os.ReadDir(src)
	for _, e := range entries {
		data, _ := os.ReadFile(filepath.Join(src, e.Name()))
		os.WriteFile(filepath.Join(rev, e.Name()), data, 0o644)
	}
	if err := os.Symlink("..2025_01_01", filepath.Join(vol, "..data")); err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if err := os.Symlink(filepath.Join("..data", e.Name()), filepath.Join(vol, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
	link := filepath.Join(t.TempDir(), "current")
	if err := os.Symlink(vol, link); err != nil {
		t.Fatal(err)
	}
	in, diags := LoadIntent(link, testCluster, nil)
	if in == nil {
		t.Fatal(diags)
	}
	want := loadExample(t)
	if in.Digest != want.Digest || len(in.objects) != len(want.objects) {
		t.Errorf("digest %s with %d objects, want %s with %d", in.Digest, len(in.objects), want.Digest, len(want.objects))
	}
}

func TestContradictions(t *testing.T) {
	in := loadExample(t)
	j := NewJudge(Actions{"service-protocol": Warn, "sidecar": DryRun}, nil)
	cases := []struct {
		name string
		obj  string
		want want
	}{
		{"allow-all AuthorizationPolicy in a managed namespace", `{"apiVersion":"security.istio.io/v1","kind":"AuthorizationPolicy","metadata":{"name":"open","namespace":"prod"},"spec":{"rules":[{}]}}`,
			want{rule: "authz-widening", contains: []string{"IC4313", "any caller on any port", "MeshService/prod/inventory"}}},
		{"ALLOW for the caller the intent allows, exactly", `{"apiVersion":"security.istio.io/v1","kind":"AuthorizationPolicy","metadata":{"name":"dup","namespace":"prod"},"spec":{"selector":{"matchLabels":{"app":"inventory"}},"rules":[{"from":[{"source":{"principals":["cluster.local/ns/web/sa/frontend"]}}],"to":[{"operation":{"ports":["8080"],"methods":["GET"],"paths":["/api/*"]}}]}]}}`,
			want{allowed: true}},
		{"ALLOW for that caller with more methods", `{"apiVersion":"security.istio.io/v1","kind":"AuthorizationPolicy","metadata":{"name":"more","namespace":"prod"},"spec":{"selector":{"matchLabels":{"app":"inventory"}},"rules":[{"from":[{"source":{"principals":["cluster.local/ns/web/sa/frontend"]}}],"to":[{"operation":{"ports":["8080"],"methods":["GET","DELETE"]}}]}]}}`,
			want{rule: "authz-widening", contains: []string{"methods GET,DELETE"}}},
		{"ALLOW for a whole namespace the intent names only one account of", `{"apiVersion":"security.istio.io/v1","kind":"AuthorizationPolicy","metadata":{"name":"ns","namespace":"prod"},"spec":{"rules":[{"from":[{"source":{"namespaces":["web"]}}]}]}}`,
			want{rule: "authz-widening"}},
		{"scraper access the baseline already grants", `{"apiVersion":"security.istio.io/v1","kind":"AuthorizationPolicy","metadata":{"name":"prom","namespace":"prod"},"spec":{"rules":[{"from":[{"source":{"principals":["cluster.local/ns/monitoring/sa/prometheus"]}}],"to":[{"operation":{"ports":["15090"]}}]}]}}`,
			want{allowed: true}},
		{"ALLOW for a workload the intent does not manage", `{"apiVersion":"security.istio.io/v1","kind":"AuthorizationPolicy","metadata":{"name":"legacy","namespace":"prod"},"spec":{"selector":{"matchLabels":{"app":"legacy"}},"rules":[{}]}}`,
			want{allowed: true}},
		{"DENY policies cannot widen", `{"apiVersion":"security.istio.io/v1","kind":"AuthorizationPolicy","metadata":{"name":"deny","namespace":"prod"},"spec":{"action":"DENY","rules":[{}]}}`,
			want{allowed: true}},
		{"allow-all outside managed namespaces is not the webhook's business", `{"apiVersion":"security.istio.io/v1","kind":"AuthorizationPolicy","metadata":{"name":"open","namespace":"sandbox"},"spec":{"rules":[{}]}}`,
			want{allowed: true}},
		{"extra NetworkPolicy that allows", `{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"extra","namespace":"prod"},"spec":{"podSelector":{},"policyTypes":["Ingress"],"ingress":[{}]}}`,
			want{rule: "extra-networkpolicy", contains: []string{"IC4315", "1 ingress rule(s)"}}},
		{"extra NetworkPolicy that only isolates", `{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"iso","namespace":"prod"},"spec":{"podSelector":{},"policyTypes":["Ingress","Egress"]}}`,
			want{allowed: true}},
		{"second VirtualService by short name", `{"apiVersion":"networking.istio.io/v1","kind":"VirtualService","metadata":{"name":"mine","namespace":"prod"},"spec":{"hosts":["inventory"],"http":[{"route":[{"destination":{"host":"inventory"}}]}]}}`,
			want{rule: "second-virtualservice", contains: []string{"inventory.prod.svc.cluster.local", "VirtualService prod/inventory"}}},
		{"VirtualService bound to a gateway only", `{"apiVersion":"networking.istio.io/v1","kind":"VirtualService","metadata":{"name":"edge","namespace":"prod"},"spec":{"hosts":["inventory.prod.svc.cluster.local"],"gateways":["istio-ingress/public"]}}`,
			want{allowed: true}},
		{"same short name in another namespace is another host", `{"apiVersion":"networking.istio.io/v1","kind":"VirtualService","metadata":{"name":"inventory","namespace":"sandbox"},"spec":{"hosts":["inventory"]}}`,
			want{allowed: true}},
		{"client-side DestinationRule", `{"apiVersion":"networking.istio.io/v1","kind":"DestinationRule","metadata":{"name":"inv","namespace":"web"},"spec":{"host":"inventory.prod.svc.cluster.local","trafficPolicy":{"tls":{"mode":"DISABLE"}}}}`,
			want{rule: "shadowing-destinationrule", contains: []string{"for clients in namespace web"}}},
		{"PERMISSIVE namespace-wide", `{"apiVersion":"security.istio.io/v1","kind":"PeerAuthentication","metadata":{"name":"loose","namespace":"prod"},"spec":{"mtls":{"mode":"PERMISSIVE"}}}`,
			want{rule: "peerauthn-weakening", contains: []string{"PERMISSIVE"}}},
		{"PERMISSIVE on the declared port", `{"apiVersion":"security.istio.io/v1","kind":"PeerAuthentication","metadata":{"name":"legacy","namespace":"prod"},"spec":{"selector":{"matchLabels":{"app":"inventory"}},"portLevelMtls":{"9080":{"mode":"PERMISSIVE"}}}}`,
			want{allowed: true}},
		{"PERMISSIVE on another port", `{"apiVersion":"security.istio.io/v1","kind":"PeerAuthentication","metadata":{"name":"http","namespace":"prod"},"spec":{"selector":{"matchLabels":{"app":"inventory"}},"portLevelMtls":{"8080":{"mode":"PERMISSIVE"}}}}`,
			want{rule: "peerauthn-weakening", contains: []string{"port 8080"}}},
		{"ServiceEntry for a managed host", `{"apiVersion":"networking.istio.io/v1","kind":"ServiceEntry","metadata":{"name":"hijack","namespace":"sandbox"},"spec":{"hosts":["inventory.prod.svc.cluster.local"],"endpoints":[{"address":"10.9.9.9"}]}}`,
			want{rule: "serviceentry-hijack", contains: []string{"MeshService/prod/inventory"}}},
		{"ServiceEntry for a managed external host", `{"apiVersion":"networking.istio.io/v1","kind":"ServiceEntry","metadata":{"name":"db","namespace":"prod"},"spec":{"hosts":["db.payments.example.com"],"endpoints":[{"address":"10.9.9.9"}]}}`,
			want{rule: "serviceentry-hijack", contains: []string{"db.payments.example.com"}}},
		{"ServiceEntry for some other host", `{"apiVersion":"networking.istio.io/v1","kind":"ServiceEntry","metadata":{"name":"api","namespace":"prod"},"spec":{"hosts":["api.example.org"]}}`,
			want{allowed: true}},
		{"WorkloadEntry with the service's labels", `{"apiVersion":"networking.istio.io/v1","kind":"WorkloadEntry","metadata":{"name":"vm","namespace":"prod"},"spec":{"address":"10.9.9.9","labels":{"app":"inventory","version":"vm"}}}`,
			want{rule: "workloadentry-injection", contains: []string{"app=inventory"}}},
		{"EnvoyFilter on every workload of a managed namespace", `{"apiVersion":"networking.istio.io/v1alpha3","kind":"EnvoyFilter","metadata":{"name":"lua","namespace":"prod"},"spec":{"configPatches":[]}}`,
			want{rule: "envoyfilter"}},
		{"EnvoyFilter on an unmanaged workload", `{"apiVersion":"networking.istio.io/v1alpha3","kind":"EnvoyFilter","metadata":{"name":"lua","namespace":"prod"},"spec":{"workloadSelector":{"labels":{"app":"legacy"}}}}`,
			want{allowed: true}},
		{"Sidecar narrowing egress (dryrun)", `{"apiVersion":"networking.istio.io/v1","kind":"Sidecar","metadata":{"name":"default","namespace":"prod"},"spec":{"egress":[{"hosts":["./*"]}]}}`,
			want{allowed: true, rule: "sidecar", action: DryRun}},
		{"Sidecar that changes nothing", `{"apiVersion":"networking.istio.io/v1","kind":"Sidecar","metadata":{"name":"default","namespace":"prod"},"spec":{"egress":[{"hosts":["*/*"]}]}}`,
			want{allowed: true}},
		{"Service port named tcp for an http port (warn)", `{"apiVersion":"v1","kind":"Service","metadata":{"name":"inventory","namespace":"prod"},"spec":{"selector":{"app":"inventory"},"ports":[{"name":"tcp-web","port":8080}]}}`,
			want{allowed: true, rule: "service-protocol", action: Warn, contains: []string{"IC4320", "port 8080 is tcp by its name \"tcp-web\"", "says http"}}},
		{"Service port with a compatible appProtocol", `{"apiVersion":"v1","kind":"Service","metadata":{"name":"inventory","namespace":"prod"},"spec":{"ports":[{"name":"web","port":8080,"appProtocol":"http2"},{"name":"legacy","port":9080}]}}`,
			want{allowed: true}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			check(t, j.Admit(context.Background(), in, request(t, "CREATE", obj(t, c.obj), nil, "")), c.want)
		})
	}
}

func TestActions(t *testing.T) {
	in := loadExample(t)
	np := `{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"extra","namespace":"prod"},"spec":{"podSelector":{},"ingress":[{}]}}`
	for _, c := range []struct {
		actions Actions
		want    want
	}{
		{nil, want{rule: "extra-networkpolicy"}},
		{Actions{"extra-networkpolicy": Warn}, want{allowed: true, rule: "extra-networkpolicy", action: Warn, contains: []string{"NetworkPolicy prod/extra"}}},
		{Actions{"IC4315": DryRun}, want{allowed: true, rule: "extra-networkpolicy", action: DryRun}},
		{Actions{"*": Warn}, want{allowed: true, rule: "extra-networkpolicy", action: Warn}},
		{Actions{"*": Warn, "extra-networkpolicy": Deny}, want{rule: "extra-networkpolicy"}},
	} {
		d := NewJudge(c.actions, nil).Admit(context.Background(), in, request(t, "CREATE", obj(t, np), nil, ""))
		check(t, d, c.want)
		if c.want.action == DryRun && len(d.Warnings()) > 0 {
			t.Errorf("dryrun warned: %v", d.Warnings())
		}
	}
	if _, err := ParseActions([]string{"no-such-rule=warn"}); err == nil {
		t.Error("an unknown rule was accepted")
	}
	if _, err := ParseActions([]string{"drift=maybe"}); err == nil {
		t.Error("an unknown action was accepted")
	}
	if a, err := ParseActions([]string{"drift=WARN", "IC4002=dryrun", "*=deny"}); err != nil || a["drift"] != Warn || a["IC4002"] != DryRun {
		t.Errorf("ParseActions = %v, %v", a, err)
	}
}

func TestIntentCR(t *testing.T) {
	in := loadExample(t)
	j := NewJudge(nil, nil)
	cases := []struct {
		name string
		obj  string
		want want
	}{
		{"a new service that compiles", `{"apiVersion":"intentc.dev/v1alpha1","kind":"MeshService","metadata":{"name":"orders","namespace":"prod","uid":"x","resourceVersion":"1","managedFields":[{}]},"spec":{"ports":[{"name":"http","port":8080,"protocol":"http"}],"placement":[{"cluster":"openstack-prod"}]},"status":{}}`,
			want{allowed: true}},
		{"a service placed in an unknown cluster", `{"apiVersion":"intentc.dev/v1alpha1","kind":"MeshService","metadata":{"name":"orders","namespace":"prod"},"spec":{"ports":[{"name":"http","port":8080,"protocol":"http"}],"placement":[{"cluster":"nowhere"}]}}`,
			want{rule: "intent-cr", contains: []string{"IC4304", "MeshService/prod/orders does not compile", "the object:", "[IC2002]"}}},
		{"an unknown field", `{"apiVersion":"intentc.dev/v1alpha1","kind":"MeshService","metadata":{"name":"orders","namespace":"prod"},"spec":{"placment":[]}}`,
			want{rule: "intent-cr", contains: []string{"IC1002"}}},
		{"the directory's own object, unchanged (a GitOps mirror)", `{"apiVersion":"intentc.dev/v1alpha1","kind":"MeshService","metadata":{"name":"frontend","namespace":"web","labels":{"argocd.argoproj.io/instance":"intent"}},"spec":{"ports":[{"name":"http","port":80,"targetPort":8080,"protocol":"http"}],"placement":[{"cluster":"public-prod"}]}}`,
			want{allowed: true}},
		{"the directory's own object, changed", `{"apiVersion":"intentc.dev/v1alpha1","kind":"MeshService","metadata":{"name":"frontend","namespace":"web"},"spec":{"ports":[{"name":"http","port":80,"targetPort":8080,"protocol":"http"}],"placement":[{"cluster":"public-prod"},{"cluster":"openstack-prod"}]}}`,
			want{rule: "intent-cr", contains: []string{"defined by the intent directory at", "frontend.yaml:"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			check(t, j.Admit(context.Background(), in, request(t, "CREATE", obj(t, c.obj), nil, "")), c.want)
		})
	}
	t.Run("deleting an intent object is not judged", func(t *testing.T) {
		check(t, j.Admit(context.Background(), in, request(t, "DELETE", nil, obj(t, cases[0].obj), "")), want{allowed: true})
	})
}

// fakeChecker returns fixed findings, counting calls.
type fakeChecker struct {
	diags diag.List
	calls int
}

func (f *fakeChecker) CheckObject(context.Context, []byte, *compiler.Result) diag.List {
	f.calls++
	return f.diags
}

func TestPolicyFindings(t *testing.T) {
	in := loadExample(t)
	fc := &fakeChecker{diags: diag.List{
		{Code: diag.CodeAllowAll, Severity: diag.Error, Message: "AuthorizationPolicy prod/x: allows everything"},
		{Code: diag.CodePolicyWarn, Severity: diag.Warning, Message: "no team label (main.warn)"},
	}}
	o := obj(t, `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c","namespace":"sandbox"}}`)
	d := NewJudge(nil, fc).Admit(context.Background(), in, request(t, "CREATE", o, nil, ""))
	check(t, d, want{rule: "IC4002", contains: []string{"intentc IC4002 policy: AuthorizationPolicy prod/x: allows everything", "no team label"}})
	d = NewJudge(Actions{"IC4002": Warn}, fc).Admit(context.Background(), in, request(t, "CREATE", o, nil, ""))
	check(t, d, want{allowed: true, rule: "IC4002", action: Warn})
	// Deletes are not policy-checked: there is no new object.
	calls := fc.calls
	NewJudge(nil, fc).Admit(context.Background(), in, request(t, "DELETE", nil, o, ""))
	if fc.calls != calls {
		t.Error("the policies ran on a DELETE")
	}
}

// The webhook builds the objects it compares requests with from the
// compiler's JSON: they are the objects the written YAML holds, every one
// of them, for every cluster of the example.
func TestDesiredAsWritten(t *testing.T) {
	dir := exampleDir(t)
	res, diags := compiler.Compile(compiler.Options{Paths: []string{dir}})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	for _, c := range res.Model.Clusters {
		in, diags := LoadIntent(dir, c.Name, nil)
		if in == nil {
			t.Fatalf("%s: %v", c.Name, diags)
		}
		n := 0
		for _, f := range res.Files {
			rest, ok := strings.CutPrefix(f.Path, "clusters/"+c.Name+"/")
			if !ok || path.Base(rest) == "kustomization.yaml" || strings.HasPrefix(path.Base(rest), "patch-") {
				continue
			}
			j, err := sigsyaml.YAMLToJSON(f.Data)
			if err != nil {
				t.Fatal(err)
			}
			want, err := decodeJSON(j)
			if err != nil {
				t.Fatal(err)
			}
			d := in.objects[keyOf(want)]
			if d == nil {
				t.Errorf("%s: %s is not among the webhook's objects", c.Name, f.Path)
				continue
			}
			if diff := cmp.Diff(want, d.Object); diff != "" {
				t.Errorf("%s (-written +webhook):\n%s", f.Path, diff)
			}
			n++
		}
		if n == 0 || n != len(in.objects) {
			t.Errorf("%s: %d objects written, the webhook holds %d", c.Name, n, len(in.objects))
		}
	}
}
