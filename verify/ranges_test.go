package verify

import (
	"net/netip"
	"testing"
)

func TestIsPrefixRange(t *testing.T) {
	for _, c := range []struct {
		s    string
		want bool
	}{{"10.0.0.0/8", true}, {"10.1.2.3/32", true}, {"0.0.0.0/0", true}, {"fd00::/56", true}, {"::/0", true}} {
		if got := isPrefixRange(prefixRange(netip.MustParsePrefix(c.s))); got != c.want {
			t.Errorf("%s: %v", c.s, got)
		}
	}
	for _, r := range []addrRange{
		{netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")},
		{netip.MustParseAddr("10.0.0.0"), netip.MustParseAddr("10.0.0.2")},
		{netip.MustParseAddr("10.0.0.0"), netip.MustParseAddr("10.0.1.254")},
	} {
		if isPrefixRange(r) {
			t.Errorf("%v-%v is not a prefix", r.lo, r.hi)
		}
	}
	// rangesToPrefixes tiles a range exactly.
	r := addrRange{netip.MustParseAddr("10.0.0.3"), netip.MustParseAddr("10.0.2.200")}
	ps := rangesToPrefixes(ipSet{r})
	if got := setOf(ps...); len(got) != 1 || got[0] != r {
		t.Errorf("tiling %v gives %v", r, ps)
	}
}
