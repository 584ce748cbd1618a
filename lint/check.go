package lint

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"maps"
	"path"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage"
	"go.yaml.in/yaml/v3"

	"github.com/intentc/intentc/compiler/diag"
	"github.com/intentc/intentc/compiler/intent"
	"github.com/intentc/intentc/compiler/manifest"
	"github.com/intentc/intentc/policies"
)

// object is one input of the per-object rules: a generated file, or one
// document of a hand-written file.
type object struct {
	file      string // compiled: relative to the output root; hand-written: as read
	cluster   string // from clusters/<cluster>/, "" elsewhere
	value     ast.Value
	node      *yaml.Node // hand-written only: positions in the file
	generated bool       // judged at generated-output severity

	// kind is the Kubernetes kind, or policies.KindNeutron or KindHeat for
	// those documents ("" for any other); namespace and name are for
	// messages.
	kind, namespace, name string
}

func newObject(file, cluster string, value ast.Value, node *yaml.Node, generated bool) *object {
	return &object{
		file: file, cluster: cluster, value: value, node: node,
		generated: generated || str(value, "metadata", "labels", manifest.LabelManagedBy) == manifest.ManagedByValue,
		kind:      kindOfDocument(value), namespace: str(value, "metadata", "namespace"), name: str(value, "metadata", "name"),
	}
}

// kindOfDocument is what a document is, for dispatching it to the rules:
// a Kubernetes object's kind, or the document types the security-group
// rules read (the shapes policies/lib/sg.rego knows).
func kindOfDocument(v ast.Value) string {
	obj, ok := v.(ast.Object)
	if !ok {
		return ""
	}
	if k := str(v, "kind"); k != "" {
		return k
	}
	if obj.Get(ast.StringTerm("heat_template_version")) != nil {
		return policies.KindHeat
	}
	for _, key := range []string{"security_groups", "security_group", "security_group_rules", "security_group_rule"} {
		if obj.Get(ast.StringTerm(key)) != nil {
			return policies.KindNeutron
		}
	}
	return ""
}

// source is one file to check.
type source struct {
	path, cluster string
	data          []byte
	// json is the compiler's JSON of the file's one object, when it
	// kept one (manifest.File.JSON): the value is built from it, and data
	// is parsed only if it cannot be.
	json []byte
	// generated: every object of the file is judged as generated output
	// (a compile's files, or a file an output directory's marker lists).
	generated bool
	// handWritten: positions are in the file (keep the YAML nodes), intent
	// documents are skipped (compile checks them), and a file that does
	// not parse is the user's syntax error.
	handWritten bool
}

// target is one check: what is needed to report findings at the right
// place.
type target struct {
	compiled bool
	// docs are the intent documents by Ref, to report at the intent.
	docs map[string]*intent.Document
	// clusterRefs maps openstack/<cloud>/<project>/ to the MeshClusters
	// whose nodes that project holds: a security-group rule whose
	// description was hashed is still reported at its cluster.
	clusterRefs map[string][]string
	// combinedPos is where findings about everything at once go.
	combinedPos diag.Pos
}

// A job is one evaluation: one object, one cluster's bundle, or the
// combined input of the user bundle rules.
type job struct {
	obj     *object   // object job
	members []*object // bundle and combine jobs
	cluster string
	combine bool
}

// run checks files on GOMAXPROCS workers. Each file is parsed (converted
// once to the Rego value every query then uses) and each of its objects
// evaluated; with bundles, cluster by cluster, its files are parsed
// first and then its bundle is evaluated alongside its objects (the bundle
// first: it is the longest evaluation); with user bundle rules over the
// combined input, every file is parsed first and the bundles and the
// combined input evaluated alongside every object. Results land in slices
// indexed by file or job, so the output does not depend on scheduling, and
// the list is sorted at the end.
func (e *Engine) run(ctx context.Context, t *target, files []source, mesh any, bundles bool) diag.List {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.setMesh(ctx, mesh); err != nil {
		var l diag.List
		l.Add(diag.CodePolicyEvalError, t.combinedPos, "cannot set the mesh data: %v", err)
		return l
	}
	objs := make([][]*object, len(files))
	sums := make([][sha256.Size]byte, len(files))
	results := make([]diag.List, len(files))
	// A compile writes many objects more than once, byte for byte (the
	// same VirtualService in every cluster that calls the service, the
	// same AuthorizationPolicy wherever it runs): the built-in rules are
	// functions of the object and the mesh alone, so such an object is
	// evaluated once. User rules may call impure built-ins (time, HTTP),
	// so with them every object is evaluated.
	var memo *evalMemo
	if len(e.user) == 0 {
		memo = &evalMemo{}
	}
	// Such copies also share one value: converted once, held once.
	values := newValueCache(len(files))
	parse := func(i int) diag.List {
		if files[i].json != nil && sums[i] == ([sha256.Size]byte{}) {
			sums[i] = sha256.Sum256(files[i].json)
		}
		var diags diag.List
		objs[i], diags = parseShared(files[i], values, sums[i])
		return diags
	}

	if !bundles {
		e.parallel(ctx, t, len(files), results, func(txn storage.Transaction, i int) diag.List {
			return append(parse(i), e.evalFile(ctx, txn, t, files[i], objs[i], sums[i], memo, func(*object) bool { return false })...)
		})
		var out diag.List
		out.Append(results...)
		return out.Sorted()
	}

	if e.combine == nil {
		// One cluster after the other: its files converted, its bundle
		// and its objects evaluated, its values let go. The bundle rules
		// read one cluster at a time, so no more than one cluster's
		// values need be alive (at scale they are most of a check's
		// memory). Copies of an object in several clusters are converted
		// once, and held until the last of them is read (valueCache.left).
		e.parallel(ctx, t, len(files), results, func(_ storage.Transaction, i int) diag.List {
			if files[i].json != nil {
				sums[i] = sha256.Sum256(files[i].json)
			}
			return nil
		})
		values.left = map[[sha256.Size]byte]int32{}
		for i, f := range files {
			if f.json != nil && !f.handWritten {
				values.left[sums[i]]++
			}
		}
		groups := map[string][]int{}
		for i, f := range files {
			groups[f.cluster] = append(groups[f.cluster], i)
		}
		evals := make([]diag.List, len(files))
		var bundleDiags []diag.List
		for _, c := range slices.Sorted(maps.Keys(groups)) {
			idx := groups[c]
			scratch := make([]diag.List, 1+len(idx)) // results land by file index instead
			e.parallel(ctx, t, len(idx), scratch, func(_ storage.Transaction, k int) diag.List {
				results[idx[k]] = parse(idx[k])
				return nil
			})
			var members []*object
			for _, i := range idx {
				for _, o := range objs[i] {
					if e.bundleKinds[o.kind] {
						members = append(members, o)
					}
				}
			}
			// The bundle first: it is the longest evaluation, and the
			// cluster's objects fill the other cores meanwhile.
			bundle := make([]diag.List, 1)
			e.parallel(ctx, t, 1+len(idx), scratch, func(txn storage.Transaction, k int) diag.List {
				if k == 0 {
					if len(members) > 0 {
						bundle[0] = e.eval(ctx, txn, t, *e.bundle, job{members: members, cluster: c})
					}
					return nil
				}
				i := idx[k-1]
				evals[i] = e.evalFile(ctx, txn, t, files[i], objs[i], sums[i], memo, func(o *object) bool { return e.bundleKinds[o.kind] })
				return nil
			})
			bundleDiags = append(bundleDiags, bundle[0])
			for _, i := range idx {
				objs[i] = nil
			}
		}
		var out diag.List
		out.Append(results...)
		out.Append(evals...)
		out.Append(bundleDiags...)
		if err := ctx.Err(); err != nil {
			out.Add(diag.CodePolicyEvalError, t.combinedPos, "policy checks interrupted: %v", err)
		}
		return out.Sorted()
	}

	e.parallel(ctx, t, len(files), results, func(_ storage.Transaction, i int) diag.List { return parse(i) })
	byCluster := map[string][]*object{}
	var all []*object
	for _, os := range objs {
		for _, o := range os {
			all = append(all, o)
			if e.bundleKinds[o.kind] {
				byCluster[o.cluster] = append(byCluster[o.cluster], o)
			}
		}
	}
	var jobs []job
	for _, c := range slices.Sorted(maps.Keys(byCluster)) {
		jobs = append(jobs, job{members: byCluster[c], cluster: c})
	}
	if e.combine != nil && len(all) > 0 {
		jobs = append(jobs, job{members: all, combine: true})
	}
	evals := make([]diag.List, len(jobs)+len(files))
	// The bundles read the values of their kinds; the combined input
	// reads every value.
	keep := func(o *object) bool { return e.combine != nil || e.bundleKinds[o.kind] }
	e.parallel(ctx, t, len(evals), evals, func(txn storage.Transaction, i int) diag.List {
		switch {
		case i >= len(jobs):
			i -= len(jobs)
			return e.evalFile(ctx, txn, t, files[i], objs[i], sums[i], memo, keep)
		case jobs[i].combine:
			return e.eval(ctx, txn, t, *e.combine, jobs[i])
		}
		return e.eval(ctx, txn, t, *e.bundle, jobs[i])
	})

	var out diag.List
	out.Append(results...)
	out.Append(evals...)
	if err := ctx.Err(); err != nil {
		out.Add(diag.CodePolicyEvalError, t.combinedPos, "policy checks interrupted: %v", err)
	}
	return out.Sorted()
}

// evalFile evaluates the per-object rules on a file's objects, whose
// compiler JSON (if any) has the digest sum. Then it drops the values no
// other evaluation reads, those keep does not hold (at scale the values
// are most of the memory a check holds).
func (e *Engine) evalFile(ctx context.Context, txn storage.Transaction, t *target, f source, objs []*object, sum [sha256.Size]byte, memo *evalMemo, keep func(*object) bool) diag.List {
	var diags diag.List
	for _, o := range objs {
		q := e.queryFor(o)
		switch {
		case q == nil:
		case memo != nil && f.json != nil && len(objs) == 1:
			rs, err := memo.eval(ctx, txn, q, e.shared, o.value, sum)
			diags = append(diags, e.findings(t, job{obj: o}, policies.ScopeObject, e.user, rs, err)...)
		default:
			diags = append(diags, e.eval(ctx, txn, t, *q, job{obj: o})...)
		}
		if !keep(o) {
			o.value, o.node = nil, nil
		}
	}
	return diags
}

// parallel runs f(0..n-1) on GOMAXPROCS workers, each with its own read
// transaction (no lock or allocation per evaluation, and readers never wait
// for each other), storing each result at its index. Workers take the next
// index from a counter: handing each one over a channel instead made every
// file wait for the feeding goroutine to be scheduled, and converting a
// cluster whose values were mostly converted already (a few microseconds a
// file) ran at one and a half cores of two.
func (e *Engine) parallel(ctx context.Context, t *target, n int, results []diag.List, f func(storage.Transaction, int) diag.List) {
	var next atomic.Int64
	take := func() (int, bool) {
		i := int(next.Add(1)) - 1
		return i, i < n && ctx.Err() == nil
	}
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), n) {
		wg.Go(func() {
			txn, err := e.store.NewTransaction(ctx)
			if err != nil {
				for i, ok := take(); ok; i, ok = take() {
					results[i].Add(diag.CodePolicyEvalError, t.combinedPos, "cannot read the policy data: %v", err)
				}
				return
			}
			defer e.store.Abort(ctx, txn)
			for i, ok := take(); ok; i, ok = take() {
				results[i] = f(txn, i)
			}
		})
	}
	wg.Wait()
}

// valueCache holds the values built from the compiler's JSON by the
// content's digest, so that copies of an object share one value, and the
// interners of one check (the values they share live as long as it does).
type valueCache struct {
	values sync.Map // [sha256.Size]byte → *valueEntry
	// interners are the idle ones. Not a sync.Pool: a pool is emptied
	// by every collection, and each interner made again grew its maps
	// again, rehashing every key (JSON up to maxShared bytes) at each
	// doubling: a tenth of the checks' CPU in a profile at 1,000
	// services.
	interners chan *interner
	sizeHint  int
	// left counts, when set, the files with each digest: an entry is
	// dropped once that many have read it, so that a value is held no
	// longer than the last copy of its object needs it.
	left map[[sha256.Size]byte]int32
}

// newValueCache is the cache of a check of files files.
func newValueCache(files int) *valueCache {
	return &valueCache{interners: make(chan *interner, runtime.GOMAXPROCS(0)), sizeHint: files}
}

func (c *valueCache) interner() *interner {
	select {
	case in := <-c.interners:
		return in
	default:
	}
	in := newInterner()
	in.shareValues = true
	// Sized at once for a check of this many files (a string in a few
	// of them each, a few small objects and lists each, up to the caps),
	// the maps do not grow while a large check runs.
	in.terms = make(map[string]*ast.Term, min(c.sizeHint, maxTerms))
	in.values = make(map[string]*ast.Term, min(4*c.sizeHint, maxValues))
	return in
}

func (c *valueCache) release(in *interner) {
	select {
	case c.interners <- in:
	default:
	}
}

type valueEntry struct {
	once  sync.Once
	value ast.Value
	err   error
	read  atomic.Int32 // how many files have read it
}

// parseShared is parseSource, taking the value of a compiled object from
// values when a copy of it (the same JSON, whose digest is sum) was read.
func parseShared(s source, values *valueCache, sum [sha256.Size]byte) ([]*object, diag.List) {
	if s.json == nil || s.handWritten {
		return parseSource(s)
	}
	v, _ := values.values.LoadOrStore(sum, &valueEntry{})
	ent := v.(*valueEntry)
	ent.once.Do(func() {
		in := values.interner()
		ent.value, ent.err = valueFromJSON(s.json, in)
		values.release(in)
	})
	if values.left != nil && ent.read.Add(1) == values.left[sum] {
		values.values.Delete(sum)
	}
	if ent.err != nil {
		return parseSource(source{path: s.path, cluster: s.cluster, data: s.data, generated: s.generated})
	}
	return []*object{newObject(s.path, s.cluster, ent.value, nil, s.generated || tagged(ent.value))}, nil
}

func jsonValue(data []byte) (ast.Value, error) {
	in := internPool.Get().(*interner)
	defer internPool.Put(in)
	return valueFromJSON(data, in)
}

// parseSource reads a file's documents as objects.
func parseSource(s source) ([]*object, diag.List) {
	if s.json != nil && !s.handWritten {
		if v, err := jsonValue(s.json); err == nil {
			return []*object{newObject(s.path, s.cluster, v, nil, s.generated || tagged(v))}, nil
		}
	}
	var diags diag.List
	docs, err := parseDocuments(s.path, s.data)
	if err != nil {
		if s.handWritten {
			diags.Add(diag.CodeYAMLSyntax, syntaxPos(s.path, err), "%v", err)
		} else {
			// A backend wrote something that does not parse: report it
			// rather than check less than everything.
			diags.Add(diag.CodePolicyEvalError, diag.Pos{File: s.path}, "cannot read generated %s: %v", s.path, err)
		}
	}
	var objs []*object
	for _, d := range docs {
		node := d.node
		if !s.handWritten {
			node = nil // positions come from the intent
		} else if strings.HasPrefix(str(d.value, "apiVersion"), intent.Group+"/") {
			continue // the intent itself: compile checks it
		}
		objs = append(objs, newObject(s.path, s.cluster, d.value, node, s.generated || tagged(d.value)))
	}
	return objs, diags
}

// queryFor returns the query for an object's kind, or nil when no rule
// judges it.
func (e *Engine) queryFor(o *object) *rego.PreparedEvalQuery {
	if q, ok := e.object[o.kind]; ok {
		return q
	}
	return e.object[""]
}

func (e *Engine) eval(ctx context.Context, txn storage.Transaction, t *target, pq rego.PreparedEvalQuery, j job) diag.List {
	var (
		input ast.Value
		scope string
		user  []userNamespace
	)
	switch {
	case j.obj != nil:
		input, scope, user = j.obj.value, policies.ScopeObject, e.user
	case j.combine:
		input, user = combinedInput(j.members), e.grouped
	default:
		input, scope = bundleInput(j.cluster, j.members), policies.ScopeBundle
	}
	rs, err := evalQuery(ctx, &pq, e.shared, input, rego.EvalTransaction(txn))
	return e.findings(t, j, scope, user, rs, err)
}

// evalMemo remembers the results of the per-object query by the object's
// content, for objects that occur more than once.
type evalMemo struct {
	results sync.Map // memoKey → *memoEntry
}

type memoKey struct {
	query *rego.PreparedEvalQuery
	sum   [sha256.Size]byte
}

type memoEntry struct {
	once sync.Once
	rs   rego.ResultSet
	err  error
}

// eval evaluates q on input, whose compact JSON has the digest sum, or
// returns what an object with the same content gave.
func (m *evalMemo) eval(ctx context.Context, txn storage.Transaction, q *rego.PreparedEvalQuery, shared *sharedCache, input ast.Value, sum [sha256.Size]byte) (rego.ResultSet, error) {
	v, _ := m.results.LoadOrStore(memoKey{q, sum}, &memoEntry{})
	ent := v.(*memoEntry)
	ent.once.Do(func() {
		rs, err := evalQuery(ctx, q, shared, input, rego.EvalTransaction(txn))
		if err == nil && nothingFound(rs) {
			// Kept for every distinct object of a check, an empty result
			// (nearly all of them) was a tenth of a large check's heap;
			// no result at all means the same to findings.
			rs = nil
		}
		ent.rs, ent.err = rs, err
	})
	return ent.rs, ent.err
}

// nothingFound reports whether rs is a built-in query's result without a
// finding: b bound to an empty list, and nothing else bound.
func nothingFound(rs rego.ResultSet) bool {
	if len(rs) != 1 || len(rs[0].Bindings) != 1 {
		return false
	}
	b, ok := rs[0].Bindings["b"].([]any)
	return ok && len(b) == 0
}

// findings turns a query's results into diagnostics about job j.
func (e *Engine) findings(t *target, j job, scope string, user []userNamespace, rs rego.ResultSet, err error) diag.List {
	var diags diag.List
	if err != nil {
		pos, _ := t.locate(j.obj, nil, nil, nil)
		if j.obj == nil {
			pos = t.bundlePos(j)
		}
		diags.Add(diag.CodePolicyEvalError, pos, "%s%v", t.describe(j.obj), err)
		return diags
	}
	if len(rs) == 0 {
		return nil
	}
	b := rs[0].Bindings
	builtin, _ := b["b"].([]any)
	for _, x := range builtin {
		pair, _ := x.([]any)
		if len(pair) != 2 {
			continue
		}
		name, _ := pair[0].(string)
		rule := e.rules[scope][name]
		f, ok := pair[1].(map[string]any)
		if rule == nil || !ok {
			continue // helpers and tests are not loaded: cannot happen
		}
		diags = append(diags, t.builtinFinding(rule, j, f))
	}
	for i, ns := range user {
		values, _ := b[fmt.Sprintf("u%d", i)].(map[string]any)
		excepted := map[string]bool{}
		if exc, ok := b[fmt.Sprintf("e%d", i)].([]any); ok {
			for _, x := range exc {
				if s, ok := x.(string); ok {
					excepted[s] = true
				}
			}
		}
		for _, rule := range ns.rules {
			if slices.ContainsFunc(exceptionNames(rule), func(n string) bool { return excepted[n] }) {
				continue
			}
			results, _ := values[rule].([]any) // sets and arrays; conftest ignores other values
			for _, r := range results {
				msg, ok := userMessage(r)
				if !ok {
					pos, _ := t.locate(j.obj, nil, nil, nil)
					diags.Add(diag.CodePolicyEvalError, pos, "%s%s.%s returned %s; a result is a string or an object with a string msg", t.describe(j.obj), ns.name, rule, short(r))
					continue
				}
				code := diag.CodePolicyDeny
				if warningRE.MatchString(rule) {
					code = diag.CodePolicyWarn
				}
				var pos diag.Pos
				var rel []diag.Related
				if j.combine {
					pos = t.combinedPos
				} else {
					pos, rel = t.locate(j.obj, nil, nil, nil)
				}
				d := diags.Add(code, pos, "%s%s (%s.%s)", t.describe(j.obj), msg, ns.name, rule)
				d.Related = rel
			}
		}
	}
	return diags
}

func userMessage(r any) (string, bool) {
	switch v := r.(type) {
	case string:
		return v, true
	case map[string]any:
		msg, ok := v["msg"].(string)
		return msg, ok
	}
	return "", false
}

func short(v any) string {
	b, _ := json.Marshal(v)
	if len(b) > 80 {
		return string(b[:77]) + "..."
	}
	return string(b)
}

// builtinFinding turns one finding of a built-in rule into a diagnostic.
// Findings are {msg, path?, object?, sources?} (see package policies).
func (t *target) builtinFinding(rule *policies.Rule, j job, f map[string]any) diag.Diagnostic {
	msg, _ := f["msg"].(string)
	p := pathOf(f["path"])
	var sources []string
	if xs, ok := f["sources"].([]any); ok {
		for _, x := range xs {
			if s, ok := x.(string); ok {
				sources = append(sources, s)
			}
		}
	}
	obj := j.obj
	if obj == nil {
		if n, ok := f["object"].(json.Number); ok {
			if i, err := n.Int64(); err == nil && i >= 0 && int(i) < len(j.members) {
				obj = j.members[i]
			}
		}
	}
	generated := t.compiled
	if obj != nil {
		generated = obj.generated
	}
	sev := rule.Handwritten
	if generated {
		sev = rule.Severity
	}
	pos, rel := t.locate(obj, rule, p, sources)
	if obj == nil && !pos.IsValid() {
		pos = t.bundlePos(j)
	}
	return diag.Diagnostic{Code: rule.Code, Severity: sev, Pos: pos, Message: t.describe(obj) + msg, Related: rel}
}

// pathOf reads a finding's path: keys stay strings, indexes become ints.
func pathOf(x any) []any {
	xs, _ := x.([]any)
	out := make([]any, 0, len(xs))
	for _, p := range xs {
		if n, ok := p.(json.Number); ok {
			if i, err := n.Int64(); err == nil {
				out = append(out, int(i))
				continue
			}
		}
		out = append(out, p)
	}
	return out
}

// describe names the object a finding is about: what a reviewer looks for
// in the generated tree.
func (t *target) describe(o *object) string {
	switch {
	case o == nil:
		return ""
	case o.kind != "" && o.name != "" && o.kind != policies.KindNeutron && o.kind != policies.KindHeat:
		s := o.kind + " " + o.name
		if o.namespace != "" {
			s = o.kind + " " + o.namespace + "/" + o.name
		}
		if t.compiled && o.cluster != "" {
			s += " in cluster " + o.cluster
		}
		return s + ": "
	case t.compiled:
		return o.file + ": "
	}
	return ""
}

// bundlePos is where a bundle finding about no object goes when it names
// no intent either: the cluster's folder, or the first file checked.
func (t *target) bundlePos(j job) diag.Pos {
	if t.compiled && j.cluster != "" {
		return diag.Pos{File: path.Join("clusters", j.cluster)}
	}
	return t.combinedPos
}

// locate returns where a finding is reported. On generated output: at the
// intent object the rule blames among those the object came from (its
// intentc.dev/source annotation, the provenance in a security-group rule's
// description, or the finding's own sources), falling back to the output
// file. On a hand-written file: at the field in that file.
func (t *target) locate(o *object, rule *policies.Rule, p []any, sources []string) (diag.Pos, []diag.Related) {
	if t.compiled || o == nil {
		refs := sources
		if len(refs) == 0 && o != nil {
			refs = t.refsOf(o, p)
		}
		if pos, rel, ok := t.blame(rule, refs); ok {
			return pos, rel
		}
		if o == nil {
			return diag.Pos{}, nil
		}
		return diag.Pos{File: o.file}, nil
	}
	if o.node == nil {
		return diag.Pos{File: o.file}, nil
	}
	n := nodeAt(o.node, p)
	return diag.Pos{File: o.file, Line: n.Line, Col: n.Column}, nil
}

var refRE = regexp.MustCompile(`\b(?:MeshCluster|MeshService|ExternalService|AccessPolicy|Mesh)/[A-Za-z0-9._-]+(?:/[A-Za-z0-9._-]+)?`)

// refsOf returns the intent objects a generated object came from, in the
// order they are named.
func (t *target) refsOf(o *object, p []any) []string {
	if src := str(o.value, "metadata", "annotations", manifest.AnnotationSource); src != "" {
		return strings.Split(src, ",")
	}
	desc := ""
	valueAt(o.value, p, func(v ast.Value) {
		if d := str(v, "description"); refRE.MatchString(d) {
			desc = d // the innermost: the rule's own, not its group's
		}
	})
	named := refRE.FindAllString(desc, -1)
	var owners []string
	for prefix, rs := range t.clusterRefs {
		if strings.HasPrefix(o.file, prefix) {
			owners = append(owners, rs...)
		}
	}
	slices.Sort(owners)
	// The cluster whose nodes the group guards first (as the description
	// names it when the project holds several), then the others named.
	var refs []string
	for _, r := range named {
		if slices.Contains(owners, r) {
			refs = append(refs, r)
		}
	}
	refs = append(refs, owners...)
	return append(refs, named...)
}

// blame picks, among refs, the intent object the rule's METADATA prefers
// (the first kind of its blame list present), and points at the field it
// names; the others become related positions.
func (t *target) blame(rule *policies.Rule, refs []string) (diag.Pos, []diag.Related, bool) {
	var known []string
	for _, r := range refs {
		if _, ok := t.docs[r]; ok && !slices.Contains(known, r) {
			known = append(known, r)
		}
	}
	if len(known) == 0 {
		return diag.Pos{}, nil, false
	}
	chosen, field := known[0], ""
	if rule != nil {
	search:
		for _, b := range rule.Blame {
			for _, r := range known {
				if kindOf(r) == b.Kind {
					chosen, field = r, b.Field
					break search
				}
			}
		}
	}
	doc := t.docs[chosen]
	pos := doc.Pos
	if field != "" {
		pos = doc.KeyPosOf(field)
	}
	var rel []diag.Related
	for _, r := range known {
		if r != chosen {
			rel = append(rel, diag.Related{Pos: t.docs[r].Pos, Message: "the object also comes from " + r})
		}
	}
	return pos, rel, true
}

func kindOf(ref string) string {
	kind, _, _ := strings.Cut(ref, "/")
	return kind
}

// bundleInput is {"cluster": c, "objects": [{"path", "cluster", "object"}],
// "by_kind": {kind: [[index, object]]}, "by_namespace": {kind: {namespace:
// [[index, object]]}}}, built from the objects' values as they are (no
// conversion). by_kind is the grouping the bundle rules begin with
// (lib.bundle.of_kind), which cost them 3-4 µs per object in Rego;
// by_namespace (of the objects that have a metadata.namespace) is the one
// the default-deny rule looks policies up in, which cost the rules two
// more passes over a cluster's policies. Both keep input order.
func bundleInput(cluster string, members []*object) ast.Value {
	path, clusterKey, objectKey := keyTerm("path"), keyTerm("cluster"), keyTerm("object")
	terms := make([]*ast.Term, len(members))
	byKind := map[string][]*ast.Term{}
	type group struct {
		ns      *ast.Term
		members []*ast.Term
	}
	type nsKey struct {
		odd bool   // not a non-empty string: s is the value as Rego prints it
		s   string // the namespace
	}
	byNS := map[string]map[nsKey]*group{}
	for i, o := range members {
		obj := ast.NewTerm(o.value)
		terms[i] = ast.ObjectTerm(
			ast.Item(path, ast.StringTerm(o.file)),
			ast.Item(clusterKey, ast.StringTerm(o.cluster)),
			ast.Item(objectKey, obj),
		)
		if o.kind == "" {
			continue
		}
		pair := ast.ArrayTerm(ast.InternedTerm(i), obj)
		byKind[o.kind] = append(byKind[o.kind], pair)
		var ns *ast.Term
		key := nsKey{s: o.namespace}
		if key.s == "" { // rare: empty, not a string, or none
			if ns = namespaceOf(o.value); ns == nil {
				continue
			}
			key = nsKey{odd: true, s: ns.String()}
		}
		m := byNS[o.kind]
		if m == nil {
			m = map[nsKey]*group{}
			byNS[o.kind] = m
		}
		g := m[key]
		if g == nil {
			if ns == nil {
				ns = ast.StringTerm(key.s)
			}
			g = &group{ns: ns}
			m[key] = g
		}
		g.members = append(g.members, pair)
	}
	kinds, namespaced := ast.NewObject(), ast.NewObject()
	for _, k := range slices.Sorted(maps.Keys(byKind)) {
		kinds.Insert(keyTerm(k), ast.ArrayTerm(byKind[k]...))
		if m := byNS[k]; m != nil {
			nss := ast.NewObject()
			for _, g := range m { // an object iterates in key order, whatever the order of insertion
				nss.Insert(g.ns, ast.ArrayTerm(g.members...))
			}
			namespaced.Insert(keyTerm(k), ast.NewTerm(nss))
		}
	}
	return ast.NewObject(
		ast.Item(clusterKey, ast.StringTerm(cluster)),
		ast.Item(keyTerm("objects"), ast.ArrayTerm(terms...)),
		ast.Item(keyTerm("by_kind"), ast.NewTerm(kinds)),
		ast.Item(keyTerm("by_namespace"), ast.NewTerm(namespaced)),
	)
}

// namespaceOf is the term of v's metadata.namespace, or nil.
func namespaceOf(v ast.Value) *ast.Term {
	var t *ast.Term
	for _, k := range []string{"metadata", "namespace"} {
		obj, ok := v.(ast.Object)
		if !ok {
			return nil
		}
		if t = obj.Get(keyTerm(k)); t == nil {
			return nil
		}
		v = t.Value
	}
	return t
}

// combinedInput is conftest's --combine input: [{"path", "contents"}], one
// entry per document (a multi-document file gives several entries with its
// path), sorted by path as conftest sorts them.
func combinedInput(members []*object) ast.Value {
	sorted := slices.Clone(members)
	slices.SortStableFunc(sorted, func(a, b *object) int { return strings.Compare(a.file, b.file) })
	terms := make([]*ast.Term, len(sorted))
	for i, o := range sorted {
		terms[i] = ast.ObjectTerm(
			ast.Item(keyTerm("path"), ast.StringTerm(o.file)),
			ast.Item(keyTerm("contents"), ast.NewTerm(o.value)),
		)
	}
	return ast.NewArray(terms...)
}
