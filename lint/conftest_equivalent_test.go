package lint

import (
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage/inmem"

	"github.com/intentc/intentc/compiler"
	"github.com/intentc/intentc/internal/testflags"
	"github.com/intentc/intentc/policies"
)

// equivalentDir holds the conftest form of the built-in checks that
// hack/lint-bench.sh times against intentc lint, and the mesh data files it
// passes to conftest with -d.
var equivalentDir = filepath.Join("..", "testdata", "lint", "conftest-equivalent")

// TestConftestEquivalentPolicy checks that the conftest policy of the
// start-up comparison does the work intentc does, so that the comparison is
// fair: evaluated as conftest test --combine evaluates it (input
// [{"path", "contents"}], the mesh under data), over the hand-edited
// generated tree, it finds exactly the (file, code) pairs intentc lint
// finds there; and its table of codes is the rules' METADATA.
func TestConftestEquivalentPolicy(t *testing.T) {
	mods, rules, err := policies.Load(false)
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile(filepath.Join(equivalentDir, "policy", "main.rego"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := ast.ParseModuleWithOpts("main.rego", string(src), ast.ParserOptions{RegoVersion: ast.RegoV1})
	if err != nil {
		t.Fatal(err)
	}
	mods["main.rego"] = m
	c := ast.NewCompiler()
	if c.Compile(mods); c.Failed() {
		t.Fatal(c.Errors)
	}
	eval := func(query string, input any, data map[string]any) any {
		t.Helper()
		rs, err := rego.New(rego.Compiler(c), rego.Query(query), rego.Input(input), rego.Store(inmem.NewFromObject(data))).Eval(context.Background())
		if err != nil || len(rs) != 1 {
			t.Fatalf("%s: %v %v", query, rs, err)
		}
		return rs[0].Expressions[0].Value
	}

	want := map[string]any{}
	for _, r := range rules {
		want[r.Name] = string(r.Code)
	}
	if got := eval("data.main.codes", nil, map[string]any{}); !equalJSON(got, want) {
		t.Errorf("main.rego's codes %v, want the rules' %v", got, want)
	}

	for _, tc := range []struct{ intent, mesh, out string }{
		{filepath.Join("..", "testdata", "lint", "edited-out", "intents"), "mesh-edited-out.json", filepath.Join("..", "testdata", "lint", "edited-out", "out")},
		{filepath.Join("..", "examples", "cross-cloud", "intents"), "mesh-cross-cloud.json", ""},
	} {
		res, diags := compiler.Compile(compiler.Options{Paths: []string{tc.intent}})
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		mesh := map[string]any{"intentc": map[string]any{"mesh": MeshData(res.Model)}}
		meshFile := filepath.Join(equivalentDir, tc.mesh)
		checkMeshFile(t, meshFile, mesh)
		if tc.out == "" {
			continue
		}

		// What conftest test --combine gives the policy.
		var input []any
		err := filepath.WalkDir(tc.out, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !(strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".json")) {
				return err
			}
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			docs, err := parseDocuments(p, data)
			if err != nil {
				return err
			}
			for _, doc := range docs {
				var v any
				if err := json.Unmarshal([]byte(doc.value.String()), &v); err != nil {
					return err
				}
				input = append(input, map[string]any{"path": filepath.ToSlash(p), "contents": v})
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		var data map[string]any
		raw, _ := json.Marshal(mesh)
		_ = json.Unmarshal(raw, &data)
		var byConftest []string
		for _, x := range eval("data.main.deny", input, data).([]any) {
			file, rest, _ := strings.Cut(x.(string), ": ")
			code, _, _ := strings.Cut(rest, ": ")
			byConftest = append(byConftest, file+" "+code)
		}
		var byIntentc []string
		for _, d := range engine(t).CheckManifests(context.Background(), res, []string{tc.out}) {
			byIntentc = append(byIntentc, filepath.ToSlash(d.Pos.File)+" "+string(d.Code))
		}
		slices.Sort(byConftest)
		slices.Sort(byIntentc)
		if len(byIntentc) == 0 || !slices.Equal(byConftest, byIntentc) {
			t.Errorf("%s: the conftest policy finds\n%s\nintentc lint finds\n%s", tc.out, strings.Join(byConftest, "\n"), strings.Join(byIntentc, "\n"))
		}
	}
}

// checkMeshFile keeps a mesh data file (conftest's -d) equal to what the
// intent compiles to; -update rewrites it.
func checkMeshFile(t *testing.T, path string, mesh any) {
	t.Helper()
	want, err := json.MarshalIndent(mesh, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	want = append(want, '\n')
	if *testflags.Update {
		if err := os.WriteFile(path, want, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile(path)
	if err != nil || string(got) != string(want) {
		t.Errorf("%s is not the mesh its intent compiles to (go test ./lint -update rewrites it): %v", path, err)
	}
}

func equalJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}
