package openstack

import (
	"cmp"
	"fmt"
	"net/netip"
	"path"
	"slices"
	"strings"

	"github.com/intentc/intentc/compiler/diag"
	"github.com/intentc/intentc/compiler/ir"
)

// Security-group modes (MeshCluster spec.openstack.securityGroups.mode).
const (
	ModeOwned = "owned"
	ModeAudit = "audit"
)

// Output file names under openstack/<cloud>/<project>/.
const (
	FileJSON  = "security-groups.json"
	FileHeat  = "security-groups.heat.yaml"
	FileAudit = "security-groups.audit.json"
)

// TagManagedBy marks the groups intentc owns, so a reconcile can find them
// (Neutron group names are not unique).
const TagManagedBy = "managed-by:intentc"

// Group is one security group in canonical form.
type Group struct {
	Name        string
	Description string
	Cluster     *ir.Cluster
	Rules       []*Rule
}

// Emit returns the security-group files of every OpenStack project.
func Emit(m *ir.Model) ([]ir.Artifact, diag.List) {
	e := &emitter{m: m, worldReported: map[*ir.Cluster]bool{}}
	type projectKey struct{ cloud, project, mode string }
	byProject := map[projectKey][]*Group{}
	var keys []projectKey
	claimed := map[[3]string]*ir.Cluster{}
	for _, c := range m.Clusters {
		osp := c.OpenStack
		if c.Platform != "openstack" || osp == nil {
			continue
		}
		if !e.checkNames(c) {
			continue
		}
		id := [3]string{osp.Cloud, osp.Project, osp.SecurityGroupName}
		if first, dup := claimed[id]; dup {
			e.diags.Add(diag.CodeOutputCollision, c.Src.Pos,
				"%s and %s both claim security group %q in OpenStack project %s/%s; give one of them another openstack.securityGroups.name",
				first.Name, c.Name, osp.SecurityGroupName, osp.Cloud, osp.Project).
				WithRelated(first.Src.Pos, "%s claims it here", first.Name)
			continue
		}
		claimed[id] = c
		g := e.group(c)
		k := projectKey{osp.Cloud, osp.Project, osp.SecurityGroupMode}
		if _, ok := byProject[k]; !ok {
			keys = append(keys, k)
		}
		byProject[k] = append(byProject[k], g)
	}
	slices.SortFunc(keys, func(a, b projectKey) int {
		return cmp.Or(cmp.Compare(a.cloud, b.cloud), cmp.Compare(a.project, b.project), cmp.Compare(a.mode, b.mode))
	})
	var arts []ir.Artifact
	for _, k := range keys {
		groups := byProject[k]
		slices.SortFunc(groups, func(a, b *Group) int { return cmp.Compare(a.Name, b.Name) })
		var srcs []ir.Source
		for _, g := range groups {
			srcs = append(srcs, g.Cluster.Src)
		}
		dir := path.Join("openstack", k.cloud, k.project)
		if k.mode == ModeAudit {
			arts = append(arts, ir.Artifact{Path: path.Join(dir, FileAudit), Data: RenderJSON(k.cloud, k.project, groups, false), Sources: srcs})
			continue
		}
		arts = append(arts,
			ir.Artifact{Path: path.Join(dir, FileJSON), Data: RenderJSON(k.cloud, k.project, groups, true), Sources: srcs},
			ir.Artifact{Path: path.Join(dir, FileHeat), Data: RenderHeat(k.cloud, k.project, groups), Sources: srcs},
		)
	}
	slices.SortFunc(arts, func(a, b ir.Artifact) int { return cmp.Compare(a.Path, b.Path) })
	return arts, e.diags.Sorted()
}

type emitter struct {
	m             *ir.Model
	diags         diag.List
	worldReported map[*ir.Cluster]bool
}

// checkNames refuses cloud and project names that cannot be a directory of
// the output, and group names Neutron refuses.
func (e *emitter) checkNames(c *ir.Cluster) bool {
	osp := c.OpenStack
	ok := true
	for _, f := range []struct{ field, v string }{{"cloud", osp.Cloud}, {"project", osp.Project}} {
		if f.v == "" || f.v == "." || f.v == ".." || strings.ContainsAny(f.v, "/\\") || strings.ContainsFunc(f.v, isControl) {
			e.diags.Add(diag.CodeInvalidValue, c.Src.Pos,
				"%s: spec.openstack.%s %q cannot name an output directory (openstack/<cloud>/<project>/)", c.Name, f.field, f.v)
			ok = false
		}
	}
	name := osp.SecurityGroupName
	switch {
	case len(name) > 255 || strings.ContainsFunc(name, isControl):
		e.diags.Add(diag.CodeInvalidValue, c.Src.Pos,
			"%s: spec.openstack.securityGroups.name must be at most 255 printable characters", c.Name)
		ok = false
	case strings.EqualFold(name, "default") && osp.SecurityGroupMode == ModeOwned:
		// Neutron refuses to create a group named default in any case
		// (SecurityGroupDefaultAlreadyExists), and Heat refuses the name.
		e.diags.Add(diag.CodeInvalidValue, c.Src.Pos,
			"%s: intentc cannot own a security group named \"default\" (the project's default group); choose another openstack.securityGroups.name or use mode: audit", c.Name)
		ok = false
	}
	return ok
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// group builds the cluster's security group as docs/security.md "Layer 1"
// describes.
func (e *emitter) group(c *ir.Cluster) *Group {
	osp := c.OpenStack
	g := &Group{Name: osp.SecurityGroupName, Cluster: c, Description: "intentc: nodes of " + c.Src.Ref()}
	var rs ruleSet
	e.eastWest(c, &rs)
	e.overlay(c, g.Name, &rs)
	e.apiServer(c, &rs)
	g.Rules = rs.sorted()
	for _, r := range g.Rules {
		if _, short := r.Description(); short {
			e.diags.Add(diag.CodeSGDescriptionHashed, c.Src.Pos,
				"security group %s, rule %s: provenance longer than %d characters, shortened with its SHA-256; full text: %s",
				g.Name, summary(r), maxDescription, r.FullDescription())
		}
	}
	return g
}

// eastWest opens the path cross-network callers take to the east-west
// gateway, as the cluster's load balancer delivers it to the nodes.
func (e *emitter) eastWest(c *ir.Cluster, rs *ruleSet) {
	// Across networks, or (model federated) from another mesh even on the
	// same network: every such caller dials the east-west gateway.
	callers := e.m.GatewayCallers(c)
	ew, osp := c.EastWest, c.OpenStack
	if len(callers) == 0 || ew == nil {
		return // no gateway: the resolver reported IC2023
	}
	ref := c.Src.Ref()
	switch osp.LBProvider {
	case "amphora":
		if ew.NodePort == 0 {
			return // the resolver reported IC2042
		}
		// The amphora proxies: connections reach the nodes from its port in
		// the member subnet, whoever the client was.
		srcs, fallback := e.memberSources(c)
		if fallback && len(c.Nodes) == 0 {
			e.diags.Add(diag.CodeMissingField, c.Src.Pos,
				"%s receives cross-network traffic through an amphora load balancer, but declares neither spec.openstack.loadBalancer.memberSubnet nor cidrs.nodes: the security group cannot admit the load balancer to node port %d",
				c.Name, ew.NodePort)
			return
		}
		why := fmt.Sprintf("east-west gateway (amphora member subnet) for %s, callers %s", ref, clusterNames(callers))
		if fallback {
			why = fmt.Sprintf("east-west gateway (amphora; no memberSubnet declared, node CIDRs instead) for %s, callers %s", ref, clusterNames(callers))
		}
		for _, p := range srcs {
			rs.add(Rule{Protocol: protoTCP, PortMin: ew.NodePort, PortMax: ew.NodePort, RemoteIPPrefix: p}, why)
		}
	case "ovn":
		if ew.NodePort == 0 {
			return // the resolver reported IC2042
		}
		// OVN load-balances in the datapath and keeps the client address.
		e.warnFamily(c, callers, ew.Address, "east-west gateway")
		for _, caller := range callers {
			for _, p := range sameFamily(e.callerEgress(caller, c), ew.Address) {
				rs.add(Rule{Protocol: protoTCP, PortMin: ew.NodePort, PortMax: ew.NodePort, RemoteIPPrefix: p},
					fmt.Sprintf("east-west gateway (ovn) for %s from %s", ref, caller.Src.Ref()))
			}
		}
		// Its health monitor probes from an address in the member subnet.
		srcs, fallback := e.memberSources(c)
		why := "east-west gateway health monitor (ovn member subnet) for " + ref
		if fallback {
			why = "east-west gateway health monitor (ovn; no memberSubnet declared, node CIDRs instead) for " + ref
		}
		for _, p := range srcs {
			rs.add(Rule{Protocol: protoTCP, PortMin: ew.NodePort, PortMax: ew.NodePort, RemoteIPPrefix: p}, why)
		}
	case "none":
		// No load balancer: callers dial the gateway port on the nodes.
		e.warnFamily(c, callers, ew.Address, "east-west gateway")
		for _, caller := range callers {
			for _, p := range sameFamily(e.callerEgress(caller, c), ew.Address) {
				rs.add(Rule{Protocol: protoTCP, PortMin: ew.Port, PortMax: ew.Port, RemoteIPPrefix: p},
					fmt.Sprintf("east-west gateway (no load balancer) for %s from %s", ref, caller.Src.Ref()))
			}
		}
	}
}

// memberSources is where the load balancer reaches the nodes from: its
// member subnet, or the node CIDRs when none is declared (fallback true).
func (e *emitter) memberSources(c *ir.Cluster) (srcs []netip.Prefix, fallback bool) {
	osp := c.OpenStack
	if osp.HasLBMemberSubnet {
		srcs = []netip.Prefix{osp.LBMemberSubnet}
	} else {
		srcs, fallback = c.Nodes, true
	}
	var out []netip.Prefix
	for _, p := range srcs {
		if p.Bits() == 0 {
			field := "spec.openstack.loadBalancer.memberSubnet"
			if fallback {
				field = "cidrs.nodes"
			}
			e.diags.Add(diag.CodeInvalidCIDR, c.Src.Pos,
				"%s: %s %s is the whole address space; intentc will not open the east-west gateway's node port to the internet", c.Name, field, p)
			continue
		}
		out = append(out, p)
	}
	return out, fallback
}

// callerEgress is the caller's egress CIDRs without the world, which is
// refused once per caller: a node port open to the internet is not what an
// egress range means.
func (e *emitter) callerEgress(caller, dest *ir.Cluster) []netip.Prefix {
	var out []netip.Prefix
	for _, p := range caller.Egress {
		if p.Bits() == 0 {
			if !e.worldReported[caller] {
				e.worldReported[caller] = true
				e.diags.Add(diag.CodeInvalidCIDR, caller.Src.Pos,
					"%s: cidrs.egress %s is the whole address space; intentc will not open OpenStack node ports (%s's first) to the internet for it: declare the addresses its traffic really leaves from (its SNAT or NAT gateway addresses)",
					caller.Name, p, dest.Name)
			}
			continue
		}
		out = append(out, p)
	}
	return out
}

// overlay opens the CNI's node-to-node flows, with the group itself as the
// remote, once per node address family.
func (e *emitter) overlay(c *ir.Cluster, self string, rs *ruleSet) {
	ports := cniPorts[c.CNI]
	for _, eth := range nodeFamilies(c) {
		for _, p := range ports {
			if p.ipv4Only && eth != ethIPv4 {
				continue
			}
			r := portRule(eth, p.protocol, p.port)
			r.RemoteGroup = self
			rs.add(r, fmt.Sprintf("%s between nodes of %s (cni %s)", p.what, c.Src.Ref(), c.CNI))
		}
	}
}

// apiServer admits the other primaries' istiod to this cluster's API server
// (multi-primary endpoint discovery). A cluster of another mesh (model
// federated) has its own control plane, which never reads this one.
func (e *emitter) apiServer(c *ir.Cluster, rs *ruleSet) {
	var others []*ir.Cluster
	for _, o := range e.m.Clusters {
		if o != c && !ir.CrossMesh(o, c) {
			others = append(others, o)
		}
	}
	if len(others) == 0 {
		return
	}
	if c.APIServer == nil {
		if c.OpenStack.SecurityGroupMode == ModeOwned {
			e.diags.Add(diag.CodeNoAPIServer, c.Src.Pos,
				"%s declares no spec.apiServer: its security group gets no rule admitting istiod of %s to its API server",
				c.Name, clusterNames(others))
		}
		return
	}
	var silent []*ir.Cluster
	for _, o := range others {
		if len(o.Egress) == 0 {
			silent = append(silent, o)
			continue
		}
		for _, p := range sameFamily(e.callerEgress(o, c), c.APIServer.Address) {
			rs.add(Rule{Protocol: protoTCP, PortMin: c.APIServer.Port, PortMax: c.APIServer.Port, RemoteIPPrefix: p},
				fmt.Sprintf("API server of %s for istiod in %s", c.Src.Ref(), o.Src.Ref()))
		}
	}
	if len(silent) > 0 {
		e.diags.Add(diag.CodeNoEgressCIDR, c.Src.Pos,
			"%s: no cidrs.egress declared, so %s's security group cannot admit istiod there to its API server (port %d)",
			clusterNames(silent), c.Name, c.APIServer.Port)
	}
	e.warnFamily(c, others, c.APIServer.Address, "API server")
}

// sameFamily keeps the prefixes of the address's family: a client that
// dials an IPv4 address connects from an IPv4 one. A host name may resolve
// to either family, so it keeps all.
func sameFamily(ps []netip.Prefix, address string) []netip.Prefix {
	a, err := netip.ParseAddr(address)
	if err != nil {
		return ps
	}
	var out []netip.Prefix
	for _, p := range ps {
		if p.Addr().Is4() == a.Unmap().Is4() {
			out = append(out, p)
		}
	}
	return out
}

// warnFamily reports the clients that declare egress CIDRs, none of them of
// the family of the address they dial: the group cannot admit them. (Clients
// without any egress CIDR are reported elsewhere.)
func (e *emitter) warnFamily(c *ir.Cluster, clients []*ir.Cluster, address, what string) {
	a, err := netip.ParseAddr(address)
	if err != nil {
		return
	}
	var none []*ir.Cluster
	for _, o := range clients {
		if len(o.Egress) > 0 && len(sameFamily(o.Egress, address)) == 0 {
			none = append(none, o)
		}
	}
	if len(none) > 0 {
		fam := ethIPv4
		if !a.Unmap().Is4() {
			fam = ethIPv6
		}
		e.diags.Add(diag.CodeNoEgressCIDR, c.Src.Pos,
			"%s: no %s cidrs.egress declared, but %s's %s address %s is %s: its security group cannot admit them",
			clusterNames(none), fam, c.Name, what, address, fam)
	}
}
