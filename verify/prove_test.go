package verify

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/intentc/intentc/bench/fleet"
	"github.com/intentc/intentc/compiler"
	"github.com/intentc/intentc/compiler/diag"
	"github.com/intentc/intentc/compiler/ir"
	"github.com/intentc/intentc/compiler/manifest"
	_ "github.com/intentc/intentc/internal/testflags"
)

func compileDir(t testing.TB, dir string) *compiler.Result {
	t.Helper()
	res, diags := compiler.Compile(compiler.Options{Paths: []string{dir}})
	if diags.HasErrors() {
		t.Fatalf("%s does not compile:\n%s", dir, diags.Error())
	}
	return res
}

var exampleDir = filepath.Join("..", "examples", "cross-cloud")

// The example's output proves, with one warning: batch may call inventory
// only from openstack-prod, but from public-prod it would arrive through
// openstack-prod's east-west gateway, which frontend's policy opens at
// layer 2, as an identity layer 3 cannot tell from openstack-prod's.
func TestProveExample(t *testing.T) {
	res := compileDir(t, exampleDir)
	diags, st := ProveStats(res.Model, res.Files)
	if st.Connections < 1000 {
		t.Errorf("judged only %d connections", st.Connections)
	}
	if diags.HasErrors() {
		t.Fatalf("the example's output does not prove:\n%s", diags.Error())
	}
	if len(diags) != 1 || diags[0].Code != diag.CodeLayersTogetherLoose || !strings.Contains(diags[0].Message, "batch/* (any workload) in public-prod → prod/inventory:8080 in openstack-prod") {
		t.Errorf("want the one IC5003 about batch in public-prod, got:\n%s", diags.Error())
	}
}

// Every golden case that compiles proves without an error.
func TestProveGoldens(t *testing.T) {
	dirs, _ := filepath.Glob(filepath.Join("..", "testdata", "compile", "*", "in"))
	proved := 0
	for _, d := range dirs {
		res, diags := compiler.Compile(compiler.Options{Paths: []string{d}})
		if diags.HasErrors() || len(res.Files) == 0 {
			continue
		}
		ds := Prove(res.Model, res.Files)
		if ds.HasErrors() {
			t.Errorf("%s does not prove:\n%s", d, ds.Error())
		}
		proved++
	}
	if proved < 30 {
		t.Errorf("only %d golden cases compiled and were proven; want at least 30", proved)
	}
}

type mutation struct {
	name  string
	file  string // path suffix
	old   string // replaced once; "" deletes the file
	new   string
	code  diag.Code
	inMsg string
}

// The proof catches what a broken backend would emit: each mutation of
// the example's output draws the finding that names it.
func TestProveCatchesMutations(t *testing.T) {
	res := compileDir(t, exampleDir)
	for _, m := range exampleMutations {
		t.Run(m.name, func(t *testing.T) {
			files := mutate(t, res.Files, m)
			ds := Prove(res.Model, files)
			i := slices.IndexFunc(ds, func(d diag.Diagnostic) bool { return d.Code == m.code && strings.Contains(d.Message, m.inMsg) })
			if i < 0 {
				t.Fatalf("no %s containing %q; got:\n%s", m.code, m.inMsg, ds.Error())
			}
			if !ds[i].Pos.IsValid() || !strings.HasSuffix(ds[i].Pos.File, ".yaml") {
				t.Errorf("finding is not at an intent position: %s", ds[i])
			}
		})
	}
}

// exampleMutations break the example's output as a broken backend would.
var exampleMutations = []mutation{
	{"ingress NetworkPolicy deleted", "openstack-prod/prod/networkpolicy-frontend-reads-inventory.yaml", "", "",
		diag.CodeLayerTooTight, "layer 2 (NetworkPolicy, ingress) denies web/frontend in public-prod → prod/inventory:8080 in openstack-prod"},
	{"egress NetworkPolicy deleted", "public-prod/web/networkpolicy-prod-frontend-reads-inventory-egress.yaml", "", "",
		diag.CodeLayerTooTight, "layer 2 (NetworkPolicy, egress) denies web/frontend in public-prod"},
	{"principal widened to the namespace", "openstack-prod/prod/authorizationpolicy-frontend-reads-inventory.yaml",
		"cluster.local/ns/web/sa/frontend", "cluster.local/ns/web/sa/*",
		diag.CodeLayerTooLoose, "layer 3 (AuthorizationPolicy) allows web/* (any workload)"},
	{"allow-nothing turned allow-all", "public-prod/web/authorizationpolicy-allow-nothing.yaml", "spec: {}", "spec: {rules: [{}]}",
		diag.CodeLayerTooLoose, "AuthorizationPolicy web/allow-nothing: ALLOW rule 0 matches"},
	{"deny deleted", "openstack-prod/prod/authorizationpolicy-legacy-export-denied.yaml", "", "",
		diag.CodeLayerTooLoose, "layer 3 (AuthorizationPolicy) allows batch/legacy-export"},
	{"HTTP method dropped", "public-prod/prod/authorizationpolicy-frontend-reads-inventory.yaml", "        methods:\n        - GET\n", "",
		diag.CodeLayerTooLoose, "(INTENTC /api)"},
	{"deny not subtracted", "openstack-prod/prod/networkpolicy-batch-updates-inventory.yaml", "operator: NotIn", "operator: In",
		diag.CodeLayerTooLoose, "layer 2 (NetworkPolicy, ingress) allows batch/legacy-export"},
	{"egress opened to every address", "public-prod/web/networkpolicy-prod-frontend-reads-inventory-egress.yaml", "cidr: 203.0.113.20/32", "cidr: 0.0.0.0/0",
		diag.CodeLayerTooLoose, "layer 2 (NetworkPolicy, egress) allows"},
	{"weights changed", "public-prod/prod/virtualservice-inventory.yaml", "weight: 70", "weight: 40",
		diag.CodeRoutingMismatch, "the intent says openstack-prod 70%, public-prod 30%"},
	{"subset missing in the destination cluster", "openstack-prod/prod/destinationrule-inventory.yaml", "name: openstack-prod", "name: renamed",
		diag.CodeRoutingMismatch, "east-west gateway routes by subset"},
	{"mTLS relaxed", "public-prod/web/peerauthentication-default.yaml", "mode: STRICT", "mode: PERMISSIVE",
		diag.CodeMTLSMismatch, "is PERMISSIVE in public-prod, the intent says STRICT"},
	{"gateway rule dropped", "openstack/dc1/k8s-prod/security-groups.json", `"port_range_max": 31443`, `"port_range_max": 31442`,
		diag.CodeLayerTooTight, "layer 1 (security groups) does not admit tcp 31443"},
	{"ssh opened", "openstack/dc1/k8s-prod/security-groups.json", `"rules": [`, `"rules": [{"direction": "ingress", "ethertype": "IPv4", "protocol": "tcp", "port_range_min": 22, "port_range_max": 22, "remote_ip_prefix": "0.0.0.0/0"},`,
		diag.CodeLayerTooLoose, "tcp 22 from 0.0.0.0"},
}

func mutate(t *testing.T, files []manifest.File, m mutation) []manifest.File {
	t.Helper()
	var out []manifest.File
	found := false
	for _, f := range files {
		if !strings.HasSuffix(f.Path, m.file) {
			out = append(out, f)
			continue
		}
		found = true
		if m.old == "" {
			continue
		}
		if !strings.Contains(string(f.Data), m.old) {
			t.Fatalf("%s does not contain %q", f.Path, m.old)
		}
		out = append(out, manifest.File{Path: f.Path, Data: []byte(strings.Replace(string(f.Data), m.old, m.new, 1))})
	}
	if !found {
		t.Fatalf("no file %s in the output", m.file)
	}
	return out
}

// TestTerseJudgesAsFull holds the proof's terse judging (memoised
// verdicts and selections, no texts) to the full judging explain and the
// proof's messages use: every connection the proof enumerates, on the
// example and on a fleet over twenty clusters, gets the same verdict in
// every layer and view and the same view keys both ways.
func TestTerseJudgesAsFull(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if _, err := fleet.Write(dir, fleet.Options{Services: 20, Clusters: 20}); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{exampleDir, dir} {
		res := compileDir(t, d)
		a, _ := New(res.Model, res.Files, Options{})
		a.terse = true
		p := newProver(a)
		n := 0
		for _, s := range res.Model.Services {
			memo := newJudgeMemo()
			sources := p.sourcesFor(s)
			ports := append(slices.Clone(s.Ports), &ir.Port{Name: "sidecar", Port: 15020, TargetPort: 15020, Protocol: ir.ProtoTCP})
			for _, pl := range s.Placements {
				for _, port := range ports {
					tg := Target{Service: s, Port: port}
					for _, src := range sources {
						b := p.a.judgeBase(src, tg, pl.Cluster, false, memo)
						for _, req := range p.requests(s, port) {
							terse := p.a.judgeRequest(&b, req)
							full := p.full.judge(src, tg, pl.Cluster, req, false)
							n++
							for i := 1; i <= 4; i++ {
								if terse.layers[i].Verdict != full.layers[i].Verdict {
									t.Fatalf("%s → %s in %s%s: layer %d: terse %v, full %v", src, tg, pl.Cluster.Name, reqText(tg, req), i, terse.layers[i].Verdict, full.layers[i].Verdict)
								}
							}
							tv := []any{terse.l2in, terse.l2out, terse.l3dest, terse.l3gw, terse.k2in, terse.k2out, terse.k3, terse.k3gw, terse.k4}
							fv := []any{full.l2in, full.l2out, full.l3dest, full.l3gw, full.k2in, full.k2out, full.k3, full.k3gw, full.k4}
							if diff := cmp.Diff(fv, tv, cmp.AllowUnexported(l3Key{}, httpPart{})); diff != "" {
								t.Fatalf("%s → %s in %s%s: views and keys differ (-full +terse):\n%s", src, tg, pl.Cluster.Name, reqText(tg, req), diff)
							}
						}
					}
				}
			}
		}
		if n < 1000 {
			t.Errorf("%s: compared only %d connections", d, n)
		}
	}
}

// TestQuietSourcesChangeNothing holds the proof's shortcut for sources no
// policy tells apart by request (quietSource) to the proof that checks
// every request: the same findings, byte for byte, and the same count of
// connections, on intents that prove and on outputs broken on purpose —
// the example and its mutations, every golden case, a fleet over twenty
// clusters, and random intents from the property test's generator, each
// also with one file of its output deleted and one AuthorizationPolicy
// emptied (which turns its deny-all into allow-nothing or opens a port to
// everyone, the findings the shortcut must not lose).
func TestQuietSourcesChangeNothing(t *testing.T) {
	t.Parallel()
	compare := func(t *testing.T, name string, res *compiler.Result, files []manifest.File) int {
		t.Helper()
		fast, fs := prove(res.Model, files, false)
		full, ls := prove(res.Model, files, true)
		if diff := cmp.Diff(full.Error(), fast.Error()); diff != "" {
			t.Errorf("%s: the shortcut changes the findings (-every request +shortcut):\n%s", name, diff)
		}
		if fs != ls {
			t.Errorf("%s: stats %+v with the shortcut, %+v without", name, fs, ls)
		}
		return len(full)
	}
	findings := 0
	ex := compileDir(t, exampleDir)
	findings += compare(t, "example", ex, ex.Files)
	for _, m := range append(slices.Clone(exampleMutations),
		// A request of a named caller the intent allows and layer 3 denies,
		// after one both deny: the shortcut must not take the first for
		// every request.
		mutation{name: "HTTP method changed", file: "public-prod/prod/authorizationpolicy-frontend-reads-inventory.yaml", old: "        - GET\n", new: "        - PUT\n"}) {
		findings += compare(t, "example, "+m.name, ex, mutate(t, ex.Files, m))
	}
	dirs, _ := filepath.Glob(filepath.Join("..", "testdata", "compile", "*", "in"))
	for _, d := range dirs {
		if res, diags := compiler.Compile(compiler.Options{Paths: []string{d}}); !diags.HasErrors() && len(res.Files) > 0 {
			findings += compare(t, d, res, res.Files)
		}
	}
	dir := t.TempDir()
	if _, err := fleet.Write(dir, fleet.Options{Services: 30, Clusters: 20}); err != nil {
		t.Fatal(err)
	}
	fl := compileDir(t, dir)
	findings += compare(t, "fleet", fl, fl.Files)
	for i := range 40 {
		seed := uint64(7000 + i)
		res, _, ok := compileGen(t, generate(seed))
		if !ok {
			continue
		}
		name := fmt.Sprintf("random intent %d", seed)
		findings += compare(t, name, res, res.Files)
		r := rand.New(rand.NewPCG(seed, 1))
		gone := r.IntN(len(res.Files))
		findings += compare(t, name+" without "+res.Files[gone].Path, res, slices.Delete(slices.Clone(res.Files), gone, gone+1))
		var aps []int
		for j, f := range res.Files {
			if strings.Contains(f.Path, "/authorizationpolicy-") {
				aps = append(aps, j)
			}
		}
		if len(aps) > 0 {
			j := aps[r.IntN(len(aps))]
			files := slices.Clone(res.Files)
			doc := string(files[j].Data)
			if k := strings.Index(doc, "\nspec:"); k >= 0 {
				files[j] = manifest.File{Path: files[j].Path, Data: []byte(doc[:k] + "\nspec: {}\n")}
				findings += compare(t, name+" with "+files[j].Path+" emptied", res, files)
			}
		}
	}
	if findings < 50 {
		t.Errorf("the cases drew only %d findings: too few to tell a shortcut that loses them", findings)
	}
}
