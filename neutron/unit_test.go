package neutron

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gophercloud/gophercloud/v2"
	th "github.com/gophercloud/gophercloud/v2/testhelper"

	"github.com/intentc/intentc/compiler/diag"
	"github.com/intentc/intentc/internal/testflags"
)

func TestKeyCanonicalization(t *testing.T) {
	p := intPtr
	same := [][2]*Rule{
		{{Direction: "ingress", Ethertype: "IPv4", Protocol: "tcp", PortMin: p(443), PortMax: p(443)},
			{Direction: "ingress", Ethertype: "IPv4", Protocol: "6", PortMin: p(443), PortMax: p(443)}},
		{{Direction: "ingress", Ethertype: "IPv4", Protocol: "UDP"}, {Direction: "ingress", Ethertype: "IPv4", Protocol: "17", PortMin: p(1), PortMax: p(65535)}},
		{{Direction: "ingress", Ethertype: "IPv4", Protocol: "tcp", RemoteIPPrefix: "0.0.0.0/0"}, {Direction: "ingress", Ethertype: "IPv4", Protocol: "tcp"}},
		{{Direction: "ingress", Ethertype: "IPv6", Protocol: "tcp", RemoteIPPrefix: "::/0"}, {Direction: "ingress", Ethertype: "IPv6", Protocol: "tcp"}},
		{{Direction: "ingress", Ethertype: "IPv4", RemoteIPPrefix: "10.1.2.3/8"}, {Direction: "ingress", Ethertype: "IPv4", RemoteIPPrefix: "10.0.0.0/8"}},
		{{Direction: "ingress", Ethertype: "IPv4", RemoteIPPrefix: "10.1.2.3"}, {Direction: "ingress", Ethertype: "IPv4", RemoteIPPrefix: "10.1.2.3/32"}},
		{{Direction: "ingress", Ethertype: "IPv4", Protocol: "ipip"}, {Direction: "ingress", Ethertype: "IPv4", Protocol: "4"}},
		// Ports mean nothing to a protocol without them.
		{{Direction: "ingress", Ethertype: "IPv4", Protocol: "4", PortMin: p(0), PortMax: p(0)}, {Direction: "ingress", Ethertype: "IPv4", Protocol: "4"}},
	}
	for _, pair := range same {
		if a, b := pair[0].Key(), pair[1].Key(); a != b {
			t.Errorf("%s and %s: keys %q and %q differ; Neutron treats them as one rule", pair[0], pair[1], a, b)
		}
	}
	differ := [][2]*Rule{
		{{Direction: "ingress", Ethertype: "IPv4", Protocol: "tcp"}, {Direction: "ingress", Ethertype: "IPv4", Protocol: "udp"}},
		{{Direction: "ingress", Ethertype: "IPv4", Protocol: "tcp"}, {Direction: "egress", Ethertype: "IPv4", Protocol: "tcp"}},
		{{Direction: "ingress", Ethertype: "IPv4", Protocol: "tcp", PortMin: p(1), PortMax: p(1024)}, {Direction: "ingress", Ethertype: "IPv4", Protocol: "tcp"}},
		{{Direction: "ingress", Ethertype: "IPv4", RemoteIPPrefix: "10.0.0.0/8"}, {Direction: "ingress", Ethertype: "IPv4", RemoteIPPrefix: "10.0.0.0/9"}},
		{{Direction: "ingress", Ethertype: "IPv4", Protocol: "icmp", PortMin: p(0)}, {Direction: "ingress", Ethertype: "IPv4", Protocol: "icmp"}},
		{{Direction: "ingress", Ethertype: "IPv4", RemoteGroup: "a"}, {Direction: "ingress", Ethertype: "IPv4", RemoteGroup: "b"}},
		{{Direction: "ingress", Ethertype: "IPv4"}, {Direction: "ingress", Ethertype: "IPv6"}},
	}
	for _, pair := range differ {
		if a, b := pair[0].Key(), pair[1].Key(); a == b {
			t.Errorf("%s and %s share key %q; they are different rules", pair[0], pair[1], a)
		}
	}
	if (&Rule{RemoteIPPrefix: "10.1.2.3/8"}).Canonical() || !(&Rule{RemoteIPPrefix: "10.0.0.0/8"}).Canonical() {
		t.Error("Canonical: a masked prefix is canonical, an unmasked one is not")
	}
}

func TestCovers(t *testing.T) {
	p := intPtr
	intent := []*Rule{
		{Direction: "ingress", Ethertype: "IPv4", Protocol: "tcp", PortMin: p(30000), PortMax: p(32767), RemoteIPPrefix: "10.0.0.0/8"},
		{Direction: "ingress", Ethertype: "IPv4", Protocol: "udp", PortMin: p(4789), PortMax: p(4789), RemoteGroup: "self"},
	}
	for _, tc := range []struct {
		r    *Rule
		want bool
	}{
		{&Rule{Direction: "ingress", Ethertype: "IPv4", Protocol: "tcp", PortMin: p(31443), PortMax: p(31443), RemoteIPPrefix: "10.1.0.0/16"}, true},
		{&Rule{Direction: "ingress", Ethertype: "IPv4", Protocol: "6", PortMin: p(30000), PortMax: p(32767), RemoteIPPrefix: "10.0.0.0/8"}, true},
		{&Rule{Direction: "ingress", Ethertype: "IPv4", Protocol: "tcp", PortMin: p(31443), PortMax: p(31443)}, false},                          // from anywhere
		{&Rule{Direction: "ingress", Ethertype: "IPv4", Protocol: "tcp", PortMin: p(22), PortMax: p(22), RemoteIPPrefix: "10.1.0.0/16"}, false}, // other port
		{&Rule{Direction: "ingress", Ethertype: "IPv4", Protocol: "tcp", RemoteIPPrefix: "10.1.0.0/16"}, false},                                 // every port
		{&Rule{Direction: "ingress", Ethertype: "IPv4", RemoteIPPrefix: "10.1.0.0/16"}, false},                                                  // every protocol
		{&Rule{Direction: "ingress", Ethertype: "IPv4", Protocol: "tcp", PortMin: p(31443), PortMax: p(31443), RemoteIPPrefix: "0.0.0.0/1"}, false},
		{&Rule{Direction: "ingress", Ethertype: "IPv4", Protocol: "udp", PortMin: p(4789), PortMax: p(4789), RemoteGroup: "self"}, true},
		{&Rule{Direction: "ingress", Ethertype: "IPv4", Protocol: "udp", PortMin: p(4789), PortMax: p(4789), RemoteGroupID: "other"}, false},
		{&Rule{Direction: "ingress", Ethertype: "IPv6", Protocol: "tcp", PortMin: p(31443), PortMax: p(31443), RemoteIPPrefix: "fd00::/64"}, false},
	} {
		if got := coveredBy(tc.r, intent); got != tc.want {
			t.Errorf("coveredBy(%s) = %v, want %v", tc.r, got, tc.want)
		}
	}
}

func TestParseDocumentErrors(t *testing.T) {
	good := `{"cloud": "c", "project": "p", "security_groups": [{"description": "intentc: x", "name": "g", "rules": [RULE], "tags": ["managed-by:intentc"]}]}`
	for _, tc := range []struct {
		name, doc, want string
		audit           bool
	}{
		{"syntax", "{\n  \"cloud\": \"c\",\n  \"project\" \"p\"\n}", "x.json:3:13", false},
		{"type", "{\n  \"cloud\": 1}", "x.json:2:", false},
		{"unknown field", `{"cloud": "c", "project": "p", "security_groups": [], "bogus": 1}`, `unknown field "bogus"`, false},
		{"no project", `{"cloud": "c", "security_groups": []}`, "cloud and project must be set", false},
		{"owner marker", strings.Replace(strings.Replace(good, "intentc: x", "mine", 1), "RULE", "", 1), `must start with "intentc:"`, false},
		{"ethertype", strings.Replace(good, "RULE", `{"direction": "ingress", "ethertype": "IPv4", "protocol": "tcp", "remote_ip_prefix": "2001:db8::/32"}`, 1), "conflicts with remote_ip_prefix", false},
		{"cidr", strings.Replace(good, "RULE", `{"direction": "ingress", "ethertype": "IPv4", "remote_ip_prefix": "10.0.0.0/33"}`, 1), `invalid CIDR "10.0.0.0/33"`, false},
		{"ports without protocol", strings.Replace(good, "RULE", `{"direction": "ingress", "ethertype": "IPv4", "port_range_min": 1, "port_range_max": 2}`, 1), "takes no port range", false},
		{"port range", strings.Replace(good, "RULE", `{"direction": "ingress", "ethertype": "IPv4", "protocol": "tcp", "port_range_min": 9, "port_range_max": 2}`, 1), "min <= max", false},
		{"protocol", strings.Replace(good, "RULE", `{"direction": "ingress", "ethertype": "IPv4", "protocol": "bogus"}`, 1), `unknown protocol "bogus"`, false},
		{"direction", strings.Replace(good, "RULE", `{"direction": "inbound", "ethertype": "IPv4"}`, 1), "direction must be ingress or egress", false},
		{"remote group", strings.Replace(good, "RULE", `{"direction": "ingress", "ethertype": "IPv4", "remote_group": "nope"}`, 1), `remote_group "nope" is not a group of this document`, false},
		{"duplicate", strings.Replace(good, "RULE", `{"direction": "ingress", "ethertype": "IPv4", "protocol": "udp"}, {"direction": "ingress", "ethertype": "IPv4", "protocol": "17"}`, 1), "the same Neutron rule as rules[0]", false},
		{"description", strings.Replace(good, "RULE", `{"direction": "ingress", "ethertype": "IPv4", "description": "`+strings.Repeat("x", 256)+`"}`, 1), "longer than 255", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, ds := ParseDocument("x.json", []byte(tc.doc), tc.audit)
			if d != nil || !ds.HasErrors() {
				t.Fatalf("accepted: %+v", d)
			}
			if ds[0].Code != diag.CodeSGDocument || !strings.Contains(ds.Error(), tc.want) {
				t.Errorf("findings %v, want IC3401 with %q", ds, tc.want)
			}
		})
	}
	d, ds := ParseDocument("x.json", []byte(strings.Replace(good, "RULE", `{"direction": "ingress", "ethertype": "IPv4", "protocol": "tcp", "port_range_min": 443, "port_range_max": 443, "remote_group": "g"}`, 1)), false)
	if ds.HasErrors() || len(d.Groups) != 1 || d.Groups[0].Rules[0].RemoteGroup != "g" {
		t.Fatalf("a good document: %v %+v", ds, d)
	}
}

// fake is a gophercloud testhelper server that answers rule creates with
// the real Neutron bodies in testdata/errors.
type fake struct {
	th.FakeServer
	requests []string
}

func newFake(t *testing.T) (*fake, *Client) {
	f := &fake{FakeServer: th.SetupHTTP()}
	t.Cleanup(f.Teardown)
	return f, NewNoAuthClient(f.Endpoint(), "proj", "u", "member")
}

func reply(w http.ResponseWriter, status int, file string) {
	b, err := os.ReadFile(filepath.Join("testdata", "errors", file))
	if err != nil {
		panic(err)
	}
	if strings.HasSuffix(file, ".html") {
		w.Header().Set("Content-Type", "text/html")
	} else {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func TestBulkConflictFallsBackToSingles(t *testing.T) {
	f, c := newFake(t)
	f.Mux.HandleFunc("/v2.0/security-group-rules", func(w http.ResponseWriter, r *http.Request) {
		th.TestMethod(t, r, "POST")
		th.TestHeader(t, r, "X-Project-Id", "proj")
		th.TestHeader(t, r, "X-User-Id", "u")
		body, _ := io.ReadAll(r.Body)
		var in map[string]json.RawMessage
		_ = json.Unmarshal(body, &in)
		switch {
		case in["security_group_rules"] != nil:
			f.requests = append(f.requests, "bulk")
			reply(w, 409, "rule-exists.409.json")
		case strings.Contains(string(body), `"port_range_min":22`):
			f.requests = append(f.requests, "single 22")
			reply(w, 409, "rule-exists.409.json")
		default:
			var one struct {
				R map[string]any `json:"security_group_rule"`
			}
			_ = json.Unmarshal(body, &one)
			f.requests = append(f.requests, fmt.Sprintf("single %v", one.R["port_range_min"]))
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(201)
			fmt.Fprintf(w, `{"security_group_rule": {"id": "new"}}`)
		}
	})
	p := &Plan{Groups: []*GroupPlan{{
		Desired:  &DesiredGroup{Name: "g"},
		Observed: &ObservedGroup{ID: "gid", Name: "g"},
		Add: []*Rule{
			{Direction: "ingress", Ethertype: "IPv4", Protocol: "tcp", PortMin: intPtr(22), PortMax: intPtr(22)},
			{Direction: "ingress", Ethertype: "IPv4", Protocol: "tcp", PortMin: intPtr(443), PortMax: intPtr(443)},
		},
	}}}
	s, err := Apply(context.Background(), c, p, ApplyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if want := "bulk,single 22,single 443"; strings.Join(f.requests, ",") != want {
		t.Errorf("requests %v, want %s", f.requests, want)
	}
	if s.RulesCreated != 1 || s.RulesPresent != 1 {
		t.Errorf("summary %s, want 1 created and 1 present", s)
	}
}

func TestErrorMapping(t *testing.T) {
	for _, tc := range []struct {
		status int
		file   string
		want   string
	}{
		{400, "invalid-cidr.400.json", "creating rule ingress IPv4 any from anywhere in security group g: Neutron 400 InvalidCIDR: Invalid CIDR 10.0.0.0/33 given as IP prefix."},
		{409, "over-quota.409.json", "Neutron 409 OverQuota: Quota exceeded for resources: ['security_group_rule']."},
		{400, "no-tenant.400.json", "Neutron 400 HTTPBadRequest: Running without keystone AuthN requires that tenant_id is specified"},
		{401, "unauthorized.401.html", "Neutron 401 Unauthorized: <html>"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			f, c := newFake(t)
			f.Mux.HandleFunc("/v2.0/security-group-rules", func(w http.ResponseWriter, r *http.Request) { reply(w, tc.status, tc.file) })
			p := &Plan{Groups: []*GroupPlan{{Desired: &DesiredGroup{Name: "g"}, Observed: &ObservedGroup{ID: "gid"},
				Add: []*Rule{{Direction: "ingress", Ethertype: "IPv4"}}}}}
			_, err := Apply(context.Background(), c, p, ApplyOptions{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
			var ae *APIError
			if !errors.As(err, &ae) || ae.Status != tc.status {
				t.Errorf("no APIError with status %d in %v", tc.status, err)
			}
		})
	}
}

func TestDeleteNotFoundIsGone(t *testing.T) {
	f, c := newFake(t)
	f.Mux.HandleFunc("/v2.0/security-group-rules/r1", func(w http.ResponseWriter, r *http.Request) {
		th.TestMethod(t, r, "DELETE")
		reply(w, 404, "rule-not-found.404.json")
	})
	p := &Plan{Groups: []*GroupPlan{{Desired: &DesiredGroup{Name: "g"}, Observed: &ObservedGroup{ID: "gid"},
		Remove: []*Removal{{Rule: &Rule{ID: "r1", Direction: "ingress", Ethertype: "IPv4"}}}}}}
	s, err := Apply(context.Background(), c, p, ApplyOptions{})
	if err != nil || s.RulesGone != 1 || s.RulesDeleted != 0 {
		t.Errorf("delete of a missing rule: %v, %s", err, s)
	}
}

func TestRuleBody(t *testing.T) {
	// ICMP type 0 (echo reply) must be sent: rules.CreateOpts would drop it.
	b, err := ruleBody("gid", &Rule{Direction: "ingress", Ethertype: "IPv4", Protocol: "icmp", PortMin: intPtr(0), RemoteIPPrefix: "10.1.2.3/8"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(b)
	want := `{"direction":"ingress","ethertype":"IPv4","port_range_min":0,"protocol":"icmp","remote_ip_prefix":"10.0.0.0/8","security_group_id":"gid"}`
	if string(got) != want {
		t.Errorf("body %s\nwant %s", got, want)
	}
	b, err = ruleBody("gid", &Rule{Direction: "ingress", Ethertype: "IPv4", RemoteGroup: "self", Description: "intentc: x"}, map[string]string{"self": "gid"})
	if err != nil || b["remote_group_id"] != "gid" || b["description"] != "intentc: x" {
		t.Errorf("remote group body %v, %v", b, err)
	}
	if _, err := ruleBody("gid", &Rule{RemoteGroup: "missing"}, map[string]string{}); err == nil {
		t.Error("a remote group without an ID was accepted")
	}
}

func TestPlanOwnership(t *testing.T) {
	d := &Desired{Source: "s.json", Cloud: "c", Project: "p", Groups: []*DesiredGroup{
		{Name: "a", Description: "intentc: a", Rules: []*Rule{{Direction: "ingress", Ethertype: "IPv4", Protocol: "tcp", PortMin: intPtr(1), PortMax: intPtr(1), RemoteGroup: "a", Description: "intentc: r"}}},
		{Name: "b", Description: "intentc: b"},
	}}
	egress := func() []*Rule {
		return []*Rule{{ID: "e4", Direction: "egress", Ethertype: "IPv4"}, {ID: "e6", Direction: "egress", Ethertype: "IPv6"}}
	}
	obs := &Observed{Groups: []*ObservedGroup{
		// a: created by a run killed before tagging, twice (a second, younger
		// one by hand); the oldest is adopted.
		{ID: "a1", Name: "a", Description: "intentc: a", CreatedAt: "2026-01-01T00:00:00Z", Rules: append(egress(),
			&Rule{ID: "r1", Direction: "ingress", Ethertype: "IPv4", Protocol: "6", PortMin: intPtr(1), PortMax: intPtr(1), RemoteGroupID: "a1", Description: "intentc: old"},
			&Rule{ID: "r2", Direction: "ingress", Ethertype: "IPv4", Protocol: "tcp", PortMin: intPtr(22), PortMax: intPtr(22)})},
		{ID: "a2", Name: "a", Description: "intentc: a", CreatedAt: "2026-02-01T00:00:00Z"},
		// b: a foreign group of that name.
		{ID: "b1", Name: "b", Description: "someone's"},
		// an orphan.
		{ID: "o1", Name: "old", Description: "intentc: old", Tags: []string{TagManagedBy}},
	}}
	p := ComputePlan(d, obs, "", NodeSelector{})
	a, b := p.Groups[0], p.Groups[1]
	if a.Observed.ID != "a1" || !a.Tag || a.Create || len(a.Duplicates) != 1 {
		t.Errorf("group a: observed %v tag %v create %v duplicates %d", a.Observed.ID, a.Tag, a.Create, len(a.Duplicates))
	}
	if len(a.Add) != 0 || len(a.Stale) != 1 || len(a.Remove) != 1 || a.Remove[0].Rule.ID != "r2" || !a.Remove[0].Drift || a.Unchanged != 2 {
		t.Errorf("group a rules: add %v stale %v remove %v unchanged %d", a.Add, a.Stale, a.Remove, a.Unchanged)
	}
	if b.Observed != nil || b.Create {
		t.Errorf("group b (foreign name holder) is planned: %+v", b)
	}
	for _, code := range []diag.Code{diag.CodeSGNameTaken, diag.CodeSGDuplicateOwned, diag.CodeSGOrphan, diag.CodeSGStaleDescription} {
		found := false
		for _, f := range p.Findings {
			found = found || f.Code == code
		}
		if !found {
			t.Errorf("no %s finding: %v", code, p.Findings)
		}
	}
	if !p.Findings.HasErrors() {
		t.Error("a foreign group holding intentc's name must block apply")
	}
	if _, err := Apply(context.Background(), nil, p, ApplyOptions{}); !errors.Is(err, ErrPlanBlocked) {
		t.Errorf("apply of a blocked plan: %v", err)
	}
}

// TestCloudsYAML authenticates through a clouds.yaml entry against a fake
// Keystone v3 and checks the project scoping rule.
func TestCloudsYAML(t *testing.T) {
	f := th.SetupHTTP()
	defer f.Teardown()
	f.Mux.HandleFunc("/v3/auth/tokens", func(w http.ResponseWriter, r *http.Request) {
		th.TestMethod(t, r, "POST")
		body, _ := io.ReadAll(r.Body)
		if !strings.Contains(string(body), `"application_credential"`) {
			t.Errorf("auth request without the application credential: %s", body)
		}
		w.Header().Set("X-Subject-Token", "tok")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(201)
		fmt.Fprintf(w, `{"token": {"expires_at": "2099-01-01T00:00:00.000000Z", "project": {"id": "pid-1", "name": "k8s-prod", "domain": {"id": "default", "name": "Default"}},
			"catalog": [{"type": "network", "name": "neutron", "endpoints": [{"interface": "public", "region": "RegionOne", "region_id": "RegionOne", "url": "%snet/"}]}]}}`, f.Endpoint())
	})
	f.Mux.HandleFunc("/net/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"versions": [{"id": "v2.0", "status": "CURRENT", "links": [{"href": "%snet/v2.0/", "rel": "self"}]}]}`, f.Endpoint())
	})
	dir := t.TempDir()
	yaml := fmt.Sprintf(`clouds:
  dc1:
    auth_type: v3applicationcredential
    auth:
      auth_url: %sv3
      application_credential_id: app
      application_credential_secret: secret
    region_name: RegionOne
`, f.Endpoint())
	if err := os.WriteFile(filepath.Join(dir, "clouds.yaml"), []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("OS_CLIENT_CONFIG_FILE", filepath.Join(dir, "clouds.yaml"))
	t.Setenv(EnvEndpoint, "")
	t.Setenv("OS_CLOUD", "")
	t.Setenv("OS_AUTH_URL", "")
	c, err := ClientFromEnvironment(context.Background(), "dc1", "k8s-prod")
	if err != nil {
		t.Fatal(err)
	}
	if c.ProjectID != "pid-1" || !strings.HasPrefix(c.Network.ResourceBase, f.Endpoint()+"net/") || c.Compute != nil {
		t.Errorf("client: project %q, network %q, compute %v", c.ProjectID, c.Network.ResourceBase, c.Compute)
	}
	if _, err := ClientFromEnvironment(context.Background(), "dc1", "other-project"); err == nil || !strings.Contains(err.Error(), `scoped to project k8s-prod (pid-1), but the security groups are for project "other-project"`) {
		t.Errorf("a token for another project: %v", err)
	}
	if _, err := ClientFromEnvironment(context.Background(), "dc2", "k8s-prod"); err == nil || !strings.Contains(err.Error(), `no credentials for cloud "dc2"`) {
		t.Errorf("an unknown cloud: %v", err)
	}
}

// TestRenderGolden pins the plan's text (testdata/plan.golden; rewrite with
// go test ./neutron -update and review the diff).
func TestRenderGolden(t *testing.T) {
	p := intPtr
	d := &Desired{Source: "openstack/dc1/k8s-prod/security-groups.json", Cloud: "dc1", Project: "k8s-prod", Groups: []*DesiredGroup{
		{Name: "k8s-prod-mesh", Description: "intentc: nodes of MeshCluster/openstack-prod", Rules: []*Rule{
			{Direction: "ingress", Ethertype: "IPv4", Protocol: "udp", PortMin: p(4789), PortMax: p(4789), RemoteGroup: "k8s-prod-mesh", Description: "intentc: Calico VXLAN"},
			{Direction: "ingress", Ethertype: "IPv4", Protocol: "tcp", PortMin: p(31443), PortMax: p(31443), RemoteIPPrefix: "192.168.10.0/24", Description: "intentc: east-west gateway, callers a b"},
			{Direction: "ingress", Ethertype: "IPv4", Protocol: "tcp", PortMin: p(6443), PortMax: p(6443), RemoteIPPrefix: "198.51.100.21/32", Description: "intentc: API server"},
		}},
		{Name: "k8s-stage-mesh", Description: "intentc: nodes of MeshCluster/openstack-stage", Rules: []*Rule{
			{Direction: "ingress", Ethertype: "IPv4", Protocol: "4", RemoteGroup: "k8s-stage-mesh", Description: "intentc: Calico IP-in-IP"},
		}},
	}}
	egress := []*Rule{{ID: "e4", Direction: "egress", Ethertype: "IPv4"}, {ID: "e6", Direction: "egress", Ethertype: "IPv6"}}
	obs := &Observed{
		Quota: Quota{Known: true, GroupLimit: 10, RuleLimit: 100, GroupsUsed: 3, RulesUsed: 12},
		Groups: []*ObservedGroup{
			{ID: "sg-mesh", Name: "k8s-prod-mesh", Description: "intentc: nodes of MeshCluster/openstack-prod", Rules: append(slices.Clone(egress),
				&Rule{ID: "r1", Direction: "ingress", Ethertype: "IPv4", Protocol: "17", PortMin: p(4789), PortMax: p(4789), RemoteGroupID: "sg-mesh", Description: "intentc: Calico VXLAN"},
				&Rule{ID: "r2", Direction: "ingress", Ethertype: "IPv4", Protocol: "tcp", PortMin: p(31443), PortMax: p(31443), RemoteIPPrefix: "192.168.10.0/24", Description: "intentc: east-west gateway, callers a"},
				&Rule{ID: "r3", Direction: "ingress", Ethertype: "IPv4", Protocol: "tcp", PortMin: p(6443), PortMax: p(6443), RemoteIPPrefix: "198.51.100.20/32", Description: "intentc: API server"},
				&Rule{ID: "r4", Direction: "ingress", Ethertype: "IPv4", Protocol: "tcp", PortMin: p(22), PortMax: p(22), RemoteIPPrefix: "0.0.0.0/0"})},
			{ID: "sg-default", Name: "default", Description: "Default security group", Rules: append(slices.Clone(egress),
				&Rule{ID: "d1", Direction: "ingress", Ethertype: "IPv4", RemoteGroupID: "sg-default"})},
		},
		Ports: []*Port{
			{ID: "p0", Name: "k8s-prod-node-0", SecurityGroups: []string{"sg-default", "sg-mesh"}, PortSecurity: true, FixedIPs: []string{"192.168.10.11"}},
			{ID: "p1", Name: "k8s-prod-node-1", SecurityGroups: nil, PortSecurity: false, FixedIPs: []string{"192.168.10.12"}},
			{ID: "p2", Name: "router", DeviceOwner: "network:router_interface", SecurityGroups: []string{"sg-mesh"}, PortSecurity: true},
		},
	}
	sel := NodeSelector{NamePrefix: "k8s-prod-node-"}
	plan := ComputePlan(d, obs, "", sel)
	var b strings.Builder
	plan.Render(&b)
	b.WriteString("\nfindings:\n")
	for _, f := range plan.Findings {
		b.WriteString(f.String() + "\n")
	}
	got := b.String()
	golden := filepath.Join("testdata", "plan.golden")
	if *testflags.Update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./neutron -update)", err)
	}
	if got != string(want) {
		t.Errorf("plan differs from %s (go test ./neutron -update to accept):\n%s", golden, got)
	}
	// The same input renders the same bytes.
	var again strings.Builder
	ComputePlan(d, obs, "", sel).Render(&again)
	if !strings.HasPrefix(got, again.String()) {
		t.Error("rendering is not deterministic")
	}
}

// TestObserveNovaNodes finds node ports through Nova server names and
// metadata (fake Neutron and Nova: the test Neutron has no Nova).
func TestObserveNovaNodes(t *testing.T) {
	f, c := newFake(t)
	js := func(w http.ResponseWriter, body string) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, body)
	}
	f.Mux.HandleFunc("/v2.0/security-groups", func(w http.ResponseWriter, r *http.Request) {
		th.TestFormValues(t, r, map[string]string{"project_id": "proj"})
		js(w, `{"security_groups": [{"id": "sg1", "name": "mesh", "description": "intentc: x", "project_id": "proj", "tags": ["managed-by:intentc"], "security_group_rules": [
			{"id": "r1", "direction": "ingress", "ethertype": "IPv4", "protocol": "icmp", "port_range_min": 0, "port_range_max": null, "remote_ip_prefix": null, "remote_group_id": null, "description": null},
			{"id": "e4", "direction": "egress", "ethertype": "IPv4"}, {"id": "e6", "direction": "egress", "ethertype": "IPv6"}]}]}`)
	})
	f.Mux.HandleFunc("/v2.0/ports", func(w http.ResponseWriter, r *http.Request) {
		js(w, `{"ports": [
			{"id": "p1", "name": "", "device_id": "s1", "device_owner": "compute:nova", "security_groups": ["sg1"], "port_security_enabled": true, "fixed_ips": [{"ip_address": "10.0.0.1"}]},
			{"id": "p2", "name": "", "device_id": "s2", "device_owner": "compute:nova", "security_groups": [], "port_security_enabled": true},
			{"id": "p3", "name": "", "device_id": "s3", "device_owner": "compute:nova", "security_groups": [], "port_security_enabled": true}]}`)
	})
	f.Mux.HandleFunc("/v2.0/quotas/proj/details", func(w http.ResponseWriter, r *http.Request) {
		js(w, `{"quota": {"security_group": {"limit": 10, "used": 2}, "security_group_rule": {"limit": 100, "used": 7}}}`)
	})
	f.Mux.HandleFunc("/compute/servers/detail", func(w http.ResponseWriter, r *http.Request) {
		js(w, `{"servers": [{"id": "s1", "name": "prod-node-0", "metadata": {"cluster": "prod"}},
			{"id": "s2", "name": "prod-node-1", "metadata": {"cluster": "prod"}},
			{"id": "s3", "name": "other", "metadata": {"cluster": "stage"}}]}`)
	})
	c.Compute = &gophercloud.ServiceClient{ProviderClient: c.Network.ProviderClient, Endpoint: f.Endpoint() + "compute/", ResourceBase: f.Endpoint() + "compute/"}
	d := &Desired{Source: "s", Cloud: "c", Project: "p", Groups: []*DesiredGroup{{Name: "mesh", Description: "intentc: x", Rules: []*Rule{
		{Direction: "ingress", Ethertype: "IPv4", Protocol: "icmp", PortMin: intPtr(0)}}}}}
	for _, sel := range []NodeSelector{{NamePrefix: "prod-node-"}, {Metadata: map[string]string{"cluster": "prod"}}} {
		obs, err := Observe(context.Background(), c, sel)
		if err != nil {
			t.Fatal(err)
		}
		if !obs.Quota.Known || obs.Quota.RulesUsed != 7 || obs.Quota.GroupLimit != 10 {
			t.Errorf("quota %+v", obs.Quota)
		}
		p := ComputePlan(d, obs, "proj", sel)
		var names []string
		for _, n := range p.Nodes {
			names = append(names, n.Port.ServerName)
		}
		if strings.Join(names, ",") != "prod-node-0,prod-node-1" {
			t.Errorf("selector %+v: node ports of servers %v, want prod-node-0,prod-node-1", sel, names)
		}
		// ICMP type 0 read back as 0, not as "any": the rule is unchanged.
		if p.HasChanges() || p.Groups[0].Unchanged != 3 {
			t.Errorf("plan %+v\n", p.Counts())
		}
	}
	c.Compute = nil
	if _, err := Observe(context.Background(), c, NodeSelector{Metadata: map[string]string{"cluster": "prod"}}); err == nil || !strings.Contains(err.Error(), "needs Nova") {
		t.Errorf("metadata without Nova: %v", err)
	}
}
