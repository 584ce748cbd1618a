package openstack

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/intentc/intentc/compiler/ir"
)

// Neutron's spellings.
const (
	dirIngress = "ingress"
	ethIPv4    = "IPv4"
	ethIPv6    = "IPv6"
	protoTCP   = "tcp"
	protoUDP   = "udp"
	// protoIPIP is IP-in-IP by number: Neutron accepts "ipip" and "4" as the
	// same rule, but Heat's OS::Neutron::SecurityGroupRule allows only the
	// numbers 0-255 and a list of names without "ipip", so the number is the
	// one spelling both forms share.
	protoIPIP = "4"
)

// maxDescription is Neutron's limit on a rule's description (a 400 above it).
const maxDescription = 255

// Rule is one security-group rule in canonical form. Direction is always
// ingress: Neutron's default egress rules already allow all egress.
type Rule struct {
	Ethertype string
	Protocol  string
	// PortMin and PortMax are 0 when the protocol has no ports (IP-in-IP).
	PortMin, PortMax int32
	// Exactly one of RemoteIPPrefix (valid) and RemoteGroup (non-empty) is set.
	RemoteIPPrefix netip.Prefix
	RemoteGroup    string
	// Reasons are the provenance entries merged into the description.
	Reasons []string
}

// Key is the rule without its provenance: two rules with equal keys are the
// same Neutron rule (a second create would be a 409 SecurityGroupRuleExists).
func (r *Rule) Key() string {
	remote := "group:" + r.RemoteGroup
	if r.RemoteIPPrefix.IsValid() {
		remote = "cidr:" + r.RemoteIPPrefix.Masked().String()
	}
	return strings.Join([]string{dirIngress, r.Ethertype, r.Protocol,
		strconv.Itoa(int(r.PortMin)), strconv.Itoa(int(r.PortMax)), remote}, "|")
}

// Description is the provenance as Neutron stores it: at most 255
// characters. A longer one keeps a stable prefix and ends with the SHA-256 of
// the whole text, so that it still changes whenever the provenance does;
// shortened reports whether that happened.
func (r *Rule) Description() (desc string, shortened bool) {
	full := r.FullDescription()
	if len(full) <= maxDescription {
		return full, false
	}
	sum := sha256.Sum256([]byte(full))
	suffix := " [sha256:" + hex.EncodeToString(sum[:]) + "]"
	return strings.TrimRight(full[:maxDescription-len(suffix)], " ;,") + suffix, true
}

// FullDescription is the provenance before any shortening.
func (r *Rule) FullDescription() string {
	return "intentc: " + strings.Join(r.Reasons, "; ")
}

// compareRules is the canonical order: direction (always ingress), ethertype,
// protocol, port min, port max, then the remote (address ranges by address
// and length, before groups by name).
func compareRules(a, b *Rule) int {
	return cmp.Or(
		cmp.Compare(a.Ethertype, b.Ethertype),
		cmp.Compare(a.Protocol, b.Protocol),
		cmp.Compare(a.PortMin, b.PortMin),
		cmp.Compare(a.PortMax, b.PortMax),
		compareRemote(a, b),
	)
}

func compareRemote(a, b *Rule) int {
	ag, bg := !a.RemoteIPPrefix.IsValid(), !b.RemoteIPPrefix.IsValid()
	switch {
	case ag && bg:
		return cmp.Compare(a.RemoteGroup, b.RemoteGroup)
	case ag:
		return 1
	case bg:
		return -1
	}
	return cmp.Or(a.RemoteIPPrefix.Addr().Compare(b.RemoteIPPrefix.Addr()),
		cmp.Compare(a.RemoteIPPrefix.Bits(), b.RemoteIPPrefix.Bits()))
}

// ruleSet collects rules, merging the provenance of identical ones.
type ruleSet struct {
	byKey map[string]*Rule
}

func (s *ruleSet) add(r Rule, reason string) {
	if s.byKey == nil {
		s.byKey = map[string]*Rule{}
	}
	if r.RemoteIPPrefix.IsValid() {
		r.RemoteIPPrefix = r.RemoteIPPrefix.Masked()
		r.Ethertype = ethertypeOf(r.RemoteIPPrefix)
	}
	k := r.Key()
	if prev, ok := s.byKey[k]; ok {
		prev.Reasons = append(prev.Reasons, reason)
		return
	}
	r.Reasons = []string{reason}
	s.byKey[k] = &r
}

// sorted returns the rules in canonical order with their reasons sorted and
// de-duplicated, so the description does not depend on the order they were
// found in.
func (s *ruleSet) sorted() []*Rule {
	out := make([]*Rule, 0, len(s.byKey))
	for _, r := range s.byKey {
		slices.Sort(r.Reasons)
		r.Reasons = slices.Compact(r.Reasons)
		out = append(out, r)
	}
	slices.SortFunc(out, compareRules)
	return out
}

// ethertypeOf is the only ethertype Neutron accepts for a prefix (a 400
// SecurityGroupRuleParameterConflict otherwise).
func ethertypeOf(p netip.Prefix) string {
	if p.Addr().Is4() {
		return ethIPv4
	}
	return ethIPv6
}

// nodeFamilies are the address families the nodes talk to each other in: the
// families of the node CIDRs, IPv4 when none is declared.
func nodeFamilies(c *ir.Cluster) []string {
	v4, v6 := len(c.Nodes) == 0, false
	for _, p := range c.Nodes {
		if p.Addr().Is4() {
			v4 = true
		} else {
			v6 = true
		}
	}
	var out []string
	if v4 {
		out = append(out, ethIPv4)
	}
	if v6 {
		out = append(out, ethIPv6)
	}
	return out
}

// cniPort is one flow a CNI needs between nodes.
type cniPort struct {
	protocol string
	port     int32 // 0: the protocol has no ports
	what     string
	// ipv4Only: the encapsulation carries IPv4 only.
	ipv4Only bool
}

// cniPorts are the node-to-node flows of each CNI mode (the vendors'
// documented firewall requirements). Calico IP-in-IP carries IPv4 only:
// Calico's IPv6 pools cannot use it.
var cniPorts = map[string][]cniPort{
	"calico-vxlan": {
		{protoUDP, 4789, "Calico VXLAN", false},
		{protoTCP, 5473, "Calico Typha", false},
	},
	"calico-ipip": {
		{protoIPIP, 0, "Calico IP-in-IP", true},
		{protoTCP, 179, "Calico BGP", false},
		{protoTCP, 5473, "Calico Typha", false},
	},
	"calico-bgp": {
		{protoTCP, 179, "Calico BGP", false},
		{protoTCP, 5473, "Calico Typha", false},
	},
	"flannel-vxlan": {
		{protoUDP, 8472, "Flannel VXLAN", false},
	},
	"cilium-vxlan": {
		{protoUDP, 8472, "Cilium VXLAN", false},
		{protoTCP, 4240, "Cilium health", false},
	},
	"cilium-native": {
		{protoTCP, 4240, "Cilium health", false},
	},
	"geneve": {
		{protoUDP, 6081, "Geneve", false},
	},
}

func portRule(eth, proto string, port int32) Rule {
	return Rule{Ethertype: eth, Protocol: proto, PortMin: port, PortMax: port}
}

func clusterNames(cs []*ir.Cluster) string {
	names := make([]string, len(cs))
	for i, c := range cs {
		names[i] = c.Name
	}
	return strings.Join(names, " ")
}

func summary(r *Rule) string {
	remote := r.RemoteGroup
	if r.RemoteIPPrefix.IsValid() {
		remote = r.RemoteIPPrefix.String()
	}
	ports := ""
	if r.PortMin != 0 {
		ports = fmt.Sprintf(" %d", r.PortMin)
		if r.PortMax != r.PortMin {
			ports += fmt.Sprintf("-%d", r.PortMax)
		}
	}
	return fmt.Sprintf("%s %s%s from %s", r.Ethertype, r.Protocol, ports, remote)
}
