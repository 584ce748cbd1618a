package main

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	_ "github.com/intentc/intentc/internal/testflags" // accept -update like every test binary
)

// example is the bundled example, relative to this package.
var example = filepath.Join("..", "..", "examples", "cross-cloud")

// intentc runs the CLI in-process, as main does.
func intentc(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(args, &out, &errb)
	return code, out.String(), errb.String()
}

// readYAML decodes one generated file.
func readYAML(t *testing.T, path string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := yaml.Unmarshal(data, &m); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return m
}

// tree records every file under dir with its content (nil map: no dir).
func tree(t *testing.T, dir string) map[string]string {
	t.Helper()
	if _, err := os.Stat(dir); err != nil {
		return nil
	}
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = string(data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// copyDir copies the example so tests can edit it and run from inside it.
func copyDir(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		dst := filepath.Join(to, rel)
		if e.IsDir() {
			if rel == "out" {
				return filepath.SkipDir // a local `make demo` run; not part of the example
			}
			return os.MkdirAll(dst, 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func dig(m any, keys ...string) any {
	for _, k := range keys {
		mm, ok := m.(map[string]any)
		if !ok {
			return nil
		}
		m = mm[k]
	}
	return m
}

func list(v any) []any {
	l, _ := v.([]any)
	return l
}

func TestCompileExample(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	code, stdout, stderr := intentc(t, "compile", example, "-o", out)
	if code != 0 {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	if !strings.HasPrefix(stdout, "wrote ") || strings.Contains(stderr, "error") {
		t.Errorf("stdout %q, stderr %q", stdout, stderr)
	}

	// The VirtualService for inventory where it is called (frontend runs in
	// public-prod) splits 70/30 between the clusters' subsets.
	vs := readYAML(t, filepath.Join(out, "clusters", "public-prod", "prod", "virtualservice-inventory.yaml"))
	if dig(vs, "kind") != "VirtualService" || dig(vs, "metadata", "namespace") != "prod" {
		t.Fatalf("not the inventory VirtualService: %v", dig(vs, "metadata"))
	}
	found := false
	for _, route := range list(dig(vs, "spec", "http")) {
		if dig(route, "match") != nil {
			continue // the canary route; the split is the default route
		}
		weights := map[string]float64{}
		for _, d := range list(dig(route, "route")) {
			subset, _ := dig(d, "destination", "subset").(string)
			w, _ := dig(d, "weight").(float64)
			weights[subset] = w
		}
		if maps.Equal(weights, map[string]float64{"openstack-prod": 70, "public-prod": 30}) {
			found = true
		}
	}
	if !found {
		t.Errorf("no default route splitting 70/30 between openstack-prod and public-prod:\n%v", dig(vs, "spec", "http"))
	}

	// The DestinationRule is in both clusters (in openstack-prod although
	// nothing calls inventory there: its east-west gateway routes to the
	// subset) with subsets keyed on topology.istio.io/cluster.
	for _, cluster := range []string{"openstack-prod", "public-prod"} {
		dr := readYAML(t, filepath.Join(out, "clusters", cluster, "prod", "destinationrule-inventory.yaml"))
		if dig(dr, "kind") != "DestinationRule" || dig(dr, "spec", "host") != "inventory.prod.svc.cluster.local" {
			t.Errorf("%s: not the inventory DestinationRule: %v", cluster, dig(dr, "spec", "host"))
		}
		subsets := map[string]any{}
		for _, s := range list(dig(dr, "spec", "subsets")) {
			name, _ := dig(s, "name").(string)
			subsets[name] = dig(s, "labels", "topology.istio.io/cluster")
		}
		if !maps.Equal(subsets, map[string]any{"openstack-prod": "openstack-prod", "public-prod": "public-prod"}) {
			t.Errorf("%s: subsets %v, want one per cluster keyed on topology.istio.io/cluster", cluster, subsets)
		}
	}

	// A second run gives the same bytes.
	out2 := filepath.Join(t.TempDir(), "out")
	if code, _, stderr := intentc(t, "compile", example, "-o", out2); code != 0 {
		t.Fatalf("second run: exit %d: %s", code, stderr)
	}
	if a, b := tree(t, out), tree(t, out2); !maps.Equal(a, b) {
		t.Error("two compiles of the example differ")
	}
}

// diagLine is the text format of a finding: file:line:col: severity: message [CODE].
var diagLine = regexp.MustCompile(`^(\S+):(\d+):(\d+): (error|warning|info): (.+) \[(IC\d{4})\]$`)

const brokenClusters = `apiVersion: intentc.dev/v1alpha1
kind: MeshCluster
metadata: {name: east}
spec:
  platform: kubernetes
  network: net-east
  regin: us-east
  cidrs: {pods: [10.244.0.1/16]}
`

const brokenService = `apiVersion: intentc.dev/v1alpha1
kind: MeshService
metadata: {name: shop, namespace: prod}
spec:
  ports: [{name: http, port: 8080, protocol: http}]
  placement:
    - {cluster: east, weight: -5}
    - {cluster: west, weight: 10}
`

// Every error of a broken intent is printed, parse and semantic together,
// as file:line:col: error: message [code]; the exit code is 1 and nothing
// is written.
func TestCompileBrokenIntent(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	if err := os.MkdirAll("intents", 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string]string{"intents/clusters.yaml": brokenClusters, "intents/shop.yaml": brokenService} {
		if err := os.WriteFile(name, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	code, stdout, stderr := intentc(t, "compile", "intents", "-o", "out")
	if code != 1 {
		t.Fatalf("exit %d, want 1\nstderr: %s", code, stderr)
	}
	if stdout != "" {
		t.Errorf("stdout not empty: %q", stdout)
	}
	var errs []string
	lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
	for _, line := range lines[:len(lines)-1] {
		m := diagLine.FindStringSubmatch(line)
		if m == nil {
			if strings.HasPrefix(line, "\t") {
				continue // a related position under the finding
			}
			t.Errorf("not a finding line: %q", line)
			continue
		}
		if m[4] == "error" {
			errs = append(errs, m[1]+":"+m[2]+":"+m[3]+" "+m[6])
		}
	}
	want := []string{
		"intents/clusters.yaml:7:3 IC1002",  // regin: did you mean region
		"intents/clusters.yaml:8:18 IC2009", // 10.244.0.1/16 has host bits set
		"intents/shop.yaml:7:31 IC2006",     // weight -5
		"intents/shop.yaml:8:17 IC2002",     // cluster west
	}
	if !slices.Equal(errs, want) {
		t.Errorf("errors:\n%s\nwant:\n%s\nfull stderr:\n%s", strings.Join(errs, "\n"), strings.Join(want, "\n"), stderr)
	}
	if last := lines[len(lines)-1]; !regexp.MustCompile(`^4 error\(s\), \d+ warning\(s\); nothing written$`).MatchString(last) {
		t.Errorf("summary line %q", last)
	}
	if _, err := os.Stat("out"); err == nil {
		t.Error("the output directory was created despite errors")
	}
}

func TestCompileCheck(t *testing.T) {
	dir := t.TempDir()
	copyDir(t, example, dir)
	out := filepath.Join(dir, "out")
	if code, _, stderr := intentc(t, "compile", dir, "-o", out); code != 0 {
		t.Fatalf("compile: exit %d: %s", code, stderr)
	}
	fresh := tree(t, out)

	code, stdout, stderr := intentc(t, "compile", "--check", dir, "-o", out)
	if code != 0 || !strings.Contains(stdout, "is up to date") {
		t.Errorf("--check on fresh output: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}

	// Shift the split: the committed output is now stale.
	inv := filepath.Join(dir, "intents", "inventory.yaml")
	data, err := os.ReadFile(inv)
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(string(data), "weight: 70", "weight: 60", 1)
	if edited == string(data) {
		t.Fatal("the example no longer has weight: 70; update the test")
	}
	if err := os.WriteFile(inv, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, _ = intentc(t, "compile", "--check", dir, "-o", out)
	if code != 1 {
		t.Errorf("--check on stale output: exit %d, want 1", code)
	}
	if !strings.Contains(stdout, "is stale") || !regexp.MustCompile(`(?m)^  changed  clusters/public-prod/prod/virtualservice-inventory\.yaml$`).MatchString(stdout) {
		t.Errorf("stdout does not list the stale VirtualService:\n%s", stdout)
	}
	if !maps.Equal(tree(t, out), fresh) {
		t.Error("--check wrote to the output directory")
	}

	// --check into a directory that does not exist: everything is added,
	// and it is still not created.
	missing := filepath.Join(dir, "never")
	if code, _, _ := intentc(t, "compile", "--check", dir, "-o", missing); code != 1 {
		t.Errorf("--check on a missing directory: exit %d, want 1", code)
	}
	if _, err := os.Stat(missing); err == nil {
		t.Error("--check created the output directory")
	}
}

func TestFormatJSON(t *testing.T) {
	t.Run("success", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "out")
		code, stdout, stderr := intentc(t, "compile", example, "-o", out, "--format", "json")
		if code != 0 || stderr != "" {
			t.Fatalf("exit %d, stderr %q", code, stderr)
		}
		var rep struct {
			Diagnostics []json.RawMessage `json:"diagnostics"`
			Files       []string          `json:"files"`
		}
		if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
			t.Fatalf("not JSON: %v\n%s", err, stdout)
		}
		// An empty list, not null: consumers iterate it without a check.
		if !strings.Contains(stdout, `"diagnostics": [`) || len(rep.Files) == 0 {
			t.Errorf("report: %s", stdout)
		}
	})
	t.Run("errors", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "shop.yaml"), []byte(brokenService), 0o644); err != nil {
			t.Fatal(err)
		}
		code, stdout, stderr := intentc(t, "compile", dir, "-o", filepath.Join(dir, "out"), "--format", "json")
		if code != 1 || stderr != "" {
			t.Fatalf("exit %d, stderr %q", code, stderr)
		}
		var rep struct {
			Diagnostics []struct {
				Code     string `json:"code"`
				Severity string `json:"severity"`
				Pos      struct {
					File      string `json:"file"`
					Line, Col int
				} `json:"pos"`
				Message string `json:"message"`
			} `json:"diagnostics"`
		}
		if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
			t.Fatalf("not JSON: %v\n%s", err, stdout)
		}
		if len(rep.Diagnostics) == 0 {
			t.Fatalf("no diagnostics in %s", stdout)
		}
		// No cluster is defined, so the first finding is "east" unknown.
		d := rep.Diagnostics[0]
		if d.Code != "IC2002" || d.Severity != "error" || d.Pos.File != filepath.Join(dir, "shop.yaml") || d.Pos.Line != 7 || d.Pos.Col != 17 || !strings.Contains(d.Message, `unknown cluster "east"`) {
			t.Errorf("first diagnostic %+v", d)
		}
	})
}

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string // in stderr
	}{
		{"unknown flag", []string{"compile", "--no-such-flag", example}, "unknown flag: --no-such-flag"},
		{"bad format", []string{"compile", "--format", "xml", example}, `--format must be text or json, not "xml"`},
		{"unknown command", []string{"compyle"}, `unknown command "compyle"`},
		{"version takes no arguments", []string{"version", "extra"}, "unknown command"},
		{"missing path", []string{"compile", filepath.Join(example, "no-such-dir"), "-o", "unused"}, "[IC1012]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := intentc(t, tc.args...)
			if code != 2 {
				t.Errorf("exit %d, want 2\nstderr: %s", code, stderr)
			}
			if !strings.Contains(stderr, tc.want) {
				t.Errorf("stderr does not mention %q:\n%s", tc.want, stderr)
			}
		})
	}
}

func TestVersion(t *testing.T) {
	code, stdout, stderr := intentc(t, "version")
	if code != 0 || stderr != "" {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) != 4 || lines[0] != "intentc "+version || !strings.HasPrefix(lines[1], "istio.io/api ") ||
		!strings.HasPrefix(lines[2], "k8s.io/api ") || !strings.HasPrefix(lines[3], "go go1.") {
		t.Errorf("version output:\n%s", stdout)
	}
}

func TestHelpMentionsExitCodes(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"compile", "--help"}, {"help", "compile"}} {
		code, stdout, _ := intentc(t, args...)
		if code != 0 {
			t.Errorf("%v: exit %d", args, code)
		}
		for _, want := range []string{"Exit codes:", "0  success", "1  error findings", "2  usage or I/O error"} {
			if !strings.Contains(stdout, want) {
				t.Errorf("%v: help does not mention %q:\n%s", args, want, stdout)
			}
		}
	}
}

// Without paths, compile finds .intentc.yaml in the working directory or
// above and takes the intent directories and the output directory from it.
func TestCompileUsesProjectFile(t *testing.T) {
	dir := t.TempDir()
	copyDir(t, example, dir)
	t.Chdir(filepath.Join(dir, "intents")) // below the project file
	code, stdout, stderr := intentc(t, "compile")
	if code != 0 {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	// The project names output: out, relative to the project file.
	if _, err := os.Stat(filepath.Join(dir, "out", "clusters", "public-prod", "prod", "virtualservice-inventory.yaml")); err != nil {
		t.Errorf("no output where the project file says: %v\nstdout: %s", err, stdout)
	}
	if _, err := os.Stat(filepath.Join(dir, "intents", "out")); err == nil {
		t.Error("output written relative to the working directory, not the project")
	}
	if want := filepath.Join("..", "out"); !strings.Contains(stdout, "files to "+want) {
		t.Errorf("stdout %q does not name %s", stdout, want)
	}
	// And --check uses it too.
	if code, stdout, _ := intentc(t, "compile", "--check"); code != 0 || !strings.Contains(stdout, "up to date") {
		t.Errorf("--check with the project file: exit %d, %s", code, stdout)
	}
}

func TestCompileProjectFileErrors(t *testing.T) {
	t.Run("names a missing directory", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, ".intentc.yaml"), []byte("intents: [nowhere]\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Chdir(dir)
		code, _, stderr := intentc(t, "compile")
		if code != 2 {
			t.Errorf("exit %d, want 2", code)
		}
		if want := ".intentc.yaml:1:11: error: intents[0]: nowhere is not a directory [IC1013]"; !strings.Contains(stderr, want) {
			t.Errorf("stderr %q does not contain %q", stderr, want)
		}
	})
	t.Run("no project and no paths", func(t *testing.T) {
		t.Chdir(t.TempDir())
		code, _, stderr := intentc(t, "compile")
		if code != 2 || !strings.Contains(stderr, "no PATH given and no .intentc.yaml found") {
			t.Errorf("exit %d, stderr %q", code, stderr)
		}
	})
}

// A file intentc did not write, in the way of a generated one, stops the
// write: exit 2, the file untouched, nothing else written.
func TestCompileRefusesForeignFileInTheWay(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	mine := filepath.Join(out, "clusters", "public-prod", "kustomization.yaml")
	if err := os.MkdirAll(filepath.Dir(mine), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(mine, []byte("# hand-written\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := intentc(t, "compile", example, "-o", out)
	if code != 2 || !strings.Contains(stderr, "intentc did not write it") || !strings.Contains(stderr, "nothing was changed") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
	if got := tree(t, out); !maps.Equal(got, map[string]string{"clusters/public-prod/kustomization.yaml": "# hand-written\n"}) {
		t.Errorf("output directory now holds %v", slices.Sorted(maps.Keys(got)))
	}
}

// The cross-layer proof runs by default: the example's legacy-export deny
// is one no layer can tell apart (IC5003, a warning). --prove=false skips
// the proof and nothing else: the same files are written, byte for byte
// (without the proof, the YAML is let go once it is written).
func TestCompileProve(t *testing.T) {
	var outs []string
	compile := func(args ...string) (codes []string, files []string) {
		t.Helper()
		out := filepath.Join(t.TempDir(), "out")
		outs = append(outs, out)
		code, stdout, stderr := intentc(t, append([]string{"compile", example, "-o", out, "--format", "json"}, args...)...)
		if code != 0 || stderr != "" {
			t.Fatalf("exit %d, stderr %q", code, stderr)
		}
		var rep struct {
			Diagnostics []struct {
				Code string `json:"code"`
			} `json:"diagnostics"`
			Files []string `json:"files"`
		}
		if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
			t.Fatalf("not JSON: %v\n%s", err, stdout)
		}
		for _, d := range rep.Diagnostics {
			codes = append(codes, d.Code)
		}
		return codes, rep.Files
	}
	proven, files := compile()
	if !slices.Contains(proven, "IC5003") {
		t.Errorf("compile of the example reports %v, want the proof's IC5003 among them", proven)
	}
	unproven, filesUnproven := compile("--prove=false")
	for _, c := range unproven {
		if strings.HasPrefix(c, "IC5") {
			t.Errorf("--prove=false reports %s, a finding of the proof", c)
		}
	}
	if !slices.Equal(files, filesUnproven) {
		t.Errorf("--prove=false writes %v, the proven compile %v", filesUnproven, files)
	}
	for _, f := range files {
		proven, err := os.ReadFile(filepath.Join(outs[0], f))
		if err != nil {
			t.Fatal(err)
		}
		if unproven, err := os.ReadFile(filepath.Join(outs[1], f)); err != nil || !bytes.Equal(unproven, proven) {
			t.Errorf("%s: --prove=false writes %q (%v), the proven compile %q", f, unproven, err, proven)
		}
	}
}

// The output is written beside its directory while the checks run: a
// compile whose checks fail leaves the output directory as it was, and
// no trace of the tree it had staged, not even the directories it made.
func TestCompileFailingChecksWriteNothing(t *testing.T) {
	policy := t.TempDir()
	rule := "package main\n\ndeny contains \"no VirtualService here\" if input.kind == \"VirtualService\"\n"
	if err := os.WriteFile(filepath.Join(policy, "no_vs.rego"), []byte(rule), 0o644); err != nil {
		t.Fatal(err)
	}
	parent := t.TempDir()
	out := filepath.Join(parent, "new", "out")
	code, _, stderr := intentc(t, "compile", example, "-o", out, "--policy", policy)
	if code != exitFindings || !strings.Contains(stderr, "no VirtualService here") {
		t.Fatalf("exit %d, want %d with the policy's finding\n%s", code, exitFindings, stderr)
	}
	if ents, _ := os.ReadDir(parent); len(ents) != 0 {
		t.Errorf("a failed compile left %v in %s", ents, parent)
	}

	out = filepath.Join(parent, "out")
	if code, _, stderr := intentc(t, "compile", example, "-o", out); code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	before := tree(t, out)
	if code, _, _ := intentc(t, "compile", example, "-o", out, "--policy", policy); code != exitFindings {
		t.Fatalf("exit %d, want %d", code, exitFindings)
	}
	if after := tree(t, out); !maps.Equal(before, after) {
		t.Error("a failed compile changed the output")
	}
	if ents, _ := os.ReadDir(parent); len(ents) != 1 {
		t.Errorf("a failed compile left %v beside the output", ents)
	}
}

// TestCompileProofOrder holds intentc compile to the same result whether
// the proof runs beside the checks (small outputs) or after them (large
// ones, proofAfterFiles): the same exit code, report and output, for an
// intent that proves clean, one the proof has a finding about, and one a
// user policy fails (where, after the checks, the proof is not run).
func TestCompileProofOrder(t *testing.T) {
	policy := t.TempDir()
	if err := os.WriteFile(filepath.Join(policy, "deny.rego"), []byte("package main\n\ndeny contains \"no NetworkPolicy here\" if input.kind == \"NetworkPolicy\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		args []string
		code int
	}{
		{"example", []string{example}, 0},
		{"a proof finding", []string{filepath.Join("..", "..", "testdata", "compile", "flat-network-no-pod-cidrs", "in")}, -1},
		{"a failed check", []string{example, "--policy", policy}, 1},
	}
	defer func(n int) { proofAfterFiles = n }(proofAfterFiles)
	for _, c := range cases {
		out := filepath.Join(t.TempDir(), "out")
		var codes []int
		var reports []string
		var trees []map[string]string
		for _, after := range []int{1 << 30, 0} {
			proofAfterFiles = after
			os.RemoveAll(out)
			code, stdout, stderr := intentc(t, append([]string{"compile", "-o", out, "--format", "json"}, c.args...)...)
			codes = append(codes, code)
			reports = append(reports, stdout+stderr)
			trees = append(trees, tree(t, out))
		}
		if codes[0] != codes[1] || reports[0] != reports[1] || !maps.Equal(trees[0], trees[1]) {
			t.Errorf("%s: beside the checks exit %d, after them %d; reports equal: %v; outputs equal: %v\n%s\n%s", c.name, codes[0], codes[1], reports[0] == reports[1], maps.Equal(trees[0], trees[1]), reports[0], reports[1])
		}
		if c.code >= 0 && codes[0] != c.code {
			t.Errorf("%s: exit %d, want %d:\n%s", c.name, codes[0], c.code, reports[0])
		}
		if c.name == "a proof finding" && !strings.Contains(reports[0], "IC50") {
			t.Errorf("%s: no proof finding in the report:\n%s", c.name, reports[0])
		}
	}
}
