package lint

import (
	"sync"

	"github.com/open-policy-agent/opa/v1/ast"
)

// sharedCache keeps, from one evaluation to the next, the values of the
// rules and function calls that read neither the input nor anything that
// changes between evaluations: the mesh settings the rules read
// (lib.never_managed_patterns, lib.root_namespace), and helpers called
// with plain values (lib.never_managed("team-a"), lib.fqdn(host, ns)). OPA
// keeps such values for one evaluation only, so every object paid for
// them again: lib.never_managed alone was a third of a NetworkPolicy's
// check.
//
// What may be kept is decided once, from the compiled policies
// (inputFree): a rule qualifies when nothing it or what it calls refers
// to input, no builtin it calls is nondeterministic and no expression
// uses with. A function call's value is kept only for arguments that are
// scalars or short flat collections of them (eligible), so that keys stay
// small and cheap to compare. Values are kept only from the evaluation's
// base frame (not under with), and only once an evaluation finished
// without error: a value OPA records before finding a conflict is never
// handed to another evaluation. The store's data is part of what such a
// value depends on: reset drops everything when it changes.
//
// It is read on every miss of every evaluation, on every core: reads take
// no lock (sync.Map, whose entries are never modified once stored), and a
// call site's function is looked up once (fnFree, by the compiled term).
type sharedCache struct {
	free   map[int][]ast.Ref // paths of input-free rules and functions, by hash
	fnFree sync.Map          // *ast.Term (a call's function) → bool

	values sync.Map // hash → []cacheEntry, replaced whole on a write
	mu     sync.Mutex
	n      int
}

// maxSharedValues bounds the entries kept: enough for every namespace and
// host of a large fleet, and a bound on what a policy calling a helper
// with ever new arguments can hold.
const maxSharedValues = 1 << 16

// maxArgTerms bounds a shared call's collection arguments: a port or a
// selector is a few scalars, and a key is compared whole on every lookup.
const maxArgTerms = 8

func newSharedCache(c *ast.Compiler) *sharedCache {
	s := &sharedCache{free: map[int][]ast.Ref{}}
	a := inputFreeAnalysis{c: c, memo: map[*ast.Rule]bool{}}
	seen := map[string]bool{}
	for _, m := range c.Modules {
		for _, r := range m.Rules {
			path := r.Ref()
			if !path.IsGround() || seen[path.String()] {
				continue
			}
			seen[path.String()] = true
			if a.pathFree(path) {
				h := path.Hash()
				s.free[h] = append(s.free[h], path)
			}
		}
	}
	return s
}

func (s *sharedCache) isFree(path ast.Ref) bool {
	for _, p := range s.free[path.Hash()] {
		if p.Equal(path) {
			return true
		}
	}
	return false
}

// eligible reports whether a key of OPA's virtual cache may be shared: a
// complete rule's path, or a function's path followed by its arguments
// (and no output term), each a scalar or a short flat collection of them
// (a port, a label selector).
func (s *sharedCache) eligible(key ast.Ref) bool {
	if s == nil || len(key) == 0 {
		return false
	}
	fn, ok := key[0].Value.(ast.Ref)
	if !ok {
		return key[0].Equal(ast.DefaultRootDocument) && s.isFree(key)
	}
	free, known := s.fnFree.Load(key[0])
	if !known {
		free = s.isFree(fn)
		s.fnFree.Store(key[0], free)
	}
	if !free.(bool) {
		return false
	}
	for _, t := range key[1:] {
		if !flat(t.Value) {
			return false
		}
	}
	return true
}

func notScalar(t *ast.Term) bool { return !scalarValue(t.Value) }

func notScalarPair(k, v *ast.Term) bool { return !scalarValue(k.Value) || !scalarValue(v.Value) }

func scalarValue(v ast.Value) bool {
	switch v.(type) {
	case ast.String, ast.Number, ast.Boolean, ast.Null:
		return true
	}
	return false
}

// flat reports whether v is a scalar, or a collection of at most
// maxArgTerms scalars (keys and values).
func flat(v ast.Value) bool {
	switch x := v.(type) {
	case *ast.Array:
		if x.Len() > maxArgTerms {
			return false
		}
		for i := range x.Len() {
			if !scalarValue(x.Elem(i).Value) {
				return false
			}
		}
		return true
	case ast.Object:
		// Until with a function that captures nothing: Foreach's closure
		// allocated on every call of every helper.
		return 2*x.Len() <= maxArgTerms && !x.Until(notScalarPair)
	case ast.Set:
		return x.Len() <= maxArgTerms && !x.Until(notScalar)
	}
	return scalarValue(v)
}

// get returns the kept entry for key (whose hash is h), if any. The entry
// is shared: the caller must not modify it.
func (s *sharedCache) get(key ast.Ref, h int) (*cacheEntry, bool) {
	v, ok := s.values.Load(h)
	if !ok {
		return nil, false
	}
	es := v.([]cacheEntry)
	for i := range es {
		if es[i].ref.Equal(key) {
			return &es[i], true
		}
	}
	return nil, false
}

// keep adds the shareable entries of an evaluation's base frame.
func (s *sharedCache) keep(frame map[int][]cacheEntry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for h, es := range frame {
		for _, e := range es {
			if !e.promote || s.n >= maxSharedValues {
				continue
			}
			if _, ok := s.get(e.ref, h); ok {
				continue
			}
			var old []cacheEntry
			if v, ok := s.values.Load(h); ok {
				old = v.([]cacheEntry)
			}
			e.promote, e.readonly = false, true
			s.values.Store(h, append(old[:len(old):len(old)], e))
			s.n++
		}
	}
}

func (s *sharedCache) reset() {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.values.Clear()
	s.n = 0
}

// inputFreeAnalysis decides which rules read neither input nor anything
// nondeterministic, following what they call through the compiler.
type inputFreeAnalysis struct {
	c    *ast.Compiler
	memo map[*ast.Rule]bool
}

func (a *inputFreeAnalysis) pathFree(path ast.Ref) bool {
	rules := a.c.GetRulesDynamic(path)
	for _, r := range rules {
		if !a.ruleFree(r) {
			return false
		}
	}
	return len(rules) > 0
}

func (a *inputFreeAnalysis) ruleFree(r *ast.Rule) bool {
	if v, ok := a.memo[r]; ok {
		return v
	}
	a.memo[r] = false // a cycle (which the compiler rejects) stays unshared
	free := true
	ast.WalkExprs(r, func(x *ast.Expr) bool {
		if len(x.With) > 0 {
			free = false
		}
		return !free
	})
	ast.WalkRefs(r, func(ref ast.Ref) bool {
		if !free {
			return true
		}
		switch {
		case ref[0].Equal(ast.InputRootDocument):
			free = false
		case ref[0].Equal(ast.DefaultRootDocument):
			for _, dep := range a.c.GetRulesDynamic(ref) {
				if dep != r && !a.ruleFree(dep) {
					free = false
				}
			}
		default:
			if b, ok := ast.BuiltinMap[ref.String()]; ok && b.Nondeterministic {
				free = false
			}
		}
		return !free
	})
	a.memo[r] = free
	return free
}
