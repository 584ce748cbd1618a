package resolve

import (
	"cmp"
	"slices"
)

// Percentages converts relative weights to integers that sum to exactly 100
// by the largest-remainder method; equal remainders go to the smaller key, so
// 1:1:1 over clusters a, b, c is 34/33/33. keys must be unique. The total must
// be positive.
func Percentages(keys []string, weights []int64) []int32 {
	var total int64
	for _, w := range weights {
		total += w
	}
	out := make([]int32, len(weights))
	type rem struct {
		i   int
		rem int64
	}
	rems := make([]rem, len(weights))
	var assigned int64
	for i, w := range weights {
		q := w * 100 / total
		out[i] = int32(q)
		assigned += q
		rems[i] = rem{i, w * 100 % total}
	}
	slices.SortFunc(rems, func(a, b rem) int {
		return cmp.Or(cmp.Compare(b.rem, a.rem), cmp.Compare(keys[a.i], keys[b.i]))
	})
	for k := int64(0); k < 100-assigned; k++ {
		out[rems[k].i]++
	}
	return out
}
