package lint

import (
	"os"

	"github.com/google/go-cmp/cmp"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/intentc/intentc/compiler"
	"github.com/intentc/intentc/compiler/diag"
	"github.com/intentc/intentc/compiler/intent"
)

func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, data := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestHoldsIntent(t *testing.T) {
	dir := t.TempDir()
	cases := map[string]struct {
		data string
		want bool
	}{
		"intent.yaml":     {"apiVersion: intentc.dev/v1alpha1\nkind: Mesh\nmetadata: {name: m}\n", true},
		"broken.yaml":     {"apiVersion: intentc.dev/v1alpha1\nkind: MeshService\nmetadata: {name: a, namespace: b}\nspec: {placment: []}\n", true},
		"misspelt.yaml":   {"apiVersion: intentc.dev/v1alpah1\nkind: MeshService\n", true},
		"otherdomain.yml": {"apiVersion: intentc.io/v1alpha1\nkind: Mesh\n", true},
		"unknownkind.yml": {"apiVersion: intentc.dev/v1alpha1\nkind: MeshServce\n", true},
		"noversion.yaml":  {"kind: AccessPolicy\nmetadata: {name: a, namespace: b}\n", true},
		"mixed.yaml":      {"apiVersion: v1\nkind: ConfigMap\n---\napiVersion: intentc.dev/v1alpha1\nkind: Mesh\nmetadata: {name: m}\n", true},
		"configmap.yaml":  {"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n", false},
		"workflow.yaml":   {"name: ci\non: [push]\n", false},
		"values.yaml":     {"replicas: 3\n", false},
		"syntax.yaml":     {"a: [\n", false},
		"neutron.json":    {`{"security_groups": []}`, false},
	}
	parsed := &intent.Parsed{}
	for name, c := range cases {
		writeTree(t, dir, map[string]string{name: c.data})
		f := filepath.Join(dir, name)
		if got := holdsIntent(f, parsed); got != c.want {
			t.Errorf("%s: holdsIntent %v, want %v", name, got, c.want)
		}
		// What holds intent is kept for the compile, which then loads
		// what parsing the file anew gives.
		kept, keptDiags := intent.LoadParsed([]string{f}, parsed)
		fresh, freshDiags := intent.Load([]string{f})
		if diff := cmp.Diff(fresh, kept, cmp.Exporter(func(reflect.Type) bool { return true })); diff != "" {
			t.Errorf("%s: kept parse differs (-fresh +kept):\n%s", name, diff)
		}
		if diff := cmp.Diff(freshDiags, keptDiags); diff != "" {
			t.Errorf("%s: kept findings differ (-fresh +kept):\n%s", name, diff)
		}
	}
	if holdsIntent(filepath.Join(dir, "missing.yaml"), parsed) {
		t.Error("a missing file holds intent")
	}
}

func TestBundleContext(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"out/.intentc-generated":                "clusters/a/ns/vs.yaml\n",
		"out/clusters/a/ns/vs.yaml":             "",
		"out/clusters/a/ns/dr.yaml":             "",
		"out/clusters/a/istio-system/gw.yaml":   "",
		"out/clusters/b/ns/vs.yaml":             "",
		"manifests/app/vs.yaml":                 "",
		"manifests/app/dr.yml":                  "",
		"manifests/app/sg.json":                 "",
		"manifests/app/README.md":               "",
		"manifests/app/.hidden.yaml":            "",
		"manifests/app/nested/elsewhere.yaml":   "",
		"manifests/other/not-this-bundle.yaml":  "",
		"deep/clusters/c/ns/x/y/deeper/np.yaml": "",
		"deep/clusters/c/top.yaml":              "",
	})
	rel := func(files []string) []string {
		var out []string
		for _, f := range files {
			r, _ := filepath.Rel(dir, f)
			out = append(out, filepath.ToSlash(r))
		}
		slices.Sort(out)
		return out
	}
	for file, want := range map[string][]string{
		"out/clusters/a/ns/vs.yaml":             {"out/clusters/a/istio-system/gw.yaml", "out/clusters/a/ns/dr.yaml", "out/clusters/a/ns/vs.yaml"},
		"manifests/app/vs.yaml":                 {"manifests/app/dr.yml", "manifests/app/sg.json", "manifests/app/vs.yaml"},
		"deep/clusters/c/ns/x/y/deeper/np.yaml": {"deep/clusters/c/ns/x/y/deeper/np.yaml", "deep/clusters/c/top.yaml"},
	} {
		if got := rel(bundleContext(filepath.Join(dir, file))); !slices.Equal(got, want) {
			t.Errorf("%s: context %v, want %v", file, got, want)
		}
	}
}

func TestScopeReport(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	writeTree(t, dir, map[string]string{
		".intentc.yaml":        "intents: [intents]\n",
		"intents/a.yaml":       "",
		"intents/b.yaml":       "",
		"manifests/vs.yaml":    "",
		"manifests/dr.yaml":    "",
		"policy/p.rego":        "",
		"elsewhere/notes.yaml": "",
	})
	scopes, diags := Scopes([]string{"intents/a.yaml", "manifests/vs.yaml"})
	if len(diags) > 0 || len(scopes) != 1 {
		t.Fatalf("scopes %d, %v", len(scopes), diags)
	}
	s := scopes[0]
	if s.Project == nil || s.All() {
		t.Fatalf("project %v, all %v", s.Project, s.All())
	}
	if want := []string{"intents"}; !slices.Equal(s.Intent, want) {
		t.Errorf("intent %v, want %v", s.Intent, want)
	}
	if want := []string{"intents/a.yaml", "manifests/vs.yaml", "intents/b.yaml", "manifests/dr.yaml"}; !slices.Equal(s.Manifests, want) {
		t.Errorf("manifests %v, want %v", s.Manifests, want)
	}
	res := &compiler.Result{Set: &intent.Set{Files: []string{"intents/a.yaml", "intents/b.yaml"}}}
	at := func(code diag.Code, file string) diag.Diagnostic {
		return diag.Diagnostic{Code: code, Severity: code.Severity(), Pos: diag.Pos{File: file, Line: 1, Col: 1}, Message: file}
	}
	related := at(diag.CodeDuplicateObject, "intents/b.yaml")
	related.Related = []diag.Related{{Pos: diag.Pos{File: "intents/a.yaml", Line: 1, Col: 1}, Message: "first"}}
	compiled := diag.List{
		at(diag.CodeUnknownField, "intents/a.yaml"),   // given
		at(diag.CodeUnknownCluster, "intents/b.yaml"), // not given
		related,                                         // not given, but names a.yaml
		at(diag.CodeNotIntent, "intents/a.yaml"),        // lint checks those documents itself
		at(diag.CodeYAMLSyntax, "intents/a.yaml"),       // reported once, by the compile
		{Code: diag.CodeNoDefaultDeny, Message: "mesh"}, // about no file
		at(diag.CodeInvalidPolicy, "policy/p.rego"),     // not an input: a policy
		at(diag.CodeWeightsSum, "clusters/x/vs.yaml"),   // generated output, not a file here
		at(diag.CodeUnknownService, "elsewhere/a.yaml"), // not an input of this scope
	}
	manifests := diag.List{
		at(diag.CodeYAMLSyntax, "intents/a.yaml"), // the compile said it first
		at(diag.CodeMissingSubset, "manifests/vs.yaml"),
		at(diag.CodeMissingSubset, "manifests/dr.yaml"), // context only
	}
	var got []string
	for _, d := range s.Report(res, compiled, manifests) {
		got = append(got, d.Pos.File+":"+string(d.Code))
	}
	want := []string{":IC4013", "clusters/x/vs.yaml:IC4001", "elsewhere/a.yaml:IC2003", "intents/a.yaml:IC1001", "intents/a.yaml:IC1002", "intents/b.yaml:IC2001", "manifests/vs.yaml:IC4011", "policy/p.rego:IC4101"}
	if !slices.Equal(got, want) {
		t.Errorf("reported\n%v\nwant\n%v", got, want)
	}
	if !s.CoversIntent(res) {
		t.Error("a.yaml is given: the compiled objects must be checked")
	}

	// Only a manifest given: the intent is compiled for its mesh, but its
	// generated objects need no check.
	scopes, _ = Scopes([]string{"manifests/vs.yaml"})
	if scopes[0].CoversIntent(res) {
		t.Error("no intent file given, yet CoversIntent")
	}
	// No paths: the project, whole.
	scopes, _ = Scopes(nil)
	if len(scopes) != 1 || !scopes[0].All() || !scopes[0].CoversIntent(nil) {
		t.Errorf("no paths: %+v", scopes)
	}
	if got := scopes[0].Report(res, compiled, nil); len(got) != len(compiled)-1 {
		t.Errorf("no paths: %d findings reported, want all %d but the not-intent note", len(got), len(compiled)-1)
	}
}

func TestScopesWithoutProject(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	writeTree(t, dir, map[string]string{
		"m/intent.yaml":    "apiVersion: intentc.dev/v1alpha1\nkind: Mesh\nmetadata: {name: m}\n",
		"m/vs.yaml":        "apiVersion: networking.istio.io/v1\nkind: VirtualService\n",
		"m/.hidden/x.yaml": "apiVersion: intentc.dev/v1alpha1\nkind: Mesh\nmetadata: {name: n}\n",
		// An output tree is never intent, even given by name.
		"out/.intentc-generated":   "clusters/a/ns/x.yaml\n",
		"out/clusters/a/ns/x.yaml": "apiVersion: intentc.dev/v1alpha1\nkind: Mesh\nmetadata: {name: o}\n",
	})
	scopes, diags := Scopes([]string{"m", "missing.yaml", "out/clusters/a/ns/x.yaml"})
	if len(diags) != 1 || diags[0].Code != diag.CodeReadFile {
		t.Errorf("diags %v, want one IC1012", diags)
	}
	if len(scopes) != 1 || scopes[0].Project != nil {
		t.Fatalf("scopes %+v", scopes)
	}
	if want := []string{"m/intent.yaml"}; !slices.Equal(scopes[0].Intent, want) {
		t.Errorf("intent %v, want %v (hidden directories skipped, manifests not intent)", scopes[0].Intent, want)
	}
}
