package verify

import (
	"net/netip"
	"slices"
	"strings"
)

// addrRange is an inclusive range of addresses of one family.
type addrRange struct{ lo, hi netip.Addr }

// ipSet is a set of addresses: sorted, disjoint, non-adjacent ranges. The
// zero value is the empty set. Sets mix families freely; a range never
// spans two.
type ipSet []addrRange

func lastAddr(p netip.Prefix) netip.Addr {
	p = p.Masked()
	b := p.Addr().AsSlice()
	bits := p.Bits()
	for i := range b {
		for j := 0; j < 8; j++ {
			if i*8+j >= bits {
				b[i] |= 0x80 >> j
			}
		}
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

func prefixRange(p netip.Prefix) addrRange {
	return addrRange{p.Masked().Addr(), lastAddr(p)}
}

func setOf(ps ...netip.Prefix) ipSet {
	var s ipSet
	for _, p := range ps {
		if p.IsValid() {
			s = s.union(ipSet{prefixRange(p)})
		}
	}
	return s
}

// allOf is every address of the family of a.
func allOf(is4 bool) ipSet {
	if is4 {
		return setOf(netip.MustParsePrefix("0.0.0.0/0"))
	}
	return setOf(netip.MustParsePrefix("::/0"))
}

func adjacent(a, b netip.Addr) bool {
	n := a.Next()
	return n.IsValid() && n == b
}

func (s ipSet) union(o ipSet) ipSet {
	all := append(slices.Clone(s), o...)
	slices.SortFunc(all, func(a, b addrRange) int { return a.lo.Compare(b.lo) })
	var out ipSet
	for _, r := range all {
		if n := len(out); n > 0 && out[n-1].lo.BitLen() == r.lo.BitLen() &&
			(out[n-1].hi.Compare(r.lo) >= 0 || adjacent(out[n-1].hi, r.lo)) {
			if r.hi.Compare(out[n-1].hi) > 0 {
				out[n-1].hi = r.hi
			}
			continue
		}
		out = append(out, r)
	}
	return out
}

func (s ipSet) subtract(o ipSet) ipSet {
	out := slices.Clone(s)
	for _, x := range o {
		var next ipSet
		for _, r := range out {
			if r.lo.BitLen() != x.lo.BitLen() || r.hi.Less(x.lo) || x.hi.Less(r.lo) {
				next = append(next, r)
				continue
			}
			if r.lo.Less(x.lo) {
				next = append(next, addrRange{r.lo, x.lo.Prev()})
			}
			if x.hi.Less(r.hi) {
				next = append(next, addrRange{x.hi.Next(), r.hi})
			}
		}
		out = next
	}
	return out
}

func (s ipSet) intersect(o ipSet) ipSet {
	return s.subtract(s.subtract(o))
}

// containsAll reports whether every address of o is in s (true for an
// empty o).
func (s ipSet) containsAll(o ipSet) bool { return len(o.subtract(s)) == 0 }

func (s ipSet) overlaps(o ipSet) bool { return len(s.intersect(o)) > 0 }

func (s ipSet) empty() bool { return len(s) == 0 }

func (s ipSet) String() string {
	var parts []string
	for _, r := range s {
		if r.lo == r.hi {
			parts = append(parts, r.lo.String())
		} else {
			parts = append(parts, r.lo.String()+"-"+r.hi.String())
		}
	}
	return strings.Join(parts, ",")
}

// parsePrefixes parses CIDRs (a bare address is a single-address prefix),
// skipping what does not parse; bad reports how many were skipped.
func parsePrefixes(ss []string) (out []netip.Prefix, bad []string) {
	for _, s := range ss {
		p, err := parsePrefix(s)
		if err != nil {
			bad = append(bad, s)
			continue
		}
		out = append(out, p)
	}
	return out, bad
}

func parsePrefix(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// representatives returns one address from every region of the partition
// that prefixes induce on the address space of each family present (plus
// one outside all of them), so that any two policies that treat some
// address differently are told apart by one of them.
func representatives(prefixes []netip.Prefix) []netip.Prefix {
	byFam := map[bool][]netip.Prefix{}
	for _, p := range prefixes {
		if p.IsValid() {
			byFam[p.Addr().Is4()] = append(byFam[p.Addr().Is4()], p.Masked())
		}
	}
	var out []netip.Prefix
	for _, fam := range []bool{true, false} {
		ps := byFam[fam]
		if len(ps) == 0 {
			continue
		}
		slices.SortFunc(ps, func(a, b netip.Prefix) int {
			if c := a.Addr().Compare(b.Addr()); c != 0 {
				return c
			}
			return a.Bits() - b.Bits()
		})
		ps = slices.Compact(ps)
		pick := func(s ipSet) {
			if len(s) > 0 {
				a := s[0].lo
				// Prefer an address that is not the network address
				// itself, which some platforms treat specially.
				if s[0].hi.Compare(a) > 0 && a.Next().IsValid() {
					a = a.Next()
				}
				out = append(out, netip.PrefixFrom(a, a.BitLen()))
			}
		}
		for i, p := range ps {
			region := setOf(p)
			for j, q := range ps {
				if j != i && q.Bits() > p.Bits() && p.Contains(q.Addr()) {
					region = region.subtract(setOf(q))
				}
			}
			pick(region)
		}
		pick(allOf(fam).subtract(setOf(ps...)))
	}
	slices.SortFunc(out, func(a, b netip.Prefix) int { return a.Addr().Compare(b.Addr()) })
	return slices.Compact(out)
}

// isPrefixRange reports whether a range is exactly one prefix (cheaply:
// the bits lo and hi differ in must be a run of trailing ones that lo has
// clear).
func isPrefixRange(r addrRange) bool {
	lo, hi := r.lo.As16(), r.hi.As16()
	trailing := true
	for i := 15; i >= 0; i-- {
		x := lo[i] ^ hi[i]
		if lo[i]&x != 0 {
			return false
		}
		if trailing {
			if x == 0xff {
				continue
			}
			// x must be 2^k-1 here, and every byte above equal.
			if x&(x+1) != 0 {
				return false
			}
			trailing = false
			continue
		}
		if x != 0 {
			return false
		}
	}
	return true
}
