package lint

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"

	"github.com/intentc/intentc/compiler"
)

// TestInputFree: only rules that read neither the input (themselves or
// through what they call) nor a nondeterministic builtin, and use no
// with, are kept across evaluations.
func TestInputFree(t *testing.T) {
	dir := t.TempDir()
	policy := `package main

consts := {"a", "b"}

helper(x) := concat("-", [x, "y"])

calls_free(x) := helper(x)

mesh_only := data.intentc.mesh.mtls

reads_input if input.kind == "x"

calls_input(x) if helper(x) == input.kind

indirect if reads_input

uses_with := v if {
	v := helper("a") with input as {"kind": "x"}
}

clock := time.now_ns()

token_ok(t) if io.jwt.decode_verify(t, {"secret": "s"})[0]
`
	if err := os.WriteFile(filepath.Join(dir, "p.rego"), []byte(policy), 0o644); err != nil {
		t.Fatal(err)
	}
	// A ref with a variable may name any rule of the package.
	other := "package other\n\ndynamic(x) := data.main[x]\n"
	if err := os.WriteFile(filepath.Join(dir, "other.rego"), []byte(other), 0o644); err != nil {
		t.Fatal(err)
	}
	e, diags := New(Options{PolicyDirs: []string{dir}})
	if e == nil || len(diags) > 0 {
		t.Fatal(diags)
	}
	for rule, want := range map[string]bool{
		"main.consts": true, "main.helper": true, "main.calls_free": true, "main.mesh_only": true,
		"main.reads_input": false, "main.calls_input": false, "main.indirect": false,
		"main.uses_with": false, "main.clock": false, "main.token_ok": false, "other.dynamic": false,
	} {
		if got := e.shared.isFree(ast.MustParseRef("data." + rule)); got != want {
			t.Errorf("%s: input-free %v, want %v", rule, got, want)
		}
	}
	// A built-in helper the hot rules lean on.
	if !e.shared.isFree(ast.MustParseRef("data.intentc.lib.never_managed")) {
		t.Error("lib.never_managed is not input-free")
	}
	for _, key := range []struct {
		ref  string
		want bool
	}{
		{`data.main.consts`, true},
		{`data.main.reads_input`, false},
		{`data.main.consts.a`, false}, // not a rule's own path
	} {
		if got := e.shared.eligible(ast.MustParseRef(key.ref)); got != key.want {
			t.Errorf("%s: eligible %v, want %v", key.ref, got, key.want)
		}
	}
	fn := ast.RefTerm(ast.MustParseRef("data.main.helper").Copy()...)
	big := ast.NewArray()
	for i := range maxArgTerms + 1 {
		big = big.Append(ast.IntNumberTerm(i))
	}
	for _, arg := range []struct {
		term *ast.Term
		want bool
	}{
		{ast.StringTerm("team-a"), true},
		{ast.MustParseTerm(`{"port": 8080, "protocol": "TCP"}`), true},
		{ast.NewTerm(big), false},
		{ast.MustParseTerm(`{"port": {"number": 8080}}`), false}, // not flat
		{ast.VarTerm("x"), false},
	} {
		if got := e.shared.eligible(ast.Ref{fn, arg.term}); got != arg.want {
			t.Errorf("helper(%v): eligible %v, want %v", arg.term, got, arg.want)
		}
	}
}

// TestSharedCacheFollowsTheMesh: a value kept for one mesh is not used
// once the mesh changes.
func TestSharedCacheFollowsTheMesh(t *testing.T) {
	e, diags := New(Options{})
	if e == nil || len(diags) > 0 {
		t.Fatal(diags)
	}
	ctx := context.Background()
	np := ast.MustParseTerm(`{"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
		"metadata": {"name": "a", "namespace": "team-x"},
		"spec": {"podSelector": {}, "policyTypes": ["Ingress"]}}`).Value
	for i, c := range []struct {
		never []any
		want  int
	}{
		{[]any{"team-x"}, 1},
		{[]any{"other"}, 0},
		{[]any{"team-x"}, 1},
		{[]any{"team-*"}, 1},
		{[]any{"other"}, 0},
	} {
		if err := e.setMesh(ctx, map[string]any{"neverManaged": c.never}); err != nil {
			t.Fatal(err)
		}
		txn, err := e.store.NewTransaction(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for range 2 { // the second evaluation reads what the first kept
			rs, err := evalQuery(ctx, e.object["NetworkPolicy"], e.shared, np, rego.EvalTransaction(txn))
			if err != nil {
				t.Fatal(err)
			}
			if got := len(rs[0].Bindings["b"].([]any)); got != c.want {
				t.Errorf("step %d, neverManaged %v: %d findings, want %d", i, c.never, got, c.want)
			}
		}
		e.store.Abort(ctx, txn)
	}
}

// TestSharedCacheKeepsNoError: a function call whose evaluation ends in an
// error (here, two values for one argument) is not kept for the next
// object, which gets the same error instead of the first value.
func TestSharedCacheKeepsNoError(t *testing.T) {
	dir := t.TempDir()
	policy := `package main

twice(x) := 1 if x == "a"

twice(x) := 2 if x == "a"

deny contains "never" if twice("a") == 3
`
	if err := os.WriteFile(filepath.Join(dir, "p.rego"), []byte(policy), 0o644); err != nil {
		t.Fatal(err)
	}
	e, diags := New(Options{PolicyDirs: []string{dir}})
	if e == nil || len(diags) > 0 {
		t.Fatal(diags)
	}
	if !e.shared.eligible(ast.Ref{ast.RefTerm(ast.MustParseRef("data.main.twice")...), ast.StringTerm("a")}) {
		t.Fatal("twice(\"a\") is not a key the cache would keep: the test tests nothing")
	}
	ctx := context.Background()
	txn, err := e.store.NewTransaction(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer e.store.Abort(ctx, txn)
	cm := ast.MustParseTerm(`{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}}`).Value
	for i := range 3 { // one after the other: each would read what the one before kept
		if _, err := evalQuery(ctx, e.object[""], e.shared, cm, rego.EvalTransaction(txn)); err == nil {
			t.Errorf("evaluation %d: no error", i)
		}
	}
}

// TestSharedCacheSameFindings: with values kept across evaluations (and
// kept from an earlier check of the same mesh), every check finds what it
// finds with none kept: the hand-written fixtures, which trigger every
// rule, and every compiled example.
func TestSharedCacheSameFindings(t *testing.T) {
	ctx := context.Background()
	fixtures := filepath.Join("testdata", "manifests")
	opts := Options{DataFiles: []string{filepath.Join(fixtures, "mesh-data.yaml")}}
	shared, diags := New(opts)
	if shared == nil || len(diags) > 0 {
		t.Fatal(diags)
	}
	unshared, _ := New(opts)
	unshared.shared = nil
	paths := []string{filepath.Join(fixtures, "shop"), filepath.Join(fixtures, "openstack")}
	want := unshared.CheckFiles(ctx, paths)
	if len(want) == 0 {
		t.Fatal("the fixtures give no findings")
	}
	for run := range 2 {
		if d := cmp.Diff(want, shared.CheckFiles(ctx, paths)); d != "" {
			t.Errorf("fixtures, run %d (-unshared +shared):\n%s", run, d)
		}
	}
	if shared.shared.n == 0 {
		t.Error("nothing was kept across evaluations")
	}
	dirs, _ := filepath.Glob(filepath.Join("..", "examples", "*"))
	for _, dir := range dirs {
		res, diags := compiler.Compile(compiler.Options{Paths: []string{dir}})
		if diags.HasErrors() {
			t.Fatalf("%s does not compile:\n%s", dir, diags.Error())
		}
		// The mesh intent's output with its never-managed namespaces
		// edited into every policy's namespace would be findings; the
		// examples' output is clean, so compare both runs as they are.
		want := unshared.CheckCompiled(ctx, res)
		for run := range 2 {
			if d := cmp.Diff(want, shared.CheckCompiled(ctx, res)); d != "" {
				t.Errorf("%s, run %d (-unshared +shared):\n%s", dir, run, d)
			}
		}
	}
}

// TestMemoKeepsNoEmptyResult: the memo of a check keeps an object's
// result only when it has findings (an empty one is most of them, and
// held for the whole check), and a copy still gets the findings.
func TestMemoKeepsNoEmptyResult(t *testing.T) {
	e := engine(t)
	ctx := context.Background()
	txn, err := e.store.NewTransaction(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer e.store.Abort(ctx, txn)
	good := ast.MustParseTerm(`{"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
		"metadata": {"name": "a", "namespace": "team-x"}, "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}}`).Value
	bad := ast.MustParseTerm(`{"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
		"metadata": {"name": "a", "namespace": "team-x"}, "spec": {"podSelector": {}}}`).Value
	memo := &evalMemo{}
	q := e.object["NetworkPolicy"]
	for i, c := range []struct {
		v    ast.Value
		sum  byte
		kept bool
	}{{good, 1, false}, {bad, 2, true}, {bad, 2, true}} {
		rs, err := memo.eval(ctx, txn, q, e.shared, c.v, [32]byte{c.sum})
		if err != nil {
			t.Fatal(err)
		}
		if got := rs != nil; got != c.kept {
			t.Errorf("object %d: result kept %v, want %v (%v)", i, got, c.kept, rs)
		}
		if c.kept && nothingFound(rs) {
			t.Errorf("object %d: no finding on a NetworkPolicy without policyTypes", i)
		}
	}
}
