package verify

import (
	"cmp"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/intentc/intentc/compiler/ir"
)

// SourceKind says how a source reaches a service.
type SourceKind string

// Source kinds.
const (
	// SourceWorkload is a pod with a sidecar in a cluster: a namespace, a
	// service account (its identity) and pod labels.
	SourceWorkload SourceKind = "workload"
	// SourceAddress is a peer seen by address only (a host on a network,
	// no identity).
	SourceAddress SourceKind = "address"
	// SourceIngress is an address that reaches the service through a
	// cluster's ingress gateway.
	SourceIngress SourceKind = "ingressGateway"
	// SourceNode is the destination pod's own node (kubelet probes).
	SourceNode SourceKind = "node"
)

// Source is the calling end of a connection.
type Source struct {
	Kind SourceKind `json:"kind"`
	// Cluster the workload runs in (workload, node).
	Cluster *ir.Cluster `json:"-"`
	// Gateway is the cluster whose ingress gateway an ingress source
	// enters.
	Gateway        *ir.Cluster       `json:"-"`
	Namespace      string            `json:"namespace,omitempty"`
	ServiceAccount string            `json:"serviceAccount,omitempty"`
	Labels         map[string]string `json:"labels,omitempty"`
	// Service is the MeshService the workload belongs to, if any.
	Service *ir.Service `json:"-"`
	// Addr is an address source's range, or an ingress source's client.
	Addr netip.Prefix `json:"address,omitzero"`
	// Network an address source lives on ("" = whichever the destination
	// cluster is on).
	Network string `json:"network,omitempty"`
	// Plaintext: an address source that speaks no Istio mTLS.
	Plaintext bool `json:"plaintext,omitempty"`
	// Host an ingress source asks the gateway for.
	Host string `json:"host,omitempty"`

	pod *l2Pod // the calling pod as layer 2 sees it, once computed
	// terse is the calling end as a terse analyzer sees it, once computed:
	// the proof asks for it for every connection it judges.
	terse *side
	addr  *keyedSet // setOf(Addr), for a terse analyzer
	gw    *gwSide   // an ingress source at its gateway, for a terse analyzer
}

// String names the source for reports.
func (s *Source) String() string {
	switch s.Kind {
	case SourceAddress:
		net := ""
		if s.Network != "" {
			net = " on " + s.Network
		}
		return s.Addr.String() + net
	case SourceIngress:
		return s.Addr.String() + " through the ingress gateway of " + s.Gateway.Name
	case SourceNode:
		return "the destination pod's node"
	}
	who := s.Namespace + "/"
	switch {
	case s.Service != nil:
		who += s.Service.Name
	case s.ServiceAccount == "" || s.ServiceAccount == anySA:
		who += "* (any workload)"
	default:
		who += s.ServiceAccount
		if len(s.Labels) > 0 {
			who += " {" + labelString(s.Labels) + "}"
		}
	}
	if s.Cluster != nil {
		who += " in " + s.Cluster.Name
	}
	return who
}

// anySA is the service account of an anonymous workload ("any other
// workload of the namespace"): no policy names it.
const anySA = "intentc-anyone"

// Target is the called end: a service port or an external service port.
type Target struct {
	Service  *ir.Service
	External *ir.External
	Port     *ir.Port
}

func (t Target) String() string {
	p := ""
	if t.Port != nil {
		p = ":" + strconv.Itoa(int(t.Port.Port))
	}
	if t.External != nil {
		return t.External.Namespace + "/" + t.External.Name + p
	}
	return t.Service.Namespace + "/" + t.Service.Name + p
}

// Request is what a caller sends, as far as routing and layer 3 can see
// it (HTTP ports only).
type Request struct {
	Method  string            `json:"method,omitempty"`
	Path    string            `json:"path,omitempty"`
	Host    string            `json:"host,omitempty"`
	Headers map[string]string `json:"headers,omitempty"`
}

// SourceOptions refine a --from that names no MeshService.
type SourceOptions struct {
	Cluster        string            // where the workload runs (default: every cluster it may run in)
	Labels         map[string]string // pod labels (default {app: <name>})
	ServiceAccount string            // default <name>
	Via            string            // for an address: direct (default) or ingressGateway
	Network        string            // for an address
	Host           string            // for an address via the ingress gateway
	Plaintext      *bool             // for an address (default: plaintext)
}

// ParseSource reads a --from argument: "ns/name" (a MeshService, or else a
// workload whose service account is name), "ns/*" (any workload of the
// namespace), "node:<cluster>", or an address or CIDR. It returns one
// source per cluster the caller may run in.
func ParseSource(m *ir.Model, spec string, o SourceOptions) ([]*Source, error) {
	clusters := func(c []*ir.Cluster) ([]*ir.Cluster, error) {
		if o.Cluster == "" {
			return c, nil
		}
		cl := m.Cluster(o.Cluster)
		if cl == nil {
			return nil, fmt.Errorf("no MeshCluster %q in the inventory", o.Cluster)
		}
		if !slices.Contains(c, cl) {
			return nil, fmt.Errorf("%s does not run in %s", spec, o.Cluster)
		}
		return []*ir.Cluster{cl}, nil
	}
	if rest, ok := strings.CutPrefix(spec, "node:"); ok {
		c := m.Cluster(rest)
		if c == nil {
			return nil, fmt.Errorf("no MeshCluster %q in the inventory", rest)
		}
		return []*Source{{Kind: SourceNode, Cluster: c}}, nil
	}
	if p, err := parsePrefix(spec); err == nil {
		plain := true
		if o.Plaintext != nil {
			plain = *o.Plaintext
		}
		if o.Via == ir.ViaIngressGateway {
			var out []*Source
			cs, err := clusters(m.Clusters)
			if err != nil {
				return nil, err
			}
			for _, c := range cs {
				if o.Network != "" && c.Network != o.Network {
					continue
				}
				out = append(out, &Source{Kind: SourceIngress, Gateway: c, Addr: p, Host: o.Host, Network: c.Network})
			}
			if len(out) == 0 {
				return nil, fmt.Errorf("no cluster on network %q has an ingress gateway to enter through", o.Network)
			}
			return out, nil
		}
		if o.Via != "" && o.Via != ir.ViaDirect {
			return nil, fmt.Errorf("--via must be direct or ingressGateway, not %q", o.Via)
		}
		return []*Source{{Kind: SourceAddress, Addr: p, Network: o.Network, Plaintext: plain}}, nil
	}
	ns, name, ok := strings.Cut(spec, "/")
	if !ok || ns == "" || name == "" {
		return nil, fmt.Errorf("--from %q: want namespace/name, namespace/*, an address or CIDR, or node:<cluster>", spec)
	}
	if name == "*" {
		cs, err := clusters(m.Clusters)
		if err != nil {
			return nil, err
		}
		var out []*Source
		for _, c := range cs {
			out = append(out, &Source{Kind: SourceWorkload, Cluster: c, Namespace: ns, ServiceAccount: anySA, Labels: o.Labels})
		}
		return out, nil
	}
	for _, s := range m.Services {
		if s.Namespace == ns && s.Name == name {
			var placed []*ir.Cluster
			for _, p := range s.Placements {
				placed = append(placed, p.Cluster)
			}
			cs, err := clusters(placed)
			if err != nil {
				return nil, err
			}
			labels := o.Labels
			if labels == nil {
				labels = s.Selector
			}
			var out []*Source
			for _, c := range cs {
				out = append(out, &Source{Kind: SourceWorkload, Cluster: c, Namespace: ns, ServiceAccount: s.ServiceAccount,
					Labels: labels, Service: s})
			}
			return out, nil
		}
	}
	cs, err := clusters(m.Clusters)
	if err != nil {
		return nil, err
	}
	labels := o.Labels
	if labels == nil {
		labels = map[string]string{"app": name}
	}
	var out []*Source
	for _, c := range cs {
		out = append(out, &Source{Kind: SourceWorkload, Cluster: c, Namespace: ns, ServiceAccount: cmp.Or(o.ServiceAccount, name), Labels: maps.Clone(labels)})
	}
	return out, nil
}

// ParseTarget reads a --to argument: "ns/name[:port]" naming a
// MeshService or an ExternalService; the port is a number or a port name.
// Without a port, every port of the service is a target.
func ParseTarget(m *ir.Model, spec string) ([]Target, error) {
	svc, port, _ := strings.Cut(spec, ":")
	ns, name, ok := strings.Cut(svc, "/")
	if !ok || ns == "" || name == "" {
		return nil, fmt.Errorf("--to %q: want namespace/name[:port]", spec)
	}
	pick := func(ports []*ir.Port) ([]*ir.Port, error) {
		if port == "" {
			return ports, nil
		}
		for _, p := range ports {
			if p.Name == port || strconv.Itoa(int(p.Port)) == port {
				return []*ir.Port{p}, nil
			}
		}
		var have []string
		for _, p := range ports {
			have = append(have, fmt.Sprintf("%s (%d)", p.Name, p.Port))
		}
		return nil, fmt.Errorf("%s has no port %q; its ports: %s", svc, port, strings.Join(have, ", "))
	}
	for _, s := range m.Services {
		if s.Namespace == ns && s.Name == name {
			ps, err := pick(s.Ports)
			var out []Target
			for _, p := range ps {
				out = append(out, Target{Service: s, Port: p})
			}
			return out, err
		}
	}
	for _, e := range m.Externals {
		if e.Namespace == ns && e.Name == name {
			ps, err := pick(e.Ports)
			var out []Target
			for _, p := range ps {
				out = append(out, Target{External: e, Port: p})
			}
			return out, err
		}
	}
	return nil, fmt.Errorf("no MeshService or ExternalService %s in the inventory", svc)
}
