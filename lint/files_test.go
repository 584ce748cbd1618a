package lint

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/intentc/intentc/compiler/diag"
	"github.com/intentc/intentc/compiler/manifest"
)

// wantRE matches inline expectations in fixtures: "# want: IC4001" or
// "# want: IC4001:warning IC4011".
var wantRE = regexp.MustCompile(`#\s*want:\s*((?:IC\d{4}(?::\w+)?[\s,]*)+)`)

type want struct {
	file     string
	line     int
	code     diag.Code
	severity string // "" when the fixture does not say
}

func (w want) String() string {
	s := fmt.Sprintf("%s:%d: %s", w.file, w.line, w.code)
	if w.severity != "" {
		s += ":" + w.severity
	}
	return s
}

func wantsIn(t *testing.T, dir string) []want {
	t.Helper()
	var out []want
	err := filepath.WalkDir(dir, func(p string, e os.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for i, line := range strings.Split(string(data), "\n") {
			if m := wantRE.FindStringSubmatch(line); m != nil {
				for _, f := range strings.Fields(strings.ReplaceAll(m[1], ",", " ")) {
					code, sev, _ := strings.Cut(f, ":")
					out = append(out, want{p, i + 1, diag.Code(code), sev})
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// compareWants checks findings against expectations: the same set of
// file:line: code, and the severity wherever the fixture names one.
func compareWants(t *testing.T, wants []want, got diag.List) {
	t.Helper()
	sevs := map[string]string{}
	var have []string
	for _, d := range got {
		k := want{d.Pos.File, d.Pos.Line, d.Code, ""}.String()
		have = append(have, k)
		sevs[k] = d.Severity.String()
	}
	var exp []string
	for _, w := range wants {
		k := want{w.file, w.line, w.code, ""}.String()
		exp = append(exp, k)
		if w.severity != "" && sevs[k] != "" && sevs[k] != w.severity {
			t.Errorf("%s: severity %s, want %s", k, sevs[k], w.severity)
		}
	}
	slices.Sort(have)
	slices.Sort(exp)
	if d := cmp.Diff(slices.Compact(exp), slices.Compact(have)); d != "" {
		t.Errorf("findings differ from the fixtures' # want: comments (-want +got):\n%s\nall findings:\n%s", d, got.Error())
	}
}

// TestHandWritten lints hand-written manifests (YAML, Neutron JSON and Heat)
// against a mesh given as data, as `intentc lint --data` does: positions
// are in those files, and severities are the hand-written ones unless the
// object is labelled managed-by intentc.
func TestHandWritten(t *testing.T) {
	dir := filepath.Join("testdata", "manifests")
	e, diags := New(Options{DataFiles: []string{filepath.Join(dir, "mesh-data.yaml")}})
	if len(diags) > 0 {
		t.Fatal(diags)
	}
	got := e.CheckFiles(context.Background(), []string{filepath.Join(dir, "shop"), filepath.Join(dir, "openstack")})
	wants := append(wantsIn(t, filepath.Join(dir, "shop")), wantsIn(t, filepath.Join(dir, "openstack"))...)
	// JSON has no comments: its expectations are here.
	json := filepath.Join(dir, "openstack", "nodes.json")
	wants = append(wants, want{json, 7, diag.CodeAdminPortWorld, "error"}, want{json, 8, diag.CodeEthertypeMismatch, "error"})
	compareWants(t, wants, got)
}

// TestWithoutData: without mesh data the rules apply the design's defaults
// (strict mTLS, the default never-managed namespaces) and skip what needs
// the intent (default deny, tcp ports).
func TestWithoutData(t *testing.T) {
	got := engine(t).CheckFiles(context.Background(), []string{filepath.Join("testdata", "manifests", "shop", "security.yaml")})
	var codes []string
	for _, d := range got {
		codes = append(codes, string(d.Code))
	}
	want := []string{"IC4002", "IC4003", "IC4005", "IC4006", "IC4009", "IC4010"}
	if !slices.Equal(codes, want) {
		t.Errorf("codes %v, want %v:\n%s", codes, want, got.Error())
	}
}

// TestGeneratedTreeOnDisk lints intentc's own output read back from disk,
// against the intent it came from (as intentc lint does when given both):
// the files listed in the output's marker are judged as generated (errors),
// and positions are in the files.
func TestGeneratedTreeOnDisk(t *testing.T) {
	res := compile(t, example)
	out := filepath.Join(t.TempDir(), "out")
	if err := manifest.Write(out, res.Files); err != nil {
		t.Fatal(err)
	}
	e := engine(t)
	if got := e.CheckManifests(context.Background(), res, []string{out}); len(got) > 0 {
		t.Fatalf("clean output has findings:\n%s", got.Error())
	}
	// A hand edit of the Neutron JSON: it has no label, but the marker
	// says intentc wrote it.
	sg := filepath.Join(out, filepath.FromSlash(sgJSON))
	data, err := os.ReadFile(sg)
	if err != nil {
		t.Fatalf("%v (%s)", err, layer1)
	}
	edited := strings.Replace(string(data), `"remote_ip_prefix": "198.51.100.20/32"`, `"remote_ip_prefix": "0.0.0.0/0"`, 1)
	if edited == string(data) {
		t.Fatalf("%s: no rule from 198.51.100.20/32 to edit (%s)", sgJSON, layer1)
	}
	if err := os.WriteFile(sg, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	got := e.CheckManifests(context.Background(), res, []string{out})
	if len(got) != 1 || got[0].Code != diag.CodeAdminPortWorld || got[0].Severity != diag.Error || got[0].Pos.File != sg || got[0].Pos.Line == 0 {
		t.Errorf("want one IC4008 error in %s; got:\n%s", sg, got.Error())
	}
	// Walking a parent directory skips intentc's output (compile checks
	// it); naming it checks it.
	if got := e.CheckManifests(context.Background(), res, []string{filepath.Dir(out)}); len(got) > 0 {
		t.Errorf("the output directory was not skipped:\n%s", got.Error())
	}
}

// TestCheckObject: one in-memory object, as the webhook admits it, judged
// against the compiled intent's mesh by the per-object rules only.
func TestCheckObject(t *testing.T) {
	res := compile(t, example)
	e := engine(t)
	ctx := context.Background()
	pa := `{"apiVersion": "security.istio.io/v1", "kind": "PeerAuthentication",
 "metadata": {"name": "inventory-permissive", "namespace": "prod"},
 "spec": {"selector": {"matchLabels": {"app": "inventory"}}, "mtls": {"mode": "STRICT"},
  "portLevelMtls": {"9080": {"mode": "PERMISSIVE"}, "8080": {"mode": "PERMISSIVE"}}}}`
	got := e.CheckObject(ctx, res, "admission", []byte(pa))
	if len(got) != 1 || got[0].Code != diag.CodeWeakPeerAuthn || got[0].Pos != (diag.Pos{File: "admission", Line: 4, Col: 70}) || !strings.Contains(got[0].Message, "port 8080") {
		t.Errorf("want IC4005 on port 8080 only (9080 is declared permissive) at admission:4:70; got:\n%s", got.Error())
	}
	// A lone allow-nothing policy is no bundle: no default-deny finding.
	if got := e.CheckObject(ctx, res, "admission", []byte("apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: x, namespace: prod}\nspec: {}\n")); len(got) > 0 {
		t.Errorf("findings on an allow-nothing policy:\n%s", got.Error())
	}
}
