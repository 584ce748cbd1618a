package lint

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/intentc/intentc/compiler"
	"github.com/intentc/intentc/compiler/diag"
)

// The mutation tests break correct output of examples/cross-cloud the way a
// hand-editor would, in memory, and want the exact code at the intent
// position that produced the object. Objects the security layers emit are
// required: a missing one fails the test (it never skips), naming the
// layer.

const example = "../examples/cross-cloud"

var (
	inventoryYAML = filepath.Join(example, "intents", "inventory.yaml")
	frontendYAML  = filepath.Join(example, "intents", "frontend.yaml")
	meshYAML      = filepath.Join(example, "intents", "mesh.yaml")
)

// Output files the mutations edit, and the layer that writes each.
const (
	vsInventory    = "clusters/public-prod/prod/virtualservice-inventory.yaml"
	drInventory    = "clusters/public-prod/prod/destinationrule-inventory.yaml"
	apFrontend     = "clusters/openstack-prod/prod/authorizationpolicy-frontend-reads-inventory.yaml"
	npDNS          = "clusters/openstack-prod/prod/networkpolicy-intentc-baseline-dns.yaml"
	npDefaultDeny  = "clusters/openstack-prod/prod/networkpolicy-intentc-default-deny.yaml"
	apAllowNothing = "clusters/openstack-prod/prod/authorizationpolicy-allow-nothing.yaml"
	paDefault      = "clusters/openstack-prod/prod/peerauthentication-default.yaml"
	sgJSON         = "openstack/dc1/k8s-prod/security-groups.json"
	sgHeat         = "openstack/dc1/k8s-prod/security-groups.heat.yaml"
	routingLayer   = "routing (compiler/istio/istio.go)"
	layer1         = "layer 1 (compiler/openstack)"
	layer2         = "layer 2 (compiler/kube/netpol.go)"
	layer3         = "layer 3 (compiler/istio/security.go)"
	layer4         = "layer 4 (compiler/istio/security.go)"
	intentExample  = "the compiled output of examples/cross-cloud"
)

// intentPos finds, independently of the intent parser, where a finding
// must be reported: in file, the document containing anchor, at the line
// whose key is key (the document's first line when key is "").
func intentPos(t *testing.T, file, anchor, key string) diag.Pos {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	at := slices.IndexFunc(lines, func(l string) bool { return strings.Contains(l, anchor) })
	if at < 0 {
		t.Fatalf("%s: no line contains %q (was the example edited?)", file, anchor)
	}
	start := at
	for start > 0 && !strings.HasPrefix(lines[start], "apiVersion:") {
		start--
	}
	if key == "" {
		return diag.Pos{File: file, Line: start + 1, Col: 1}
	}
	for i := start + 1; i < len(lines) && !strings.HasPrefix(lines[i], "---"); i++ {
		if trimmed := strings.TrimLeft(lines[i], " "); strings.HasPrefix(trimmed, key+":") {
			return diag.Pos{File: file, Line: i + 1, Col: len(lines[i]) - len(trimmed) + 1}
		}
	}
	t.Fatalf("%s: the document with %q has no %s:", file, anchor, key)
	return diag.Pos{}
}

type outputs struct {
	t     *testing.T
	res   *compiler.Result
	files map[string][]byte
}

func compiledExample(t *testing.T) *outputs {
	t.Helper()
	res := compile(t, example)
	o := &outputs{t: t, res: res, files: map[string][]byte{}}
	for _, f := range res.Files {
		o.files[f.Path] = f.Data
	}
	return o
}

func (o *outputs) need(path, layer string) []byte {
	o.t.Helper()
	data, ok := o.files[path]
	if !ok {
		o.t.Fatalf("%s is not in %s: %s has not landed, or no longer emits it", path, intentExample, layer)
	}
	return data
}

// editYAML edits one generated Kubernetes object.
func (o *outputs) editYAML(path, layer string, edit func(map[string]any)) {
	o.t.Helper()
	var m map[string]any
	if err := sigsyaml.Unmarshal(o.need(path, layer), &m); err != nil {
		o.t.Fatal(err)
	}
	edit(m)
	data, err := sigsyaml.Marshal(m)
	if err != nil {
		o.t.Fatal(err)
	}
	o.files[path] = data
}

// editRule edits the first security-group rule with a remote prefix, in
// the Neutron JSON or in the Heat template (properties of the first
// OS::Neutron::SecurityGroupRule with one).
func (o *outputs) editRule(path string, edit func(map[string]any)) {
	o.t.Helper()
	data := o.need(path, layer1)
	if strings.HasSuffix(path, ".json") {
		var doc struct {
			Cloud          string           `json:"cloud"`
			Project        string           `json:"project"`
			SecurityGroups []map[string]any `json:"security_groups"`
		}
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		if err := dec.Decode(&doc); err != nil {
			o.t.Fatal(err)
		}
		for _, g := range doc.SecurityGroups {
			rules, _ := g["rules"].([]any)
			for _, r := range rules {
				if rule := r.(map[string]any); rule["remote_ip_prefix"] != nil {
					edit(rule)
					out, _ := json.MarshalIndent(doc, "", "  ")
					o.files[path] = out
					return
				}
			}
		}
		o.t.Fatalf("%s: no rule with a remote_ip_prefix to edit (%s)", path, layer1)
	}
	var tmpl map[string]any
	if err := yaml.Unmarshal(data, &tmpl); err != nil {
		o.t.Fatal(err)
	}
	resources, _ := tmpl["resources"].(map[string]any)
	for _, name := range slices.Sorted(maps.Keys(resources)) {
		res := resources[name].(map[string]any)
		props, _ := res["properties"].(map[string]any)
		if res["type"] == "OS::Neutron::SecurityGroupRule" && props["remote_ip_prefix"] != nil {
			edit(props)
			out, _ := yaml.Marshal(tmpl)
			o.files[path] = out
			return
		}
	}
	o.t.Fatalf("%s: no OS::Neutron::SecurityGroupRule with a remote_ip_prefix to edit (%s)", path, layer1)
}

func (o *outputs) check() diag.List {
	o.t.Helper()
	res := *o.res
	res.Files = nil
	for _, p := range slices.Sorted(maps.Keys(o.files)) {
		res.Files = append(res.Files, compiler.File{Path: p, Data: o.files[p]})
	}
	return engine(o.t).CheckCompiled(context.Background(), &res)
}

func wantFinding(t *testing.T, diags diag.List, code diag.Code, pos diag.Pos) {
	t.Helper()
	for _, d := range diags {
		if d.Code == code && d.Pos == pos {
			if d.Severity != diag.Error {
				t.Errorf("%s on generated output is a %s, want an error", code, d.Severity)
			}
			return
		}
	}
	t.Errorf("want %s at %s; got:\n%s", code, pos, diags.Error())
}

func TestMutations(t *testing.T) {
	setRule := func(fields map[string]any, drop ...string) func(map[string]any) {
		return func(r map[string]any) {
			for _, k := range drop {
				delete(r, k)
			}
			for k, v := range fields {
				r[k] = v
			}
		}
	}
	ssh := map[string]any{"protocol": "tcp", "port_range_min": 22, "port_range_max": 22}
	with := func(m map[string]any, kv ...any) map[string]any {
		out := map[string]any{}
		for k, v := range m {
			out[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			out[kv[i].(string)] = kv[i+1]
		}
		return out
	}
	meshCluster := func(t *testing.T) diag.Pos { return intentPos(t, meshYAML, "name: openstack-prod}", "openstack") }

	type mutation struct {
		name   string
		mutate func(*outputs)
		code   diag.Code
		pos    func(*testing.T) diag.Pos
		also   []diag.Code // other findings the mutation rightly raises
	}
	cases := []mutation{
		{
			name: "weights 60/30",
			mutate: func(o *outputs) {
				o.editYAML(vsInventory, routingLayer, func(m map[string]any) {
					for _, r := range m["spec"].(map[string]any)["http"].([]any) {
						dests := r.(map[string]any)["route"].([]any)
						if len(dests) == 2 {
							dests[0].(map[string]any)["weight"] = 60
							dests[1].(map[string]any)["weight"] = 30
						}
					}
				})
			},
			code: diag.CodeWeightsSum,
			pos: func(t *testing.T) diag.Pos {
				return intentPos(t, inventoryYAML, "name: inventory, namespace: prod", "placement")
			},
		},
		{
			name: "spiffe principal",
			mutate: func(o *outputs) {
				o.editYAML(apFrontend, layer3, func(m map[string]any) {
					src := m["spec"].(map[string]any)["rules"].([]any)[0].(map[string]any)["from"].([]any)[0].(map[string]any)["source"].(map[string]any)
					ps := src["principals"].([]any)
					ps[0] = "spiffe://" + ps[0].(string)
				})
			},
			code: diag.CodeSPIFFEPrincipal,
			pos: func(t *testing.T) diag.Pos {
				return intentPos(t, frontendYAML, "name: frontend-reads-inventory", "from")
			},
		},
		{
			name: "DNS egress deleted",
			mutate: func(o *outputs) {
				o.need(npDNS, layer2)
				delete(o.files, npDNS)
			},
			code: diag.CodeNoDefaultDeny,
			pos:  func(t *testing.T) diag.Pos { return intentPos(t, meshYAML, "kind: Mesh", "defaultDeny") },
		},
		{
			name: "missing subset",
			mutate: func(o *outputs) {
				o.editYAML(vsInventory, routingLayer, func(m map[string]any) {
					r := m["spec"].(map[string]any)["http"].([]any)[0].(map[string]any)["route"].([]any)[0].(map[string]any)
					r["destination"].(map[string]any)["subset"] = "public-prd"
				})
			},
			code: diag.CodeMissingSubset,
			pos: func(t *testing.T) diag.Pos {
				return intentPos(t, inventoryYAML, "name: inventory, namespace: prod", "placement")
			},
		},
		{
			name: "shadowing DestinationRule",
			mutate: func(o *outputs) {
				var m map[string]any
				if err := sigsyaml.Unmarshal(o.need(drInventory, routingLayer), &m); err != nil {
					o.t.Fatal(err)
				}
				m["metadata"].(map[string]any)["namespace"] = "web"
				data, _ := sigsyaml.Marshal(m)
				o.files["clusters/public-prod/web/destinationrule-inventory.yaml"] = data
			},
			code: diag.CodeShadowingDR,
			pos: func(t *testing.T) diag.Pos {
				return intentPos(t, inventoryYAML, "name: inventory, namespace: prod", "")
			},
		},
		{
			name: "allow-nothing turned allow-all",
			mutate: func(o *outputs) {
				o.editYAML(apAllowNothing, layer3, func(m map[string]any) {
					m["spec"] = map[string]any{"rules": []any{map[string]any{}}}
				})
			},
			code: diag.CodeAllowAll,
			pos:  func(t *testing.T) diag.Pos { return intentPos(t, meshYAML, "kind: Mesh", "defaultDeny") },
			also: []diag.Code{diag.CodeNoDefaultDeny},
		},
		{
			name: "namespace PeerAuthentication made permissive",
			mutate: func(o *outputs) {
				o.editYAML(paDefault, layer4, func(m map[string]any) {
					m["spec"].(map[string]any)["mtls"] = map[string]any{"mode": "PERMISSIVE"}
				})
			},
			code: diag.CodeWeakPeerAuthn,
			pos:  func(t *testing.T) diag.Pos { return intentPos(t, meshYAML, "kind: Mesh", "mtls") },
		},
		{
			name: "policyTypes dropped from the default deny",
			mutate: func(o *outputs) {
				o.editYAML(npDefaultDeny, layer2, func(m map[string]any) {
					delete(m["spec"].(map[string]any), "policyTypes")
				})
			},
			code: diag.CodeImplicitPolicyTypes,
			pos:  func(t *testing.T) diag.Pos { return intentPos(t, meshYAML, "kind: Mesh", "defaultDeny") },
			also: []diag.Code{diag.CodeNoDefaultDeny},
		},
	}
	for _, form := range []string{sgJSON, sgHeat} {
		kind := strings.TrimPrefix(filepath.Ext(form), ".")
		if kind == "yaml" {
			kind = "Heat"
		}
		cases = append(cases,
			mutation{name: "SG 22 in range 1-1024 " + kind, mutate: func(o *outputs) {
				o.editRule(form, setRule(with(ssh, "port_range_min", 1, "port_range_max", 1024, "remote_ip_prefix", "0.0.0.0/0", "ethertype", "IPv4"), "remote_group"))
			}, code: diag.CodeAdminPortWorld, pos: meshCluster},
			mutation{name: "SG no port range " + kind, mutate: func(o *outputs) {
				o.editRule(form, setRule(map[string]any{"protocol": "tcp", "remote_ip_prefix": "0.0.0.0/0", "ethertype": "IPv4"}, "port_range_min", "port_range_max", "remote_group"))
			}, code: diag.CodeAdminPortWorld, pos: meshCluster},
			mutation{name: "SG no remote " + kind, mutate: func(o *outputs) {
				o.editRule(form, setRule(ssh, "remote_ip_prefix", "remote_group"))
			}, code: diag.CodeAdminPortWorld, pos: meshCluster},
			mutation{name: "SG from ::/0 " + kind, mutate: func(o *outputs) {
				o.editRule(form, setRule(with(ssh, "remote_ip_prefix", "::/0", "ethertype", "IPv6"), "remote_group"))
			}, code: diag.CodeAdminPortWorld, pos: meshCluster},
			mutation{name: "SG ethertype IPv4 for ::/0 " + kind, mutate: func(o *outputs) {
				o.editRule(form, setRule(map[string]any{"remote_ip_prefix": "2001:db8::/32", "ethertype": "IPv4"}))
			}, code: diag.CodeEthertypeMismatch, pos: func(t *testing.T) diag.Pos {
				return intentPos(t, meshYAML, "name: openstack-prod}", "cidrs")
			}},
		)
	}

	// The unmutated output passes: each finding below is the mutation's.
	if clean := compiledExample(t).check(); len(clean) > 0 {
		t.Fatalf("examples/cross-cloud has findings before any mutation:\n%s", clean.Error())
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := compiledExample(t)
			c.mutate(o)
			got := o.check()
			t.Logf("findings:\n%s", got.Error())
			wantFinding(t, got, c.code, c.pos(t))
			for _, d := range got {
				if d.Code != c.code && !slices.Contains(c.also, d.Code) {
					t.Errorf("the mutation also raised %s", d)
				}
			}
		})
	}
}
