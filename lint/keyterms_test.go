package lint

import (
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
	"go.yaml.in/yaml/v3"
)

// The policies and the values they read must share their key terms, or
// every key look-up compares strings again (keyterms.go).
func TestPolicyAndValueShareKeyTerms(t *testing.T) {
	c := builtinCompiler(t)

	refKeys := map[string]*ast.Term{}
	for _, m := range c.Modules {
		// The rules' bodies, where the look-ups are (not the package and
		// rule names).
		ast.WalkBodies(m, func(b ast.Body) bool {
			ast.WalkRefs(b, func(r ast.Ref) bool {
				for _, k := range r[1:] {
					s, ok := k.Value.(ast.String)
					if !ok {
						continue
					}
					if prev, ok := refKeys[string(s)]; ok && prev != k {
						t.Errorf("two terms for %s in the compiled policies' refs", s)
					}
					refKeys[string(s)] = k
				}
				return false
			})
			return true
		})
	}
	for _, k := range []string{"metadata", "namespace", "spec", "apiVersion"} {
		if refKeys[k] == nil {
			t.Fatalf("the policies read no %q: the test checks nothing", k)
		}
	}

	fromJSON, err := valueFromJSON([]byte(`{"apiVersion":"v1","metadata":{"namespace":"a"},"spec":{}}`), newInterner())
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte("apiVersion: v1\nmetadata:\n  namespace: a\nspec: {}\n"), &doc); err != nil {
		t.Fatal(err)
	}
	fromYAML, err := toValue(doc.Content[0])
	if err != nil {
		t.Fatal(err)
	}
	for name, v := range map[string]ast.Value{"JSON": fromJSON, "YAML": fromYAML} {
		obj := v.(ast.Object)
		md := obj.Get(ast.StringTerm("metadata")).Value.(ast.Object)
		for _, kv := range []struct {
			obj ast.Object
			key string
		}{{obj, "apiVersion"}, {obj, "metadata"}, {obj, "spec"}, {md, "namespace"}} {
			var got *ast.Term
			kv.obj.Foreach(func(k, _ *ast.Term) {
				if k.Value.Compare(ast.String(kv.key)) == 0 {
					got = k
				}
			})
			if got != refKeys[kv.key] {
				t.Errorf("%s value: key %q is not the policies' term", name, kv.key)
			}
		}
	}
}
