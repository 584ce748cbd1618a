package neutron

import (
	"cmp"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Rule is one security-group rule, desired or observed, as Neutron sees it.
// Equal Keys mean Neutron treats the two as the same rule (a second create is
// a 409 SecurityGroupRuleExists), whatever their spelling.
type Rule struct {
	Direction string // ingress | egress
	Ethertype string // IPv4 | IPv6
	// Protocol as given or stored ("tcp", "6", "" for any).
	Protocol string
	// PortMin and PortMax are nil when absent ("any port", or no ICMP
	// type/code). Pointers, because ICMP type 0 is not "absent".
	PortMin, PortMax *int
	// At most one remote is set. RemoteGroup names a group of the same
	// document (desired rules, and observed rules whose remote is one of
	// them); RemoteGroupID is any other group.
	RemoteIPPrefix       string
	RemoteGroup          string
	RemoteGroupID        string
	RemoteAddressGroupID string
	Description          string
	// RemoteGroupName is RemoteGroupID's name, for display only.
	RemoteGroupName string

	// Observed rules only.
	ID        string
	ProjectID string
}

// protocolNumbers are the IANA numbers of the names Neutron accepts, so that
// "udp" and "17" compare equal as they do in Neutron's duplicate check.
var protocolNumbers = map[string]int{
	"hopopt": 0, "icmp": 1, "igmp": 2, "ipip": 4, "tcp": 6, "egp": 8, "udp": 17,
	"ipv6-encap": 41, "ipv6-route": 43, "ipv6-frag": 44, "rsvp": 46, "gre": 47,
	"esp": 50, "ah": 51, "icmpv6": 58, "ipv6-icmp": 58, "ipv6-nonxt": 59,
	"ipv6-opts": 60, "ospf": 89, "pgm": 113, "vrrp": 112, "sctp": 132,
	"udplite": 136, "dccp": 33,
}

var protocolNames = map[int]string{
	1: "icmp", 4: "ipip", 6: "tcp", 17: "udp", 33: "dccp", 58: "ipv6-icmp", 132: "sctp", 136: "udplite",
}

// portProtocols carry a port range; for them "no range" is 1-65535.
var portProtocols = map[int]bool{6: true, 17: true, 33: true, 132: true, 136: true}

// icmpProtocols carry a type (port_range_min) and code (port_range_max).
var icmpProtocols = map[int]bool{1: true, 58: true}

// protocolNumber canonicalizes a protocol to its number, -1 for any. ok is
// false for a name Neutron would refuse.
func protocolNumber(p string) (n int, ok bool) {
	p = strings.ToLower(strings.TrimSpace(p))
	if p == "" || p == "any" {
		return -1, true
	}
	if v, ok := protocolNumbers[p]; ok {
		return v, true
	}
	v, err := strconv.Atoi(p)
	if err != nil || v < 0 || v > 255 {
		return 0, false
	}
	return v, true
}

// ProtocolName is the readable spelling of a protocol ("any" when none).
func ProtocolName(p string) string {
	n, ok := protocolNumber(p)
	switch {
	case !ok:
		return p
	case n < 0:
		return "any"
	}
	if name, ok := protocolNames[n]; ok {
		return name
	}
	return strconv.Itoa(n)
}

// canonicalRemote is the rule's remote after masking; "" means any address
// of the ethertype (no remote, 0.0.0.0/0 and ::/0 are one rule to Neutron).
func (r *Rule) canonicalRemote() string {
	switch {
	case r.RemoteGroup != "":
		return "group:" + r.RemoteGroup
	case r.RemoteGroupID != "":
		return "group-id:" + r.RemoteGroupID
	case r.RemoteAddressGroupID != "":
		return "address-group:" + r.RemoteAddressGroupID
	case r.RemoteIPPrefix != "":
		p, err := parsePrefix(r.RemoteIPPrefix)
		if err != nil {
			return "invalid:" + r.RemoteIPPrefix
		}
		if p.Bits() == 0 {
			return ""
		}
		return p.Masked().String()
	}
	return ""
}

// parsePrefix accepts a CIDR or a bare address (Neutron stores 10.0.0.1 as
// 10.0.0.1/32).
func parsePrefix(s string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return netip.PrefixFrom(p.Addr().Unmap(), p.Bits()), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("invalid CIDR %q", s)
	}
	return netip.PrefixFrom(a.Unmap(), a.BitLen()), nil
}

// canonicalPorts is the port range as Neutron compares it.
func (r *Rule) canonicalPorts() (lo, hi int) {
	n, _ := protocolNumber(r.Protocol)
	get := func(p *int, def int) int {
		if p == nil {
			return def
		}
		return *p
	}
	switch {
	case portProtocols[n]:
		return get(r.PortMin, 1), get(r.PortMax, 65535)
	case icmpProtocols[n]:
		return get(r.PortMin, -1), get(r.PortMax, -1)
	}
	// Other protocols have no ports (Neutron refuses a range with them).
	return -1, -1
}

// Key is the rule's identity as Neutron's duplicate check sees it:
// direction, ethertype, protocol number, port range (none = 1-65535 for
// port protocols) and remote (masked CIDR; 0.0.0.0/0 and ::/0 = none).
func (r *Rule) Key() string {
	n, ok := protocolNumber(r.Protocol)
	proto := strconv.Itoa(n)
	if !ok {
		proto = "invalid:" + r.Protocol
	}
	lo, hi := r.canonicalPorts()
	return strings.Join([]string{strings.ToLower(r.Direction), r.Ethertype, proto,
		strconv.Itoa(lo), strconv.Itoa(hi), r.canonicalRemote()}, "|")
}

// Canonical reports whether the rule is spelled the way intentc writes it:
// a masked CIDR, so that of several equal-key rules the one that is exactly
// what Neutron normalizes to is kept.
func (r *Rule) Canonical() bool {
	if r.RemoteIPPrefix == "" {
		return true
	}
	p, err := netip.ParsePrefix(r.RemoteIPPrefix)
	return err == nil && p == p.Masked()
}

// String is the rule in one line, for plans: "ingress IPv4 tcp 6443 from
// 198.51.100.20/32".
func (r *Rule) String() string {
	var b strings.Builder
	b.WriteString(r.Direction)
	b.WriteString(" ")
	b.WriteString(r.Ethertype)
	b.WriteString(" ")
	b.WriteString(ProtocolName(r.Protocol))
	n, _ := protocolNumber(r.Protocol)
	lo, hi := r.canonicalPorts()
	switch {
	case portProtocols[n] && lo == 1 && hi == 65535:
		b.WriteString(" all ports")
	case portProtocols[n] && lo == hi:
		fmt.Fprintf(&b, " %d", lo)
	case portProtocols[n]:
		fmt.Fprintf(&b, " %d-%d", lo, hi)
	case icmpProtocols[n] && lo >= 0:
		fmt.Fprintf(&b, " type %d", lo)
		if hi >= 0 {
			fmt.Fprintf(&b, " code %d", hi)
		}
	}
	from := " from "
	if r.Direction == "egress" {
		from = " to "
	}
	b.WriteString(from)
	switch remote := r.canonicalRemote(); {
	case r.RemoteGroup != "":
		fmt.Fprintf(&b, "group %s", r.RemoteGroup)
	case r.RemoteGroupID != "" && r.RemoteGroupName != "":
		fmt.Fprintf(&b, "group %s", r.RemoteGroupName)
	case r.RemoteGroupID != "":
		fmt.Fprintf(&b, "group %s", r.RemoteGroupID)
	case r.RemoteAddressGroupID != "":
		fmt.Fprintf(&b, "address group %s", r.RemoteAddressGroupID)
	case remote == "":
		b.WriteString("anywhere")
	default:
		b.WriteString(remote)
	}
	return b.String()
}

// compareRules orders rules for output: direction (ingress first), ethertype,
// protocol, ports, remote; then ID so equal-key rules keep a stable order.
func compareRules(a, b *Rule) int {
	an, _ := protocolNumber(a.Protocol)
	bn, _ := protocolNumber(b.Protocol)
	alo, ahi := a.canonicalPorts()
	blo, bhi := b.canonicalPorts()
	return cmp.Or(
		-cmp.Compare(a.Direction, b.Direction), // ingress before egress
		cmp.Compare(a.Ethertype, b.Ethertype),
		cmp.Compare(an, bn),
		cmp.Compare(alo, blo),
		cmp.Compare(ahi, bhi),
		compareRemotes(a, b),
		cmp.Compare(a.Description, b.Description),
		cmp.Compare(a.ID, b.ID),
	)
}

func compareRemotes(a, b *Rule) int {
	ar, br := a.canonicalRemote(), b.canonicalRemote()
	ap, aerr := netip.ParsePrefix(ar)
	bp, berr := netip.ParsePrefix(br)
	if aerr == nil && berr == nil {
		return cmp.Or(ap.Addr().Compare(bp.Addr()), cmp.Compare(ap.Bits(), bp.Bits()))
	}
	return cmp.Compare(ar, br)
}

func intPtr(v int) *int { return &v }
