package manifest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"
	"unsafe"

	"go.yaml.in/yaml/v3"
)

// The canonical YAML of an object is what yaml.v3 writes for its JSON form
// with mapping keys in byte order, two-space indentation and compact
// sequences (toYAMLReference below, the definition). Building yaml.v3 nodes
// and running its emitter cost more than everything else a compile does, so
// canonical() writes the same bytes directly from a light parse of the JSON:
// the layout is a few fixed rules, and a scalar's style is decided by a
// byte-class test that covers names, hosts, labels and principals, with
// yaml.v3 itself deciding (once per distinct value) for everything else.
// A document that needs what the direct writer does not do (a multi-line
// string, a key longer than a simple key may be) is written by the
// reference path. The goldens and TestCanonicalMatchesReference hold the
// two to the same bytes.

// toYAMLReference is the definition of canonical YAML, for JSON-shaped
// data (as json.Unmarshal with UseNumber gives): mapping keys in byte order (sigs.k8s.io/yaml sorts keys with yaml.v2's "natural" comparison,
// which is not a strict order for keys that mix letters and digits, so the
// same object could come out in two orders; output must be a pure function
// of the intent).
func toYAMLReference(v any) ([]byte, error) {
	n, err := node(v)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	enc.CompactSeqIndent() // "- item" under its key, as kubectl writes it
	if err := enc.Encode(n); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func node(v any) (*yaml.Node, error) {
	switch x := v.(type) {
	case map[string]any:
		n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			val, err := node(x[k])
			if err != nil {
				return nil, err
			}
			n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: k}, val)
		}
		return n, nil
	case []any:
		n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		for _, e := range x {
			val, err := node(e)
			if err != nil {
				return nil, err
			}
			n.Content = append(n.Content, val)
		}
		return n, nil
	case string:
		return scalarNode("!!str", x), nil
	case json.Number:
		return scalarNode(numberTag(string(x)), string(x)), nil
	case bool:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: fmt.Sprint(x)}, nil
	case nil:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}, nil
	}
	return nil, fmt.Errorf("manifest: cannot serialise %T", v)
}

func scalarNode(tag, value string) *yaml.Node {
	n := &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: value}
	if tag == "!!str" && strings.Contains(value, "\n") {
		n.Style = yaml.LiteralStyle
	}
	return n
}

func numberTag(n string) string {
	if strings.ContainsAny(n, ".eE") {
		return "!!float"
	}
	return "!!int"
}

// jkind is the JSON type of a jnode.
type jkind uint8

const (
	jNull jkind = iota
	jBool
	jNumber
	jString
	jArray
	jObject
)

// jnode is one JSON value, as canonical() reads encoding/json's output.
type jnode struct {
	kind    jkind
	text    string    // a bool's or number's literal; a string's value
	elems   []jnode   // jArray
	members []jmember // jObject, sorted by key once read
}

type jmember struct {
	key string
	val jnode
}

// errSyntax is returned for input encoding/json cannot have written.
var errSyntax = fmt.Errorf("manifest: malformed JSON")

// parseJSON reads one JSON document. Its strings share raw's memory: raw
// must not change while the tree is in use, and what outlives it (the
// style cache) is copied.
func parseJSON(raw []byte) (jnode, error) {
	p := parsers.Get().(*jparser)
	defer func() {
		// Nothing of this document stays reachable from the pool.
		// Only what this document used: clearing the whole capacity,
		// which one large document (the security groups) sets for
		// every later one, was a fifth of rendering.
		p.data = nil
		clear(p.members[:p.usedMembers])
		clear(p.elems[:p.usedElems])
		p.usedMembers, p.usedElems = 0, 0
		parsers.Put(p)
	}()
	p.data, p.i = raw, 0
	n, err := p.value(0)
	if err != nil {
		return jnode{}, err
	}
	p.space()
	if p.i != len(p.data) {
		return jnode{}, errSyntax
	}
	return n, nil
}

type jparser struct {
	data []byte
	i    int
	// The members and elements of the objects and arrays being read,
	// copied out at exact size when each one ends: one allocation per
	// container instead of one per doubling.
	members []jmember
	elems   []jnode
	// the longest members and elems have been in this document
	usedMembers, usedElems int
}

var parsers = sync.Pool{New: func() any { return &jparser{} }}

func (p *jparser) space() {
	for p.i < len(p.data) {
		switch p.data[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *jparser) value(depth int) (jnode, error) {
	if depth > 10000 {
		return jnode{}, errSyntax
	}
	p.space()
	if p.i >= len(p.data) {
		return jnode{}, errSyntax
	}
	switch c := p.data[p.i]; {
	case c == '{':
		p.i++
		base := len(p.members)
		defer func() { p.members = p.members[:base] }()
		p.space()
		if p.i < len(p.data) && p.data[p.i] == '}' {
			p.i++
			return jnode{kind: jObject, members: []jmember{}}, nil
		}
		for {
			p.space()
			key, err := p.str()
			if err != nil {
				return jnode{}, err
			}
			p.space()
			if p.i >= len(p.data) || p.data[p.i] != ':' {
				return jnode{}, errSyntax
			}
			p.i++
			v, err := p.value(depth + 1)
			if err != nil {
				return jnode{}, err
			}
			p.members = append(p.members, jmember{key, v})
			p.usedMembers = max(p.usedMembers, len(p.members))
			p.space()
			if p.i >= len(p.data) {
				return jnode{}, errSyntax
			}
			if p.data[p.i] == '}' {
				p.i++
				return jnode{kind: jObject, members: sortMembers(slices.Clone(p.members[base:]))}, nil
			}
			if p.data[p.i] != ',' {
				return jnode{}, errSyntax
			}
			p.i++
		}
	case c == '[':
		p.i++
		p.space()
		if p.i < len(p.data) && p.data[p.i] == ']' {
			p.i++
			return jnode{kind: jArray, elems: []jnode{}}, nil
		}
		base := len(p.elems)
		defer func() { p.elems = p.elems[:base] }()
		for {
			v, err := p.value(depth + 1)
			if err != nil {
				return jnode{}, err
			}
			p.elems = append(p.elems, v)
			p.usedElems = max(p.usedElems, len(p.elems))
			p.space()
			if p.i >= len(p.data) {
				return jnode{}, errSyntax
			}
			if p.data[p.i] == ']' {
				p.i++
				return jnode{kind: jArray, elems: slices.Clone(p.elems[base:])}, nil
			}
			if p.data[p.i] != ',' {
				return jnode{}, errSyntax
			}
			p.i++
		}
	case c == '"':
		s, err := p.str()
		return jnode{kind: jString, text: s}, err
	case c == 't' || c == 'f' || c == 'n':
		for _, lit := range [...]string{"true", "false", "null"} {
			if bytes.HasPrefix(p.data[p.i:], []byte(lit)) {
				p.i += len(lit)
				if lit == "null" {
					return jnode{kind: jNull}, nil
				}
				return jnode{kind: jBool, text: lit}, nil
			}
		}
		return jnode{}, errSyntax
	case c == '-' || c >= '0' && c <= '9':
		start := p.i
		for p.i < len(p.data) && strings.IndexByte("+-0123456789.eE", p.data[p.i]) >= 0 {
			p.i++
		}
		return jnode{kind: jNumber, text: string(p.data[start:p.i])}, nil
	}
	return jnode{}, errSyntax
}

// sortMembers puts an object's members in key order; of a repeated key the
// last one stays, as decoding into a map keeps it.
func sortMembers(ms []jmember) []jmember {
	if slices.IsSortedFunc(ms, func(a, b jmember) int { return strings.Compare(a.key, b.key) }) {
		// Sorted already, as encoding/json writes maps; a repeated key
		// would sit next to its twin.
		dup := false
		for i := 1; i < len(ms); i++ {
			dup = dup || ms[i].key == ms[i-1].key
		}
		if !dup {
			return ms
		}
	}
	slices.SortStableFunc(ms, func(a, b jmember) int { return strings.Compare(a.key, b.key) })
	out := ms[:0]
	for i, m := range ms {
		if i+1 < len(ms) && ms[i+1].key == m.key {
			continue
		}
		out = append(out, m)
	}
	return out
}

func (p *jparser) str() (string, error) {
	if p.i >= len(p.data) || p.data[p.i] != '"' {
		return "", errSyntax
	}
	p.i++
	start := p.i
	high := false
	for p.i < len(p.data) {
		switch c := p.data[p.i]; {
		case c == '"':
			if high && !utf8.Valid(p.data[start:p.i]) {
				return p.escaped(start) // encoding/json replaces what is not UTF-8
			}
			var s string
			if p.i > start {
				// The tree lives only while canonical writes it out, and
				// nobody writes to the JSON meanwhile: share its bytes.
				s = unsafe.String(&p.data[start], p.i-start)
			}
			p.i++
			return s, nil
		case c >= 0x80:
			high = true
		case c == '\\':
			// Rare in manifests: let encoding/json unescape it.
			return p.escaped(start)
		case c < 0x20:
			return "", errSyntax
		}
		p.i++
	}
	return "", errSyntax
}

func (p *jparser) escaped(start int) (string, error) {
	end := p.i
	for end < len(p.data) && p.data[end] != '"' {
		if p.data[end] == '\\' {
			end++
		}
		end++
	}
	if end >= len(p.data) {
		return "", errSyntax
	}
	var s string
	if err := json.Unmarshal(p.data[start-1:end+1], &s); err != nil {
		return "", errSyntax
	}
	p.i = end + 1
	return s, nil
}

// canonical writes the object JSON holds (encoding/json's output for a
// Kubernetes object) as canonical YAML and as compact JSON with sorted
// keys, without status or a null metadata.creationTimestamp: the API
// server owns them, and output must be a pure function of the intent.
func canonical(raw []byte) (yamlOut, jsonOut []byte, err error) {
	return canonicalAs(raw, true)
}

// canonicalAs is canonical, writing the YAML only withYAML.
func canonicalAs(raw []byte, withYAML bool) (yamlOut, jsonOut []byte, err error) {
	root, err := parseJSON(raw)
	if err != nil {
		return nil, nil, err
	}
	if root.kind != jObject {
		return nil, nil, fmt.Errorf("manifest: a JSON %s is not an object", [...]string{"null", "boolean", "number", "string", "array"}[root.kind])
	}
	return canonicalTree(root, len(raw), withYAML)
}

// canonicalTree is canonical for an object already read, whose JSON is
// about size bytes; without withYAML it writes only the JSON.
func canonicalTree(root jnode, size int, withYAML bool) (yamlOut, jsonOut []byte, err error) {
	root.members = slices.DeleteFunc(root.members, func(m jmember) bool { return m.key == "status" })
	for i := range root.members {
		if md := &root.members[i]; md.key == "metadata" && md.val.kind == jObject {
			md.val.members = slices.DeleteFunc(md.val.members, func(m jmember) bool {
				return m.key == "creationTimestamp" && m.val.kind == jNull
			})
		}
	}
	// Both are written into a buffer kept from object to object and
	// copied out at their length: sized from the estimate instead, a
	// large output's JSON held half as much again as its bytes (a buffer
	// grows by doubling), all of it alive until the checks end.
	sp := scratch.Get().(*[]byte)
	defer func() {
		if cap(*sp) <= 1<<20 { // a rare huge object's buffer is not kept
			scratch.Put(sp)
		}
	}()
	if withYAML {
		w := yamlWriter{buf: slices.Grow((*sp)[:0], size+size/4)}
		if len(root.members) == 0 {
			w.buf = append(w.buf, "{}\n"...)
		} else {
			w.mapping(root.members, 0, false)
		}
		*sp = w.buf
		if w.fallback {
			yamlOut, err = toYAMLReference(root.plain())
			if err != nil {
				return nil, nil, err
			}
		} else {
			yamlOut = bytes.Clone(w.buf)
		}
	}
	*sp = appendJSON((*sp)[:0], &root)
	return yamlOut, bytes.Clone(*sp), nil
}

var scratch = sync.Pool{New: func() any { return new([]byte) }}

// plain converts n to the JSON-shaped data toYAMLReference takes.
func (n *jnode) plain() any {
	switch n.kind {
	case jBool:
		return n.text == "true"
	case jNumber:
		return json.Number(n.text)
	case jString:
		return n.text
	case jArray:
		out := make([]any, len(n.elems))
		for i := range n.elems {
			out[i] = n.elems[i].plain()
		}
		return out
	case jObject:
		out := make(map[string]any, len(n.members))
		for i := range n.members {
			out[n.members[i].key] = n.members[i].val.plain()
		}
		return out
	}
	return nil
}

// yamlWriter writes the block layout yaml.v3 gives with SetIndent(2) and
// CompactSeqIndent: a mapping's entries one per line at its indentation, a
// sequence's items at its key's indentation, the first entry of a
// collection that is a sequence item on the item's own line ("- a: 1"),
// and an empty collection as {} or [] in flow style.
type yamlWriter struct {
	buf      []byte
	fallback bool // a document the direct writer cannot write exactly
}

func (w *yamlWriter) indent(n int) {
	for range n {
		w.buf = append(w.buf, ' ')
	}
}

// mapping writes ms at indentation ind; inline says the cursor already
// stands there (after "- ").
func (w *yamlWriter) mapping(ms []jmember, ind int, inline bool) {
	for i := range ms {
		if w.fallback {
			return
		}
		m := &ms[i]
		if i > 0 || !inline {
			w.indent(ind)
		}
		if !simpleKey(m.key) {
			w.fallback = true // yaml.v3 may write "? key"
			return
		}
		w.scalar(jString, m.key)
		w.buf = append(w.buf, ':')
		switch v := &m.val; {
		case v.kind == jObject && len(v.members) > 0:
			w.buf = append(w.buf, '\n')
			w.mapping(v.members, ind+2, false)
		case v.kind == jArray && len(v.elems) > 0:
			w.buf = append(w.buf, '\n')
			w.sequence(v.elems, ind, false)
		default:
			w.buf = append(w.buf, ' ')
			w.leaf(v)
			w.buf = append(w.buf, '\n')
		}
	}
}

func (w *yamlWriter) sequence(es []jnode, ind int, inline bool) {
	for i := range es {
		if w.fallback {
			return
		}
		if i > 0 || !inline {
			w.indent(ind)
		}
		w.buf = append(w.buf, '-', ' ')
		switch v := &es[i]; {
		case v.kind == jObject && len(v.members) > 0:
			w.mapping(v.members, ind+2, true)
		case v.kind == jArray && len(v.elems) > 0:
			w.sequence(v.elems, ind+2, true)
		default:
			w.leaf(v)
			w.buf = append(w.buf, '\n')
		}
	}
}

// leaf writes a scalar or an empty collection.
func (w *yamlWriter) leaf(v *jnode) {
	switch v.kind {
	case jObject:
		w.buf = append(w.buf, '{', '}')
	case jArray:
		w.buf = append(w.buf, '[', ']')
	case jNull:
		w.buf = append(w.buf, "null"...)
	default:
		w.scalar(v.kind, v.text)
	}
}

func (w *yamlWriter) scalar(kind jkind, s string) {
	switch {
	case kind == jBool:
		w.buf = append(w.buf, s...)
	case kind == jNumber && plainInt(s), kind == jString && plainString(s):
		w.buf = append(w.buf, s...)
	default:
		text, ok := styled(kind, s)
		if !ok {
			w.fallback = true
			return
		}
		w.buf = append(w.buf, text...)
	}
}

// simpleKey reports whether k is certainly written as a simple key: libyaml
// writes a key longer than 128 bytes or with a line break in it (which
// includes \r and Unicode's NEL and line and paragraph separators) as
// "? key".
func simpleKey(k string) bool {
	if len(k) > 128 {
		return false
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x20 || k[i] >= 0x80 {
			return false
		}
	}
	return true
}

// plainInt reports whether yaml.v3 writes the JSON number n as it is: an
// integer that fits int64 resolves back to !!int.
func plainInt(n string) bool {
	digits := strings.TrimPrefix(n, "-")
	if len(digits) == 0 || len(digits) > 18 || (digits[0] == '0' && len(digits) > 1) {
		return false
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return false
		}
	}
	return true
}

// plainString reports whether yaml.v3 writes s plain, for a class of
// strings where that is certain: it resolves to !!str (its first byte
// gives yaml.v3's resolver no hint of another type, or only the hint of a
// bool or null word it is not), and libyaml's scalar analysis finds no
// indicator, space, break or special character in it. Everything else is
// asked of yaml.v3 (styled).
func plainString(s string) bool {
	if len(s) == 0 {
		return false
	}
	switch c := s[0]; {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '_', c == '/':
	default:
		return false // digits, signs, '.', '~', '<' and indicators
	}
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '-', c == '.', c == '_', c == '/', c == ',', c == '*', c == '=', c == '+', c == '@':
		case c == ':' && i < len(s)-1: // "a:" would end in a mapping indicator
		default:
			return false
		}
	}
	switch s {
	case "true", "True", "TRUE", "false", "False", "FALSE", "null", "Null", "NULL":
		return false
	}
	return true
}

// styleCache holds yaml.v3's rendering of the scalars plainString does
// not cover; a compile asks about a few distinct values many times (CIDRs,
// quoted numbers). It stops growing at styleCacheMax entries, so a
// long-running process (the webhook) cannot be made to hold every value
// it ever saw.
var (
	styleCache     sync.Map // styleKey → styleResult
	styleCacheSize atomic.Int64
)

const styleCacheMax = 1 << 16

type styleKey struct {
	kind jkind
	s    string
}

type styleResult struct {
	text string
	ok   bool
}

// styled returns the single-line rendering yaml.v3 gives a scalar as a
// block mapping's value, which is also its rendering as a sequence item
// and as a (short, single-line) key; ok is false when that is not one line
// (a multi-line string becomes a literal block).
func styled(kind jkind, s string) (string, bool) {
	k := styleKey{kind, s}
	if r, ok := styleCache.Load(k); ok {
		return r.(styleResult).text, r.(styleResult).ok
	}
	r := probe(kind, s)
	if styleCacheSize.Load() < styleCacheMax {
		styleCache.Store(styleKey{kind, strings.Clone(s)}, r)
		styleCacheSize.Add(1)
	}
	return r.text, r.ok
}

func probe(kind jkind, s string) styleResult {
	if strings.ContainsAny(s, "\r\n\u0085\u2028\u2029") {
		// A line break (libyaml counts these) is written as one, at the
		// indentation of wherever the scalar stands.
		return styleResult{}
	}
	tag := "!!str"
	if kind == jNumber {
		tag = numberTag(s)
	}
	doc := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Content: []*yaml.Node{
		{Kind: yaml.ScalarNode, Tag: "!!str", Value: "k"}, scalarNode(tag, s),
	}}
	out, err := yaml.Marshal(doc)
	text, found := strings.CutPrefix(string(out), "k: ")
	text, single := strings.CutSuffix(text, "\n")
	if err != nil || !found || !single || strings.Contains(text, "\n") {
		return styleResult{}
	}
	return styleResult{text: text, ok: true}
}

// appendJSON writes n as compact JSON, keys sorted.
func appendJSON(buf []byte, n *jnode) []byte {
	switch n.kind {
	case jNull:
		return append(buf, "null"...)
	case jBool, jNumber:
		return append(buf, n.text...)
	case jString:
		return appendJSONString(buf, n.text)
	case jArray:
		buf = append(buf, '[')
		for i := range n.elems {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = appendJSON(buf, &n.elems[i])
		}
		return append(buf, ']')
	}
	buf = append(buf, '{')
	for i := range n.members {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = appendJSONString(buf, n.members[i].key)
		buf = append(buf, ':')
		buf = appendJSON(buf, &n.members[i].val)
	}
	return append(buf, '}')
}

func appendJSONString(buf []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x80 {
			b, _ := json.Marshal(s) // escapes, and valid UTF-8 whatever s holds
			return append(buf, b...)
		}
	}
	buf = append(buf, '"')
	buf = append(buf, s...)
	return append(buf, '"')
}
