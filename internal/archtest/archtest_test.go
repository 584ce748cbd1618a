package archtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	_ "github.com/intentc/intentc/internal/testflags" // accept -update like every test binary
)

// rule says which of the module's packages one package may import. Paths are
// relative to the module root. A pattern is a package path, "dir/*" (any
// package below dir) or "*" (any package of the module).
type rule struct {
	allow []string
	// deny wins over allow; it states the invariants that must hold even if
	// someone widens allow (see also never below).
	deny []string
}

// backends emit platform objects from the IR. They never import each other.
var backends = []string{"compiler/istio", "compiler/kube", "compiler/openstack"}

// layers is the table: every package of the module must have a row, so a new
// package (lint/, webhook/, …) fails the test until someone decides here what
// it may import. The verify row exists before the package does: it states the
// rule verify will be held to from its first commit.
var layers = map[string]rule{
	// The pipeline, top to bottom (DESIGN §5).
	"compiler/diag":      {},
	"compiler/intent":    {allow: []string{"compiler/diag", "internal/fastyaml"}},
	"compiler/ir":        {allow: []string{"compiler/diag"}},
	"compiler/resolve":   {allow: []string{"compiler/diag", "compiler/intent", "compiler/ir"}},
	"compiler/istio":     {allow: []string{"compiler/diag", "compiler/ir"}},
	"compiler/kube":      {allow: []string{"compiler/diag", "compiler/ir"}},
	"compiler/openstack": {allow: []string{"compiler/diag", "compiler/ir"}},
	"compiler/manifest":  {allow: []string{"compiler/diag", "compiler/ir"}},
	// lint is the last stage (DESIGN §5): OPA over every object and bundle,
	// findings mapped back to intent ranges. It runs the compiler driver and
	// sees its objects, never how a backend made them.
	"lint": {allow: []string{"compiler", "compiler/diag", "compiler/intent", "compiler/ir", "compiler/manifest", "internal/fastyaml", "policies"}, deny: backends},
	// The driver runs every compile stage; lint runs after it.
	"compiler": {allow: []string{"compiler/*"}},

	// Around the pipeline.
	"cmd/intentc": {allow: []string{"*"}},
	// e2e compiles the examples and golden cases end to end.
	"e2e": {allow: []string{"*"}},
	// neutron applies compiler/openstack's security-groups documents to a
	// live Neutron (intentc openstack plan|apply): it reads their types and
	// names the diag codes, and runs no compile stage itself.
	"neutron": {allow: []string{"compiler/diag", "compiler/openstack"}},
	// The test harness that starts a real Neutron (hack/neutron-up.sh).
	"neutron/neutrontest": {allow: []string{"neutron"}},
	// crdgen derives the CRDs from the intent types.
	"internal/crdgen": {allow: []string{"compiler/intent"}},
	// This package: a test of the others, importing none of them.
	"internal/archtest": {},
	// The fast YAML reader of intent files, of hand-written manifests and
	// of the manifests the proof reads back: yaml.v3's nodes, nothing of
	// intentc.
	"internal/fastyaml": {},
	// Flags every test binary accepts (-update); imported by tests only.
	"internal/testflags": {},
	// The output formats of findings (text, JSON, SARIF, GitHub
	// annotations): it prints diag lists and reads the code table, nothing
	// of the pipeline.
	"internal/report": {allow: []string{"compiler/diag"}},
	// The built-in Rego rules and their METADATA: data for lint, which
	// names codes from the diag table and nothing of the pipeline.
	"policies": {allow: []string{"compiler/diag"}},
	// verify reads generated manifests back and must be able to disagree
	// with the backends, so it never imports one (DESIGN §5); the compiler
	// driver would bring them in too.
	"verify": {allow: []string{"*"}, deny: append([]string{"compiler", "cmd/*"}, backends...)},
	// The admission webhook judges requests against what the compiler
	// driver produces and runs lint's per-object rules; like lint, it never
	// sees how a backend made an object.
	"webhook": {allow: []string{"compiler", "compiler/diag", "compiler/intent", "compiler/ir", "compiler/manifest", "lint"}, deny: backends},
	// Test helpers for the webhook (PKI, AdmissionReview bodies): no
	// intentc package at all.
	"webhook/webhooktest": {},
	// The webhook's load and fault benchmark runs the built binary; it
	// needs only the test helpers.
	"webhook/bench": {allow: []string{"webhook/webhooktest"}},
	// The fleet generator writes intent files and imports nothing of
	// intentc, so any package's tests can use it.
	"bench/fleet": {},
	// The benchmarks (doc only outside their tests) and the fleet command,
	// which compiles a fleet to write its mesh data: tools around the
	// pipeline, like the CLI.
	"bench":          {},
	"bench/fleetgen": {allow: []string{"bench/fleet", "compiler", "lint"}},
}

// never lists imports forbidden whatever the table says: the invariants the
// design states in words.
func never(from, to string) (bool, string) {
	if slices.Contains(backends, from) && slices.Contains(backends, to) {
		return true, "backends never import each other"
	}
	if (from == "verify" || strings.HasPrefix(from, "verify/")) && slices.Contains(backends, to) {
		return true, "verify never imports a backend: it must be able to disagree with them"
	}
	return false, ""
}

func matches(pattern, pkg string) bool {
	switch {
	case pattern == "*":
		return true
	case strings.HasSuffix(pattern, "/*"):
		return strings.HasPrefix(pkg, strings.TrimSuffix(pattern, "*"))
	}
	return pattern == pkg
}

// pkg is what the check needs from `go list -json`.
type pkg struct {
	ImportPath string
	Imports    []string
}

// violations checks packages (paths relative to the module root, imports
// already filtered to the module's own packages) against the table.
func violations(table map[string]rule, pkgs map[string][]string) []string {
	var out []string
	for _, from := range slices.Sorted(maps.Keys(pkgs)) {
		r, ok := table[from]
		if !ok {
			out = append(out, fmt.Sprintf("%s is not in the layering table (internal/archtest): add a row saying what it may import", from))
			continue
		}
		for _, to := range pkgs[from] {
			if bad, why := never(from, to); bad {
				out = append(out, fmt.Sprintf("%s imports %s: %s", from, to, why))
				continue
			}
			allowed := slices.ContainsFunc(r.allow, func(p string) bool { return matches(p, to) }) &&
				!slices.ContainsFunc(r.deny, func(p string) bool { return matches(p, to) })
			if !allowed {
				out = append(out, fmt.Sprintf("%s imports %s: not allowed by its row (allow %q, deny %q); imports point down the pipeline only", from, to, r.allow, r.deny))
			}
		}
	}
	// verify must not reach a backend by any path: through a helper package
	// that is allowed to import one, it would agree with the backends by
	// construction.
	for _, from := range slices.Sorted(maps.Keys(pkgs)) {
		if from != "verify" && !strings.HasPrefix(from, "verify/") {
			continue
		}
		via := map[string]string{from: ""} // package → the package that imported it
		queue := []string{from}
		for len(queue) > 0 {
			p := queue[0]
			queue = queue[1:]
			for _, to := range pkgs[p] {
				if _, seen := via[to]; seen {
					continue
				}
				via[to] = p
				if slices.Contains(backends, to) && p != from {
					chain := []string{to}
					for q := p; q != ""; q = via[q] {
						chain = append([]string{q}, chain...)
					}
					out = append(out, fmt.Sprintf("%s reaches %s through %s: verify never imports a backend, directly or not", from, to, strings.Join(chain, " → ")))
				}
				queue = append(queue, to)
			}
		}
	}
	return out
}

func goTool(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	p := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := exec.LookPath(p); err != nil {
		t.Fatalf("no go command in PATH or GOROOT: %v", err)
	}
	return p
}

// modulePackages lists the module's packages and their imports of each
// other, relative to the module root. Test files are left out: a test may
// build its fixtures with an upstream stage, and the layering is about what
// ships.
func modulePackages(t *testing.T) map[string][]string {
	t.Helper()
	root := filepath.Join("..", "..")
	run := func(args ...string) []byte {
		cmd := exec.Command(goTool(t), args...)
		cmd.Dir = root
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
		}
		return out
	}
	module := strings.TrimSpace(string(run("list", "-m")))
	if module == "" {
		t.Fatal("go list -m printed no module path")
	}
	rel := func(p string) (string, bool) {
		if p == module {
			return ".", true
		}
		r, ok := strings.CutPrefix(p, module+"/")
		return r, ok
	}
	// -e: a package that does not build (someone is mid-edit) still lists
	// its imports; the compile error is the compiler's to report.
	dec := json.NewDecoder(bytes.NewReader(run("list", "-e", "-json=ImportPath,Imports", "./...")))
	pkgs := map[string][]string{}
	for {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("decoding go list output: %v", err)
		}
		from, ok := rel(p.ImportPath)
		if !ok {
			continue
		}
		var imports []string
		for _, imp := range p.Imports {
			if to, ok := rel(imp); ok {
				imports = append(imports, to)
			}
		}
		pkgs[from] = imports
	}
	return pkgs
}

func TestImportLayering(t *testing.T) {
	pkgs := modulePackages(t)
	// Guard the premise: if go list found nothing, the test would pass
	// vacuously.
	for _, p := range []string{"compiler/diag", "compiler/intent", "compiler/resolve", "compiler/manifest", "cmd/intentc"} {
		if _, ok := pkgs[p]; !ok {
			t.Fatalf("go list did not report %s; found %v", p, slices.Sorted(maps.Keys(pkgs)))
		}
	}
	if !slices.Contains(pkgs["compiler/resolve"], "compiler/intent") {
		t.Fatalf("go list reported no intentc imports of compiler/resolve: %v", pkgs["compiler/resolve"])
	}
	for _, v := range violations(layers, pkgs) {
		t.Error(v)
	}
}

// The table itself is well formed: patterns are package paths or end in
// "/*", and no row lets a package import itself or a backend another one.
func TestTableIsWellFormed(t *testing.T) {
	for from, r := range layers {
		for _, p := range slices.Concat(r.allow, r.deny) {
			if p != "*" && (path.Clean(strings.TrimSuffix(p, "/*")) != strings.TrimSuffix(p, "/*") || strings.Contains(strings.TrimSuffix(p, "/*"), "*")) {
				t.Errorf("%s: malformed pattern %q", from, p)
			}
		}
		if slices.Contains(r.allow, from) {
			t.Errorf("%s: a package does not import itself", from)
		}
	}
	for _, b := range backends {
		if _, ok := layers[b]; !ok {
			t.Errorf("backend %s has no row", b)
		}
	}
}

// The checker catches each kind of violation; without this, a bug in it
// would make TestImportLayering pass for any graph.
func TestViolationsAreCaught(t *testing.T) {
	graph := map[string][]string{
		"compiler/diag":     {"compiler/intent"},                     // upward
		"compiler/istio":    {"compiler/ir", "compiler/kube"},        // backend to backend
		"compiler/manifest": {"compiler/diag", "compiler/ir"},        // fine
		"verify":            {"compiler/manifest", "compiler/istio"}, // verify to a backend
		"verify/explain":    {"compiler/kube"},                       // a verify subpackage to a backend
		"compiler/ir":       {"compiler/manifest"},                   // upward, further down
		"newpkg":            {"compiler/diag"},                       // not in the table
		"compiler":          {"compiler/istio", "compiler/manifest"}, // fine
		"cmd/intentc":       {"compiler", "compiler/diag"},           // fine
	}
	got := violations(layers, graph)
	want := []string{
		"compiler/diag imports compiler/intent: not allowed",
		"compiler/ir imports compiler/manifest: not allowed",
		"compiler/istio imports compiler/kube: backends never import each other",
		"newpkg is not in the layering table",
		"verify imports compiler/istio: verify never imports a backend",
		"verify/explain is not in the layering table",
		"verify reaches compiler/kube through verify → compiler/istio → compiler/kube",
	}
	if len(got) != len(want) {
		t.Fatalf("got %d violations, want %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("violation %d = %q, want prefix %q", i, got[i], want[i])
		}
	}
	// verify reaching a backend through another package is caught too.
	table := map[string]rule{"verify": {allow: []string{"*"}}, "helper": {allow: []string{"*"}}, "compiler/kube": {}}
	got = violations(table, map[string][]string{"verify": {"helper"}, "helper": {"compiler/kube"}, "compiler/kube": nil})
	if len(got) != 1 || got[0] != "verify reaches compiler/kube through verify → helper → compiler/kube: verify never imports a backend, directly or not" {
		t.Errorf("transitive import not caught: %q", got)
	}
	// Even a table that allows everything keeps the invariants.
	loose := map[string]rule{"compiler/kube": {allow: []string{"*"}}, "verify": {allow: []string{"*"}}}
	if got := violations(loose, map[string][]string{"compiler/kube": {"compiler/istio"}, "verify": {"compiler/openstack"}}); len(got) != 2 {
		t.Errorf("a permissive table must not lift the invariants; got %q", got)
	}
}
