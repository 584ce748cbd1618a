package lint

import (
	"context"
	"sync"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/metrics"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/topdown"
)

// virtualCache is topdown's cache of evaluated rules and function calls
// (topdown.VirtualCache) as one hash table per frame. OPA's own is a trie
// with a hash map per node: caching data.intentc.object.x.deny allocates
// five maps, and an evaluation here caches dozens of such entries (this
// one cut a check's allocations by a sixth). Keys are compared with
// Ref.Equal, as the trie compares each of their terms.
type virtualCache struct {
	frames []map[int][]cacheEntry // nil until something is put
	spare  []map[int][]cacheEntry // cleared, for the next frames
	shared *sharedCache           // values kept across evaluations, or nil
}

type cacheEntry struct {
	ref       ast.Ref
	value     *ast.Term
	undefined bool
	promote   bool // for the shared cache once the evaluation succeeds
	readonly  bool // in the shared cache
}

var _ topdown.VirtualCache = (*virtualCache)(nil)

var cachePool = sync.Pool{New: func() any { return &virtualCache{} }}

// newVirtualCache returns a cache with its first frame pushed, as
// topdown.NewVirtualCache does, over shared (which may be nil); release
// gives it back.
func newVirtualCache(shared *sharedCache) *virtualCache {
	c := cachePool.Get().(*virtualCache)
	c.shared = shared
	c.Push()
	return c
}

// release gives the cache back, first handing the shared cache what it
// may keep when the evaluation succeeded.
func (c *virtualCache) release(succeeded bool) {
	if succeeded && c.shared != nil && len(c.frames) == 1 && c.frames[0] != nil {
		c.shared.keep(c.frames[0])
	}
	for len(c.frames) > 0 {
		c.Pop()
	}
	c.shared = nil
	cachePool.Put(c)
}

func (c *virtualCache) Push() { c.frames = append(c.frames, nil) }

func (c *virtualCache) Pop() {
	if m := c.frames[len(c.frames)-1]; m != nil && len(m) <= 1<<12 {
		clear(m) // kept for the next frame, unless a bundle's
		c.spare = append(c.spare, m)
	}
	c.frames[len(c.frames)-1] = nil
	c.frames = c.frames[:len(c.frames)-1]
}

// find returns ref's entry in the top frame or, from the base frame and
// for a key that may be shared, in the shared cache.
func (c *virtualCache) find(ref ast.Ref) *cacheEntry {
	h := ref.Hash()
	if e := c.findTop(ref, h); e != nil {
		return e
	}
	// Only the base frame reads the shared cache: under with, the input
	// or the data may be other.
	if len(c.frames) == 1 && c.shared.eligible(ref) {
		if e, ok := c.shared.get(ref, h); ok {
			return e
		}
	}
	return nil
}

func (c *virtualCache) findTop(ref ast.Ref, h int) *cacheEntry {
	top := c.frames[len(c.frames)-1]
	if top == nil {
		return nil
	}
	es := top[h]
	for i := range es {
		if es[i].ref.Equal(ref) {
			return &es[i]
		}
	}
	return nil
}

func (c *virtualCache) Get(ref ast.Ref) (*ast.Term, bool) {
	e := c.find(ref)
	switch {
	case e == nil:
		return nil, false
	case e.undefined:
		return nil, true
	}
	return e.value, false
}

// Put keeps a copy of ref: the evaluator reuses the slice of a function
// call's key (not its terms, which the trie keeps too).
func (c *virtualCache) Put(ref ast.Ref, value *ast.Term) {
	h := ref.Hash()
	e := c.findTop(ref, h)
	if e == nil {
		// OPA puts what it did not find: a key the shared cache holds is
		// never put again, so it is not looked up there a second time.
		top := &c.frames[len(c.frames)-1]
		if *top == nil {
			if n := len(c.spare); n > 0 {
				*top, c.spare = c.spare[n-1], c.spare[:n-1]
			} else {
				*top = map[int][]cacheEntry{}
			}
		}
		promote := len(c.frames) == 1 && c.shared.eligible(ref)
		(*top)[h] = append((*top)[h], cacheEntry{ref: append(ast.Ref(nil), ref...), promote: promote})
		es := (*top)[h]
		e = &es[len(es)-1]
	}
	if value != nil {
		e.value = value
	} else {
		e.undefined = true
	}
}

func (c *virtualCache) Keys() []ast.Ref {
	var keys []ast.Ref
	for _, es := range c.frames[len(c.frames)-1] {
		for _, e := range es {
			keys = append(keys, e.ref)
		}
	}
	return keys
}

// evalQuery evaluates a prepared query on input in txn, with the cheaper
// cache and without metrics (which nothing reads; OPA otherwise allocates
// a set of timers per evaluation).
func evalQuery(ctx context.Context, pq *rego.PreparedEvalQuery, shared *sharedCache, input ast.Value, opts ...rego.EvalOption) (rego.ResultSet, error) {
	vc := newVirtualCache(shared)
	opts = append(opts, rego.EvalParsedInput(input), rego.EvalVirtualCache(vc), rego.EvalMetrics(metrics.NoOp()))
	rs, err := pq.Eval(ctx, opts...)
	vc.release(err == nil)
	return rs, err
}
