package e2e

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
)

// checkOutput runs both authorities over one generated tree and fails the
// test for every rejection and every failing istioctl finding.
func checkOutput(t *testing.T, files []outFile) output {
	t.Helper()
	out := splitOutput(files)
	for _, p := range out.Problems {
		t.Error(p)
	}
	ctx := context.Background()
	t.Run("kube-apiserver", func(t *testing.T) {
		for _, f := range applyOutput(ctx, out.Objects) {
			t.Error(f)
		}
	})
	t.Run("istioctl", func(t *testing.T) {
		suppress, err := loadSuppressions(suite.root)
		if err != nil {
			t.Fatalf("%s: %v", suppressFile, err)
		}
		for _, c := range sortedKeys(out.Clusters) {
			msgs, err := istioAnalyze(ctx, out.Clusters[c], suppress)
			if err != nil {
				t.Errorf("cluster %s: %v", c, err)
				continue
			}
			for _, f := range analysisFailures(msgs, clusterObjects(out, c)) {
				t.Errorf("cluster %s: %s", c, f)
			}
			for _, m := range msgs {
				if !m.failing() {
					t.Logf("cluster %s: istioctl %s [%s] %s: %s", c, m.Level, m.Code, m.Reference, m.Message)
				}
			}
		}
	})
	return out
}

func clusterObjects(out output, cluster string) []object {
	var objs []object
	for _, o := range out.Objects {
		if c, ok := clusterOf(o.File); ok && c == cluster {
			objs = append(objs, o)
		}
	}
	return objs
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// TestSampleOutput runs the harness over a hand-written output tree that
// must be accepted, the counterpart of the negative controls.
func TestSampleOutput(t *testing.T) {
	requireEnv(t)
	files, err := readTree("testdata/sample")
	if err != nil {
		t.Fatal(err)
	}
	out := checkOutput(t, files)
	// Guard against a vacuous pass: the sample must have reached both checks.
	if len(out.Objects) != 4 || len(out.Clusters["demo"]) != 4 || len(out.Patches) != 1 {
		t.Errorf("sample split into %d objects, %d files for cluster demo, %d patches; want 4, 4, 1",
			len(out.Objects), len(out.Clusters["demo"]), len(out.Patches))
	}
}

// compileCase is one compiler input: an example or a golden case.
type compileCase struct {
	name   string // examples/<x> or golden/<x>
	dir    string // absolute input directory
	golden bool   // golden cases may be expected to fail compiling
}

func discoverCases(root string) ([]compileCase, error) {
	var cases []compileCase
	add := func(pattern, prefix string, golden bool) error {
		dirs, err := filepath.Glob(filepath.Join(root, pattern))
		if err != nil {
			return err
		}
		for _, d := range dirs {
			if fi, err := os.Stat(d); err != nil || !fi.IsDir() {
				continue
			}
			name := filepath.Base(d)
			if golden {
				name = filepath.Base(filepath.Dir(d)) // testdata/compile/<name>/in
			}
			cases = append(cases, compileCase{name: prefix + name, dir: d, golden: golden})
		}
		return nil
	}
	if err := add("examples/*", "examples/", false); err != nil {
		return nil, err
	}
	if err := add("testdata/compile/*/in", "golden/", true); err != nil {
		return nil, err
	}
	return cases, nil
}

// TestCompiledOutputs compiles every example and every golden case that
// compiles cleanly, and puts the output and the intent documents before the
// API server and istioctl.
func TestCompiledOutputs(t *testing.T) {
	requireEnv(t)
	cases, err := discoverCases(suite.root)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(cases, func(c compileCase) bool { return !c.golden }) {
		// Without examples this test would pass having checked nothing.
		t.Fatalf("no examples under %s: nothing to check", filepath.Join(suite.root, "examples"))
	}
	var skipped []string
	for _, c := range cases {
		files, diags, failed := compileDir(c.dir)
		if failed {
			if c.golden {
				// A golden error case: its expected diagnostics are the
				// golden test's business, and there is no output to apply.
				skipped = append(skipped, c.name)
				continue
			}
			t.Errorf("%s: example does not compile:\n%s", c.name, diags)
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			out := checkOutput(t, files)
			t.Logf("%d objects, %d clusters, %d patches", len(out.Objects), len(out.Clusters), len(out.Patches))
			t.Run("kube-apiserver-control", func(t *testing.T) {
				controlUnknownField(t, out.Objects)
			})
			t.Run("intents", func(t *testing.T) {
				intents, err := intentObjects(suite.root, c.dir)
				if err != nil {
					t.Fatal(err)
				}
				if len(intents) == 0 {
					t.Errorf("no %s documents in %s", intentAPIVersion, c.dir)
				}
				for _, f := range applyIntents(context.Background(), intents) {
					t.Error(f)
				}
			})
		})
	}
	if len(skipped) > 0 {
		t.Logf("golden cases with compile errors, not applied: %s", strings.Join(skipped, ", "))
	}
}

// controlUnknownField is the in-place negative control of a compiled case:
// the same objects, each with one field no schema declares, must each be
// rejected. It proves every generated object really reached the API server
// under strict validation, so the accepting run above cannot pass by
// skipping objects.
func controlUnknownField(t *testing.T, objs []object) {
	t.Helper()
	const field = "intentcE2eControl"
	var mutated []object
	for _, o := range objs {
		switch o.U.GroupVersionKind().GroupKind().String() {
		case "Namespace", "CustomResourceDefinition.apiextensions.k8s.io":
			// Applied for real: keep them valid so the others find them.
		default:
			u := o.U.DeepCopy()
			u.Object[field] = true
			j, err := u.MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			o.U, o.JSON = u, j
		}
		mutated = append(mutated, o)
	}
	want := 0
	for _, o := range mutated {
		if _, ok := o.U.Object[field]; ok {
			want++
		}
	}
	failures := applyOutput(context.Background(), mutated)
	if len(failures) != want {
		t.Errorf("%d objects carry the unknown field %s, %d were rejected:\n%s", want, field, len(failures), strings.Join(failures, "\n"))
	}
	for _, f := range failures {
		if !strings.Contains(f, field) {
			t.Errorf("rejected for another reason than the unknown field:\n%s", f)
		}
	}
}
