package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	admissionregv1 "k8s.io/api/admissionregistration/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/intentc/intentc/compiler"
	"github.com/intentc/intentc/compiler/manifest"
	"github.com/intentc/intentc/lint"
	"github.com/intentc/intentc/webhook"
	"github.com/intentc/intentc/webhook/webhooktest"
)

// The webhook end to end: intentc serve's handler, in this process on
// loopback, registered with the real kube-apiserver through a real
// ValidatingWebhookConfiguration, judging real creates, updates and
// deletes. The intent (testdata/webhook/intent) lives in namespaces of its
// own, and the configuration selects only those, so the other tests'
// objects never reach this webhook.
const (
	whCluster   = "dc1"
	whConfig    = "intentc-e2e-webhook"
	whProd      = "wh-prod"
	whWeb       = "wh-web"
	whSandbox   = "wh-sandbox" // unmanaged, but selected by the configuration
	whFieldMgr  = "intentc-e2e-webhook"
	whMaxWait   = 30 * time.Second
	whReqTimout = 30 * time.Second
)

// warnings collects the API server's Warning headers, which carry the
// webhook's AdmissionResponse warnings.
type warnings struct {
	mu   sync.Mutex
	list []string
}

func (w *warnings) HandleWarningHeaderWithContext(_ context.Context, _ int, _ string, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.list = append(w.list, text)
}

func (w *warnings) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := w.list
	w.list = nil
	return out
}

func TestWebhookEndToEnd(t *testing.T) {
	requireEnv(t)
	ctx := context.Background()

	// The intent the webhook holds, and the next one (weights moved
	// 70/30 -> 60/40), whose digest is declared in the intent directory.
	src := filepath.Join(suite.root, "e2e", "testdata", "webhook", "intent")
	dir, nextDir := copyIntent(t, src, nil), copyIntent(t, src, strings.NewReplacer("weight: 70", "weight: 60", "weight: 30", "weight: 40"))
	cur := compileFor(t, dir)
	next := compileFor(t, nextDir)
	if next.digest == cur.digest {
		t.Fatal("the next intent has the current digest: the fixture did not change")
	}
	if err := os.WriteFile(filepath.Join(dir, webhook.NextDigestFile), []byte(next.digest+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	// The webhook, as intentc serve runs it: the real policy engine, and
	// one rule in warn mode.
	engine, ds := lint.New(lint.Options{})
	if engine == nil || ds.HasErrors() {
		t.Fatalf("policy engine: %v", ds)
	}
	checker := webhook.NewLintChecker(engine)
	pki, err := webhooktest.NewPKI(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var logs strings.Builder
	var logMu sync.Mutex
	srv, err := webhook.New(webhook.Options{
		IntentDir: dir, Cluster: whCluster, CertFile: pki.CertFile, KeyFile: pki.KeyFile,
		Actions: webhook.Actions{"service-protocol": webhook.Warn},
		Checker: checker,
		Logger:  slog.New(slog.NewJSONHandler(lockedWriter{&logs, &logMu}, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatal(err)
	}
	if in := srv.Intent(); in == nil || in.Digest != cur.digest {
		t.Fatalf("webhook did not load the intent (digest %s): %+v", cur.digest, in)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sctx, stop := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(sctx, ln) }()
	t.Cleanup(func() {
		stop()
		<-served
		if t.Failed() {
			logMu.Lock()
			t.Logf("webhook logs:\n%s", logs.String())
			logMu.Unlock()
		}
	})

	// A client that records warnings.
	cfg := rest.CopyConfig(suite.env.Config)
	warn := &warnings{}
	cfg.WarningHandlerWithContext = warn
	cfg.QPS, cfg.Burst = 200, 400 // the default 5/s throttles the test, not the webhook
	c, err := client.New(cfg, client.Options{})
	if err != nil {
		t.Fatal(err)
	}

	// Namespaces exist before the webhook is registered (a managed
	// Namespace is itself judged once it is).
	for _, ns := range []string{whProd, whWeb, whSandbox} {
		if err := ensureNamespace(ctx, ns); err != nil {
			t.Fatalf("namespace %s: %v", ns, err)
		}
	}
	registerWebhook(t, ctx, "https://"+ln.Addr().String()+"/validate", pki.CAPEM)

	t.Run("compliant generated objects are admitted", func(t *testing.T) {
		for _, o := range cur.objects {
			if err := apply(ctx, c, o.U, false); err != nil {
				t.Errorf("%s: %v", o, err)
			}
		}
	})

	t.Run("a managed VirtualService edited to 50/50 is denied with the intent's reason", func(t *testing.T) {
		vs := getObject(t, ctx, c, "networking.istio.io/v1", "VirtualService", whProd, "inventory")
		route, _, _ := unstructured.NestedSlice(vs.Object, "spec", "http")
		dests := route[0].(map[string]any)["route"].([]any)
		for _, d := range dests {
			d.(map[string]any)["weight"] = int64(50)
		}
		unstructured.SetNestedSlice(vs.Object, route, "spec", "http")
		err := c.Update(ctx, vs)
		wantDenied(t, err, "IC4301", "drift", "VirtualService "+whProd+"/inventory", "MeshService/"+whProd+"/inventory",
			"the intent says 30, the object has 50", "fix: change the intent in git")
	})

	t.Run("deleting the allow-nothing AuthorizationPolicy is denied", func(t *testing.T) {
		ap := &unstructured.Unstructured{}
		ap.SetAPIVersion("security.istio.io/v1")
		ap.SetKind("AuthorizationPolicy")
		ap.SetNamespace(whProd)
		ap.SetName("allow-nothing")
		wantDenied(t, c.Delete(ctx, ap), "IC4302", "managed-delete", "AuthorizationPolicy "+whProd+"/allow-nothing")
		// Still there.
		getObject(t, ctx, c, "security.istio.io/v1", "AuthorizationPolicy", whProd, "allow-nothing")
	})

	t.Run("deleting a managed Namespace is denied", func(t *testing.T) {
		ns := &unstructured.Unstructured{}
		ns.SetAPIVersion("v1")
		ns.SetKind("Namespace")
		ns.SetName(whWeb)
		wantDenied(t, c.Delete(ctx, ns, client.DryRunAll), "IC4302", "Namespace "+whWeb)
	})

	t.Run("an unmanaged allow-all AuthorizationPolicy in a managed namespace is denied", func(t *testing.T) {
		ap := manifestObject(t, fmt.Sprintf(`{"apiVersion":"security.istio.io/v1","kind":"AuthorizationPolicy","metadata":{"name":"open-up","namespace":%q},"spec":{"rules":[{}]}}`, whProd))
		wantDenied(t, c.Create(ctx, ap), "IC4313", "authz-widening", "any caller on any port")
	})

	t.Run("an extra NetworkPolicy in a managed namespace is denied per its rule", func(t *testing.T) {
		np := manifestObject(t, fmt.Sprintf(`{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"let-all-in","namespace":%q},"spec":{"podSelector":{},"policyTypes":["Ingress"],"ingress":[{}]}}`, whWeb))
		wantDenied(t, c.Create(ctx, np), "IC4315", "extra-networkpolicy")
		// The same policy outside the intent's namespaces is not judged.
		np.SetNamespace(whSandbox)
		if err := c.Create(ctx, np, client.DryRunAll); err != nil {
			t.Errorf("in an unmanaged namespace: %v", err)
		}
	})

	t.Run("an intent CR that does not compile is denied with its diagnostic", func(t *testing.T) {
		ms := manifestObject(t, fmt.Sprintf(`{"apiVersion":"intentc.dev/v1alpha1","kind":"MeshService","metadata":{"name":"orders","namespace":%q},"spec":{"ports":[{"name":"http","port":8080,"protocol":"http"}],"placement":[{"cluster":"nowhere"}]}}`, whProd))
		wantDenied(t, c.Create(ctx, ms), "IC4304", "MeshService/"+whProd+"/orders does not compile", "IC2002")
		// One that compiles with the intent is admitted.
		ms.Object["spec"].(map[string]any)["placement"] = []any{map[string]any{"cluster": "dc1"}}
		if err := c.Create(ctx, ms, client.DryRunAll); err != nil {
			t.Errorf("a compiling intent CR: %v", err)
		}
	})

	t.Run("the next intent's objects are admitted during the digest window", func(t *testing.T) {
		var vs *unstructured.Unstructured
		for _, o := range next.objects {
			if o.U.GetKind() == "VirtualService" && o.U.GetName() == "inventory" {
				vs = o.U
			}
		}
		if vs == nil {
			t.Fatal("the next intent has no VirtualService inventory")
		}
		if err := apply(ctx, c, vs, true); err != nil {
			t.Fatalf("the next intent's VirtualService: %v", err)
		}
		got := getObject(t, ctx, c, "networking.istio.io/v1", "VirtualService", whProd, "inventory")
		if d := got.GetAnnotations()[manifest.AnnotationDigest]; d != next.digest {
			t.Errorf("digest after the sync = %s, want %s", d, next.digest)
		}
		// Back to the current intent, as a rollback sync would do.
		for _, o := range cur.objects {
			if o.U.GetKind() == "VirtualService" && o.U.GetName() == "inventory" {
				if err := apply(ctx, c, o.U, true); err != nil {
					t.Errorf("back to the current intent: %v", err)
				}
			}
		}
	})

	t.Run("a warn-mode rule admits with a warning", func(t *testing.T) {
		warn.take()
		svc := manifestObject(t, fmt.Sprintf(`{"apiVersion":"v1","kind":"Service","metadata":{"name":"inventory","namespace":%q},"spec":{"selector":{"app":"inventory"},"ports":[{"name":"tcp-web","port":8080}]}}`, whProd))
		if err := c.Create(ctx, svc); err != nil {
			t.Fatalf("warn-mode rule denied: %v", err)
		}
		got := strings.Join(warn.take(), "\n")
		for _, s := range []string{"IC4320", "service-protocol", "port 8080 is tcp"} {
			if !strings.Contains(got, s) {
				t.Errorf("warnings %q lack %q", got, s)
			}
		}
	})

	t.Run("a per-object policy rule denies a hand-written object", func(t *testing.T) {
		// IC4003: a spiffe:// principal never matches; in a namespace the
		// intent does not manage, only the policy rules judge it.
		ap := manifestObject(t, fmt.Sprintf(`{"apiVersion":"security.istio.io/v1","kind":"AuthorizationPolicy","metadata":{"name":"spiffe","namespace":%q},"spec":{"rules":[{"from":[{"source":{"principals":["spiffe://cluster.local/ns/a/sa/b"]}}]}]}}`, whSandbox))
		wantDenied(t, c.Create(ctx, ap, client.DryRunAll), "IC4003")
	})
}

type lockedWriter struct {
	b  *strings.Builder
	mu *sync.Mutex
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// copyIntent copies the fixture, rewriting it with r (if any).
func copyIntent(t *testing.T, src string, r *strings.Replacer) string {
	t.Helper()
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
		if r != nil {
			data = []byte(r.Replace(string(data)))
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

type compiled struct {
	digest  string
	objects []object // the webhook cluster's objects, patches excluded
}

func compileFor(t *testing.T, dir string) compiled {
	t.Helper()
	res, ds := compiler.Compile(compiler.Options{Paths: []string{dir}})
	if ds.HasErrors() {
		t.Fatalf("the webhook's intent does not compile:\n%v", ds)
	}
	var files []outFile
	for _, f := range res.Files {
		files = append(files, outFile{Path: f.Path, Data: f.Data})
	}
	out := splitOutput(files)
	if len(out.Problems) > 0 {
		t.Fatalf("output problems: %v", out.Problems)
	}
	var objs []object
	for _, o := range applyOrder(out.Objects) {
		if c, _ := clusterOf(o.File); c == whCluster {
			objs = append(objs, o)
		}
	}
	if len(objs) == 0 {
		t.Fatalf("no objects for cluster %s", whCluster)
	}
	return compiled{digest: res.Model.Digest, objects: objs}
}

// registerWebhook creates the ValidatingWebhookConfiguration (removed when
// the test ends) and waits until the API server calls the webhook.
func registerWebhook(t *testing.T, ctx context.Context, url string, ca []byte) {
	t.Helper()
	ops := []admissionregv1.OperationType{admissionregv1.Create, admissionregv1.Update, admissionregv1.Delete}
	rule := func(group string, resources ...string) admissionregv1.RuleWithOperations {
		return admissionregv1.RuleWithOperations{Operations: ops, Rule: admissionregv1.Rule{
			APIGroups: []string{group}, APIVersions: []string{"*"}, Resources: resources, Scope: ptr.To(admissionregv1.NamespacedScope)}}
	}
	vwc := &admissionregv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: whConfig},
		Webhooks: []admissionregv1.ValidatingWebhook{{
			Name:                    "validate.intentc.dev",
			AdmissionReviewVersions: []string{"v1"},
			SideEffects:             ptr.To(admissionregv1.SideEffectClassNone),
			FailurePolicy:           ptr.To(admissionregv1.Fail),
			MatchPolicy:             ptr.To(admissionregv1.Equivalent),
			TimeoutSeconds:          ptr.To[int32](10),
			ClientConfig:            admissionregv1.WebhookClientConfig{URL: &url, CABundle: ca},
			NamespaceSelector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{
				Key: "kubernetes.io/metadata.name", Operator: metav1.LabelSelectorOpIn, Values: []string{whProd, whWeb, whSandbox}}}},
			Rules: []admissionregv1.RuleWithOperations{
				rule("networking.istio.io", "virtualservices", "destinationrules", "serviceentries", "workloadentries", "workloadgroups", "sidecars", "envoyfilters"),
				rule("security.istio.io", "authorizationpolicies", "peerauthentications"),
				rule("networking.k8s.io", "networkpolicies"),
				rule("", "services"),
				{Operations: ops, Rule: admissionregv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"namespaces"}, Scope: ptr.To(admissionregv1.ClusterScope)}},
				rule("intentc.dev", "meshservices", "externalservices", "accesspolicies"),
			},
		}},
	}
	if err := suite.client.Create(ctx, vwc); err != nil {
		t.Fatalf("create ValidatingWebhookConfiguration: %v", err)
	}
	t.Cleanup(func() {
		if err := suite.client.Delete(context.Background(), vwc); err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("delete ValidatingWebhookConfiguration: %v", err)
		}
		// The removal takes effect asynchronously: wait, so no later test
		// meets a webhook that is no longer running.
		wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, whMaxWait, true, func(ctx context.Context) (bool, error) {
			err := suite.client.Create(ctx, probe(), client.DryRunAll)
			return err == nil, nil
		})
	})
	// The configuration takes effect asynchronously: poll with a probe
	// the webhook denies.
	var last error
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, whMaxWait, true, func(ctx context.Context) (bool, error) {
		last = suite.client.Create(ctx, probe(), client.DryRunAll)
		return apierrors.IsForbidden(last) && strings.Contains(last.Error(), "IC4315"), nil
	})
	if err != nil {
		t.Fatalf("the API server did not start calling the webhook within %s (last answer: %v)", whMaxWait, last)
	}
}

// probe is an object the webhook denies (an extra NetworkPolicy in a
// managed namespace) and nothing else would.
func probe() *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
		"metadata": map[string]any{"name": "webhook-probe", "namespace": whProd},
		"spec":     map[string]any{"podSelector": map[string]any{}, "ingress": []any{map[string]any{}}},
	}}
	return u
}

func manifestObject(t *testing.T, js string) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON([]byte(js)); err != nil {
		t.Fatalf("test object: %v", err)
	}
	return u
}

func getObject(t *testing.T, ctx context.Context, c client.Client, apiVersion, kind, ns, name string) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{}
	u.SetAPIVersion(apiVersion)
	u.SetKind(kind)
	ctx, cancel := context.WithTimeout(ctx, whReqTimout)
	defer cancel()
	if err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, u); err != nil {
		t.Fatalf("get %s %s/%s: %v", kind, ns, name, err)
	}
	return u
}

// apply server-side applies an object for real (Namespaces included: the
// webhook judges them too).
func apply(ctx context.Context, c client.Client, u *unstructured.Unstructured, force bool) error {
	ctx, cancel := context.WithTimeout(ctx, whReqTimout)
	defer cancel()
	body, err := json.Marshal(u.Object)
	if err != nil {
		return err
	}
	opts := []client.PatchOption{client.FieldOwner(whFieldMgr), client.FieldValidation("Strict")}
	if force {
		opts = append(opts, client.ForceOwnership)
	}
	return c.Patch(ctx, u.DeepCopy(), client.RawPatch(types.ApplyPatchType, body), opts...)
}

// wantDenied checks that the API server refused the request because the
// webhook denied it, with a message naming each of want.
func wantDenied(t *testing.T, err error, want ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("admitted; want a denial mentioning %q", want)
	}
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), `admission webhook "validate.intentc.dev" denied the request`) {
		t.Fatalf("refused, but not by the webhook: %v", err)
	}
	for _, s := range want {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("denial does not mention %q:\n%v", s, err)
		}
	}
}
