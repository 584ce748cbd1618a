package lint

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"

	"github.com/intentc/intentc/compiler"
	"github.com/intentc/intentc/compiler/diag"
	_ "github.com/intentc/intentc/internal/testflags" // accept -update like every test binary
	"github.com/intentc/intentc/policies"
)

// builtinEngine is shared by the tests: preparing the queries is the
// expensive part, done once per process as in the CLI.
var builtinEngine = sync.OnceValues(func() (*Engine, diag.List) { return New(Options{}) })

func engine(t testing.TB) *Engine {
	t.Helper()
	e, diags := builtinEngine()
	if e == nil || len(diags) > 0 {
		t.Fatalf("built-in engine: %v", diags)
	}
	return e
}

func compile(t testing.TB, paths ...string) *compiler.Result {
	t.Helper()
	res, diags := compiler.Compile(compiler.Options{Paths: paths})
	if diags.HasErrors() {
		t.Fatalf("does not compile:\n%s", diags.Error())
	}
	return res
}

// TestCompiledOutputPasses checks the built-in rules against everything the
// compiler emits today: every example and every golden case that compiles
// must pass them without a finding (a finding here is a bug in a backend or
// a hollow rule, and either must be fixed, not silenced).
func TestCompiledOutputPasses(t *testing.T) {
	dirs, _ := filepath.Glob(filepath.Join("..", "examples", "*"))
	cases, _ := filepath.Glob(filepath.Join("..", "testdata", "compile", "*"))
	for _, dir := range append(dirs, cases...) {
		in := dir
		if _, err := os.Stat(filepath.Join(dir, "in")); err == nil {
			in = filepath.Join(dir, "in")
		}
		t.Run(strings.TrimPrefix(dir, "../"), func(t *testing.T) {
			res, diags := compiler.Compile(compiler.Options{Paths: []string{in}})
			if diags.HasErrors() {
				t.Skip("does not compile (a golden case of compile errors)")
			}
			if got := engine(t).CheckCompiled(context.Background(), res); len(got) > 0 {
				t.Errorf("findings on compiled output:\n%s", got.Error())
			}
		})
	}
}

// TestDispatchLosesNothing: the runner gives an object only the rules whose
// METADATA kinds list its kind. Evaluated without that dispatch, over the
// fixtures and every compiled example and golden case, no rule may fire on
// a kind it does not list (or the dispatch would hide the finding).
func TestDispatchLosesNothing(t *testing.T) {
	mods, rules, err := policies.Load(false)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string][]string{}
	for _, r := range rules {
		kinds[r.Name] = r.Kinds
	}
	c := ast.NewCompiler()
	if c.Compile(mods); c.Failed() {
		t.Fatal(c.Errors)
	}
	ctx := context.Background()
	all, err := rego.New(rego.Compiler(c), rego.Query(builtinQuery(policies.ObjectRoot, nil))).PrepareForEval(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var sources []source
	files, _ := manifestFiles([]string{filepath.Join("testdata", "manifests")})
	for _, f := range files {
		data, _ := os.ReadFile(f)
		sources = append(sources, source{path: f, data: data, handWritten: true})
	}
	dirs, _ := filepath.Glob(filepath.Join("..", "testdata", "compile", "*", "in"))
	for _, dir := range append(dirs, example) {
		res, diags := compiler.Compile(compiler.Options{Paths: []string{dir}})
		if diags.HasErrors() {
			continue
		}
		for _, f := range res.Files {
			if checkedOutput(f.Path) {
				sources = append(sources, source{path: dir + ":" + f.Path, data: f.Data})
			}
		}
	}
	fired := 0
	for _, s := range sources {
		objs, _ := parseSource(s)
		for _, o := range objs {
			rs, err := all.Eval(ctx, rego.EvalParsedInput(o.value))
			if err != nil {
				t.Fatal(err)
			}
			for _, x := range rs[0].Bindings["b"].([]any) {
				name := x.([]any)[0].(string)
				fired++
				if !slices.Contains(kinds[name], o.kind) {
					t.Errorf("%s: rule %s fired on a %q, which its METADATA kinds %v do not list", s.path, name, o.kind, kinds[name])
				}
			}
		}
	}
	if fired == 0 {
		t.Fatal("no rule fired on the fixtures: the test checks nothing")
	}
}

// builtinCompiler is the built-in policies compiled as New compiles them,
// for queries an Engine does not prepare.
func builtinCompiler(t testing.TB) *ast.Compiler {
	t.Helper()
	mods, _, err := policies.Load(false)
	if err != nil {
		t.Fatal(err)
	}
	c := ast.NewCompiler().WithEnablePrintStatements(false)
	if c.Compile(mods); c.Failed() {
		t.Fatal(c.Errors)
	}
	shareStringTerms(c)
	return c
}

// TestBundleByKind: the groupings by kind and by namespace that
// bundleInput hands the bundle rules are the ones they make themselves
// from the objects (as they do for an input without them), over the
// fixtures and every golden case and example, and so are the rules'
// findings.
func TestBundleByKind(t *testing.T) {
	c := builtinCompiler(t)
	ctx := context.Background()
	query := "g := data.intentc.lib.bundle.of_kind; " +
		"byns := [data.intentc.lib.bundle.authorization_policies_in, data.intentc.lib.bundle.network_policies_in]; " +
		"f := " + strings.TrimPrefix(builtinQuery(policies.BundleRoot, nil), "b := ")
	q, err := rego.New(rego.Compiler(c), rego.Query(query)).PrepareForEval(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var bundles [][]*object
	files, _ := manifestFiles([]string{filepath.Join("testdata", "manifests")})
	var hand []*object
	for _, f := range files {
		data, _ := os.ReadFile(f)
		objs, _ := parseSource(source{path: f, data: data, handWritten: true})
		hand = append(hand, objs...)
	}
	bundles = append(bundles, hand)
	// What the fixtures lack: policies of another API group (alone in
	// their namespace, and beside one of the group), and namespaces
	// empty, missing and not a string.
	odd, _ := parseSource(source{path: "odd.yaml", handWritten: true, data: []byte(`
apiVersion: other.example/v1
kind: AuthorizationPolicy
metadata: {name: a, namespace: elsewhere}
---
apiVersion: other.example/v1
kind: NetworkPolicy
metadata: {name: b, namespace: shared}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: c, namespace: shared}
spec: {podSelector: {}, policyTypes: [Egress]}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: d, namespace: ""}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: e}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: f, namespace: 7}
`)})
	if len(odd) != 6 {
		t.Fatalf("the odd bundle has %d objects, not 6", len(odd))
	}
	bundles = append(bundles, odd)
	dirs, _ := filepath.Glob(filepath.Join("..", "testdata", "compile", "*", "in"))
	for _, dir := range append(dirs, example) {
		res, diags := compiler.Compile(compiler.Options{Paths: []string{dir}})
		if diags.HasErrors() {
			continue
		}
		byCluster := map[string][]*object{}
		for _, f := range res.Files {
			if checkedOutput(f.Path) {
				objs, _ := parseSource(source{path: f.Path, data: f.Data})
				byCluster[clusterOf(f.Path)] = append(byCluster[clusterOf(f.Path)], objs...)
			}
		}
		for _, objs := range byCluster {
			bundles = append(bundles, objs)
		}
	}
	grouped, namespaced := 0, 0
	for i, members := range bundles {
		with := bundleInput("c", members).(ast.Object)
		without := ast.NewObject()
		with.Foreach(func(k, v *ast.Term) {
			if k.Value.Compare(ast.String("by_kind")) != 0 && k.Value.Compare(ast.String("by_namespace")) != 0 {
				without.Insert(k, v)
			}
		})
		var got [2]rego.ResultSet
		for j, in := range []ast.Value{with, without} {
			if got[j], err = q.Eval(ctx, rego.EvalParsedInput(in)); err != nil || len(got[j]) != 1 {
				t.Fatalf("bundle %d: %v, %v", i, got[j], err)
			}
		}
		if d := cmp.Diff(got[1][0].Bindings, got[0][0].Bindings); d != "" {
			t.Errorf("bundle %d (-grouped by the rules +by bundleInput):\n%s", i, d)
		}
		for _, l := range got[0][0].Bindings["g"].([]any) {
			grouped += len(l.([]any))
		}
		for _, byNS := range got[0][0].Bindings["byns"].([]any) {
			namespaced += len(byNS.(map[string]any))
		}
	}
	if grouped == 0 || namespaced == 0 {
		t.Fatalf("%d objects of a bundle kind, %d namespaces with policies: the test compares nothing", grouped, namespaced)
	}
}

// TestCancelledCheckStops: a check whose context is done (the webhook's
// deadline, an interrupted CLI) evaluates nothing more and says so, on
// every path that hands files to the workers.
func TestCancelledCheckStops(t *testing.T) {
	e := engine(t)
	manifests := filepath.Join("testdata", "manifests", "shop", "security.yaml")
	res := compile(t, filepath.Join("..", "examples", "cross-cloud"))
	if got := e.CheckFiles(context.Background(), []string{manifests}); len(got) == 0 {
		t.Fatal("the hand-written manifests have no finding to lose")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for name, check := range map[string]func() diag.List{
		"files":    func() diag.List { return e.CheckFiles(ctx, []string{manifests}) },
		"compiled": func() diag.List { return e.CheckCompiled(ctx, res) },
	} {
		got := check()
		if len(got) != 1 || got[0].Code != diag.CodePolicyEvalError || !strings.Contains(got[0].Message, "interrupted") {
			t.Errorf("%s: got %v, want only the interruption", name, got)
		}
	}
}
