package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// TestWebhookDeployManifests has the API server accept deploy/webhook: each
// object listed in its kustomization, in the kustomization's namespace,
// server-side applied as a dry run with strict field validation (the
// namespace itself for real). cert-manager's kinds are left out: their
// CRDs are not installed here.
func TestWebhookDeployManifests(t *testing.T) {
	requireEnv(t)
	ctx := context.Background()
	dir := filepath.Join(suite.root, "deploy", "webhook")
	var k struct {
		Namespace string   `json:"namespace"`
		Resources []string `json:"resources"`
	}
	data, err := os.ReadFile(filepath.Join(dir, "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, &k); err != nil {
		t.Fatal(err)
	}
	var objs []object
	for _, r := range k.Resources {
		data, err := os.ReadFile(filepath.Join(dir, r))
		if err != nil {
			t.Fatal(err)
		}
		found, err := decodeObjects(outFile{Path: "deploy/webhook/" + r, Data: data})
		if err != nil {
			t.Fatalf("%s: %v", r, err)
		}
		objs = append(objs, found...)
	}
	applied := 0
	for _, o := range applyOrder(objs) {
		if strings.HasPrefix(o.U.GetAPIVersion(), "cert-manager.io/") {
			continue
		}
		if o.U.GetKind() != "Namespace" {
			if namespaced, err := suite.client.IsObjectNamespaced(o.U); err == nil && namespaced {
				o.U.SetNamespace(k.Namespace)
				if o.JSON, err = o.U.MarshalJSON(); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := serverApply(ctx, o, o.U.GetKind() == "Namespace"); err != nil {
			t.Errorf("%s\n\trejected by kube-apiserver: %v", o, err)
		}
		applied++
	}
	if applied < 6 {
		t.Errorf("only %d objects checked", applied)
	}
}
