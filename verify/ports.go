package verify

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Protocols a NetworkPolicy port may name.
var l4Protocols = []string{"TCP", "UDP", "SCTP"}

type portRange struct{ lo, hi int32 }

// portSet is a set of (protocol, port) pairs. all means every connection,
// ports or not (ICMP included): a rule without ports. Named ports are kept
// by name and resolved against the pod they apply to.
type portSet struct {
	all   bool
	by    map[string][]portRange
	named map[string][]string // protocol → port names
}

func allPorts() portSet { return portSet{all: true} }

func (s *portSet) add(proto string, lo, hi int32) {
	if s.by == nil {
		s.by = map[string][]portRange{}
	}
	rs := append(s.by[proto], portRange{lo, hi})
	slices.SortFunc(rs, func(a, b portRange) int { return int(a.lo - b.lo) })
	var out []portRange
	for _, r := range rs {
		if n := len(out); n > 0 && r.lo <= out[n-1].hi+1 {
			out[n-1].hi = max(out[n-1].hi, r.hi)
			continue
		}
		out = append(out, r)
	}
	s.by[proto] = out
}

func (s *portSet) union(o portSet) {
	if o.all {
		s.all = true
	}
	for p, rs := range o.by {
		for _, r := range rs {
			s.add(p, r.lo, r.hi)
		}
	}
	for p, ns := range o.named {
		if s.named == nil {
			s.named = map[string][]string{}
		}
		s.named[p] = append(s.named[p], ns...)
	}
}

// contains reports whether the set admits proto/port on a pod whose named
// ports are given (container port name → number).
func (s *portSet) contains(proto string, port int32, named map[string]int32) bool {
	if s.all {
		return true
	}
	for _, r := range s.by[proto] {
		if port >= r.lo && port <= r.hi {
			return true
		}
	}
	for _, n := range s.named[proto] {
		if p, ok := named[n]; ok && p == port {
			return true
		}
	}
	return false
}

// resolved returns the set with named ports replaced by their numbers on
// a pod (names the pod does not have select nothing, as in Kubernetes).
func (s portSet) resolved(named map[string]int32) portSet {
	out := portSet{all: s.all}
	for p, rs := range s.by {
		for _, r := range rs {
			out.add(p, r.lo, r.hi)
		}
	}
	for p, ns := range s.named {
		for _, n := range ns {
			if v, ok := named[n]; ok {
				out.add(p, v, v)
			}
		}
	}
	return out
}

func (s portSet) intersect(o portSet) portSet {
	switch {
	case s.all:
		return o
	case o.all:
		return s
	}
	var out portSet
	for p, rs := range s.by {
		for _, a := range rs {
			for _, b := range o.by[p] {
				lo, hi := max(a.lo, b.lo), min(a.hi, b.hi)
				if lo <= hi {
					out.add(p, lo, hi)
				}
			}
		}
	}
	return out
}

func (s portSet) isEmpty() bool {
	if s.all {
		return false
	}
	for _, rs := range s.by {
		if len(rs) > 0 {
			return false
		}
	}
	return true
}

// String writes the set as netpol-analyzer does ("TCP 8080,9000-9005,UDP
// 53", "All Connections", "No Connections"), so the two can be compared.
func (s portSet) String() string {
	if s.all || s.coversEverything() {
		return "All Connections"
	}
	var parts []string
	for _, p := range l4Protocols {
		rs := s.by[p]
		if len(rs) == 0 {
			continue
		}
		var xs []string
		for _, r := range rs {
			if r.lo == r.hi {
				xs = append(xs, strconv.Itoa(int(r.lo)))
			} else {
				xs = append(xs, fmt.Sprintf("%d-%d", r.lo, r.hi))
			}
		}
		parts = append(parts, p+" "+strings.Join(xs, ","))
	}
	if len(parts) == 0 {
		return "No Connections"
	}
	return strings.Join(parts, ",")
}

// parseConnString reads netpol-analyzer's connection strings back.
func parseConnString(s string) (portSet, error) {
	s = strings.TrimSpace(s)
	switch s {
	case "All Connections":
		return allPorts(), nil
	case "No Connections", "":
		return portSet{}, nil
	}
	var out portSet
	proto := ""
	for _, tok := range strings.Split(s, ",") {
		tok = strings.TrimSpace(tok)
		if p, rest, ok := strings.Cut(tok, " "); ok && slices.Contains(l4Protocols, p) {
			proto, tok = p, rest
		} else if slices.Contains(l4Protocols, tok) {
			out.add(tok, 1, 65535)
			continue
		}
		if proto == "" {
			return portSet{}, fmt.Errorf("connection %q: port before protocol", s)
		}
		lo, hi, isRange := strings.Cut(tok, "-")
		a, err := strconv.Atoi(lo)
		if err != nil {
			return portSet{}, fmt.Errorf("connection %q: %v", s, err)
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil {
				return portSet{}, fmt.Errorf("connection %q: %v", s, err)
			}
		}
		out.add(proto, int32(a), int32(b))
	}
	return out, nil
}

func (s portSet) coversEverything() bool {
	for _, p := range l4Protocols {
		rs := s.by[p]
		if len(rs) != 1 || rs[0].lo > 1 || rs[0].hi < 65535 {
			return false
		}
	}
	return true
}
