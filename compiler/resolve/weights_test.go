package resolve

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	_ "github.com/intentc/intentc/internal/testflags" // accept -update like every test binary
)

func TestPercentages(t *testing.T) {
	for _, tc := range []struct {
		keys    []string
		weights []int64
		want    []int32
	}{
		{[]string{"a", "b", "c"}, []int64{1, 1, 1}, []int32{34, 33, 33}},
		{[]string{"c", "b", "a"}, []int64{1, 1, 1}, []int32{33, 33, 34}},
		{[]string{"openstack-prod", "public-prod"}, []int64{70, 30}, []int32{70, 30}},
		{[]string{"a", "b"}, []int64{7, 3}, []int32{70, 30}},
		{[]string{"a", "b", "c"}, []int64{2, 2, 1}, []int32{40, 40, 20}},
		{[]string{"a", "b", "c"}, []int64{1, 0, 2}, []int32{33, 0, 67}},
		{[]string{"a", "b", "c", "d", "e", "f"}, []int64{1, 1, 1, 1, 1, 1}, []int32{17, 17, 17, 17, 16, 16}},
		{[]string{"a"}, []int64{5}, []int32{100}},
		{[]string{"a", "b"}, []int64{1 << 31, 1}, []int32{100, 0}},
	} {
		got := Percentages(tc.keys, tc.weights)
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("Percentages(%v, %v): (-want +got)\n%s", tc.keys, tc.weights, diff)
		}
		var sum int32
		for _, p := range got {
			sum += p
		}
		if sum != 100 {
			t.Errorf("Percentages(%v, %v) sums to %d", tc.keys, tc.weights, sum)
		}
	}
}
