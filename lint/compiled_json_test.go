package lint

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/intentc/intentc/bench/fleet"
	"github.com/intentc/intentc/compiler"
)

// TestValueFromJSONMatchesYAML: the value the checks build from a
// compile's JSON is the value they would read from its YAML, exactly
// (equal, and printed alike, so messages quoting it do not change), for
// every example, every golden case that compiles and a generated fleet.
func TestValueFromJSONMatchesYAML(t *testing.T) {
	dirs, _ := filepath.Glob(filepath.Join("..", "testdata", "compile", "*", "in"))
	fleetDir := t.TempDir()
	if _, err := fleet.Write(fleetDir, fleet.Options{Services: 150, Clusters: 4}); err != nil {
		t.Fatal(err)
	}
	in := newInterner()
	in.shareValues = true // as CheckCompiled reads them
	checked := 0
	for _, dir := range append(dirs, example, fleetDir) {
		res, diags := compiler.Compile(compiler.Options{Paths: []string{dir}})
		if diags.HasErrors() {
			continue
		}
		for _, f := range res.Files {
			if !checkedOutput(f.Path) || f.JSON == nil {
				continue
			}
			docs, err := parseDocuments(f.Path, f.Data)
			if err != nil || len(docs) != 1 {
				t.Fatalf("%s: %d documents, %v", f.Path, len(docs), err)
			}
			got, err := valueFromJSON(f.JSON, in)
			if err != nil {
				t.Errorf("%s: %v", f.Path, err)
				continue
			}
			if want := docs[0].value; got.Compare(want) != 0 || got.String() != want.String() {
				t.Errorf("%s:\nfrom JSON %s\nfrom YAML %s", f.Path, got, want)
			}
			checked++
		}
	}
	if checked < 1000 {
		t.Errorf("only %d objects compared", checked)
	}
	if _, err := os.Stat(example); err != nil {
		t.Fatal(err)
	}
}

// Numbers read as the YAML path reads them; what it would not read the
// same way is refused, so that the caller reads the YAML instead.
func TestValueFromJSONNumbers(t *testing.T) {
	in := newInterner()
	for raw, want := range map[string]string{
		`{"a":8080}`:     `{"a": 8080}`,
		`{"a":-0}`:       `{"a": 0}`,
		`{"a":0.5}`:      `{"a": 0.5}`,
		`{"a":1e-05}`:    `{"a": 1e-05}`,
		`{"a":0.00001}`:  `{"a": 1e-05}`,
		`{"a":1.0}`:      `{"a": 1}`,
		`{"a":[1,"x"]}`:  `{"a": [1, "x"]}`,
		`{"a\"b":"c\n"}`: `{"a\"b": "c\n"}`,
	} {
		v, err := valueFromJSON([]byte(raw), in)
		if err != nil || v.String() != want {
			t.Errorf("%s: %v, %v; want %s", raw, v, err, want)
		}
	}
	for _, raw := range []string{`{"a":18446744073709551616}`, `{"a":1e999}`, `{"a":1}x`, `{"a":`, `{"a" 1}`, `{"a":tru}`} {
		if _, err := valueFromJSON([]byte(raw), in); err == nil {
			t.Errorf("%s: no error", raw)
		}
	}
}

// An object the compile writes in several clusters is evaluated once, but
// a finding on it is still reported for every copy, each naming its own
// cluster.
func TestDuplicateObjectsEachReported(t *testing.T) {
	dir := t.TempDir()
	if _, err := fleet.Write(dir, fleet.Options{Services: 60, Clusters: 3}); err != nil {
		t.Fatal(err)
	}
	res := compile(t, dir)
	// The AuthorizationPolicies whose content occurs more than once.
	byContent := map[string][]int{}
	for i, f := range res.Files {
		if strings.Contains(f.Path, "/authorizationpolicy-") && bytes.Contains(f.Data, []byte("/ns/")) {
			byContent[string(f.JSON)] = append(byContent[string(f.JSON)], i)
		}
	}
	var copies []int
	for _, idx := range byContent {
		if len(idx) > 1 && len(copies) == 0 {
			copies = idx
		}
	}
	if len(copies) == 0 {
		t.Fatal("no AuthorizationPolicy is written twice")
	}
	// Write a spiffe:// principal into every copy, YAML and JSON alike.
	// Whatever the fleet's trust domains are.
	yamlPrincipal := regexp.MustCompile(`- ([a-z0-9.-]+\.example\.com/ns/)`)
	jsonPrincipal := regexp.MustCompile(`"([a-z0-9.-]+\.example\.com/ns/)`)
	for _, i := range copies {
		f := &res.Files[i]
		f.Data = yamlPrincipal.ReplaceAll(f.Data, []byte("- spiffe://$1"))
		f.JSON = jsonPrincipal.ReplaceAll(f.JSON, []byte(`"spiffe://$1`))
	}
	got := engine(t).CheckCompiled(context.Background(), res)
	clusters := map[string]bool{}
	for _, d := range got {
		if d.Code != "IC4003" {
			t.Errorf("unexpected finding %v", d)
			continue
		}
		_, c, _ := strings.Cut(d.Message, " in cluster ")
		c, _, _ = strings.Cut(c, ":")
		clusters[c] = true
	}
	if len(clusters) != len(copies) {
		t.Errorf("findings name clusters %v; want one for each of %d copies:\n%s", clusters, len(copies), got.Error())
	}
}

// A compile rendered as JSON alone (what intentc lint asks for) is checked
// as the full compile is: the same findings, for every golden case that
// compiles and the example, with the built-in rules and with a user rule
// that reports every AuthorizationPolicy.
func TestCheckJSONOnly(t *testing.T) {
	dir := writePolicies(t, map[string]string{"p.rego": `package main

warn contains msg if {
	input.kind == "AuthorizationPolicy"
	msg := sprintf("%s/%s", [input.metadata.namespace, input.metadata.name])
}
`})
	builtin, diags := New(Options{})
	if builtin == nil {
		t.Fatal(diags)
	}
	user, diags := New(Options{PolicyDirs: []string{dir}})
	if user == nil {
		t.Fatal(diags)
	}
	cases, _ := filepath.Glob(filepath.Join("..", "testdata", "compile", "*", "in"))
	findings := 0
	for _, c := range append(cases, example) {
		full, diags := compiler.Compile(compiler.Options{Paths: []string{c}})
		if diags.HasErrors() {
			continue
		}
		jsonOnly, _ := compiler.Compile(compiler.Options{Paths: []string{c}, JSONOnly: true})
		for _, f := range jsonOnly.Files {
			if f.JSON != nil && f.Data != nil {
				t.Fatalf("%s: %s has YAML", c, f.Path)
			}
		}
		for _, e := range []*Engine{builtin, user} {
			want := e.CheckCompiled(context.Background(), full)
			got := e.CheckCompiled(context.Background(), jsonOnly)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s: findings (-full +JSON only):\n%s", c, diff)
			}
			findings += len(want)
		}
	}
	if findings == 0 {
		t.Error("no case has findings: the comparison shows nothing")
	}
}
