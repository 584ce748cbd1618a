package lint

import (
	"maps"
	"sync"
	"sync/atomic"

	"github.com/open-policy-agent/opa/v1/ast"
)

// OPA looks a key up in an object by its hash and then compares the key
// found with the one asked for: by pointer first, then by value. The
// policies ask for keys with their own string terms (input.metadata,
// object.get(vs, "spec", {})), one term per place in the source, and
// the objects' keys are the reader's, so every look-up compared the two
// strings byte by byte. Both sides now take their strings from one table:
// the compiled policies' string terms in refs and call arguments are
// replaced by the table's (equal values, so nothing the evaluator
// computes changes), and the JSON reader builds a string it finds there
// from the same term, so that the look-up's pointer comparison decides.

var (
	stringTermsMu sync.Mutex
	stringTerms   atomic.Pointer[map[string]*ast.Term]
)

// policyString is the term of the string b: the policies' own if they
// use it, else a new one.
func policyString(b []byte) *ast.Term {
	if m := stringTerms.Load(); m != nil {
		if t, ok := (*m)[string(b)]; ok { // no allocation for the look-up
			return t
		}
	}
	return ast.StringTerm(string(b))
}

// keyTerm is policyString for a string.
func keyTerm(s string) *ast.Term {
	if m := stringTerms.Load(); m != nil {
		if t, ok := (*m)[s]; ok {
			return t
		}
	}
	return ast.StringTerm(s)
}

// shareStringTerms makes the string terms of refs and call arguments in
// c's modules the table's, adding the strings not yet in it. It must run
// before any query is prepared on c. Engines made one after another add
// to one table: a term of an earlier engine's table that a later one
// lacks costs a comparison, never a wrong result.
func shareStringTerms(c *ast.Compiler) {
	stringTermsMu.Lock()
	defer stringTermsMu.Unlock()
	next := map[string]*ast.Term{}
	if m := stringTerms.Load(); m != nil {
		maps.Copy(next, *m)
	}
	share := func(ts []*ast.Term, from int) {
		for i := from; i < len(ts); i++ {
			s, ok := ts[i].Value.(ast.String)
			if !ok {
				continue
			}
			t, ok := next[string(s)]
			if !ok {
				t = ast.NewTerm(s)
				next[string(s)] = t
			}
			ts[i] = t
		}
	}
	// One walk: a call's operands (object.get(x, "spec", {}) looks
	// "spec" up) and every ref's elements.
	visit := ast.NewGenericVisitor(func(x any) bool {
		switch x := x.(type) {
		case *ast.Expr:
			if ts, ok := x.Terms.([]*ast.Term); ok {
				share(ts, 1)
			}
		case ast.Ref:
			share(x, 1)
		case ast.Call:
			share(x, 1)
		}
		return false
	})
	for _, m := range c.Modules {
		visit.Walk(m)
	}
	stringTerms.Store(&next)
}
