package lint

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/storage/inmem"

	"github.com/intentc/intentc/compiler/diag"
	"github.com/intentc/intentc/policies"
)

// Options configure an Engine. The zero value runs the built-in rules only.
type Options struct {
	// PolicyDirs hold user policies (.rego files, searched recursively;
	// _test.rego files are skipped), written as conftest users write them.
	PolicyDirs []string
	// DataFiles are JSON or YAML documents (or directories of them) loaded
	// under data, as conftest's --data and opa's loader do. A document
	// with intentc.mesh supplies the mesh for manifests linted without an
	// intent.
	DataFiles []string
	// Namespaces are the packages whose deny/violation/warn rules run
	// (default: main). AllNamespaces runs every package of the user
	// policies instead.
	Namespaces    []string
	AllNamespaces bool
	// Combine runs the user rules once over everything checked together,
	// with conftest's --combine input, instead of once per object (a
	// rule's METADATA custom.scope: object or bundle overrides it).
	Combine bool
	// RegoVersion is "v0", "v1", or "" (each file is parsed as v1, and as
	// v0 when that fails).
	RegoVersion string
}

// Engine holds the compiled policies and their prepared queries; build it
// once per process with New. Its methods are safe for concurrent use (they
// take turns: each check sets the mesh data the rules read, then evaluates
// on every core).
type Engine struct {
	rules map[string]map[string]*policies.Rule // scope → package leaf → rule
	store storage.Store
	// object holds, per kind of object, the query of the built-in rules
	// that judge that kind plus the user per-object rules; "" holds the
	// user rules alone (nil without user rules: such objects need no
	// evaluation at all).
	object map[string]*rego.PreparedEvalQuery
	bundle *rego.PreparedEvalQuery // built-in bundle rules
	// bundleKinds are the kinds the bundle rules read: only those objects
	// go into a bundle's input.
	bundleKinds map[string]bool
	// combine is the user rules whose scope is bundle, over conftest's
	// --combine input; nil when there are none.
	combine *rego.PreparedEvalQuery
	user    []userNamespace // per-object rules, in query binding order
	grouped []userNamespace // bundle-scoped rules

	userMesh any // data.intentc.mesh from the data files (nil: none)
	// shared keeps the values of input-free rules and calls across
	// evaluations while the data stays the same (sharedcache.go).
	shared *sharedCache

	mu       sync.Mutex
	meshHash [32]byte // what data.intentc.mesh holds now
}

// New compiles the built-in rules and the user policies and prepares the
// queries. Problems with user policies or data (IC4101, IC4102) are
// returned as diagnostics; the engine then still runs the built-in rules
// (and the user policies that did load), so one run reports everything.
// A nil Engine means the built-in rules themselves could not be compiled
// (a defect of this build).
func New(opts Options) (*Engine, diag.List) {
	var diags diag.List
	builtin, rules, err := policies.Load(false)
	if err != nil {
		diags.Add(diag.CodeInvalidPolicy, diag.Pos{}, "built-in policies: %v", err)
		return nil, diags
	}
	e := &Engine{
		rules:       map[string]map[string]*policies.Rule{policies.ScopeObject: {}, policies.ScopeBundle: {}},
		object:      map[string]*rego.PreparedEvalQuery{},
		bundleKinds: map[string]bool{},
	}
	byKind := map[string][]string{} // kind → object rules judging it
	for i := range rules {
		r := &rules[i]
		e.rules[r.Scope][r.Name] = r
		for _, k := range r.Kinds {
			if r.Scope == policies.ScopeObject {
				byKind[k] = append(byKind[k], r.Name)
			} else {
				e.bundleKinds[k] = true
			}
		}
	}

	user, ds := loadUserPolicies(opts.PolicyDirs, opts.RegoVersion)
	diags.Append(ds)
	// Built-in modules are keyed apart from user files, so that a user
	// policy at, say, object/weights_sum.rego cannot replace one.
	mods := map[string]*ast.Module{}
	for name, m := range builtin {
		mods["intentc:"+name] = m
	}
	for name, m := range user {
		mods[name] = m
	}
	compiler := ast.NewCompiler().WithEnablePrintStatements(false)
	if compiler.Compile(mods); compiler.Failed() {
		diags.Append(policyErrors(compiler.Errors))
		// Keep checking with the built-in rules alone.
		user = nil
		compiler = ast.NewCompiler().WithEnablePrintStatements(false)
		if compiler.Compile(builtin); compiler.Failed() {
			diags.Add(diag.CodeInvalidPolicy, diag.Pos{}, "built-in policies: %v", compiler.Errors)
			return nil, diags.Sorted()
		}
	}
	shareStringTerms(compiler)
	e.shared = newSharedCache(compiler)
	e.user, e.grouped = userRules(compiler, user, opts.Namespaces, opts.AllNamespaces, opts.Combine)

	data, ds := loadData(opts.DataFiles)
	diags.Append(ds)
	if m, ok := data["intentc"].(map[string]any); ok {
		e.userMesh = m["mesh"]
	}
	e.store = inmem.NewFromObjectWithOpts(data, inmem.OptReturnASTValuesOnRead(true))
	e.meshHash = hashOf(e.userMesh)

	// Each query is prepared once, here. An object evaluates one query:
	// the rules that judge its kind, and the user rules.
	var perr error
	prepare := func(query string) *rego.PreparedEvalQuery {
		if perr != nil {
			return nil
		}
		q, err := rego.New(rego.Compiler(compiler), rego.Store(e.store), rego.Query(query)).PrepareForEval(context.Background())
		perr = err
		return &q
	}
	for _, kind := range slices.Sorted(maps.Keys(byKind)) {
		e.object[kind] = prepare(builtinQuery(policies.ObjectRoot, byKind[kind]) + userQuery(e.user))
	}
	if len(e.user) > 0 {
		e.object[""] = prepare("b := []" + userQuery(e.user))
	}
	e.bundle = prepare(builtinQuery(policies.BundleRoot, nil))
	if len(e.grouped) > 0 {
		e.combine = prepare("b := []" + userQuery(e.grouped))
	}
	if perr != nil {
		diags.Add(diag.CodeInvalidPolicy, diag.Pos{}, "cannot prepare the policy queries: %v", perr)
		return nil, diags.Sorted()
	}
	return e, diags.Sorted()
}

// builtinQuery collects every finding of the named rules under root (all
// of them when names is nil), tagged with the rule's package leaf.
func builtinQuery(root string, names []string) string {
	if names == nil {
		return fmt.Sprintf("b := [[n, f] | f := data.%s[n].deny[_]]", root)
	}
	list, _ := json.Marshal(names)
	return fmt.Sprintf("b := [[n, f] | some n in %s; f := data.%s[n].deny[_]]", list, root)
}

// userQuery binds, per namespace i, ui to {rule: value} for the selected
// rules and ei to the names the namespace's exception rules return. Both
// are comprehensions, so an undefined rule or a missing exception rule
// leaves them empty instead of making the whole query undefined.
func userQuery(nss []userNamespace) string {
	var b strings.Builder
	for i, ns := range nss {
		names, _ := json.Marshal(ns.rules)
		ref := ns.ref()
		fmt.Fprintf(&b, "; u%d := {r: v | some r in %s; v := %s[r]}; e%d := {x | x := %s.exception[_][_]}", i, names, ref, i, ref)
	}
	return b.String()
}

// policyErrors turns OPA parse and compile errors into IC4101 findings at
// the policy's file:line:col.
func policyErrors(errs ast.Errors) diag.List {
	var diags diag.List
	for _, err := range errs {
		pos := diag.Pos{}
		if err.Location != nil {
			pos = diag.Pos{File: err.Location.File, Line: err.Location.Row, Col: err.Location.Col}
		}
		diags.Add(diag.CodeInvalidPolicy, pos, "%s", err.Message)
	}
	return diags
}

// setMesh makes data.intentc.mesh hold mesh (the data files' own when mesh
// is nil). It writes only when the value changes, so the webhook, which
// checks every object against one intent, never writes after the first
// request. The caller holds e.mu.
func (e *Engine) setMesh(ctx context.Context, mesh any) error {
	if mesh == nil {
		mesh = e.userMesh
	}
	h := hashOf(mesh)
	if h == e.meshHash {
		return nil
	}
	txn, err := e.store.NewTransaction(ctx, storage.WriteParams)
	if err != nil {
		return err
	}
	path := storage.MustParsePath("/intentc/mesh")
	if _, err := e.store.Read(ctx, txn, path[:1]); storage.IsNotFound(err) {
		err = e.store.Write(ctx, txn, storage.AddOp, path[:1], map[string]any{})
		if err != nil {
			e.store.Abort(ctx, txn)
			return err
		}
	}
	_, err = e.store.Read(ctx, txn, path)
	exists := err == nil
	switch {
	case mesh == nil && exists:
		err = e.store.Write(ctx, txn, storage.RemoveOp, path, nil)
	case mesh != nil:
		op := storage.AddOp
		if exists {
			op = storage.ReplaceOp
		}
		err = e.store.Write(ctx, txn, op, path, mesh)
	default:
		err = nil
	}
	if err != nil {
		e.store.Abort(ctx, txn)
		return err
	}
	if err := e.store.Commit(ctx, txn); err != nil {
		return err
	}
	e.shared.reset()
	e.meshHash = h
	return nil
}

func hashOf(v any) [32]byte {
	b, _ := json.Marshal(v) // map keys are sorted: the hash is stable
	return sha256.Sum256(b)
}

// Rules returns the built-in rules, sorted by code.
func (e *Engine) Rules() []policies.Rule {
	var out []policies.Rule
	for _, scope := range e.rules {
		for _, r := range scope {
			out = append(out, *r)
		}
	}
	slices.SortFunc(out, func(a, b policies.Rule) int { return strings.Compare(string(a.Code), string(b.Code)) })
	return out
}
