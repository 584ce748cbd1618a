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
}

type cacheEntry struct {
	ref       ast.Ref
	value     *ast.Term
	undefined bool
}

var _ topdown.VirtualCache = (*virtualCache)(nil)

var cachePool = sync.Pool{New: func() any { return &virtualCache{} }}

// newVirtualCache returns a cache with its first frame pushed, as
// topdown.NewVirtualCache does; release gives it back.
func newVirtualCache() *virtualCache {
	c := cachePool.Get().(*virtualCache)
	c.Push()
	return c
}

func (c *virtualCache) release() {
	for len(c.frames) > 0 {
		c.Pop()
	}
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

func (c *virtualCache) find(ref ast.Ref) *cacheEntry {
	top := c.frames[len(c.frames)-1]
	if top == nil {
		return nil
	}
	es := top[ref.Hash()]
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
	e := c.find(ref)
	if e == nil {
		top := &c.frames[len(c.frames)-1]
		if *top == nil {
			if n := len(c.spare); n > 0 {
				*top, c.spare = c.spare[n-1], c.spare[:n-1]
			} else {
				*top = map[int][]cacheEntry{}
			}
		}
		h := ref.Hash()
		(*top)[h] = append((*top)[h], cacheEntry{ref: append(ast.Ref(nil), ref...)})
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
func evalQuery(ctx context.Context, pq *rego.PreparedEvalQuery, input ast.Value, opts ...rego.EvalOption) (rego.ResultSet, error) {
	vc := newVirtualCache()
	defer vc.release()
	opts = append(opts, rego.EvalParsedInput(input), rego.EvalVirtualCache(vc), rego.EvalMetrics(metrics.NoOp()))
	return pq.Eval(ctx, opts...)
}
