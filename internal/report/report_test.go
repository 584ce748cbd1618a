package report

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/intentc/intentc/compiler/diag"
	_ "github.com/intentc/intentc/internal/testflags" // accept -update like every test binary
)

// schemaPath is the OASIS SARIF 2.1.0 schema (errata 01), kept as test data.
var schemaPath = filepath.Join("..", "..", "testdata", "lint", "sarif-schema-2.1.0.json")

// sarifSchema compiles the schema with format assertions on, so that a URI
// that is not a URI reference fails as the schema says it must.
func sarifSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	f, err := os.Open(schemaPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatalf("%s: %v", schemaPath, err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource("sarif-schema-2.1.0.json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("sarif-schema-2.1.0.json")
	if err != nil {
		t.Fatalf("compile the SARIF schema: %v", err)
	}
	return sch
}

func validate(t *testing.T, sch *jsonschema.Schema, data []byte) error {
	t.Helper()
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("not JSON: %v\n%s", err, data)
	}
	return sch.Validate(inst)
}

// sample has every shape a finding takes: each severity, a related
// position, a whole-file position, no position, a path that needs
// escaping, and a code outside the table.
func sample() diag.List {
	l := diag.List{
		{Code: diag.CodeUnknownField, Severity: diag.Error, Pos: diag.Pos{File: "intents/mesh.yaml", Line: 4, Col: 3}, Message: `unknown field "placment"; did you mean "placement"?`},
		{Code: diag.CodeWeightsSum, Severity: diag.Warning, Pos: diag.Pos{File: "manifests/a b/vs.yaml", Line: 9, Col: 7}, Message: "weights sum to 90, not 100: 60, 30"},
		{Code: diag.CodeDuplicateObject, Severity: diag.Error, Pos: diag.Pos{File: "intents/b.yaml", Line: 1, Col: 1}, Message: "MeshService prod/inventory defined twice",
			Related: []diag.Related{{Pos: diag.Pos{File: "intents/a.yaml", Line: 2, Col: 1}, Message: "first defined here"}}},
		{Code: diag.CodeSGOrphan, Severity: diag.Info, Pos: diag.Pos{File: "out/openstack/dc1/p/security-groups.json"}, Message: "group k8s-old is no longer in the intent"},
		{Code: diag.CodeNoDefaultDeny, Severity: diag.Error, Message: "managed namespace prod: no allow-nothing AuthorizationPolicy"},
		{Code: diag.Code("IC9999"), Severity: diag.Error, Pos: diag.Pos{File: "c:odd/name%.yaml", Line: 1, Col: 1}, Message: "a code the table does not know, with 100% a colon: and, a comma\nand a newline"},
	}
	return l.Sorted()
}

func TestSARIFValidates(t *testing.T) {
	sch := sarifSchema(t)
	for name, diags := range map[string]diag.List{"sample": sample(), "none": nil} {
		var out bytes.Buffer
		if err := Write(&out, SARIF, diags, Options{ToolVersion: "dev", Fallback: ".intentc.yaml"}); err != nil {
			t.Fatal(err)
		}
		if err := validate(t, sch, out.Bytes()); err != nil {
			t.Errorf("%s: SARIF does not validate: %v\n%s", name, err, out.String())
		}
	}
}

// TestSchemaRejects shows the validation can fail: documents the schema
// forbids are refused, so a passing test means something.
func TestSchemaRejects(t *testing.T) {
	sch := sarifSchema(t)
	for name, doc := range map[string]string{
		"wrong version":    `{"version": "2.0.0", "runs": []}`,
		"no runs":          `{"version": "2.1.0"}`,
		"region line 0":    `{"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}}, "results": [{"message": {"text": "m"}, "locations": [{"physicalLocation": {"artifactLocation": {"uri": "a.yaml"}, "region": {"startLine": 0}}}]}]}]}`,
		"bad level":        `{"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}}, "results": [{"message": {"text": "m"}, "level": "fatal"}]}]}`,
		"unknown property": `{"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}}, "results": [{"message": {"text": "m"}, "severity": "error"}]}]}`,
		"uri not a uri":    `{"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}}, "results": [{"message": {"text": "m"}, "locations": [{"physicalLocation": {"artifactLocation": {"uri": "a b\\c.yaml"}}}]}]}]}`,
	} {
		if err := validate(t, sch, []byte(doc)); err == nil {
			t.Errorf("%s: the schema accepted %s", name, doc)
		}
	}
}

func TestSARIFContent(t *testing.T) {
	var out bytes.Buffer
	if err := Write(&out, SARIF, sample(), Options{ToolVersion: "v1.2.3", Fallback: ".intentc.yaml"}); err != nil {
		t.Fatal(err)
	}
	var log struct {
		Runs []struct {
			Tool struct {
				Driver struct {
					Version string
					Rules   []struct {
						ID               string
						ShortDescription struct{ Text string }
						Help             struct{ Text, Markdown string }
					}
				}
			}
			ColumnKind string
			Results    []struct {
				RuleID    string
				RuleIndex int
				Level     string
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct{ URI, URIBaseID string }
						Region           *struct{ StartLine, StartColumn int }
					}
				}
				RelatedLocations []struct{ Message struct{ Text string } }
			}
		}
	}
	if err := json.Unmarshal(out.Bytes(), &log); err != nil {
		t.Fatal(err)
	}
	if len(log.Runs) != 1 {
		t.Fatalf("%d runs, want 1", len(log.Runs))
	}
	run := log.Runs[0]
	if run.Tool.Driver.Version != "v1.2.3" || run.ColumnKind != "unicodeCodePoints" {
		t.Errorf("driver version %q, columnKind %q", run.Tool.Driver.Version, run.ColumnKind)
	}
	if len(run.Results) != len(sample()) {
		t.Fatalf("%d results, want %d", len(run.Results), len(sample()))
	}
	rules := run.Tool.Driver.Rules
	for i, r := range rules {
		if i > 0 && rules[i-1].ID >= r.ID {
			t.Errorf("rules not sorted by code: %s before %s", rules[i-1].ID, r.ID)
		}
	}
	byURI := map[string]string{}
	for _, r := range run.Results {
		if r.RuleIndex < 0 || r.RuleIndex >= len(rules) || rules[r.RuleIndex].ID != r.RuleID {
			t.Errorf("result %s has ruleIndex %d", r.RuleID, r.RuleIndex)
		}
		if len(r.Locations) != 1 {
			t.Errorf("result %s has %d locations; code scanning needs one", r.RuleID, len(r.Locations))
			continue
		}
		loc := r.Locations[0].PhysicalLocation
		byURI[loc.ArtifactLocation.URI] = r.RuleID + " " + r.Level
		if loc.ArtifactLocation.URIBaseID != "%SRCROOT%" {
			t.Errorf("%s: uriBaseId %q", loc.ArtifactLocation.URI, loc.ArtifactLocation.URIBaseID)
		}
	}
	for uri, want := range map[string]string{
		"intents/mesh.yaml":                        "IC1002 error",
		"manifests/a%20b/vs.yaml":                  "IC4001 warning",
		"out/openstack/dc1/p/security-groups.json": "IC3408 note",
		".intentc.yaml":                            "IC4013 error", // the fallback of a finding without a file
		"./c:odd/name%25.yaml":                     "IC9999 error",
	} {
		if byURI[uri] != want {
			t.Errorf("result at %q is %q, want %q (all: %v)", uri, byURI[uri], want, byURI)
		}
	}
	for _, r := range rules {
		if r.ID == "IC4001" {
			if r.ShortDescription.Text != "VirtualService weights must sum to 100" || !strings.Contains(r.Help.Text, "Example:\nroute: [{weight: 60}, {weight: 30}]") || !strings.Contains(r.Help.Markdown, "```yaml\n") {
				t.Errorf("IC4001 rule does not carry the code table's text: %+v", r)
			}
		}
	}
}

func TestGitHub(t *testing.T) {
	var out bytes.Buffer
	if err := Write(&out, GitHub, sample(), Options{}); err != nil {
		t.Fatal(err)
	}
	want := strings.Join([]string{
		`::error title=IC4013 Managed namespace without default deny::managed namespace prod: no allow-nothing AuthorizationPolicy [IC4013]`,
		`::error file=c%3Aodd/name%25.yaml,line=1,col=1,title=IC9999::a code the table does not know, with 100%25 a colon: and, a comma%0Aand a newline [IC9999]`,
		`::error file=intents/b.yaml,line=1,col=1,title=IC2001 duplicate object::MeshService prod/inventory defined twice [IC2001]%0Aintents/a.yaml:2:1: first defined here`,
		`::error file=intents/mesh.yaml,line=4,col=3,title=IC1002 unknown field::unknown field "placment"; did you mean "placement"? [IC1002]`,
		`::warning file=manifests/a b/vs.yaml,line=9,col=7,title=IC4001 VirtualService weights must sum to 100::weights sum to 90, not 100: 60, 30 [IC4001]`,
		`::notice file=out/openstack/dc1/p/security-groups.json,title=IC3408 intentc's group no longer in the intent::group k8s-old is no longer in the intent [IC3408]`,
	}, "\n") + "\n"
	if out.String() != want {
		t.Errorf("got\n%s\nwant\n%s", out.String(), want)
	}
}

func TestText(t *testing.T) {
	diags := diag.List{
		{Code: diag.CodeUnknownField, Severity: diag.Error, Pos: diag.Pos{File: "a.yaml", Line: 4, Col: 3}, Message: "unknown field"},
		{Code: diag.CodeWeightsSum, Severity: diag.Warning, Pos: diag.Pos{File: "b.yaml", Line: 9, Col: 7}, Message: "weights",
			Related: []diag.Related{{Pos: diag.Pos{File: "c.yaml", Line: 1, Col: 1}, Message: "here"}}},
	}
	var plain, color bytes.Buffer
	_ = Write(&plain, Text, diags, Options{})
	_ = Write(&color, Text, diags, Options{Color: true})
	wantPlain := "a.yaml:4:3: error: unknown field [IC1002]\nb.yaml:9:7: warning: weights [IC4001]\n\tc.yaml:1:1: here\n1 error(s), 1 warning(s)\n"
	if plain.String() != wantPlain {
		t.Errorf("plain:\n%q\nwant\n%q", plain.String(), wantPlain)
	}
	if strings.Contains(plain.String(), "\x1b") {
		t.Error("colour without Color")
	}
	for _, want := range []string{"\x1b[1ma.yaml:4:3\x1b[0m", "\x1b[1;31merror\x1b[0m", "\x1b[1;33mwarning\x1b[0m", "\x1b[2m[IC1002]\x1b[0m"} {
		if !strings.Contains(color.String(), want) {
			t.Errorf("coloured output lacks %q:\n%q", want, color.String())
		}
	}
	var none bytes.Buffer
	_ = Write(&none, Text, nil, Options{Color: true})
	if none.Len() != 0 {
		t.Errorf("no findings printed %q", none.String())
	}
}

func TestJSON(t *testing.T) {
	for _, diags := range []diag.List{nil, sample()} {
		var out bytes.Buffer
		if err := Write(&out, JSON, diags, Options{}); err != nil {
			t.Fatal(err)
		}
		var rep map[string]json.RawMessage
		if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
			t.Fatal(err)
		}
		if string(rep["version"]) != "1" {
			t.Errorf("version %s", rep["version"])
		}
		var list []map[string]any
		if err := json.Unmarshal(rep["diagnostics"], &list); err != nil || list == nil {
			t.Errorf("diagnostics is %s, want an array", rep["diagnostics"])
		}
		var sum Summary
		_ = json.Unmarshal(rep["summary"], &sum)
		if sum != Summarize(diags) || len(list) != len(diags) {
			t.Errorf("summary %+v for %d findings", sum, len(list))
		}
	}
}

func TestParseFormat(t *testing.T) {
	for _, f := range Formats {
		if got, err := ParseFormat(string(f)); err != nil || got != f {
			t.Errorf("%s: %v", f, err)
		}
	}
	if _, err := ParseFormat("xml"); err == nil {
		t.Error("xml accepted")
	}
}
