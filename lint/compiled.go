package lint

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unsafe"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/intentc/intentc/compiler"
	"github.com/intentc/intentc/compiler/diag"
	"github.com/intentc/intentc/compiler/intent"
	"github.com/intentc/intentc/compiler/ir"
	"github.com/intentc/intentc/compiler/manifest"
)

// Compile compiles the intent and checks every generated object. Like
// compiler.Compile, it returns no files when any finding is an error.
func Compile(ctx context.Context, opts compiler.Options, e *Engine) (*compiler.Result, diag.List) {
	res, diags := compiler.Compile(opts)
	if diags.HasErrors() || e == nil {
		return res, diags
	}
	diags = append(diags, e.CheckCompiled(ctx, res)...)
	if diags.HasErrors() {
		res.Files = nil
	}
	return res, diags.Sorted()
}

// CheckCompiled runs every rule over a compile's output: each YAML object
// under clusters/ (not the kustomizations), each OpenStack JSON document
// and Heat template, each cluster's objects as a bundle, and everything at
// once for user bundle rules. Findings are reported at the intent that
// produced the object, at the rule's generated-output severity.
func (e *Engine) CheckCompiled(ctx context.Context, res *compiler.Result) diag.List {
	if res == nil {
		return nil
	}
	t := &target{compiled: true, docs: docsByRef(res.Set), clusterRefs: openstackClusters(res.Model)}
	var files []source
	for i := range res.Files {
		// An object's YAML is not read (nor, so, kept) when it has JSON:
		// its value is built from the JSON, or, should that fail, read
		// from the JSON as YAML. The caller may let the YAML go meanwhile
		// (intentc compile, once it is written).
		f := &res.Files[i]
		if checkedOutput(f.Path) {
			data := f.JSON
			if data == nil {
				data = f.Data
			}
			files = append(files, source{path: f.Path, cluster: clusterOf(f.Path), data: data, json: f.JSON, generated: true})
		}
	}
	var mesh any
	if res.Model != nil {
		mesh = MeshData(res.Model)
	}
	return e.run(ctx, t, files, mesh, true)
}

// checkedOutput reports whether a generated file is an object the rules
// judge.
func checkedOutput(p string) bool {
	switch {
	case strings.HasPrefix(p, "clusters/"):
		return strings.HasSuffix(p, ".yaml") && path.Base(p) != manifest.KustomizationFileName
	case strings.HasPrefix(p, "openstack/"):
		return strings.HasSuffix(p, ".json") || strings.HasSuffix(p, ".yaml")
	}
	return false
}

// clusterOf returns <cluster> of a path containing clusters/<cluster>/.
func clusterOf(p string) string {
	parts := strings.Split(p, "/")
	for i := 0; i+2 < len(parts); i++ {
		if parts[i] == "clusters" {
			return parts[i+1]
		}
	}
	return ""
}

func docsByRef(set *intent.Set) map[string]*intent.Document {
	m := map[string]*intent.Document{}
	if set == nil {
		return m
	}
	for _, d := range set.Docs {
		if _, dup := m[d.Ref()]; !dup { // a duplicate is IC2001; the first is the one
			m[d.Ref()] = d
		}
	}
	return m
}

func openstackClusters(m *ir.Model) map[string][]string {
	out := map[string][]string{}
	if m == nil {
		return out
	}
	for _, c := range m.Clusters {
		if c.OpenStack != nil {
			key := path.Join("openstack", c.OpenStack.Cloud, c.OpenStack.Project) + "/"
			out[key] = append(out[key], c.Src.Ref())
		}
	}
	return out
}

// MeshData is what the rules read as data.intentc.mesh for a compiled
// intent (docs/policies.md lists the fields). It is a plain JSON value, so
// it can be written to a file and given to intentc lint --data.
func MeshData(m *ir.Model) map[string]any {
	never := []string{"kube-system", "kube-public", "kube-node-lease", "openshift", "openshift-*", m.Mesh.RootNamespace, m.Mesh.IntentcNamespace}
	never = append(never, m.Mesh.GatewayNamespaces...)
	slices.Sort(never)
	never = slices.Compact(never)
	if len(never) > 0 && never[0] == "" {
		never = never[1:]
	}

	managed := map[string]any{}
	for _, c := range m.Clusters {
		nss := map[string]any{}
		for _, s := range m.Services {
			if s.PlacedIn(c) {
				refs, _ := nss[s.Namespace].([]any)
				nss[s.Namespace] = append(refs, s.Src.Ref())
			}
		}
		if len(nss) > 0 {
			managed[c.Name] = nss
		}
	}

	// Keyed by namespace: a rule looks up its object's namespace instead of
	// scanning every service of the mesh.
	tcp, permissive := map[string]any{}, map[string]any{}
	for _, s := range m.Services {
		var nonL7, plain []any
		for _, p := range s.Ports {
			if !p.IsL7() {
				nonL7 = append(nonL7, int(p.TargetPort))
			}
			if p.Permissive {
				plain = append(plain, int(p.TargetPort))
			}
		}
		add := func(to map[string]any, ports []any) {
			if len(ports) == 0 {
				return
			}
			sel := map[string]any{}
			for k, v := range s.Selector {
				sel[k] = v
			}
			list, _ := to[s.Namespace].([]any)
			to[s.Namespace] = append(list, map[string]any{"service": s.Name, "selector": sel, "ports": ports})
		}
		add(tcp, nonL7)
		add(permissive, plain)
	}

	data := map[string]any{
		"mtls":              m.Mesh.MTLS,
		"defaultDeny":       m.Mesh.DefaultDeny,
		"trustDomain":       m.Mesh.TrustDomain,
		"rootNamespace":     m.Mesh.RootNamespace,
		"neverManaged":      toAny(never),
		"managedNamespaces": managed,
		"tcpPorts":          tcp,
		"permissivePorts":   permissive,
	}
	if m.Mesh.Src.Kind != "" {
		data["source"] = m.Mesh.Src.Ref()
	}
	return data
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// valueFromJSON builds the Rego value of a generated object from the
// compact JSON the compiler keeps beside its YAML (manifest.File.JSON):
// the same value toValue reads from the YAML, without parsing the YAML
// (that parse was most of the checks' cost). Numbers are normalised as
// the YAML path normalises them (integers that fit 64 bits, other numbers
// as float64), and anything else about a number is an error, on which the
// caller reads the YAML instead. Object keys and short strings repeat
// across objects (field names, kinds, namespaces, the digest), and so do
// small objects and lists (labels, selectors, ports, peers): their terms
// are shared through in, which the evaluator never modifies. Sharing them
// is most of what keeps the values of a large compile small, and the
// garbage collector's work with them.
func valueFromJSON(data []byte, in *interner) (ast.Value, error) {
	p := jsonReader{data: data, in: in, spans: in.spans[:0], items: in.items[:0], elems: in.elems[:0]}
	defer func() { in.spans, in.items, in.elems = p.spans[:0], p.items[:0], p.elems[:0] }()
	if !p.scan() {
		return nil, errJSON
	}
	t, err := p.value(0)
	if err != nil {
		return nil, err
	}
	if p.i != len(data) {
		return nil, errJSON
	}
	return t.Value, nil
}

var errJSON = errors.New("not the compiler's compact JSON")

// interner shares the terms of repeated strings and small values, and
// holds a reader's scratch space. It is not safe for concurrent use: each
// worker takes one from a pool.
type interner struct {
	terms map[string]*ast.Term
	// values are the small objects and lists read, by their JSON, when
	// shareValues (an interner of one check: those of the pool, which
	// outlives checks, keep strings only).
	values      map[string]*ast.Term
	shareValues bool

	spans []span
	items [][2]*ast.Term
	elems []*ast.Term
}

var internPool = sync.Pool{New: func() any { return newInterner() }}

func newInterner() *interner { return &interner{terms: map[string]*ast.Term{}} }

func (in *interner) term(b []byte) *ast.Term {
	if len(b) > 64 {
		return ast.StringTerm(string(b))
	}
	if t, ok := in.terms[string(b)]; ok { // no allocation for the look-up
		return t
	}
	t := policyString(b)
	if len(in.terms) < maxTerms {
		in.terms[string(t.Value.(ast.String))] = t
	}
	return t
}

// Objects and lists of at most maxShared bytes of JSON are shared: larger
// ones rarely repeat whole. An interner keeps at most maxTerms strings and
// maxValues objects and lists.
const (
	maxShared = 512
	maxTerms  = 1 << 14
	maxValues = 1 << 15
)

func (in *interner) value(b []byte) *ast.Term {
	return in.values[string(b)]
}

func (in *interner) keep(b []byte, t *ast.Term) {
	if !in.shareValues {
		return
	}
	if in.values == nil {
		in.values = map[string]*ast.Term{}
	}
	if len(in.values) < maxValues {
		// The key is the JSON itself, not a copy: the compile's files
		// outlive the check, and so this interner, and nothing writes to
		// them meanwhile.
		in.values[unsafe.String(&b[0], len(b))] = t
	}
}

// jsonReader reads what manifest writes: compact JSON, no whitespace,
// strings escaped only where JSON requires it.
type jsonReader struct {
	data []byte
	i    int
	in   *interner
	// spans has, for each object and list in the order they open, where
	// it closes; k is the next one's.
	spans []span
	k     int
	// items and elems are stacks of the members read so far of the
	// objects and lists being read.
	items [][2]*ast.Term
	elems []*ast.Term
}

// span is where an object or list closes, and the index in spans of the
// first one after it.
type span struct{ end, next int }

// scan finds the spans, so that an object or list can be looked up by its
// JSON before it is read. It fails on unbalanced input (which value
// rejects too).
func (p *jsonReader) scan() bool {
	var open []int
	for i := 0; i < len(p.data); i++ {
		switch p.data[i] {
		case '"':
			for i++; i < len(p.data) && p.data[i] != '"'; i++ {
				if p.data[i] == '\\' {
					i++
				}
			}
		case '{', '[':
			open = append(open, len(p.spans))
			p.spans = append(p.spans, span{})
		case '}', ']':
			if len(open) == 0 {
				return false
			}
			k := open[len(open)-1]
			open = open[:len(open)-1]
			p.spans[k] = span{end: i, next: len(p.spans)}
		}
	}
	return len(open) == 0
}

func (p *jsonReader) value(depth int) (*ast.Term, error) {
	if p.i >= len(p.data) || depth > 10000 {
		return nil, errJSON
	}
	switch c := p.data[p.i]; {
	case c == '{' || c == '[':
		if p.k >= len(p.spans) {
			return nil, errJSON
		}
		sp := p.spans[p.k]
		raw := p.data[p.i : sp.end+1]
		shared := len(raw) <= maxShared
		if shared {
			if t := p.in.value(raw); t != nil {
				p.i, p.k = sp.end+1, sp.next
				return t, nil
			}
		}
		p.k++
		var t *ast.Term
		var err error
		if c == '{' {
			t, err = p.object(depth)
		} else {
			t, err = p.array(depth)
		}
		if err == nil && shared {
			p.in.keep(raw, t)
		}
		return t, err
	case c == '"':
		return p.str()
	case bytes.HasPrefix(p.data[p.i:], []byte("true")):
		p.i += 4
		return ast.InternedTerm(true), nil
	case bytes.HasPrefix(p.data[p.i:], []byte("false")):
		p.i += 5
		return ast.InternedTerm(false), nil
	case bytes.HasPrefix(p.data[p.i:], []byte("null")):
		p.i += 4
		return ast.NullTerm(), nil
	case c == '-' || c >= '0' && c <= '9':
		start := p.i
		for p.i < len(p.data) && strings.IndexByte("+-0123456789.eE", p.data[p.i]) >= 0 {
			p.i++
		}
		return number(string(p.data[start:p.i]))
	}
	return nil, errJSON
}

func (p *jsonReader) object(depth int) (*ast.Term, error) {
	p.i++
	if p.i < len(p.data) && p.data[p.i] == '}' {
		p.i++
		return ast.NewTerm(ast.NewObject()), nil
	}
	base := len(p.items)
	defer func() { p.items = p.items[:base] }()
	for {
		k, err := p.str()
		if err != nil {
			return nil, err
		}
		if p.i >= len(p.data) || p.data[p.i] != ':' {
			return nil, errJSON
		}
		p.i++
		v, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		p.items = append(p.items, [2]*ast.Term{k, v})
		if p.i >= len(p.data) {
			return nil, errJSON
		}
		p.i++
		switch p.data[p.i-1] {
		case '}':
			// NewObject copies the items: the stack is reused.
			return ast.NewTerm(ast.NewObject(p.items[base:]...)), nil
		case ',':
		default:
			return nil, errJSON
		}
	}
}

func (p *jsonReader) array(depth int) (*ast.Term, error) {
	p.i++
	if p.i < len(p.data) && p.data[p.i] == ']' {
		p.i++
		return ast.NewTerm(ast.NewArray()), nil
	}
	base := len(p.elems)
	defer func() { p.elems = p.elems[:base] }()
	for {
		v, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		p.elems = append(p.elems, v)
		if p.i >= len(p.data) {
			return nil, errJSON
		}
		p.i++
		switch p.data[p.i-1] {
		case ']':
			// NewArray keeps its slice: a copy of the stack's.
			return ast.NewTerm(ast.NewArray(slices.Clone(p.elems[base:])...)), nil
		case ',':
		default:
			return nil, errJSON
		}
	}
}

// number is a JSON number as toValue reads the same text from YAML.
func number(s string) (*ast.Term, error) {
	if !strings.ContainsAny(s, ".eE") {
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			if t := ast.InternedIntNumberTermFromString(s); t != nil && strconv.FormatInt(i, 10) == s {
				return t, nil
			}
			return ast.NewTerm(ast.Number(strconv.FormatInt(i, 10))), nil
		}
		return nil, errJSON // beyond int64: the YAML says how it reads
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return nil, errJSON
	}
	return ast.NewTerm(ast.Number(strconv.FormatFloat(f, 'g', -1, 64))), nil
}

func (p *jsonReader) str() (*ast.Term, error) {
	if p.i >= len(p.data) || p.data[p.i] != '"' {
		return nil, errJSON
	}
	start := p.i + 1
	for p.i = start; p.i < len(p.data); p.i++ {
		switch c := p.data[p.i]; {
		case c == '"':
			p.i++
			return p.in.term(p.data[start : p.i-1]), nil
		case c == '\\':
			end := p.i
			for end < len(p.data) && p.data[end] != '"' {
				if p.data[end] == '\\' {
					end++
				}
				end++
			}
			if end >= len(p.data) {
				return nil, errJSON
			}
			var s string
			if err := json.Unmarshal(p.data[start-1:end+1], &s); err != nil {
				return nil, errJSON
			}
			p.i = end + 1
			return ast.StringTerm(s), nil
		case c < 0x20:
			return nil, errJSON
		}
	}
	return nil, errJSON
}
