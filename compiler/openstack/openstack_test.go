package openstack

import (
	"bytes"
	"fmt"
	"path"
	"slices"
	"strings"
	"testing"

	"github.com/intentc/intentc/compiler/diag"
	"github.com/intentc/intentc/compiler/intent"
	"github.com/intentc/intentc/compiler/ir"
	"github.com/intentc/intentc/compiler/resolve"
)

const testFile = "test.yaml"

// doc is one intent document.
func doc(kind, meta, spec string) string {
	return fmt.Sprintf("apiVersion: intentc.dev/v1alpha1\nkind: %s\nmetadata: %s\nspec: %s\n", kind, meta, spec)
}

func cluster(name, spec string) string { return doc("MeshCluster", "{name: "+name+"}", spec) }

// service places inventory in the given clusters; with callers, an
// AccessPolicy narrows who calls it to those clusters.
func service(placed []string, callers ...string) string {
	var pl []string
	for _, c := range placed {
		pl = append(pl, "{cluster: "+c+"}")
	}
	out := doc("MeshService", "{name: inventory, namespace: prod}",
		"{ports: [{name: http, port: 8080, protocol: http}], placement: ["+strings.Join(pl, ", ")+"]}")
	if len(callers) > 0 {
		out += "---\n" + doc("AccessPolicy", "{name: callers, namespace: prod}",
			"{to: {service: inventory}, from: [{namespace: web, clusters: ["+strings.Join(callers, ", ")+"]}]}")
	}
	return out
}

func model(t *testing.T, docs ...string) *ir.Model {
	t.Helper()
	src := strings.Join(docs, "---\n")
	parsed, _, ds := intent.ParseFile(testFile, []byte(src))
	if ds.HasErrors() {
		t.Fatalf("intent does not parse:\n%s\n%s", ds.Error(), src)
	}
	m, ds := resolve.Resolve(&intent.Set{Docs: parsed, Files: []string{testFile}})
	if ds.HasErrors() {
		t.Fatalf("intent does not resolve:\n%s\n%s", ds.Error(), src)
	}
	return m
}

func emit(t *testing.T, docs ...string) ([]ir.Artifact, diag.List) {
	t.Helper()
	return Emit(model(t, docs...))
}

func file(t *testing.T, arts []ir.Artifact, p string) []byte {
	t.Helper()
	for _, a := range arts {
		if a.Path == p {
			return a.Data
		}
	}
	var have []string
	for _, a := range arts {
		have = append(have, a.Path)
	}
	t.Fatalf("no %s; have %v", p, have)
	return nil
}

// rules returns group's rules from a JSON file, as "IPv4 tcp 31443 from X",
// in file order.
func rules(t *testing.T, arts []ir.Artifact, p, group string) []string {
	t.Helper()
	_, _, groups := parseJSON(t, file(t, arts, p))
	for _, g := range groups {
		if g.Name != group {
			continue
		}
		var out []string
		for _, r := range g.Rules {
			out = append(out, ruleString(r))
		}
		return out
	}
	t.Fatalf("%s has no group %s", p, group)
	return nil
}

func ruleString(r canonRule) string {
	remote := r.RemoteIPPrefix
	if remote == "" {
		remote = "group " + r.RemoteGroup
	}
	ports := ""
	if r.Min != 0 {
		ports = fmt.Sprintf(" %d", r.Min)
		if r.Max != r.Min {
			ports += fmt.Sprintf("-%d", r.Max)
		}
	}
	return fmt.Sprintf("%s %s%s from %s", r.Ethertype, r.Protocol, ports, remote)
}

func descriptions(t *testing.T, arts []ir.Artifact, p, group string) map[string]string {
	t.Helper()
	_, _, groups := parseJSON(t, file(t, arts, p))
	out := map[string]string{}
	for _, g := range groups {
		if g.Name == group {
			for _, r := range g.Rules {
				out[ruleString(r)] = r.Description
			}
		}
	}
	return out
}

func codes(ds diag.List) []string {
	var out []string
	for _, d := range ds {
		out = append(out, fmt.Sprintf("%d:%s", d.Pos.Line, d.Code))
	}
	return out
}

func wantRules(t *testing.T, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("rules:\ngot  %q\nwant %q", got, want)
	}
}

const (
	jsonPath  = "openstack/dc1/k8s-prod/security-groups.json"
	heatPath  = "openstack/dc1/k8s-prod/security-groups.heat.yaml"
	auditPath = "openstack/dc1/k8s-prod/security-groups.audit.json"
)

// dc is an OpenStack cluster; extra is spliced into its spec.
func dc(name, network, openstack, extra string) string {
	return cluster(name, "{platform: openstack, network: "+network+", apiServer: {address: 203.0.113.5}, "+
		"eastWestGateway: {address: 203.0.113.20, nodePort: 31443}, "+extra+
		"openstack: {cloud: dc1, project: k8s-prod, "+openstack+"}}")
}

var cloud = cluster("cloud", "{platform: kubernetes, network: net-cloud, cidrs: {egress: [198.51.100.20/32]}}")

func TestEastWestAmphora(t *testing.T) {
	arts, ds := emit(t,
		dc("dc", "net-dc", "loadBalancer: {provider: amphora, memberSubnet: 192.168.10.0/24}",
			"cidrs: {nodes: [192.168.10.0/24, 192.168.11.0/24], egress: [203.0.113.10/32]}, "),
		cloud, service([]string{"dc"}, "cloud"))
	if len(ds) > 0 {
		t.Fatalf("unexpected diagnostics:\n%s", ds.Error())
	}
	// The amphora proxies: the node port is open to its member subnet, not
	// to the callers' addresses, which never reach the nodes.
	wantRules(t, rules(t, arts, jsonPath, "intentc-dc"), []string{
		"IPv4 tcp 6443 from 198.51.100.20/32",
		"IPv4 tcp 31443 from 192.168.10.0/24",
	})
	if d := descriptions(t, arts, jsonPath, "intentc-dc")["IPv4 tcp 31443 from 192.168.10.0/24"]; d !=
		"intentc: east-west gateway (amphora member subnet) for MeshCluster/dc, callers cloud" {
		t.Errorf("description = %q", d)
	}

	// Without a memberSubnet the node CIDRs stand in, and the rule says so.
	arts, _ = emit(t,
		dc("dc", "net-dc", "loadBalancer: {provider: amphora}",
			"cidrs: {nodes: [192.168.10.0/24, 192.168.11.0/24], egress: [203.0.113.10/32]}, "),
		cloud, service([]string{"dc"}, "cloud"))
	got := descriptions(t, arts, jsonPath, "intentc-dc")
	for _, r := range []string{"IPv4 tcp 31443 from 192.168.10.0/24", "IPv4 tcp 31443 from 192.168.11.0/24"} {
		if d := got[r]; !strings.Contains(d, "no memberSubnet declared, node CIDRs instead") {
			t.Errorf("%s: description %q does not say the node CIDRs stand in", r, d)
		}
	}

	// Not called from another network: no gateway rule.
	same := cluster("cloud", "{platform: kubernetes, network: net-dc, cidrs: {egress: [198.51.100.20/32]}}")
	arts, _ = emit(t,
		dc("dc", "net-dc", "loadBalancer: {provider: amphora, memberSubnet: 192.168.10.0/24}", ""),
		same, service([]string{"dc"}, "cloud"))
	wantRules(t, rules(t, arts, jsonPath, "intentc-dc"), []string{"IPv4 tcp 6443 from 198.51.100.20/32"})
}

func TestEastWestOVN(t *testing.T) {
	cloudB := cluster("cloud-b", "{platform: kubernetes, network: net-b, cidrs: {egress: [198.51.100.64/28, 2001:db8:b::/64]}}")
	arts, ds := emit(t,
		dc("dc", "net-dc", "loadBalancer: {provider: ovn, memberSubnet: 192.168.10.0/24}", ""),
		cloud, cloudB, service([]string{"dc"}, "cloud", "cloud-b"))
	if len(ds) > 0 {
		t.Fatalf("unexpected diagnostics:\n%s", ds.Error())
	}
	// OVN keeps the client address: the callers' egress CIDRs of the
	// gateway address's family, plus the health monitor's member subnet.
	wantRules(t, rules(t, arts, jsonPath, "intentc-dc"), []string{
		"IPv4 tcp 6443 from 198.51.100.20/32",
		"IPv4 tcp 6443 from 198.51.100.64/28",
		"IPv4 tcp 31443 from 192.168.10.0/24",
		"IPv4 tcp 31443 from 198.51.100.20/32",
		"IPv4 tcp 31443 from 198.51.100.64/28",
	})
	d := descriptions(t, arts, jsonPath, "intentc-dc")
	if got := d["IPv4 tcp 31443 from 198.51.100.64/28"]; got != "intentc: east-west gateway (ovn) for MeshCluster/dc from MeshCluster/cloud-b" {
		t.Errorf("description = %q", got)
	}
	if got := d["IPv4 tcp 31443 from 192.168.10.0/24"]; got != "intentc: east-west gateway health monitor (ovn member subnet) for MeshCluster/dc" {
		t.Errorf("description = %q", got)
	}
}

func TestEastWestNone(t *testing.T) {
	arts, _ := emit(t,
		cluster("dc", "{platform: openstack, network: net-dc, apiServer: {address: 203.0.113.5}, "+
			"eastWestGateway: {address: 203.0.113.20}, openstack: {cloud: dc1, project: k8s-prod, loadBalancer: {provider: none}}}"),
		cloud, service([]string{"dc"}, "cloud"))
	// No load balancer: the gateway port itself (15443 by default).
	wantRules(t, rules(t, arts, jsonPath, "intentc-dc"), []string{
		"IPv4 tcp 6443 from 198.51.100.20/32",
		"IPv4 tcp 15443 from 198.51.100.20/32",
	})
	arts, _ = emit(t,
		cluster("dc", "{platform: openstack, network: net-dc, apiServer: {address: 203.0.113.5}, "+
			"eastWestGateway: {address: 203.0.113.20, port: 16443}, openstack: {cloud: dc1, project: k8s-prod, loadBalancer: {provider: none}}}"),
		cloud, service([]string{"dc"}, "cloud"))
	wantRules(t, rules(t, arts, jsonPath, "intentc-dc"), []string{
		"IPv4 tcp 6443 from 198.51.100.20/32",
		"IPv4 tcp 16443 from 198.51.100.20/32",
	})
}

func TestCNI(t *testing.T) {
	for _, tc := range []struct {
		cni, nodes string
		want       []string
	}{
		{"calico-vxlan", "", []string{"IPv4 tcp 5473 from group g", "IPv4 udp 4789 from group g"}},
		{"calico-ipip", "", []string{"IPv4 4 from group g", "IPv4 tcp 179 from group g", "IPv4 tcp 5473 from group g"}},
		{"calico-bgp", "", []string{"IPv4 tcp 179 from group g", "IPv4 tcp 5473 from group g"}},
		{"flannel-vxlan", "", []string{"IPv4 udp 8472 from group g"}},
		{"cilium-vxlan", "", []string{"IPv4 tcp 4240 from group g", "IPv4 udp 8472 from group g"}},
		{"cilium-native", "", []string{"IPv4 tcp 4240 from group g"}},
		{"geneve", "", []string{"IPv4 udp 6081 from group g"}},
		{"", "", nil},
		// The overlay follows the node address families.
		{"calico-vxlan", "[192.168.10.0/24, 2001:db8:10::/64]", []string{
			"IPv4 tcp 5473 from group g", "IPv4 udp 4789 from group g",
			"IPv6 tcp 5473 from group g", "IPv6 udp 4789 from group g"}},
		{"cilium-vxlan", "[2001:db8:10::/64]", []string{"IPv6 tcp 4240 from group g", "IPv6 udp 8472 from group g"}},
		{"geneve", "[192.168.10.0/24]", []string{"IPv4 udp 6081 from group g"}},
		// IP-in-IP carries IPv4 only.
		{"calico-ipip", "[192.168.10.0/24, 2001:db8:10::/64]", []string{
			"IPv4 4 from group g", "IPv4 tcp 179 from group g", "IPv4 tcp 5473 from group g",
			"IPv6 tcp 179 from group g", "IPv6 tcp 5473 from group g"}},
	} {
		t.Run(tc.cni+tc.nodes, func(t *testing.T) {
			spec := "{platform: openstack, network: n, openstack: {cloud: dc1, project: k8s-prod, securityGroups: {name: g}}"
			if tc.cni != "" {
				spec += ", cni: " + tc.cni
			}
			if tc.nodes != "" {
				spec += ", cidrs: {nodes: " + tc.nodes + "}"
			}
			arts, ds := emit(t, cluster("dc", spec+"}"), service([]string{"dc"}))
			if len(ds) > 0 {
				t.Fatalf("unexpected diagnostics:\n%s", ds.Error())
			}
			wantRules(t, rules(t, arts, jsonPath, "g"), tc.want)
		})
	}
}

func TestAPIServer(t *testing.T) {
	other := cluster("other", "{platform: kubernetes, network: net-dc, cidrs: {egress: [198.51.100.7/32, 2001:db8:7::/64]}}")
	arts, ds := emit(t,
		cluster("dc", "{platform: openstack, network: net-dc, cidrs: {egress: [203.0.113.10/32]}, apiServer: {address: 203.0.113.5, port: 8443}, "+
			"openstack: {cloud: dc1, project: k8s-prod}}"),
		other, service([]string{"dc"}))
	if len(ds) > 0 {
		t.Fatalf("unexpected diagnostics:\n%s", ds.Error())
	}
	// The other primary's IPv4 egress (the address dialled is IPv4), on the
	// declared port; never the cluster's own egress.
	wantRules(t, rules(t, arts, jsonPath, "intentc-dc"), []string{"IPv4 tcp 8443 from 198.51.100.7/32"})
	if d := descriptions(t, arts, jsonPath, "intentc-dc")["IPv4 tcp 8443 from 198.51.100.7/32"]; d !=
		"intentc: API server of MeshCluster/dc for istiod in MeshCluster/other" {
		t.Errorf("description = %q", d)
	}

	// A host name may resolve to either family: both are admitted.
	arts, _ = emit(t,
		cluster("dc", "{platform: openstack, network: net-dc, apiServer: {address: api.dc.example.com}, openstack: {cloud: dc1, project: k8s-prod}}"),
		other, service([]string{"dc"}))
	wantRules(t, rules(t, arts, jsonPath, "intentc-dc"), []string{"IPv4 tcp 6443 from 198.51.100.7/32", "IPv6 tcp 6443 from 2001:db8:7::/64"})

	// No apiServer in a multi-cluster mesh: no rule, a warning at the cluster.
	arts, ds = emit(t,
		cluster("dc", "{platform: openstack, network: net-dc, openstack: {cloud: dc1, project: k8s-prod}}"),
		other, service([]string{"dc"}))
	wantRules(t, rules(t, arts, jsonPath, "intentc-dc"), nil)
	if got := codes(ds); !slices.Equal(got, []string{"1:IC2041"}) {
		t.Errorf("diagnostics = %v, want IC2041 at the cluster", got)
	}

	// ... but not for a lone cluster (no other primary), nor in audit mode.
	_, ds = emit(t, cluster("dc", "{platform: openstack, network: net-dc, openstack: {cloud: dc1, project: k8s-prod}}"), service([]string{"dc"}))
	if len(ds) > 0 {
		t.Errorf("lone cluster: unexpected diagnostics:\n%s", ds.Error())
	}
	_, ds = emit(t,
		cluster("dc", "{platform: openstack, network: net-dc, openstack: {cloud: dc1, project: k8s-prod, securityGroups: {mode: audit}}}"),
		other, service([]string{"dc"}))
	if len(ds) > 0 {
		t.Errorf("audit: unexpected diagnostics:\n%s", ds.Error())
	}

	// Another primary with no egress CIDR, or none of the dialled family,
	// cannot be admitted: a warning at the cluster whose API server it is.
	arts, ds = emit(t,
		cluster("dc", "{platform: openstack, network: net-dc, apiServer: {address: \"2001:db8::5\"}, openstack: {cloud: dc1, project: k8s-prod}}"),
		cluster("v4", "{platform: kubernetes, network: net-dc, cidrs: {egress: [198.51.100.7/32]}}"),
		cluster("silent", "{platform: kubernetes, network: net-dc}"),
		service([]string{"dc"}))
	wantRules(t, rules(t, arts, jsonPath, "intentc-dc"), nil)
	if got := codes(ds); !slices.Equal(got, []string{"1:IC2030", "1:IC2030"}) {
		t.Errorf("diagnostics = %v, want two IC2030 at the cluster", got)
	}
}

func TestAuditMode(t *testing.T) {
	arts, ds := emit(t,
		dc("dc", "net-dc", "securityGroups: {mode: audit, name: magnum-minion}, loadBalancer: {provider: amphora, memberSubnet: 192.168.10.0/24}", "cni: geneve, "),
		cloud, service([]string{"dc"}, "cloud"))
	if len(ds) > 0 {
		t.Fatalf("unexpected diagnostics:\n%s", ds.Error())
	}
	if len(arts) != 1 || arts[0].Path != auditPath {
		t.Fatalf("audit mode must write only %s, got %v", auditPath, arts)
	}
	wantRules(t, rules(t, arts, auditPath, "magnum-minion"), []string{
		"IPv4 tcp 6443 from 198.51.100.20/32",
		"IPv4 tcp 31443 from 192.168.10.0/24",
		"IPv4 udp 6081 from group magnum-minion",
	})
	if bytes.Contains(arts[0].Data, []byte(TagManagedBy)) {
		t.Error("an audited group is not intentc's: no managed-by tag")
	}
	// Owned mode (the default) writes JSON and Heat, tagged.
	arts, _ = emit(t, dc("dc", "net-dc", "", ""), cloud, service([]string{"dc"}, "cloud"))
	if len(arts) != 2 || arts[0].Path != heatPath || arts[1].Path != jsonPath {
		t.Fatalf("owned mode must write the Heat template and the JSON, got %v", arts)
	}
	if !bytes.Contains(arts[1].Data, []byte(`"tags": [`+"\n"+`        "managed-by:intentc"`)) {
		t.Errorf("owned group is not tagged:\n%s", arts[1].Data)
	}
}

func TestDescriptionHash(t *testing.T) {
	short := &Rule{Reasons: []string{"b", "a"}}
	if d, s := short.Description(); d != "intentc: b; a" || s {
		t.Errorf("short description = %q, %v", d, s)
	}
	long := &Rule{Reasons: []string{strings.Repeat("x", 300)}}
	d, s := long.Description()
	if !s || len(d) != maxDescription {
		t.Fatalf("long description: %d characters, shortened %v", len(d), s)
	}
	if !strings.HasPrefix(d, "intentc: xxxx") || !strings.HasSuffix(d, "]") || !strings.Contains(d, " [sha256:") {
		t.Errorf("long description = %q", d)
	}
	// The hash is of the whole text: a change past the prefix changes it.
	other := &Rule{Reasons: []string{strings.Repeat("x", 299) + "y"}}
	if d2, _ := other.Description(); d2 == d {
		t.Error("two provenances that differ after the prefix got the same description")
	}

	var callers []string
	var docs []string
	for i := range 6 {
		name := fmt.Sprintf("a-rather-long-cluster-name-for-the-calling-cluster-number-%d", i)
		callers = append(callers, name)
		docs = append(docs, cluster(name, fmt.Sprintf("{platform: kubernetes, network: n%d, cidrs: {egress: [198.51.100.%d/32]}}", i, i)))
	}
	docs = append(docs, dc("dc", "net-dc", "loadBalancer: {provider: amphora, memberSubnet: 192.168.10.0/24}", ""), service([]string{"dc"}, callers...))
	arts, ds := emit(t, docs...)
	var infos []diag.Diagnostic
	for _, d := range ds {
		if d.Code == diag.CodeSGDescriptionHashed {
			infos = append(infos, d)
		}
	}
	if len(infos) != 1 || infos[0].Severity != diag.Info || !strings.Contains(infos[0].Message, callers[5]) {
		t.Fatalf("want one IC3301 info carrying the full provenance, got:\n%s", ds.Error())
	}
	desc := descriptions(t, arts, jsonPath, "intentc-dc")["IPv4 tcp 31443 from 192.168.10.0/24"]
	if len(desc) != maxDescription || !strings.HasPrefix(desc, "intentc: east-west gateway (amphora member subnet) for MeshCluster/dc, callers ") {
		t.Errorf("description = %q", desc)
	}
}

func TestWorldRefused(t *testing.T) {
	world := cluster("anywhere", "{platform: kubernetes, network: net-any, cidrs: {egress: [0.0.0.0/0, 198.51.100.9/32]}}")
	m := model(t, dc("dc", "net-dc", "loadBalancer: {provider: ovn, memberSubnet: 192.168.10.0/24}", ""), world, service([]string{"dc"}, "anywhere"))
	arts, ds := Emit(m)
	if got := codes(ds); !slices.Equal(got, []string{"6:IC2009"}) {
		t.Fatalf("diagnostics = %v, want IC2009 once, at the caller\n%s", got, ds.Error())
	}
	if !strings.Contains(ds[0].Message, "0.0.0.0/0") {
		t.Errorf("message %q does not name the range", ds[0].Message)
	}
	// Whatever a caller of Emit does with the errors, no rule opens to the world.
	for _, a := range arts {
		if bytes.Contains(a.Data, []byte("0.0.0.0/0")) {
			t.Errorf("%s opens to the world", a.Path)
		}
	}
	// A member subnet that is the world is refused too.
	m = model(t, dc("dc", "net-dc", "loadBalancer: {provider: amphora, memberSubnet: \"::/0\"}", ""), cloud, service([]string{"dc"}, "cloud"))
	if _, ds := Emit(m); !slices.Equal(codes(ds), []string{"1:IC2009"}) {
		t.Errorf("diagnostics = %v, want IC2009", codes(ds))
	}
	// An amphora with neither member subnet nor node CIDRs has nothing to admit.
	m = model(t, dc("dc", "net-dc", "loadBalancer: {provider: amphora}", ""), cloud, service([]string{"dc"}, "cloud"))
	if _, ds := Emit(m); !slices.Equal(codes(ds), []string{"1:IC1005"}) {
		t.Errorf("diagnostics = %v, want IC1005", codes(ds))
	}
}

func TestSharedProject(t *testing.T) {
	a := cluster("zeta", "{platform: openstack, network: net-a, cni: geneve, apiServer: {address: 203.0.113.5}, cidrs: {egress: [203.0.113.10/32]}, openstack: {cloud: dc1, project: k8s-prod, securityGroups: {name: a-group}}}")
	b := cluster("alpha", "{platform: openstack, network: net-a, cni: geneve, apiServer: {address: 203.0.113.6}, cidrs: {egress: [203.0.113.11/32]}, openstack: {cloud: dc1, project: k8s-prod, securityGroups: {name: b-group}}}")
	arts, ds := emit(t, a, b, service([]string{"zeta"}))
	if len(ds) > 0 {
		t.Fatalf("unexpected diagnostics:\n%s", ds.Error())
	}
	if len(arts) != 2 {
		t.Fatalf("want one JSON and one Heat file for the project, got %d files", len(arts))
	}
	_, _, groups := parseJSON(t, file(t, arts, jsonPath))
	if len(groups) != 2 || groups[0].Name != "a-group" || groups[1].Name != "b-group" {
		t.Fatalf("groups = %v, want a-group then b-group", groups)
	}
	wantRules(t, rules(t, arts, jsonPath, "a-group"), []string{"IPv4 tcp 6443 from 203.0.113.11/32", "IPv4 udp 6081 from group a-group"})
	wantRules(t, rules(t, arts, jsonPath, "b-group"), []string{"IPv4 tcp 6443 from 203.0.113.10/32", "IPv4 udp 6081 from group b-group"})
	if len(arts[0].Sources) != 2 {
		t.Errorf("the project's files come from both clusters: %v", arts[0].Sources)
	}

	// One group claimed twice in a project: an error at the second cluster
	// (by name); a project or a cloud apart is no collision.
	c := cluster("beta", "{platform: openstack, network: net-a, openstack: {cloud: dc1, project: k8s-prod, securityGroups: {name: a-group}}}")
	d := cluster("gamma", "{platform: openstack, network: net-a, openstack: {cloud: dc1, project: other, securityGroups: {name: a-group}}}")
	_, ds = emit(t, a, c, d, service([]string{"zeta"}))
	var coll []diag.Diagnostic
	for _, x := range ds {
		if x.Code == diag.CodeOutputCollision {
			coll = append(coll, x)
		}
	}
	if len(coll) != 1 || coll[0].Pos.Line != 1 || len(coll[0].Related) != 1 || coll[0].Related[0].Pos.Line != 6 {
		t.Errorf("want one IC3001 at zeta (line 1) related to beta (line 6), got:\n%s", ds.Error())
	}
}

func TestNames(t *testing.T) {
	for _, tc := range []struct{ openstack, want string }{
		{"{cloud: dc1, project: p, securityGroups: {name: default}}", "IC1014"},
		{"{cloud: dc1, project: p, securityGroups: {name: Default}}", "IC1014"},
		{"{cloud: dc1, project: p, securityGroups: {name: default, mode: audit}}", ""},
		{"{cloud: ../x, project: p}", "IC1014"},
		{"{cloud: dc1, project: a/b}", "IC1014"},
		{"{cloud: dc1, project: ..}", "IC1014"},
		{"{cloud: DC_1, project: Prod Project}", ""},
	} {
		_, ds := emit(t, cluster("dc", "{platform: openstack, network: n, openstack: "+tc.openstack+"}"), service([]string{"dc"}))
		var got []string
		for _, d := range ds {
			got = append(got, string(d.Code))
		}
		if want := strings.Fields(tc.want); !slices.Equal(got, want) {
			t.Errorf("%s: diagnostics %v, want %v", tc.openstack, got, want)
		}
	}
}

func TestMergesIdenticalRules(t *testing.T) {
	// The OVN health monitor's member subnet is also the caller's egress
	// range: one Neutron rule (a second would be a 409), both reasons.
	caller := cluster("cloud", "{platform: kubernetes, network: net-cloud, cidrs: {egress: [192.168.10.0/24]}}")
	arts, _ := emit(t, dc("dc", "net-dc", "loadBalancer: {provider: ovn, memberSubnet: 192.168.10.0/24}", ""), caller, service([]string{"dc"}, "cloud"))
	wantRules(t, rules(t, arts, jsonPath, "intentc-dc"), []string{"IPv4 tcp 6443 from 192.168.10.0/24", "IPv4 tcp 31443 from 192.168.10.0/24"})
	want := "intentc: east-west gateway (ovn) for MeshCluster/dc from MeshCluster/cloud; east-west gateway health monitor (ovn member subnet) for MeshCluster/dc"
	if d := descriptions(t, arts, jsonPath, "intentc-dc")["IPv4 tcp 31443 from 192.168.10.0/24"]; d != want {
		t.Errorf("description = %q\nwant          %q", d, want)
	}
}

func TestHeatNamesAreStable(t *testing.T) {
	base := []string{dc("dc", "net-dc", "loadBalancer: {provider: none}", "cni: calico-vxlan, "), cloud}
	a, _ := emit(t, append(slices.Clone(base), service([]string{"dc"}, "cloud"))...)
	more := cluster("more", "{platform: kubernetes, network: net-more, cidrs: {egress: [198.51.100.1/32]}}")
	b, _ := emit(t, append(slices.Clone(base), more, service([]string{"dc"}, "cloud", "more"))...)
	names := func(arts []ir.Artifact) []string {
		var out []string
		for _, line := range strings.Split(string(file(t, arts, heatPath)), "\n") {
			if strings.HasPrefix(line, "  sg-") {
				out = append(out, strings.TrimSuffix(strings.TrimSpace(line), ":"))
			}
		}
		return out
	}
	na, nb := names(a), names(b)
	if len(nb) <= len(na) {
		t.Fatalf("the second intent should have more rules: %v vs %v", na, nb)
	}
	for _, n := range na {
		if !slices.Contains(nb, n) {
			t.Errorf("resource %s was renamed when a caller was added", n)
		}
	}
}

func TestDeterministic(t *testing.T) {
	docs := []string{
		dc("dc", "net-dc", "loadBalancer: {provider: ovn, memberSubnet: 192.168.10.0/24}", "cni: calico-ipip, cidrs: {nodes: [192.168.10.0/24, 2001:db8::/64]}, "),
		dc("dc2", "net-dc2", "", "cni: geneve, "),
		cluster("cloud", "{platform: kubernetes, network: net-cloud, cidrs: {egress: [198.51.100.20/32, 198.51.100.0/28, 2001:db8:1::/64]}}"),
		service([]string{"dc", "dc2"}),
	}
	first, _ := emit(t, docs...)
	for range 20 {
		again, _ := emit(t, docs...)
		for i := range first {
			if first[i].Path != again[i].Path || !bytes.Equal(first[i].Data, again[i].Data) {
				t.Fatalf("%s differs between runs", first[i].Path)
			}
		}
	}
}

// TestExactOutput pins both forms for one small group.
func TestExactOutput(t *testing.T) {
	arts, _ := emit(t,
		dc("dc", "net-dc", "securityGroups: {name: mesh}, loadBalancer: {provider: amphora, memberSubnet: 192.168.10.0/24}", "cni: calico-ipip, "),
		cloud, service([]string{"dc"}, "cloud"))
	wantJSON := `{
  "cloud": "dc1",
  "project": "k8s-prod",
  "security_groups": [
    {
      "description": "intentc: nodes of MeshCluster/dc",
      "name": "mesh",
      "rules": [
        {
          "description": "intentc: Calico IP-in-IP between nodes of MeshCluster/dc (cni calico-ipip)",
          "direction": "ingress",
          "ethertype": "IPv4",
          "protocol": "4",
          "remote_group": "mesh"
        },
        {
          "description": "intentc: Calico BGP between nodes of MeshCluster/dc (cni calico-ipip)",
          "direction": "ingress",
          "ethertype": "IPv4",
          "port_range_max": 179,
          "port_range_min": 179,
          "protocol": "tcp",
          "remote_group": "mesh"
        },
        {
          "description": "intentc: Calico Typha between nodes of MeshCluster/dc (cni calico-ipip)",
          "direction": "ingress",
          "ethertype": "IPv4",
          "port_range_max": 5473,
          "port_range_min": 5473,
          "protocol": "tcp",
          "remote_group": "mesh"
        },
        {
          "description": "intentc: API server of MeshCluster/dc for istiod in MeshCluster/cloud",
          "direction": "ingress",
          "ethertype": "IPv4",
          "port_range_max": 6443,
          "port_range_min": 6443,
          "protocol": "tcp",
          "remote_ip_prefix": "198.51.100.20/32"
        },
        {
          "description": "intentc: east-west gateway (amphora member subnet) for MeshCluster/dc, callers cloud",
          "direction": "ingress",
          "ethertype": "IPv4",
          "port_range_max": 31443,
          "port_range_min": 31443,
          "protocol": "tcp",
          "remote_ip_prefix": "192.168.10.0/24"
        }
      ],
      "tags": [
        "managed-by:intentc"
      ]
    }
  ]
}
`
	if got := string(file(t, arts, jsonPath)); got != wantJSON {
		t.Errorf("JSON:\n%s\nwant:\n%s", got, wantJSON)
	}
	r := func(key string) string { return "sg-mesh-rule-" + shortHash(key) }
	wantHeat := `heat_template_version: "2018-08-31"
description: 'intentc: security groups of OpenStack project dc1/k8s-prod (generated; do not edit)'
resources:
  sg-mesh:
    type: OS::Neutron::SecurityGroup
    properties:
      name: mesh
      description: 'intentc: nodes of MeshCluster/dc'
      rules: []
  ` + r("ingress|IPv4|4|0|0|group:mesh") + `:
    type: OS::Neutron::SecurityGroupRule
    properties:
      security_group: {get_resource: sg-mesh}
      description: 'intentc: Calico IP-in-IP between nodes of MeshCluster/dc (cni calico-ipip)'
      direction: ingress
      ethertype: IPv4
      protocol: "4"
      remote_group: {get_resource: sg-mesh}
  ` + r("ingress|IPv4|tcp|179|179|group:mesh") + `:
    type: OS::Neutron::SecurityGroupRule
    properties:
      security_group: {get_resource: sg-mesh}
      description: 'intentc: Calico BGP between nodes of MeshCluster/dc (cni calico-ipip)'
      direction: ingress
      ethertype: IPv4
      protocol: tcp
      port_range_min: 179
      port_range_max: 179
      remote_group: {get_resource: sg-mesh}
  ` + r("ingress|IPv4|tcp|5473|5473|group:mesh") + `:
    type: OS::Neutron::SecurityGroupRule
    properties:
      security_group: {get_resource: sg-mesh}
      description: 'intentc: Calico Typha between nodes of MeshCluster/dc (cni calico-ipip)'
      direction: ingress
      ethertype: IPv4
      protocol: tcp
      port_range_min: 5473
      port_range_max: 5473
      remote_group: {get_resource: sg-mesh}
  ` + r("ingress|IPv4|tcp|6443|6443|cidr:198.51.100.20/32") + `:
    type: OS::Neutron::SecurityGroupRule
    properties:
      security_group: {get_resource: sg-mesh}
      description: 'intentc: API server of MeshCluster/dc for istiod in MeshCluster/cloud'
      direction: ingress
      ethertype: IPv4
      protocol: tcp
      port_range_min: 6443
      port_range_max: 6443
      remote_ip_prefix: 198.51.100.20/32
  ` + r("ingress|IPv4|tcp|31443|31443|cidr:192.168.10.0/24") + `:
    type: OS::Neutron::SecurityGroupRule
    properties:
      security_group: {get_resource: sg-mesh}
      description: 'intentc: east-west gateway (amphora member subnet) for MeshCluster/dc, callers cloud'
      direction: ingress
      ethertype: IPv4
      protocol: tcp
      port_range_min: 31443
      port_range_max: 31443
      remote_ip_prefix: 192.168.10.0/24
`
	if got := string(file(t, arts, heatPath)); got != wantHeat {
		t.Errorf("Heat:\n%s\nwant:\n%s", got, wantHeat)
	}
}

func TestResourceNames(t *testing.T) {
	if got := GroupResourceName("k8s-prod_mesh"); got != "sg-k8s-prod_mesh" {
		t.Errorf("GroupResourceName = %q", got)
	}
	// Names Heat would not take are made safe, and kept apart by a hash.
	a, b := GroupResourceName("k8s prod"), GroupResourceName("k8s_prod")
	if a == b || !strings.HasPrefix(a, "sg-k8s_prod-") {
		t.Errorf("GroupResourceName: %q and %q", a, b)
	}
	if p := path.Join("openstack", "dc1", "k8s-prod", FileJSON); p != jsonPath {
		t.Errorf("path %s", p)
	}
}
