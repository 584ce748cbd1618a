package intent

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/intentc/intentc/compiler/diag"
)

// Limits that keep hostile input from costing memory or time. Real intents
// are far below each of them.
const (
	maxDepth      = 64
	maxNodeVisits = 1 << 20 // bounds alias expansion (a "billion laughs" file)
)

// decoder fills Go values from yaml.v3 nodes, recording the position of every
// path it visits and reporting every problem instead of stopping at the first.
type decoder struct {
	file   string
	diags  *diag.List
	pos    posList
	keys   *posList // position of the key naming each path, when kept
	visits int
	bombed bool
}

// lineCol is a position in the decoder's file. Every field of every
// document keeps two (Document.positions and keys): as a diag.Pos, with
// its file name in each, they were most of a parsed intent's memory (129
// of 156 MB at 10,000 services).
type lineCol struct{ line, col int32 }

func (d *decoder) at(n *yaml.Node) diag.Pos {
	return diag.Pos{File: d.file, Line: n.Line, Col: n.Column}
}

func lineColOf(n *yaml.Node) lineCol { return lineCol{int32(n.Line), int32(n.Column)} }

// resolve follows aliases, charging each expansion against the visit budget.
func (d *decoder) resolve(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func (d *decoder) charge(n *yaml.Node) bool {
	d.visits++
	if d.visits > maxNodeVisits {
		if !d.bombed {
			d.bombed = true
			d.diags.Add(diag.CodeAliases, d.at(n), "document expands to more than %d nodes through aliases; refusing it", maxNodeVisits)
		}
		return false
	}
	return true
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return "null"
		case "!!int":
			return "an integer"
		case "!!float":
			return "a number"
		case "!!bool":
			return "a boolean"
		case "!!str":
			return fmt.Sprintf("the string %q", truncate(n.Value, 40))
		default:
			// !!binary, !!timestamp or a custom tag: naming it explains why a
			// string field refuses what looks like a string.
			return fmt.Sprintf("a %s value", n.ShortTag())
		}
	}
	return "a value"
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n-- // never cut a character in half
	}
	return s[:n] + "…"
}

func typeName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Pointer:
		return typeName(t.Elem())
	case reflect.Struct:
		return "a mapping"
	case reflect.Map:
		return "a mapping of strings"
	case reflect.Slice:
		return "a list"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int32, reflect.Int64, reflect.Int:
		return "an integer"
	}
	return t.String()
}

// decode fills v (addressable) from n; path is the JSON path of v.
func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string, depth int) {
	if d.bombed || !d.charge(n) {
		return
	}
	if depth > maxDepth {
		d.diags.Add(diag.CodeTooDeep, d.at(n), "nesting deeper than %d levels", maxDepth)
		d.bombed = true
		return
	}
	n = d.resolve(n)
	d.pos.set(path, lineColOf(n))
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return // null means "not set", as in Kubernetes
	}
	t := v.Type()
	switch t.Kind() {
	case reflect.Pointer:
		// A scalar that fails to decode leaves the field unset, so later
		// stages see "not written" (and its default), not a zero value.
		nv := reflect.New(t.Elem())
		before := len(*d.diags)
		d.decode(n, nv.Elem(), path, depth)
		if t.Elem().Kind() == reflect.Struct || len(*d.diags) == before {
			v.Set(nv)
		}
	case reflect.Struct:
		d.decodeStruct(n, v, path, depth)
	case reflect.Map:
		d.decodeMap(n, v, path, depth)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.wrongType(n, t, path)
			return
		}
		s := reflect.MakeSlice(t, len(n.Content), len(n.Content))
		for i, c := range n.Content {
			d.decode(c, s.Index(i), fmt.Sprintf("%s[%d]", path, i), depth+1)
		}
		v.Set(s)
	case reflect.String:
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
			d.wrongType(n, t, path)
			return
		}
		v.SetString(n.Value)
	case reflect.Bool:
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" {
			d.wrongType(n, t, path)
			return
		}
		b, _ := strconv.ParseBool(strings.ToLower(n.Value))
		v.SetBool(b)
	case reflect.Int32, reflect.Int64, reflect.Int:
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" {
			d.wrongType(n, t, path)
			return
		}
		i, err := strconv.ParseInt(strings.ReplaceAll(n.Value, "_", ""), 0, t.Bits())
		if err != nil {
			d.diags.Add(diag.CodeWrongType, d.at(n), "%s: %s does not fit a %d-bit integer", path, n.Value, t.Bits())
			return
		}
		v.SetInt(i)
	default:
		panic("intent: unsupported field type " + t.String()) // a programming error in types.go
	}
}

func (d *decoder) wrongType(n *yaml.Node, t reflect.Type, path string) {
	d.diags.Add(diag.CodeWrongType, d.at(n), "%s: expected %s, got %s", path, typeName(t), kindName(n))
}

// keyValues walks a mapping, reporting duplicate keys and non-string keys, and
// calls f for each remaining key/value pair.
func (d *decoder) keyValues(n *yaml.Node, path string, f func(key string, k, v *yaml.Node)) {
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := d.resolve(n.Content[i]), n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			d.diags.Add(diag.CodeWrongType, d.at(k), "%s: mapping keys must be strings, got %s", path, kindName(k))
			continue
		}
		if k.Value == "<<" && k.ShortTag() == "!!merge" {
			d.diags.Add(diag.CodeUnknownField, d.at(k), "%s: YAML merge keys (<<) are not supported; write the fields out", path)
			continue
		}
		if first, dup := seen[k.Value]; dup {
			d.diags.Add(diag.CodeDuplicateKey, d.at(k), "%s: key %q appears twice", path, truncate(k.Value, 64)).
				WithRelated(d.at(first), "first set here")
			continue
		}
		seen[k.Value] = k
		f(k.Value, k, val)
	}
}

func (d *decoder) decodeMap(n *yaml.Node, v reflect.Value, path string, depth int) {
	if n.Kind != yaml.MappingNode {
		d.wrongType(n, v.Type(), path)
		return
	}
	m := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
	elem := v.Type().Elem()
	d.keyValues(n, path, func(key string, k, val *yaml.Node) {
		val = d.resolve(val)
		p := path + "." + key
		d.pos.set(p, lineColOf(val))
		// Label and header values are strings to Kubernetes and Istio, but
		// people write `x-canary: true`; keep the literal text.
		if elem.Kind() == reflect.String {
			if val.Kind != yaml.ScalarNode || val.ShortTag() == "!!null" {
				d.diags.Add(diag.CodeWrongType, d.at(val), "%s: expected a string, got %s", p, kindName(val))
				return
			}
			m.SetMapIndex(reflect.ValueOf(key), reflect.ValueOf(val.Value))
			return
		}
		e := reflect.New(elem).Elem()
		d.decode(val, e, p, depth+1)
		m.SetMapIndex(reflect.ValueOf(key), e)
	})
	v.Set(m)
}

// field is one JSON-tagged struct field, possibly promoted from an inline struct.
type field struct {
	name     string
	index    []int
	required bool
	enum     []string
}

// fieldCache holds fieldsOf's answer per type: every document decodes
// the same few types.
var fieldCache sync.Map // reflect.Type → []field

func fieldsOf(t reflect.Type) []field {
	if f, ok := fieldCache.Load(t); ok {
		return f.([]field)
	}
	out := fieldsOfUncached(t)
	fieldCache.Store(t, out)
	return out
}

func fieldsOfUncached(t reflect.Type) []field {
	var out []field
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if opts == "inline" {
			for _, sub := range fieldsOf(f.Type) {
				sub.index = append([]int{i}, sub.index...)
				out = append(out, sub)
			}
			continue
		}
		var enum []string
		if e := f.Tag.Get("enum"); e != "" {
			enum = strings.Split(e, ",")
		}
		out = append(out, field{name: name, index: []int{i}, required: !strings.Contains(opts, "omitempty"), enum: enum})
	}
	return out
}

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, path string, depth int) {
	if n.Kind != yaml.MappingNode {
		d.wrongType(n, v.Type(), path)
		return
	}
	fields := fieldsOf(v.Type())
	byName := make(map[string]field, len(fields))
	names := make([]string, 0, len(fields))
	for _, f := range fields {
		byName[f.name] = f
		names = append(names, f.name)
	}
	seen := make(map[string]bool, len(fields))
	reported := make(map[string]bool) // fields whose value already has a finding
	d.keyValues(n, path, func(key string, k, val *yaml.Node) {
		seen[key] = true
		before := len(*d.diags)
		defer func() { reported[key] = len(*d.diags) > before }()
		if d.keys != nil {
			d.keys.set(join(path, key), lineColOf(k))
		}
		f, ok := byName[key]
		if !ok {
			msg := fmt.Sprintf("%s: unknown field %q", join(path, ""), truncate(key, 64)) // a hostile key can be megabytes
			if s := Suggest(key, names); s != "" {
				msg += fmt.Sprintf("; did you mean %q?", s)
			}
			d.diags.Add(diag.CodeUnknownField, d.at(k), "%s", msg)
			return
		}
		fv := v.FieldByIndex(f.index)
		d.decode(val, fv, join(path, key), depth+1)
		if f.enum != nil && fv.Kind() == reflect.String && fv.Len() > 0 && !slices.Contains(f.enum, fv.String()) {
			msg := fmt.Sprintf("%s: %q is not one of %s", join(path, key), truncate(fv.String(), 64), strings.Join(f.enum, ", "))
			if s := Suggest(fv.String(), f.enum); s != "" {
				msg += fmt.Sprintf("; did you mean %q?", s)
			}
			d.diags.Add(diag.CodeInvalidValue, d.at(d.resolve(val)), "%s", msg)
			fv.SetString("") // dropped: later stages see the default, not a bad value
		}
	})
	for _, f := range fields {
		if !f.required {
			continue
		}
		fv := v.FieldByIndex(f.index)
		switch {
		case reported[f.name]:
			// "expected a string" or "not one of ..." already said what is
			// wrong; "must not be empty" on top would report it twice.
		case !seen[f.name]:
			d.diags.Add(diag.CodeMissingField, d.at(n), "%s: missing required field %q", join(path, ""), f.name)
		case fv.Kind() == reflect.Slice && fv.Len() == 0, fv.Kind() == reflect.String && fv.Len() == 0:
			at, _ := d.pos.get(join(path, f.name))
			pos := at.in(d.file)
			d.diags.Add(diag.CodeMissingField, pos, "%s must not be empty", join(path, f.name))
		}
	}
}

func join(path, key string) string {
	switch {
	case path == "":
		if key == "" {
			return "document"
		}
		return key
	case key == "":
		return path
	}
	return path + "." + key
}
