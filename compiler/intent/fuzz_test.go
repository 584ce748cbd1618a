package intent

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/intentc/intentc/bench/fleet"
	"github.com/intentc/intentc/compiler/diag"
	"github.com/intentc/intentc/internal/fastyaml"
)

const fuzzDeadline = 5 * time.Second

// FuzzParseFile checks the parser's contract on arbitrary bytes: it never
// panics, every finding has a code from the table and a position in the file
// it was given (line ≥ 0, a column only with a line), findings come sorted,
// the same input gives the same result, and every decoded intent marshals
// back to JSON (what the API server stores when the kinds are applied as
// custom resources).
//
// The seed corpus is testdata/fuzz/FuzzParseFile (the bundled examples, a
// few broken and hostile files); the examples are also added from
// examples/*/intents at run time so the seeds follow the language.
// `make fuzz` runs it for 20 s.
func FuzzParseFile(f *testing.F) {
	examples, _ := filepath.Glob(filepath.Join("..", "..", "examples", "*", "intents", "*.yaml"))
	for _, p := range examples {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// The fuzzer itself does not notice a hang (its workers just stop),
		// so the target bounds each input; fuzz inputs are small, and the
		// margin is huge.
		var (
			docs   []*Document
			others []*yaml.Node
			diags  diag.List
		)
		within(t, fuzzDeadline, func() { docs, others, diags = ParseFile(testFile, data) })
		for _, d := range diags {
			checkFinding(t, d)
		}
		if !slices.IsSortedFunc(diags, func(a, b diag.Diagnostic) int { return comparePosCode(a, b) }) {
			t.Errorf("findings not sorted: %v", diags)
		}
		for _, doc := range docs {
			if doc.File != testFile || doc.Pos.File != testFile || doc.Pos.Line < 1 {
				t.Errorf("document %s at %v", doc.Ref(), doc.Pos)
			}
			if !slices.Contains(Kinds, doc.Kind) || doc.APIVersion != APIVersion {
				t.Errorf("document of kind %q, apiVersion %q returned as an intent", doc.Kind, doc.APIVersion)
			}
			if _, err := json.Marshal(doc.Object); err != nil {
				t.Errorf("%s does not marshal to JSON: %v", doc.Ref(), err)
			}
		}
		for _, o := range others {
			if o == nil || o.Line < 1 {
				t.Errorf("other document without a position: %+v", o)
				continue
			}
			// lint decodes the other documents: the shape guard must have
			// left nothing that expands without bound (an error is fine).
			within(t, fuzzDeadline, func() {
				var v any
				_ = o.Decode(&v)
			})
		}
		// Output is a pure function of the input.
		docs2, others2, diags2 := ParseFile(testFile, data)
		if !reflect.DeepEqual(diags, diags2) || len(docs) != len(docs2) || len(others) != len(others2) {
			t.Errorf("two parses differ:\n%v\n%v", diags, diags2)
		}
		// And the same whichever reader builds the YAML nodes.
		within(t, fuzzDeadline, func() { sameWithYAMLv3(t, data, docs, others, diags) })
	})
}

func comparePosCode(a, b diag.Diagnostic) int {
	switch {
	case a.Pos.Line != b.Pos.Line:
		return a.Pos.Line - b.Pos.Line
	case a.Pos.Col != b.Pos.Col:
		return a.Pos.Col - b.Pos.Col
	case a.Code < b.Code:
		return -1
	case a.Code > b.Code:
		return 1
	}
	return 0
}

func checkFinding(t *testing.T, d diag.Diagnostic) {
	t.Helper()
	info, ok := d.Code.Info()
	if !ok {
		t.Errorf("finding with a code not in diag.Table: %v", d)
	} else if d.Severity != info.Severity {
		t.Errorf("finding %v has severity %v, the table says %v", d, d.Severity, info.Severity)
	}
	if d.Code < "IC1001" || d.Code > "IC1999" {
		t.Errorf("the parser raised a non-parse code: %v", d)
	}
	checkPos(t, d.Pos, d)
	for _, r := range d.Related {
		checkPos(t, r.Pos, d)
	}
	if d.Message == "" {
		t.Errorf("finding without a message: %v", d)
	}
}

func checkPos(t *testing.T, p diag.Pos, d diag.Diagnostic) {
	t.Helper()
	if p.File != testFile || p.Line < 0 || p.Col < 0 || (p.Line == 0 && p.Col != 0) {
		t.Errorf("finding %v has position %+v, not in %s", d, p, testFile)
	}
}

// sameWithYAMLv3 fails unless ParseFile's results for data (docs, others,
// diags) are what it gives when yaml.v3 reads every file.
func sameWithYAMLv3(t *testing.T, data []byte, docs []*Document, others []*yaml.Node, diags diag.List) {
	t.Helper()
	docs2, others2, diags2 := parseFile(testFile, data, false)
	if !reflect.DeepEqual(diags, diags2) {
		t.Errorf("the fast reader's findings differ from yaml.v3's:\n%v\n%v", diags, diags2)
	}
	if !reflect.DeepEqual(docs, docs2) {
		t.Errorf("the fast reader's documents differ from yaml.v3's")
	}
	if len(others) != len(others2) {
		t.Errorf("the fast reader gives %d other documents, yaml.v3 %d", len(others), len(others2))
	}
	for i := range min(len(others), len(others2)) {
		if others[i].Line != others2[i].Line || others[i].Column != others2[i].Column {
			t.Errorf("other document %d at %d:%d, with yaml.v3 at %d:%d", i, others[i].Line, others[i].Column, others2[i].Line, others2[i].Column)
		}
	}
}

// TestFastReaderMatchesYAMLv3: every YAML file of the repository (intent,
// manifests, golden outputs) and a generated fleet's intent parse to the
// same documents, other documents and findings with the fast reader as
// with yaml.v3; and the fast reader reads the fleet's files and the
// examples' intent (it saves nothing on what it refuses).
func TestFastReaderMatchesYAMLv3(t *testing.T) {
	var files []string
	for _, root := range []string{filepath.Join("..", "..", "testdata"), filepath.Join("..", "..", "examples"), "testdata"} {
		_ = filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
			if err == nil && !info.IsDir() && (filepath.Ext(p) == ".yaml" || filepath.Ext(p) == ".yml") {
				files = append(files, p)
			}
			return nil
		})
	}
	dir := t.TempDir()
	if _, err := fleet.Write(dir, fleet.Options{Services: 100, Clusters: 4}); err != nil {
		t.Fatal(err)
	}
	fleetFiles, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if len(files) < 100 || len(fleetFiles) == 0 {
		t.Fatalf("only %d files and %d fleet files", len(files), len(fleetFiles))
	}
	examples, _ := filepath.Glob(filepath.Join("..", "..", "examples", "*", "intents", "*.yaml"))
	mustRead := map[string]bool{}
	for _, f := range append(fleetFiles, examples...) {
		mustRead[f] = true
	}
	for _, f := range append(files, fleetFiles...) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		docs, others, diags := ParseFile(testFile, data)
		sameWithYAMLv3(t, data, docs, others, diags)
		if _, _, err := fastyaml.Parse(data); err != nil && mustRead[f] {
			t.Errorf("%s: the fast reader refuses it", f)
		}
	}
}

// TestParseFileOwnsItsStrings: the documents ParseFile returns do not
// change when the caller reuses the buffer it read (the fast reader's
// strings share the bytes they are read from).
func TestParseFileOwnsItsStrings(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "examples", "cross-cloud", "intents", "inventory.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := fastyaml.Parse(data); err != nil {
		t.Fatalf("the fast reader refuses the example: %v", err)
	}
	want, _, _ := ParseFile(testFile, data)
	buf := slices.Clone(data)
	got, _, _ := ParseFile(testFile, buf)
	for i := range buf {
		buf[i] = 'x'
	}
	if len(want) == 0 || !reflect.DeepEqual(got, want) {
		t.Errorf("the documents changed with the buffer they were read from")
	}
}
