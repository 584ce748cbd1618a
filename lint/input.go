package lint

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"go.yaml.in/yaml/v3"

	"github.com/intentc/intentc/internal/fastyaml"
)

// maxNodes bounds the values one document may expand to: aliases can make a
// small hand-written file expand without limit, and lint also runs in the
// admission webhook.
const maxNodes = 1 << 20

var errTooLarge = errors.New("document expands to more than a million values (aliases?)")

// toValue converts a YAML (or JSON) document to the Rego value OPA
// evaluates, once per object: the same value is the input of every query
// and the element of every bundle, so it is never converted again. Map keys
// become strings, as Kubernetes reads them (portLevelMtls: {9080: ...}).
func toValue(n *yaml.Node) (ast.Value, error) {
	budget := maxNodes
	return convert(n, &budget, 0)
}

func convert(n *yaml.Node, budget *int, depth int) (ast.Value, error) {
	*budget--
	if *budget < 0 || depth > 10000 {
		return nil, errTooLarge
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return ast.Null{}, nil
		}
		return convert(n.Content[0], budget, depth+1)
	case yaml.AliasNode:
		return convert(n.Alias, budget, depth+1)
	case yaml.SequenceNode:
		terms := make([]*ast.Term, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := convert(c, budget, depth+1)
			if err != nil {
				return nil, err
			}
			terms = append(terms, ast.NewTerm(v))
		}
		return ast.NewArray(terms...), nil
	case yaml.MappingNode:
		obj := ast.NewObject()
		if err := mergeInto(obj, n, budget, depth); err != nil {
			return nil, err
		}
		return obj, nil
	case yaml.ScalarNode:
		return scalar(n)
	}
	return ast.Null{}, nil
}

// mergeInto adds a mapping's pairs to obj; keys written in the mapping win
// over those merged in with "<<", and a later key over an earlier one (as
// yaml.v3 decodes them).
func mergeInto(obj ast.Object, n *yaml.Node, budget *int, depth int) error {
	var merged []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.Tag == "!!merge" {
			merged = append(merged, v)
			continue
		}
		key := k.Value
		if k.Kind == yaml.AliasNode && k.Alias != nil {
			key = k.Alias.Value
		}
		val, err := convert(v, budget, depth+1)
		if err != nil {
			return err
		}
		obj.Insert(keyTerm(key), ast.NewTerm(val))
	}
	for _, m := range merged {
		if m.Kind == yaml.AliasNode {
			m = m.Alias
		}
		sources := []*yaml.Node{m}
		if m.Kind == yaml.SequenceNode {
			sources = m.Content
		}
		for _, s := range sources {
			if s.Kind == yaml.AliasNode {
				s = s.Alias
			}
			if s.Kind != yaml.MappingNode {
				continue
			}
			sub := ast.NewObject()
			if err := mergeInto(sub, s, budget, depth+1); err != nil {
				return err
			}
			sub.Foreach(func(k, v *ast.Term) {
				if obj.Get(k) == nil {
					obj.Insert(k, v)
				}
			})
		}
	}
	return nil
}

func scalar(n *yaml.Node) (ast.Value, error) {
	switch n.ShortTag() {
	case "!!null":
		return ast.Null{}, nil
	case "!!bool":
		var b bool
		if err := n.Decode(&b); err != nil {
			return ast.String(n.Value), nil
		}
		return ast.Boolean(b), nil
	case "!!int":
		var i int64
		if err := n.Decode(&i); err == nil {
			return ast.Number(strconv.FormatInt(i, 10)), nil
		}
		var u uint64
		if err := n.Decode(&u); err == nil {
			return ast.Number(strconv.FormatUint(u, 10)), nil
		}
		return ast.String(n.Value), nil
	case "!!float":
		var f float64
		if err := n.Decode(&f); err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return ast.String(n.Value), nil // .inf and .nan have no JSON form
		}
		return ast.Number(strconv.FormatFloat(f, 'g', -1, 64)), nil
	}
	return ast.String(n.Value), nil
}

// document is one YAML document of a file, with its node for positions.
type document struct {
	node  *yaml.Node
	value ast.Value
}

// parseDocuments reads every document of a YAML or JSON file. JSON is read
// as YAML (so positions are known), and with encoding/json when YAML cannot
// read it (tabs, say); then positions fall back to the file.
func parseDocuments(name string, data []byte) ([]document, error) {
	return parseDocumentsWith(name, data, true)
}

// parseDocumentsWith is parseDocuments; fast false reads every file with
// yaml.v3, as the test holding the two readers equal does.
func parseDocumentsWith(name string, data []byte, fast bool) ([]document, error) {
	var docs []document
	// Most manifests are in the subset fastyaml reads, several times
	// faster than yaml.v3 (which reads the rest, a JSON file among them,
	// and words the syntax errors). It leaves out the empty documents, as
	// the loop below does. Its strings, and so the values', share data's
	// bytes: a source's data is read for the check and never changed.
	if fast {
		if roots, _, err := fastyaml.Parse(data); err == nil {
			for _, r := range roots {
				n := &yaml.Node{Kind: yaml.DocumentNode, Line: r.Line, Column: r.Column, Content: []*yaml.Node{r}}
				v, err := toValue(n)
				if err != nil {
					return docs, err
				}
				docs = append(docs, document{node: n, value: v})
			}
			return docs, nil
		}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var n yaml.Node
		err := safeDecode(dec, &n)
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			if strings.HasSuffix(name, ".json") {
				return parseJSON(data)
			}
			return docs, err
		}
		if len(n.Content) == 0 || n.Content[0].ShortTag() == "!!null" {
			continue // an empty document (a leading or trailing ---)
		}
		v, err := toValue(&n)
		if err != nil {
			return docs, err
		}
		docs = append(docs, document{node: &n, value: v})
	}
}

func parseJSON(data []byte) ([]document, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var x any
	if err := dec.Decode(&x); err != nil {
		return nil, err
	}
	v, err := ast.InterfaceToValue(x)
	if err != nil {
		return nil, err
	}
	return []document{{value: v}}, nil
}

// safeDecode turns a panic in the YAML library into an error: hostile input
// must not crash the linter or the webhook.
func safeDecode(dec *yaml.Decoder, n *yaml.Node) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("YAML decoder failed: %v", r)
		}
	}()
	return dec.Decode(n)
}

// nodeAt returns the node at path (map keys and list indexes) in a
// document, or the deepest node of the path that exists: a finding about a
// field that is missing points at the object that lacks it. A block
// mapping or list is reported at its key, which is where a reader looks
// (the value starts on the next line).
func nodeAt(doc *yaml.Node, path []any) *yaml.Node {
	n := doc
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	var key *yaml.Node
	for _, p := range path {
		if n.Kind == yaml.AliasNode {
			n = n.Alias
		}
		k, next := child(n, p)
		if next == nil {
			break
		}
		key, n = k, next
	}
	if key != nil && (n.Kind == yaml.MappingNode || n.Kind == yaml.SequenceNode) && n.Style&yaml.FlowStyle == 0 {
		return key
	}
	return n
}

// child returns the key (nil for a list item) and the value at p.
func child(n *yaml.Node, p any) (*yaml.Node, *yaml.Node) {
	switch n.Kind {
	case yaml.MappingNode:
		key := fmt.Sprint(p)
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				return n.Content[i], n.Content[i+1]
			}
		}
	case yaml.SequenceNode:
		if i, ok := p.(int); ok && i >= 0 && i < len(n.Content) {
			return nil, n.Content[i]
		}
	}
	return nil, nil
}

// valueAt walks path in a value, calling f on every value on the way (the
// root first).
func valueAt(v ast.Value, path []any, f func(ast.Value)) {
	f(v)
	for _, p := range path {
		var next *ast.Term
		switch x := v.(type) {
		case ast.Object:
			next = x.Get(ast.StringTerm(fmt.Sprint(p)))
		case *ast.Array:
			if i, ok := p.(int); ok && i >= 0 && i < x.Len() {
				next = x.Elem(i)
			}
		}
		if next == nil {
			return
		}
		v = next.Value
		f(v)
	}
}

// str returns the string at key of an object value, or "".
func str(v ast.Value, keys ...string) string {
	for _, k := range keys {
		obj, ok := v.(ast.Object)
		if !ok {
			return ""
		}
		t := obj.Get(ast.StringTerm(k))
		if t == nil {
			return ""
		}
		v = t.Value
	}
	if s, ok := v.(ast.String); ok {
		return string(s)
	}
	return ""
}
