package policies

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/tester"

	"github.com/intentc/intentc/compiler/diag"
	"github.com/intentc/intentc/internal/testflags"
)

// TestRego runs every Rego unit test of the library with OPA's own runner.
func TestRego(t *testing.T) {
	mods, _, err := Load(true)
	if err != nil {
		t.Fatal(err)
	}
	ch, err := tester.NewRunner().
		SetCompiler(ast.NewCompiler().WithEnablePrintStatements(true)).
		SetModules(mods).
		CapturePrintOutput(true).
		RaiseBuiltinErrors(true).
		RunTests(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for r := range ch {
		n++
		name := r.Location.File + ":" + r.Package + "." + r.Name
		switch {
		case r.Error != nil:
			t.Errorf("%s: %v\n%s", name, r.Error, r.Output)
		case r.Fail:
			t.Errorf("%s: FAIL\n%s", name, r.Output)
		case r.Skip:
			t.Errorf("%s: skipped (todo_ tests are not allowed)", name)
		}
	}
	if n == 0 {
		t.Fatal("no Rego tests ran")
	}
	t.Logf("%d Rego tests", n)
}

// TestMetadata holds every rule to the house rules (DESIGN §6): complete
// METADATA (Load checks code, title, description, severity, layer and scope
// and where the file lives), a code in the diagnostics table with the same
// title and severity, a test file beside it with cases that fire and cases
// that do not, and one code per rule.
func TestMetadata(t *testing.T) {
	mods, rules, err := Load(true)
	if err != nil {
		t.Fatal(err)
	}
	files, _ := fs.Glob(FS, "*/*.rego")
	nonTest := 0
	for _, f := range files {
		if !IsTest(f) && !strings.HasPrefix(f, "lib/") {
			nonTest++
		}
	}
	if nonTest != len(rules) {
		t.Errorf("%d rule files but %d rules loaded", nonTest, len(rules))
	}
	seen := map[diag.Code]string{}
	for _, r := range rules {
		if prev, dup := seen[r.Code]; dup {
			t.Errorf("%s and %s share code %s", prev, r.File, r.Code)
		}
		seen[r.Code] = r.File
		info, ok := r.Code.Info()
		switch {
		case !ok:
			t.Errorf("%s: code %s is not in compiler/diag/codes.go", r.File, r.Code)
		case info.Title != r.Title:
			t.Errorf("%s: title %q, but the code table says %q", r.File, r.Title, info.Title)
		case info.Severity != r.Severity:
			t.Errorf("%s: severity %s, but the code table says %s", r.File, r.Severity, info.Severity)
		}
		test := strings.TrimSuffix(r.File, ".rego") + "_test.rego"
		m, ok := mods[test]
		if !ok {
			t.Errorf("%s: no %s beside it", r.File, test)
			continue
		}
		var fires, quiet int
		for _, rule := range m.Rules {
			name := rule.Head.Name.String()
			switch {
			case strings.HasPrefix(name, "test_fires_"):
				fires++
			case strings.HasPrefix(name, "test_quiet_"):
				quiet++
			}
		}
		if fires == 0 || quiet == 0 {
			t.Errorf("%s: needs test_fires_* and test_quiet_* cases (has %d and %d)", test, fires, quiet)
		}
	}
}

func TestDocsMatchMetadata(t *testing.T) {
	_, rules, err := Load(false)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("..", "docs", "policies.md")
	want := Markdown(rules)
	if *testflags.Update {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./policies -update)", err)
	}
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("docs/policies.md is stale; run go test ./policies -update (-want +got):\n%s", diff)
	}
}

// TestBundleIndexes holds lib/bundle.rego to its indexes: the objects by
// kind, host and namespace are grouped by comprehensions OPA indexes (one
// pass for every key). Written another way (a multi-value rule, a
// comprehension OPA cannot index), an index is still right but costs a
// pass per key or per member, and a check becomes quadratic in the size of
// a cluster, which no other test notices.
func TestBundleIndexes(t *testing.T) {
	mods, _, err := Load(false)
	if err != nil {
		t.Fatal(err)
	}
	var debug strings.Builder
	c := ast.NewCompiler().WithDebug(&debug)
	if c.Compile(mods); c.Failed() {
		t.Fatal(c.Errors)
	}
	keys := map[string]int{}
	for _, line := range strings.Split(debug.String(), "\n") {
		if _, rest, ok := strings.Cut(line, "lib/bundle.rego:"); ok {
			if _, k, ok := strings.Cut(rest, "comprehension index: built with keys: "); ok {
				keys[k]++
			}
		}
	}
	// by kind; DestinationRules and VirtualServices by host; policies by
	// namespace.
	want := map[string]int{"[kind]": 1, "[host]": 2, "[ns]": 2}
	if diff := cmp.Diff(want, keys); diff != "" {
		t.Errorf("indexed comprehensions in lib/bundle.rego (-want +got):\n%s", diff)
	}
}
