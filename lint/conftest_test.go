package lint

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/intentc/intentc/compiler/diag"
)

var conftestManifests = filepath.Join("testdata", "conftest", "manifests")

func userEngine(t *testing.T, opts Options) *Engine {
	t.Helper()
	e, diags := New(opts)
	if e == nil || len(diags) > 0 {
		t.Fatalf("New(%+v): %v", opts, diags)
	}
	return e
}

func messages(l diag.List) []string {
	var out []string
	for _, d := range l {
		out = append(out, d.String())
	}
	return out
}

// TestConftestLibraries runs a policy library written as conftest's
// documentation writes it, in Rego v0 and in Rego v1, unchanged (the
// version of each file is detected): deny, warn, violation with
// structured results, a deny_ rule and its exception. Both must give the
// findings the manifests' # want: comments expect, and the same messages.
func TestConftestLibraries(t *testing.T) {
	var results [][]string
	for _, lib := range []string{"conftest-v0", "conftest-v1"} {
		t.Run(lib, func(t *testing.T) {
			e := userEngine(t, Options{PolicyDirs: []string{filepath.Join("testdata", lib, "policy")}})
			got := e.CheckFiles(context.Background(), []string{conftestManifests})
			compareWants(t, wantsIn(t, conftestManifests), got)
			for _, m := range []string{
				"Image nginx:latest uses the latest tag (main.violation)",
				"Containers must not run as root (main.deny_run_as_root)",
				"Containers must provide app label for pod selectors (main.deny)",
				"Service shop/web: Service web is a NodePort (main.warn)",
			} {
				if !slices.ContainsFunc(got, func(d diag.Diagnostic) bool { return strings.Contains(d.Message, m) }) {
					t.Errorf("no finding says %q:\n%s", m, got.Error())
				}
			}
			if slices.ContainsFunc(got, func(d diag.Diagnostic) bool {
				return strings.Contains(d.Message, "can-run-as-root") && strings.Contains(d.Message, "run as root")
			}) {
				t.Errorf("the exception did not apply:\n%s", got.Error())
			}
			results = append(results, messages(got))
		})
	}
	if len(results) == 2 {
		if d := cmp.Diff(results[0], results[1]); d != "" {
			t.Errorf("v0 and v1 libraries disagree (-v0 +v1):\n%s", d)
		}
	}
}

// TestConftestCombine runs conftest --combine policies unchanged: the input
// is [{path, contents}] over every file checked.
func TestConftestCombine(t *testing.T) {
	var results [][]string
	for _, lib := range []string{"conftest-v0", "conftest-v1"} {
		e := userEngine(t, Options{PolicyDirs: []string{filepath.Join("testdata", lib, "combine")}, Combine: true})
		got := e.CheckFiles(context.Background(), []string{conftestManifests})
		if !slices.ContainsFunc(got, func(d diag.Diagnostic) bool {
			return d.Code == diag.CodePolicyDeny && strings.Contains(d.Message, "Deployment orphan has no Service selecting it") && d.Pos.File == conftestManifests
		}) || slices.ContainsFunc(got, func(d diag.Diagnostic) bool { return strings.Contains(d.Message, "Deployment web ") }) {
			t.Errorf("%s: want the orphan Deployment and not web reported at %s; got:\n%s", lib, conftestManifests, got.Error())
		}
		results = append(results, messages(got))
	}
	if d := cmp.Diff(results[0], results[1]); d != "" {
		t.Errorf("v0 and v1 combine policies disagree (-v0 +v1):\n%s", d)
	}
}

func countRule(l diag.List, suffix string) int {
	n := 0
	for _, d := range l {
		if strings.HasSuffix(d.Message, suffix) {
			n++
		}
	}
	return n
}

// TestNamespaces: package main by default, --namespace picks packages,
// --all-namespaces takes every package of the user policies.
func TestNamespaces(t *testing.T) {
	dir := filepath.Join("testdata", "conftest-v0", "policy")
	ctx := context.Background()
	for _, c := range []struct {
		opts       Options
		main, team int
	}{
		{Options{}, 1, 0},
		{Options{Namespaces: []string{"istio"}}, 0, 1},
		{Options{Namespaces: []string{"istio", "main"}}, 1, 1},
		{Options{AllNamespaces: true}, 1, 1},
	} {
		c.opts.PolicyDirs = []string{dir}
		got := userEngine(t, c.opts).CheckFiles(ctx, []string{filepath.Join(conftestManifests, "services.yaml")})
		if m, team := countRule(got, "(main.warn)"), countRule(got, "(istio.deny)"); m != c.main || team != c.team {
			t.Errorf("%+v: %d main.warn and %d istio.deny findings, want %d and %d:\n%s", c.opts, m, team, c.main, c.team, got.Error())
		}
	}
}

func writePolicies(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, src := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestInvalidPolicies: syntax, type and safety errors are IC4101 at the
// policy's file:line, every one of them; the built-in rules still run.
func TestInvalidPolicies(t *testing.T) {
	dir := writePolicies(t, map[string]string{
		"syntax.rego":   "package main\n\ndeny contains msg if {\n\tinput.kind ==\n}\n",
		"type.rego":     "package main\n\nwarn contains msg if {\n\tmsg := concat(1, 2)\n}\n",
		"reserved.rego": "package intentc.object.mine\n\ndeny contains \"x\"\n",
		"ok_test.rego":  "package main\n\nthis is not rego, but tests are not loaded\n",
	})
	e, diags := New(Options{PolicyDirs: []string{dir}})
	if e == nil {
		t.Fatal("no engine: the built-in rules must still run")
	}
	var got []string
	for _, d := range diags {
		if d.Code != diag.CodeInvalidPolicy {
			t.Errorf("unexpected %s", d)
		}
		got = append(got, filepath.Base(d.Pos.File)+":"+strconv.Itoa(d.Pos.Line))
	}
	got = slices.Compact(got)
	want := []string{"reserved.rego:1", "syntax.rego:5", "type.rego:4"}
	if !slices.Equal(got, want) {
		t.Errorf("IC4101 at %v, want %v:\n%s", got, want, diags.Error())
	}
	if e.user != nil {
		t.Error("user rules kept although they do not compile")
	}
	if got := e.CheckFiles(context.Background(), []string{filepath.Join("testdata", "manifests", "shop", "security.yaml")}); len(got) == 0 {
		t.Error("the built-in rules did not run")
	}
}

// TestRegoVersion: --rego-version forces one parser; auto-detection reads
// both.
func TestRegoVersion(t *testing.T) {
	v0 := filepath.Join("testdata", "conftest-v0", "policy")
	v1 := filepath.Join("testdata", "conftest-v1", "policy")
	for _, c := range []struct {
		dir, version string
		ok           bool
	}{
		{v0, "", true}, {v1, "", true}, {v0, "v0", true}, {v1, "v1", true}, {v0, "v1", false}, {v1, "v0", false},
	} {
		_, diags := New(Options{PolicyDirs: []string{c.dir}, RegoVersion: c.version})
		if c.ok != (len(diags) == 0) {
			t.Errorf("%s as %q: %v", c.dir, c.version, diags)
		}
		for _, d := range diags {
			if d.Code != diag.CodeInvalidPolicy || d.Pos.Line == 0 {
				t.Errorf("%s as %q: want IC4101 at a line, got %s", c.dir, c.version, d)
			}
		}
	}
}

// TestExceptionsAndScopes covers conftest's exception names (without the
// prefix; "" for the unsuffixed rules) and the METADATA scope that puts one
// rule on the combined input while the others run per object.
func TestExceptionsAndScopes(t *testing.T) {
	dir := writePolicies(t, map[string]string{"p.rego": `package main

deny contains "plain" if input.kind == "Service"

deny_named contains "named" if input.kind == "Service"

warn_soft contains "soft" if input.kind == "Service"

exception contains [""] if input.metadata.name == "a"

exception contains ["named", "soft"] if input.metadata.name == "b"

# METADATA
# custom:
#   scope: bundle
deny_count contains sprintf("%d files", [count(input)]) if count(input) > 0
`})
	manifests := writePolicies(t, map[string]string{
		"a.yaml": "apiVersion: v1\nkind: Service\nmetadata: {name: a}\n",
		"b.yaml": "apiVersion: v1\nkind: Service\nmetadata: {name: b}\n",
	})
	got := userEngine(t, Options{PolicyDirs: []string{dir}}).CheckFiles(context.Background(), []string{manifests})
	var have []string
	for _, d := range got {
		have = append(have, filepath.Base(d.Pos.File)+" "+objectPrefix.ReplaceAllString(d.Message, ""))
	}
	want := []string{
		filepath.Base(manifests) + " 2 files (main.deny_count)",
		"a.yaml named (main.deny_named)",
		"a.yaml soft (main.warn_soft)",
		"b.yaml plain (main.deny)",
	}
	slices.Sort(have)
	slices.Sort(want)
	if d := cmp.Diff(want, have); d != "" {
		t.Errorf("(-want +got):\n%s\n%s", d, got.Error())
	}
}

var objectPrefix = regexp.MustCompile(`^\w+ \S+: `)

// TestDataErrors: a missing or malformed data file is IC4102 at the file.
func TestDataErrors(t *testing.T) {
	dir := writePolicies(t, map[string]string{"bad.json": "{\"a\": [1,}"})
	for _, p := range []string{filepath.Join(dir, "missing.yaml"), filepath.Join(dir, "bad.json")} {
		e, diags := New(Options{DataFiles: []string{p}})
		if e == nil || len(diags) != 1 || diags[0].Code != diag.CodeInvalidData || diags[0].Pos.File != p {
			t.Errorf("%s: want one IC4102 at the file, got %v", p, diags)
		}
	}
}
