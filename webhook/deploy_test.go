package webhook

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// The install manifests (deploy/webhook) are checked here for what the
// issue asks of them; e2e/webhook_deploy_test.go has the API server accept
// them.
var deployDir = filepath.Join("..", "deploy", "webhook")

func deployObjects(t *testing.T) map[string]map[string]any {
	t.Helper()
	var k struct {
		Resources []string `json:"resources"`
	}
	data, err := os.ReadFile(filepath.Join(deployDir, "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, &k); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(deployDir, "*.yaml"))
	var listed []string
	for _, f := range files {
		if filepath.Base(f) != "kustomization.yaml" {
			listed = append(listed, filepath.Base(f))
		}
	}
	slices.Sort(listed)
	res := slices.Sorted(slices.Values(k.Resources))
	if !slices.Equal(listed, res) {
		t.Errorf("kustomization resources %v, files %v", res, listed)
	}
	out := map[string]map[string]any{}
	for _, r := range k.Resources {
		data, err := os.ReadFile(filepath.Join(deployDir, r))
		if err != nil {
			t.Fatal(err)
		}
		for _, doc := range strings.Split(string(data), "\n---\n") {
			var m map[string]any
			if err := yaml.Unmarshal([]byte(doc), &m); err != nil {
				t.Fatalf("%s: %v", r, err)
			}
			if m == nil {
				continue
			}
			out[str(m, "kind")+"/"+str(m, "metadata", "name")] = m
		}
	}
	return out
}

func TestDeployManifests(t *testing.T) {
	objs := deployObjects(t)
	get := func(key string) map[string]any {
		t.Helper()
		o := objs[key]
		if o == nil {
			t.Fatalf("deploy/webhook has no %s", key)
		}
		return o
	}
	in := loadExample(t)
	mesh := in.Result.Model.Mesh

	vwc := get("ValidatingWebhookConfiguration/intentc")
	hooks, _ := vwc["webhooks"].([]any)
	if len(hooks) != 1 {
		t.Fatalf("%d webhooks", len(hooks))
	}
	h := asMap(hooks[0])
	if str(h, "sideEffects") != "None" {
		t.Error("sideEffects is not None")
	}
	if n, ok := h["timeoutSeconds"].(float64); !ok || n > 5 {
		t.Errorf("timeoutSeconds %v: keep it small", h["timeoutSeconds"])
	}
	if !slices.Equal(strs(h, "admissionReviewVersions"), []string{"v1"}) {
		t.Error("admissionReviewVersions is not [v1]")
	}
	exprs, _ := lookup(h, "namespaceSelector", "matchExpressions").([]any)
	var excluded []string
	for _, e := range exprs {
		if m := asMap(e); str(m, "key") == "kubernetes.io/metadata.name" && str(m, "operator") == "NotIn" {
			excluded = strs(m, "values")
		}
	}
	for _, ns := range []string{"kube-system", mesh.RootNamespace, mesh.IntentcNamespace} {
		if !slices.Contains(excluded, ns) {
			t.Errorf("namespaceSelector does not exclude %s", ns)
		}
	}
	if ann := str(vwc, "metadata", "annotations", "cert-manager.io/inject-ca-from"); ann != mesh.IntentcNamespace+"/intentc-webhook" {
		t.Errorf("inject-ca-from = %q", ann)
	}
	// Every kind intentc generates outside the never-managed namespaces,
	// and every kind a contradiction rule judges, reaches the webhook.
	covered := map[string]bool{}
	for _, r := range h["rules"].([]any) {
		rm := asMap(r)
		ops := strs(rm, "operations")
		if !slices.Contains(ops, "CREATE") || !slices.Contains(ops, "UPDATE") || !slices.Contains(ops, "DELETE") {
			t.Errorf("rule %v does not cover CREATE, UPDATE and DELETE", rm)
		}
		for _, g := range strs(rm, "apiGroups") {
			for _, res := range strs(rm, "resources") {
				covered[g+"/"+res] = true
			}
		}
	}
	need := map[string]bool{"intentc.dev/*": true}
	for k := range in.objects {
		if !mesh.NeverManaged(k.Namespace) {
			need[k.Group+"/"+plural(k.Kind)] = true
		}
	}
	for _, k := range []string{"networking.istio.io/serviceentries", "networking.istio.io/workloadentries", "networking.istio.io/workloadgroups",
		"networking.istio.io/envoyfilters", "networking.istio.io/sidecars", "/services"} {
		need[k] = true
	}
	for _, k := range slices.Sorted(maps.Keys(need)) {
		if !covered[k] {
			t.Errorf("the webhook's rules do not cover %s", k)
		}
	}

	ns := get("Namespace/intentc-system")
	if str(ns, "metadata", "labels", "istio-injection") != "disabled" {
		t.Error("the webhook's namespace is not excluded from sidecar injection")
	}
	if mesh.IntentcNamespace != "intentc-system" || !mesh.NeverManaged("intentc-system") {
		t.Errorf("the Mesh's default intentc namespace is %q: keep deploy/webhook equal", mesh.IntentcNamespace)
	}

	dep := get("Deployment/intentc-webhook")
	if n, _ := lookup(dep, "spec", "replicas").(float64); n < 2 {
		t.Errorf("replicas = %v, want 2 or more", n)
	}
	if v := lookup(dep, "spec", "strategy", "rollingUpdate", "maxUnavailable"); v != float64(0) {
		t.Errorf("maxUnavailable = %v, want 0", v)
	}
	if str(dep, "spec", "template", "metadata", "annotations", "sidecar.istio.io/inject") != "false" {
		t.Error("the webhook pods may get a sidecar")
	}
	podLabels := labelsAt(dep, "spec", "template", "metadata", "labels")
	pdb := get("PodDisruptionBudget/intentc-webhook")
	if !subset(labelsAt(pdb, "spec", "selector", "matchLabels"), podLabels) || lookup(pdb, "spec", "minAvailable") != float64(1) {
		t.Errorf("PodDisruptionBudget does not keep one webhook pod: %v", pdb["spec"])
	}
	svc := get("Service/intentc-webhook")
	if !subset(labelsAt(svc, "spec", "selector"), podLabels) {
		t.Error("the Service does not select the webhook pods")
	}
	if svcRef := asMap(lookup(h, "clientConfig", "service")); str(svcRef, "name") != "intentc-webhook" || str(svcRef, "path") != "/validate" {
		t.Errorf("clientConfig.service = %v", svcRef)
	}
	cert := get("Certificate/intentc-webhook")
	secret := str(cert, "spec", "secretName")
	vols, _ := lookup(dep, "spec", "template", "spec", "volumes").([]any)
	if !slices.ContainsFunc(vols, func(v any) bool { return str(asMap(v), "secret", "secretName") == secret }) {
		t.Errorf("the Deployment does not mount the Certificate's secret %s", secret)
	}
	if !slices.Contains(strs(cert, "spec", "dnsNames"), "intentc-webhook.intentc-system.svc") {
		t.Error("the Certificate does not name the Service")
	}
	sa := get("ServiceAccount/intentc-webhook")
	if sa["automountServiceAccountToken"] != false {
		t.Error("the webhook's ServiceAccount mounts a token it never uses")
	}
	for key := range objs {
		if strings.HasPrefix(key, "RoleBinding/") || strings.HasPrefix(key, "ClusterRoleBinding/") {
			t.Errorf("%s: the webhook needs no API access", key)
		}
	}
}

// plural is the resource name of the kinds intentc generates.
func plural(kind string) string {
	k := strings.ToLower(kind)
	if strings.HasSuffix(k, "y") {
		return strings.TrimSuffix(k, "y") + "ies"
	}
	return k + "s"
}
