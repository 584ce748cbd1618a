package verify

import (
	"encoding"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.yaml.in/yaml/v3"
)

// Decoding the manifests' specs with yaml.v3 was a tenth of the proof:
// it resolves every scalar's tag again and looks each field up through a
// lock. decode fills the same structs from the same nodes with a plan per
// type, following yaml.v3's rules (decode.go: unmarshal, prepare,
// mapping, mappingStruct, sequence, scalar) for what intentc and most
// hand-written manifests hold: mappings into structs and string-keyed
// maps, sequences into slices, plain and quoted scalars into strings,
// decimal integers and true/false, yaml.Unmarshaler. A struct field of a
// type the plan does not follow (a *yaml.Node, a duration, a float) or a
// null is decoded by yaml.v3 itself, on that node into that field, which
// is what yaml.v3 would do there. Anything else — a merge key, a
// repeated key, a tag, an anchor, a value yaml.v3 would convert or
// refuse, an unmarshaler's error — makes decode start over with yaml.v3
// on the whole value, for yaml.v3's result and errors.
// TestDecodeAsYAML holds the two equal.

// decode decodes n into v (a non-nil pointer) as n.Decode(v) does.
func decode(n *yaml.Node, v any) error {
	out := reflect.ValueOf(v).Elem()
	if decodeValue(n, out) {
		return nil
	}
	out.SetZero()
	return n.Decode(v)
}

var (
	unmarshalerType     = reflect.TypeFor[yaml.Unmarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
	nodeType            = reflect.TypeFor[yaml.Node]()
)

// decodeValue decodes n into out, or reports false for decode to start
// over: out may then be half written.
func decodeValue(n *yaml.Node, out reflect.Value) bool {
	if n.Kind == yaml.AliasNode || n.Kind == yaml.DocumentNode || n.Style&yaml.TaggedStyle != 0 || n.ShortTag() == "!!null" {
		return false
	}
	t := out.Type()
	if t == nodeType {
		return false
	}
	for t.Kind() == reflect.Pointer {
		if out.IsNil() {
			out.Set(reflect.New(t.Elem()))
		}
		out, t = out.Elem(), t.Elem()
		if t == nodeType {
			return false
		}
	}
	if pt := reflect.PointerTo(t); pt.Implements(unmarshalerType) {
		return out.Addr().Interface().(yaml.Unmarshaler).UnmarshalYAML(n) == nil
	} else if _, old := pt.MethodByName("UnmarshalYAML"); old {
		return false // yaml.v2's unmarshaler, which yaml.v3 still calls
	}
	switch n.Kind {
	case yaml.ScalarNode:
		return decodeScalar(n, out)
	case yaml.MappingNode:
		if !uniqueKeys(n) {
			return false
		}
		switch t.Kind() {
		case reflect.Struct:
			return decodeStruct(n, out)
		case reflect.Map:
			return decodeMap(n, out)
		}
		return false
	case yaml.SequenceNode:
		if t.Kind() != reflect.Slice {
			return false
		}
		s := reflect.MakeSlice(t, len(n.Content), len(n.Content))
		for i, c := range n.Content {
			if !decodeValue(c, s.Index(i)) {
				return false // yaml.v3 would drop the element, or fail
			}
		}
		out.Set(s)
		return true
	}
	return false
}

// decodeScalar follows yaml.v3's scalar for a plain or quoted scalar that
// is not null: a string gets the text, whatever it resolves to; an integer
// a decimal that resolves to one; a bool true or false.
func decodeScalar(n *yaml.Node, out reflect.Value) bool {
	t := out.Type()
	if reflect.PointerTo(t).Implements(textUnmarshalerType) || t == reflect.TypeFor[time.Duration]() {
		return false
	}
	tag := n.ShortTag()
	switch t.Kind() {
	case reflect.String:
		if tag == "!!binary" {
			return false
		}
		out.SetString(n.Value)
		return true
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if tag != "!!int" || !decimal(n.Value) {
			return false
		}
		i, err := strconv.ParseInt(n.Value, 10, 64)
		if err != nil || out.OverflowInt(i) {
			return false
		}
		out.SetInt(i)
		return true
	case reflect.Bool:
		if tag != "!!bool" || n.Value != "true" && n.Value != "false" {
			return false
		}
		out.SetBool(n.Value == "true")
		return true
	}
	return false
}

// decimal reports whether s is an integer written plainly: yaml.v3 reads
// the same number from it that strconv does in base 10.
func decimal(s string) bool {
	s = strings.TrimPrefix(s, "-")
	if s == "" || len(s) > 1 && s[0] == '0' {
		return false
	}
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// uniqueKeys reports whether n's keys are plain strings, none of them a
// merge key, none repeated (which yaml.v3 reports as an error).
func uniqueKeys(n *yaml.Node) bool {
	for i := 0; i < len(n.Content); i += 2 {
		k := n.Content[i]
		if k.Kind != yaml.ScalarNode || k.Style&yaml.TaggedStyle != 0 || k.Value == "<<" {
			return false
		}
		if tag := k.ShortTag(); tag == "!!null" || tag == "!!binary" {
			return false
		}
		for j := i + 2; j < len(n.Content); j += 2 {
			if n.Content[j].Value == k.Value {
				return false
			}
		}
	}
	return true
}

func decodeMap(n *yaml.Node, out reflect.Value) bool {
	t := out.Type()
	if t.Key().Kind() != reflect.String || reflect.PointerTo(t.Key()).Implements(textUnmarshalerType) || reflect.PointerTo(t.Key()).Implements(unmarshalerType) {
		return false
	}
	if out.IsNil() {
		out.Set(reflect.MakeMapWithSize(t, len(n.Content)/2))
	}
	for i := 0; i < len(n.Content); i += 2 {
		k := reflect.New(t.Key()).Elem()
		k.SetString(n.Content[i].Value)
		e := reflect.New(t.Elem()).Elem()
		if !decodeValue(n.Content[i+1], e) {
			return false // a null is kept by yaml.v3 in ways not worth following
		}
		out.SetMapIndex(k, e)
	}
	return true
}

func decodeStruct(n *yaml.Node, out reflect.Value) bool {
	p := yamlPlanOf(out.Type())
	if p == nil {
		return false
	}
	for i := 0; i < len(n.Content); i += 2 {
		f, ok := p[n.Content[i].Value]
		if !ok {
			continue // yaml.v3 ignores unknown keys too
		}
		v := n.Content[i+1]
		fv := out.Field(f)
		if v.Kind == yaml.ScalarNode && v.ShortTag() == "!!null" || fieldByYAML(fv.Type()) {
			// yaml.v3's own decoding of this node into this field: it
			// ignores what a field's decoding reports.
			if v.Kind == yaml.AliasNode || v.Decode(fv.Addr().Interface()) != nil {
				return false
			}
			continue
		}
		if !decodeValue(v, fv) {
			return false
		}
	}
	return true
}

// fieldByYAML reports the field types decodeStruct leaves to yaml.v3:
// what decodeValue does not follow and has no element decodeValue would
// have to decline for.
func fieldByYAML(t reflect.Type) bool {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Float32, reflect.Float64, reflect.Interface:
		return true
	}
	return t == nodeType || t == reflect.TypeFor[time.Duration]()
}

var yamlPlans sync.Map // reflect.Type → map[string]int (nil: not followed)

// yamlPlanOf maps a struct's keys to its fields as yaml.v3's
// getStructInfo does (the tag's name, else the field's name in lower
// case; "-" and unexported fields skipped), or is nil for a struct with
// what it does not follow: inline or embedded fields, tag options other
// than omitempty and flow, a tag without a key, a repeated key.
func yamlPlanOf(t reflect.Type) map[string]int {
	if p, ok := yamlPlans.Load(t); ok {
		return p.(map[string]int)
	}
	p := map[string]int{}
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Anonymous {
			p = nil
			break
		}
		if !f.IsExported() {
			continue
		}
		tag, ok := f.Tag.Lookup("yaml")
		if !ok && f.Tag != "" && !strings.Contains(string(f.Tag), ":") {
			p = nil // yaml.v3 would read a tag without a key as the whole tag
			break
		}
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		for o := range strings.SplitSeq(opts, ",") {
			if o != "" && o != "omitempty" && o != "flow" {
				p = nil
			}
		}
		if p == nil {
			break
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		if _, dup := p[name]; dup {
			p = nil
			break
		}
		p[name] = i
	}
	yamlPlans.Store(t, p)
	return p
}
