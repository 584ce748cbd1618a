package openstack

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/intentc/intentc/compiler/intent"
	"github.com/intentc/intentc/compiler/ir"
	"github.com/intentc/intentc/compiler/resolve"
)

// canonRule is a rule as read back from either form, in one comparable shape.
type canonRule struct {
	Group, Direction, Ethertype, Protocol string
	Min, Max                              int
	RemoteIPPrefix, RemoteGroup           string
	Description                           string
}

func (r canonRule) String() string {
	return fmt.Sprintf("%s %s %s %s %d-%d ip=%s group=%s %q", r.Group, r.Direction, r.Ethertype, r.Protocol,
		r.Min, r.Max, r.RemoteIPPrefix, r.RemoteGroup, r.Description)
}

// canonGroup is a group as read back.
type canonGroup struct {
	Name, Description string
	Rules             []canonRule
}

// parseJSON reads security-groups.json (or .audit.json) back.
func parseJSON(t *testing.T, data []byte) (cloud, project string, groups []canonGroup) {
	t.Helper()
	var doc map[string]any
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("JSON does not parse: %v", err)
	}
	for k := range doc {
		if !slices.Contains([]string{"cloud", "project", "security_groups"}, k) {
			t.Errorf("unknown top-level key %q", k)
		}
	}
	cloud, project = doc["cloud"].(string), doc["project"].(string)
	for _, gv := range doc["security_groups"].([]any) {
		g := gv.(map[string]any)
		cg := canonGroup{Name: g["name"].(string), Description: g["description"].(string)}
		for _, rv := range g["rules"].([]any) {
			r := rv.(map[string]any)
			for k := range r {
				if !slices.Contains([]string{"description", "direction", "ethertype", "port_range_max", "port_range_min",
					"protocol", "remote_group", "remote_ip_prefix"}, k) {
					t.Errorf("group %s: rule has unexpected key %q", cg.Name, k)
				}
			}
			cr := canonRule{Group: cg.Name, Direction: str0(r["direction"]), Ethertype: str0(r["ethertype"]),
				Protocol: str0(r["protocol"]), RemoteIPPrefix: str0(r["remote_ip_prefix"]),
				RemoteGroup: str0(r["remote_group"]), Description: str0(r["description"])}
			cr.Min, cr.Max = num(t, r["port_range_min"]), num(t, r["port_range_max"])
			cg.Rules = append(cg.Rules, cr)
		}
		groups = append(groups, cg)
	}
	return cloud, project, groups
}

func str0(v any) string {
	s, _ := v.(string)
	return s
}

func num(t *testing.T, v any) int {
	t.Helper()
	switch v := v.(type) {
	case nil:
		return 0
	case json.Number:
		var i int
		if _, err := fmt.Sscan(v.String(), &i); err != nil {
			t.Fatalf("port %v: %v", v, err)
		}
		return i
	case int:
		return v
	}
	t.Fatalf("port %v has type %T", v, v)
	return 0
}

// parseHeat reads security-groups.heat.yaml back, resolving get_resource to
// group names, and checks what only the Heat form can get wrong.
func parseHeat(t *testing.T, data []byte) []canonGroup {
	t.Helper()
	var tmpl map[string]any
	if err := yaml.Unmarshal(data, &tmpl); err != nil {
		t.Fatalf("Heat template does not parse: %v", err)
	}
	if v := tmpl["heat_template_version"]; v != HeatTemplateVersion {
		t.Errorf("heat_template_version = %v", v)
	}
	res := tmpl["resources"].(map[string]any)
	groupName := map[string]string{}
	byName := map[string]*canonGroup{}
	var names []string
	for rn, rv := range res {
		r := rv.(map[string]any)
		if r["type"] != "OS::Neutron::SecurityGroup" {
			continue
		}
		p := r["properties"].(map[string]any)
		for k := range p {
			if !slices.Contains([]string{"name", "description", "rules"}, k) {
				t.Errorf("%s: unexpected property %q", rn, k)
			}
		}
		if rules, ok := p["rules"].([]any); !ok || len(rules) != 0 {
			t.Errorf("%s: rules = %#v, want [] (inline rules would replace the standalone ones on update)", rn, p["rules"])
		}
		name := p["name"].(string)
		if rn != GroupResourceName(name) {
			t.Errorf("group %s has resource name %s, want %s", name, rn, GroupResourceName(name))
		}
		groupName[rn] = name
		byName[name] = &canonGroup{Name: name, Description: p["description"].(string)}
		names = append(names, name)
	}
	getRes := func(rn string, v any) string {
		m, ok := v.(map[string]any)
		if !ok || len(m) != 1 {
			t.Errorf("%s: %v is not a {get_resource: ...}", rn, v)
			return ""
		}
		g, ok := groupName[str0(m["get_resource"])]
		if !ok {
			t.Errorf("%s: get_resource %v names no group of the template", rn, m["get_resource"])
		}
		return g
	}
	for rn, rv := range res {
		r := rv.(map[string]any)
		switch r["type"] {
		case "OS::Neutron::SecurityGroup":
			continue
		case "OS::Neutron::SecurityGroupRule":
		default:
			t.Errorf("%s: unexpected type %v", rn, r["type"])
			continue
		}
		p := r["properties"].(map[string]any)
		for k := range p {
			// remote_mode is not a property of this resource type (Heat
			// refuses the template), and remote_group_id is not either.
			if !slices.Contains([]string{"security_group", "description", "direction", "ethertype", "protocol",
				"port_range_min", "port_range_max", "remote_ip_prefix", "remote_group"}, k) {
				t.Errorf("%s: unexpected property %q", rn, k)
			}
		}
		if _, ok := p["protocol"]; !ok {
			t.Errorf("%s: no protocol (the resource defaults to tcp)", rn)
		}
		_, hasIP := p["remote_ip_prefix"]
		_, hasGroup := p["remote_group"]
		if hasIP == hasGroup {
			t.Errorf("%s: needs exactly one of remote_ip_prefix and remote_group (none opens the rule to everyone)", rn)
		}
		cr := canonRule{Group: getRes(rn, p["security_group"]), Direction: str0(p["direction"]),
			Ethertype: str0(p["ethertype"]), Protocol: str0(p["protocol"]),
			RemoteIPPrefix: str0(p["remote_ip_prefix"]), Description: str0(p["description"])}
		if hasGroup {
			cr.RemoteGroup = getRes(rn, p["remote_group"])
		}
		cr.Min, cr.Max = num(t, p["port_range_min"]), num(t, p["port_range_max"])
		g := byName[cr.Group]
		if g == nil {
			continue
		}
		if want := GroupResourceName(cr.Group) + "-rule-" + shortHash(canonKey(cr)); rn != want {
			t.Errorf("rule resource %s: want the name %s derived from the canonical rule", rn, want)
		}
		g.Rules = append(g.Rules, cr)
	}
	slices.Sort(names)
	var out []canonGroup
	for _, n := range names {
		g := byName[n]
		slices.SortFunc(g.Rules, compareCanon)
		out = append(out, *g)
	}
	return out
}

// canonKey is Rule.Key computed from the read-back form.
func canonKey(r canonRule) string {
	remote := "group:" + r.RemoteGroup
	if r.RemoteIPPrefix != "" {
		remote = "cidr:" + r.RemoteIPPrefix
	}
	return strings.Join([]string{r.Direction, r.Ethertype, r.Protocol, fmt.Sprint(r.Min), fmt.Sprint(r.Max), remote}, "|")
}

func toRule(r canonRule) *Rule {
	out := &Rule{Ethertype: r.Ethertype, Protocol: r.Protocol, PortMin: int32(r.Min), PortMax: int32(r.Max), RemoteGroup: r.RemoteGroup}
	if r.RemoteIPPrefix != "" {
		out.RemoteIPPrefix = netip.MustParsePrefix(r.RemoteIPPrefix)
	}
	return out
}

func compareCanon(a, b canonRule) int { return compareRules(toRule(a), toRule(b)) }

// checkInvariants checks what every group must satisfy, whichever form it
// was read from.
func checkInvariants(t *testing.T, where string, groups []canonGroup) {
	t.Helper()
	names := map[string]bool{}
	for i, g := range groups {
		if i > 0 && groups[i-1].Name >= g.Name {
			t.Errorf("%s: groups not sorted by name: %s before %s", where, groups[i-1].Name, g.Name)
		}
		names[g.Name] = true
	}
	for _, g := range groups {
		seen := map[string]bool{}
		for i, r := range g.Rules {
			if i > 0 && compareCanon(g.Rules[i-1], r) >= 0 {
				t.Errorf("%s: %s: rules not in canonical order or duplicated: %v, then %v", where, g.Name, g.Rules[i-1], r)
			}
			if seen[canonKey(r)] {
				t.Errorf("%s: duplicate rule %v", where, r)
			}
			seen[canonKey(r)] = true
			if r.Direction != dirIngress {
				t.Errorf("%s: %v: only ingress rules are emitted", where, r)
			}
			if len(r.Description) > maxDescription || !strings.HasPrefix(r.Description, "intentc: ") {
				t.Errorf("%s: %v: description must start with intentc: and be at most %d characters", where, r, maxDescription)
			}
			if r.RemoteIPPrefix != "" {
				p, err := netip.ParsePrefix(r.RemoteIPPrefix)
				switch {
				case err != nil || p.Masked() != p:
					t.Errorf("%s: %v: remote_ip_prefix is not a canonical CIDR", where, r)
				case p.Bits() == 0:
					t.Errorf("%s: %v: open to the world", where, r)
				case ethertypeOf(p) != r.Ethertype:
					t.Errorf("%s: %v: ethertype does not match the prefix's family", where, r)
				}
			} else if r.RemoteGroup != g.Name {
				t.Errorf("%s: %v: the remote group must be the group itself", where, r)
			}
			switch r.Protocol {
			case protoTCP, protoUDP:
				if r.Min < 1 || r.Max > 65535 || r.Min > r.Max {
					t.Errorf("%s: %v: bad port range", where, r)
				}
			case protoIPIP:
				if r.Min != 0 || r.Max != 0 || r.Ethertype != ethIPv4 {
					t.Errorf("%s: %v: IP-in-IP has no ports and is IPv4 only", where, r)
				}
			default:
				t.Errorf("%s: %v: unexpected protocol", where, r)
			}
		}
	}
}

// loadModel compiles an intent directory up to the model.
func loadModel(t *testing.T, dir string) (*ir.Model, bool) {
	t.Helper()
	set, ds := intent.Load([]string{dir})
	m, ds2 := resolve.Resolve(set)
	return m, !ds.HasErrors() && !ds2.HasErrors()
}

// TestJSONAndHeatAgree reads every golden case of this layer and every
// example back from both forms and wants the same rule set, and the
// invariants of layer 1 in each.
func TestJSONAndHeatAgree(t *testing.T) {
	dirs, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "compile", "l1-*", "in"))
	examples, _ := filepath.Glob(filepath.Join("..", "..", "examples", "*"))
	dirs = append(dirs, examples...)
	if len(dirs) < 2 {
		t.Fatal("no golden cases or examples found")
	}
	checked := 0
	for _, dir := range dirs {
		t.Run(dir, func(t *testing.T) {
			m, ok := loadModel(t, dir)
			if !ok {
				t.Skip("does not resolve")
			}
			arts, ds := Emit(m)
			if ds.HasErrors() {
				t.Skip("refused by layer 1")
			}
			files := map[string][]byte{}
			for _, a := range arts {
				files[a.Path] = a.Data
				if !strings.HasSuffix(string(a.Data), "\n") || strings.HasSuffix(string(a.Data), "\n\n") {
					t.Errorf("%s: want exactly one trailing newline", a.Path)
				}
			}
			for p, data := range files {
				dir := path.Dir(p)
				switch path.Base(p) {
				case FileJSON:
					cloud, project, fromJSON := parseJSON(t, data)
					if dir != path.Join("openstack", cloud, project) {
						t.Errorf("%s names cloud %s and project %s", p, cloud, project)
					}
					heat, ok := files[path.Join(dir, FileHeat)]
					if !ok {
						t.Fatalf("%s has no Heat template beside it", p)
					}
					fromHeat := parseHeat(t, heat)
					checkInvariants(t, p, fromJSON)
					checkInvariants(t, path.Join(dir, FileHeat), fromHeat)
					if g, w := fmt.Sprint(fromHeat), fmt.Sprint(fromJSON); g != w {
						t.Errorf("%s: the Heat template and the JSON differ:\nheat: %s\njson: %s", dir, g, w)
					}
					checked++
				case FileAudit:
					_, _, groups := parseJSON(t, data)
					checkInvariants(t, p, groups)
					// Audited groups are not intentc's: nothing may apply them.
					if heat, ok := files[path.Join(dir, FileHeat)]; ok {
						for _, hg := range parseHeat(t, heat) {
							for _, g := range groups {
								if g.Name == hg.Name {
									t.Errorf("%s: audited group %s is in the Heat template", dir, g.Name)
								}
							}
						}
					}
					if strings.Contains(string(data), TagManagedBy) {
						t.Errorf("%s: an audited group is not tagged as intentc's", p)
					}
				case FileHeat:
				default:
					t.Errorf("unexpected file %s", p)
				}
			}
		})
	}
	if checked == 0 {
		t.Error("no JSON/Heat pair was checked")
	}
}

// TestGoldenCasesCovered keeps the golden cases the issue asks for.
func TestGoldenCasesCovered(t *testing.T) {
	for _, c := range []string{"l1-amphora", "l1-ovn", "l1-none", "l1-ipv6", "l1-audit", "l1-calico-ipip",
		"l1-cilium-vxlan", "l1-two-primaries"} {
		if _, err := os.Stat(filepath.Join("..", "..", "testdata", "compile", c, "in")); err != nil {
			t.Errorf("golden case %s: %v", c, err)
		}
	}
}
