package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

var lintTestdata = filepath.Join("..", "..", "lint", "testdata")

func TestLintExampleIsClean(t *testing.T) {
	code, stdout, stderr := intentc(t, "lint", example)
	if code != 0 || stderr != "" {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
}

// findingRE is the text format: file:line:col: severity: message [code].
var findingRE = regexp.MustCompile(`^[^:]+:\d+:\d+: (error|warning|info): .+ \[IC\d{4}\]$`)

func TestLintHandWritten(t *testing.T) {
	dir := filepath.Join(lintTestdata, "manifests")
	code, _, stderr := intentc(t, "lint", "--data", filepath.Join(dir, "mesh-data.yaml"), filepath.Join(dir, "shop"), filepath.Join(dir, "openstack"))
	if code != exitFindings {
		t.Fatalf("exit %d, want %d\n%s", code, exitFindings, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	if len(lines) < 2 || !strings.HasSuffix(lines[len(lines)-1], "warning(s)") {
		t.Fatalf("no summary line:\n%s", stderr)
	}
	for _, l := range lines[:len(lines)-1] {
		if !strings.HasPrefix(l, "\t") && !findingRE.MatchString(l) {
			t.Errorf("not file:line:col: severity: message [code]: %q", l)
		}
	}
	for _, want := range []string{"routing.yaml:9:7: warning:", "[IC4001]", "nodes.heat.yaml:12:5: error:", "[IC4008]", "security.yaml:41:16: error:", "[IC4013]"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("output lacks %q:\n%s", want, stderr)
		}
	}
}

func TestLintUserPoliciesJSON(t *testing.T) {
	code, stdout, stderr := intentc(t, "lint", "--format", "json",
		"--policy", filepath.Join(lintTestdata, "conftest-v0", "policy"), "--namespace", "main", "--namespace", "istio",
		filepath.Join(lintTestdata, "conftest", "manifests"))
	if code != exitFindings {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	var rep struct {
		Diagnostics []struct {
			Code     string `json:"code"`
			Severity string `json:"severity"`
			Message  string `json:"message"`
		} `json:"diagnostics"`
	}
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("%v\n%s", err, stdout)
	}
	got := map[string]int{}
	for _, d := range rep.Diagnostics {
		got[d.Code+" "+d.Severity]++
		if strings.Contains(d.Message, "istio.deny") {
			got["istio"]++
		}
	}
	if got["IC4201 error"] != 4 || got["IC4202 warning"] != 1 || got["istio"] != 1 {
		t.Errorf("findings %v:\n%s", got, stdout)
	}
}

func TestLintInvalidPolicy(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "bad.rego"), []byte("package main\n\ndeny[msg] {\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := intentc(t, "lint", "--policy", dir, example)
	if code != exitFindings || !strings.Contains(stderr, filepath.Join(dir, "bad.rego")+":") || !strings.Contains(stderr, "[IC4101]") {
		t.Errorf("exit %d, want 1 and IC4101 at bad.rego:\n%s", code, stderr)
	}
}

func TestLintUsage(t *testing.T) {
	for _, args := range [][]string{
		{"lint", "--rego-version", "v2", example},
		{"lint", "--format", "xml", example},
		{"lint", "--fail-on", "info", example},
		{"lint", "--color", "sometimes", example},
	} {
		if code, _, _ := intentc(t, args...); code != exitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, exitUsage)
		}
	}
	if code, _, stderr := intentc(t, "lint", filepath.Join(t.TempDir(), "missing")); code != exitUsage {
		t.Errorf("missing path: exit %d, want %d\n%s", code, exitUsage, stderr)
	}
	t.Chdir(t.TempDir())
	if code, _, stderr := intentc(t, "lint"); code != exitUsage || !strings.Contains(stderr, "no PATH given and no .intentc.yaml") {
		t.Errorf("no path and no project: exit %d, want %d\n%s", code, exitUsage, stderr)
	}
}

// writeFiles writes name → content under dir.
func writeFiles(t *testing.T, dir string, files map[string]string) {
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

// codesAt lists "file:code" for each finding line of the text format.
func codesAt(stderr string) []string {
	var out []string
	for _, l := range strings.Split(stderr, "\n") {
		if m := regexp.MustCompile(`^([^:\t]+):\d+:\d+: \w+: .* \[(IC\d{4})\]$`).FindStringSubmatch(l); m != nil {
			out = append(out, filepath.ToSlash(m[1])+":"+m[2])
		}
	}
	return out
}

const lintMesh = `apiVersion: intentc.dev/v1alpha1
kind: Mesh
metadata: {name: shop}
spec: {mtls: strict, defaultDeny: true}
---
apiVersion: intentc.dev/v1alpha1
kind: MeshCluster
metadata: {name: dc1}
spec:
  platform: kubernetes
  network: net-dc1
  cidrs: {pods: [10.244.0.0/16], services: [10.96.0.0/12], nodes: [192.168.10.0/24], egress: [203.0.113.10/32]}
  apiServer: {address: 203.0.113.5}
`

const lintCart = `apiVersion: intentc.dev/v1alpha1
kind: MeshService
metadata: {name: cart, namespace: shop}
spec:
  ports: [{name: http, port: 8080, protocol: http}]
  placement: [{cluster: dc1}]
`

// A pre-commit run passes the staged files: the intent root is found by
// walking up from them (not from the working directory), the whole intent
// is compiled, and only the staged files' findings are reported.
func TestLintReportsOnlyGivenFiles(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"repo/.intentc.yaml":           "intents: [intents]\n",
		"repo/intents/mesh.yaml":       lintMesh,
		"repo/intents/cart.yaml":       lintCart,
		"repo/intents/policy.yaml":     "apiVersion: intentc.dev/v1alpha1\nkind: AccessPolicy\nmetadata: {name: p, namespace: shop}\nspec:\n  to: {service: cart, ports: [grpc]}\n  from: [{service: cart}]\n",
		"repo/intents/bad-weight.yaml": "apiVersion: intentc.dev/v1alpha1\nkind: MeshService\nmetadata: {name: search, namespace: shop}\nspec:\n  ports: [{name: http, port: 80, protocol: http}]\n  placement: [{cluster: dc1, weight: 0}]\n",
	})
	t.Chdir(t.TempDir()) // no project here: the paths find theirs
	repo := filepath.Join(dir, "repo")

	// cart.yaml is fine and refers to nothing broken; the other files'
	// errors are not its findings.
	code, _, stderr := intentc(t, "lint", filepath.Join(repo, "intents", "cart.yaml"))
	if code != 0 || stderr != "" {
		t.Errorf("cart.yaml alone: exit %d\n%s", code, stderr)
	}
	// policy.yaml resolves cart from another file, and reports its own
	// unknown port.
	code, _, stderr = intentc(t, "lint", filepath.Join(repo, "intents", "policy.yaml"))
	// (Positions are relative to the working directory, as the project
	// file's directories are.)
	if got := codesAt(stderr); code != 1 || len(got) != 1 || !strings.HasSuffix(got[0], "repo/intents/policy.yaml:IC2004") {
		t.Errorf("policy.yaml: exit %d, findings %v\n%s", code, got, stderr)
	}
	// The directory: everything.
	code, _, stderr = intentc(t, "lint", repo)
	if got := codesAt(stderr); code != 1 || len(got) != 2 {
		t.Errorf("whole project: exit %d, findings %v\n%s", code, got, stderr)
	}
	// No paths, from inside the project: everything too.
	t.Chdir(filepath.Join(repo, "intents"))
	code, _, stderr = intentc(t, "lint")
	if got := codesAt(stderr); code != 1 || len(got) != 2 {
		t.Errorf("no paths: exit %d, findings %v\n%s", code, got, stderr)
	}
}

// A finding is reported when one of its related positions is in a file
// given: a duplicate in another file still involves the staged one.
func TestLintKeepsRelatedFindings(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		".intentc.yaml":      "intents: [intents]\n",
		"intents/mesh.yaml":  lintMesh,
		"intents/a.yaml":     lintCart,
		"intents/b.yaml":     lintCart,
		"intents/other.yaml": "apiVersion: intentc.dev/v1alpha1\nkind: MeshService\nmetadata: {name: x, namespace: shop}\nspec:\n  ports: [{name: http, port: 80, protocol: http}]\n  placement: [{cluster: nowhere}]\n",
	})
	t.Chdir(dir)
	code, _, stderr := intentc(t, "lint", filepath.Join("intents", "a.yaml"))
	if code != 1 || !strings.Contains(stderr, "[IC2001]") || strings.Contains(stderr, "[IC2002]") {
		t.Errorf("exit %d; want the duplicate (related to a.yaml) and not other.yaml's unknown cluster:\n%s", code, stderr)
	}
	// The same file under two spellings is loaded once.
	abs, _ := filepath.Abs(filepath.Join("intents", "mesh.yaml"))
	if code, _, stderr := intentc(t, "lint", abs, filepath.Join("intents", "mesh.yaml"), "./intents/mesh.yaml"); code != 0 || stderr != "" {
		t.Errorf("one file, three spellings: exit %d\n%s", code, stderr)
	}
}

// YAML that is not an intent and not a manifest (a CI workflow, the
// project file, a values file) passes; an intentc kind or a misspelt
// intentc apiVersion among manifests is an error, with or without a
// project.
func TestLintOtherYAML(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"ci.yaml":          "name: ci\non: [push]\njobs: {}\n",
		"values.yaml":      "replicas: 3\nimage: {tag: v1}\n",
		"misspelt.yaml":    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n---\napiVersion: intentc.io/v1alpha1\nkind: MeshService\nmetadata: {name: a, namespace: b}\n",
		"no-version.yaml":  "kind: MeshService\nmetadata: {name: a, namespace: b}\n",
		"tsconfig.json":    "{\"compilerOptions\": {}}\n",
		"configmap.yaml":   "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: d}\ndata: {a: b}\n",
		"sub/.intentc.yml": "not a project file, not read\n",
	})
	t.Chdir(dir)
	code, _, stderr := intentc(t, "lint", "ci.yaml", "values.yaml", "tsconfig.json", "configmap.yaml")
	if code != 0 || stderr != "" {
		t.Errorf("other YAML: exit %d\n%s", code, stderr)
	}
	code, _, stderr = intentc(t, "lint", "misspelt.yaml", "no-version.yaml")
	got := codesAt(stderr)
	if code != 1 || !slices.Equal(got, []string{"misspelt.yaml:IC1007", "no-version.yaml:IC1005"}) {
		t.Errorf("exit %d, findings %v\n%s", code, got, stderr)
	}
}

func TestLintFailOn(t *testing.T) {
	// Relative weights are valid Istio: on a hand-written manifest, a
	// warning.
	warnOnly := filepath.Join(t.TempDir(), "vs.yaml")
	writeFiles(t, filepath.Dir(warnOnly), map[string]string{"vs.yaml": `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: r, namespace: shop}
spec:
  hosts: [r]
  http:
    - route:
        - {destination: {host: r}, weight: 2}
        - {destination: {host: r2}, weight: 1}
`})
	code, _, stderr := intentc(t, "lint", warnOnly)
	if strings.Contains(stderr, "error:") || !strings.Contains(stderr, "warning:") {
		t.Fatalf("want warnings only:\n%s", stderr)
	}
	for failOn, want := range map[string]int{"": 0, "error": 0, "warning": 1, "never": 0} {
		args := []string{"lint", warnOnly}
		if failOn != "" {
			args = append(args, "--fail-on", failOn)
		}
		if got, _, _ := intentc(t, args...); got != want {
			t.Errorf("--fail-on %q on warnings: exit %d, want %d", failOn, got, want)
		}
	}
	broken := filepath.Join(repoRoot, "testdata", "lint", "broken-intent", "intents", "cart.yaml")
	for failOn, want := range map[string]int{"error": 1, "warning": 1, "never": 0} {
		if got, _, _ := intentc(t, "lint", "--fail-on", failOn, broken); got != want {
			t.Errorf("--fail-on %s on errors: exit %d, want %d", failOn, got, want)
		}
	}
	// Usage and I/O errors stay exit 2 whatever --fail-on says.
	if got, _, _ := intentc(t, "lint", "--fail-on", "never", filepath.Join(t.TempDir(), "missing")); got != exitUsage {
		t.Errorf("missing path with --fail-on never: exit %d, want %d", got, exitUsage)
	}
	if code == exitUsage {
		t.Errorf("warnings alone exit %d", code)
	}
}

func TestLintColor(t *testing.T) {
	broken := filepath.Join(repoRoot, "testdata", "lint", "broken-intent", "intents", "cart.yaml")
	_, _, plain := intentc(t, "lint", broken) // stderr is a buffer, not a terminal
	_, _, colored := intentc(t, "lint", "--color", "always", broken)
	if strings.Contains(plain, "\x1b[") {
		t.Errorf("colour when stderr is not a terminal:\n%q", plain)
	}
	if !strings.Contains(colored, "\x1b[1;31merror\x1b[0m") {
		t.Errorf("--color always has no coloured severity:\n%q", colored)
	}
	if stripped := regexp.MustCompile("\x1b\\[[0-9;]*m").ReplaceAllString(colored, ""); stripped != plain {
		t.Errorf("colour changes the text:\n%q\n%q", stripped, plain)
	}
}

// Intents of two projects given together are compiled apart: neither
// sees the other's objects.
func TestLintTwoProjects(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"a/.intentc.yaml": "intents: [.]\n", "a/mesh.yaml": lintMesh, "a/cart.yaml": lintCart,
		"b/.intentc.yaml": "intents: [.]\n", "b/mesh.yaml": lintMesh, "b/cart.yaml": lintCart,
	})
	t.Chdir(dir)
	code, _, stderr := intentc(t, "lint", "a/cart.yaml", "b/cart.yaml", "a", "b")
	if code != 0 || stderr != "" {
		t.Errorf("exit %d (a duplicate across projects?)\n%s", code, stderr)
	}
}
