package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/intentc/intentc/internal/testflags"
)

// repoRoot is the module root; the golden cases run from there so that the
// paths in their output read as a user would type them.
var repoRoot = filepath.Join("..", "..")

// lintCases are testdata/lint/<case>/: args (one lint argument per line,
// relative to the module root) and golden/ with the output of each format
// and the exit code.
var lintCases = []string{"broken-intent", "handwritten-vs", "edited-out", "clean"}

// lintFormats maps each format to its golden file and the stream it is
// printed on.
var lintFormats = []struct {
	format, file string
	stdout       bool
}{
	{"text", "text.txt", false},
	{"json", "json.json", true},
	{"sarif", "sarif.json", true},
	{"github", "github.txt", true},
}

func TestLintGolden(t *testing.T) {
	root, err := filepath.Abs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	sch := sarifSchema(t, filepath.Join(root, "testdata", "lint", "sarif-schema-2.1.0.json"))
	t.Chdir(root)
	for _, name := range lintCases {
		dir := filepath.Join("testdata", "lint", name)
		raw, err := os.ReadFile(filepath.Join(dir, "args"))
		if err != nil {
			t.Fatal(err)
		}
		args := strings.Fields(string(raw))
		t.Run(name, func(t *testing.T) {
			var exits []int
			for _, f := range lintFormats {
				code, stdout, stderr := intentc(t, append([]string{"lint", "--format", f.format}, args...)...)
				exits = append(exits, code)
				got, other := stderr, stdout
				if f.stdout {
					got, other = stdout, stderr
				}
				if other != "" {
					t.Errorf("%s: unexpected output on the other stream:\n%s", f.format, other)
				}
				if f.format == "sarif" {
					if err := validate(t, sch, []byte(got)); err != nil {
						t.Errorf("SARIF does not validate against the 2.1.0 schema: %v", err)
					}
				}
				golden(t, filepath.Join(dir, "golden", f.file), got)
			}
			for i, code := range exits {
				if code != exits[0] {
					t.Errorf("--format %s exits %d, --format text %d", lintFormats[i].format, code, exits[0])
				}
			}
			golden(t, filepath.Join(dir, "golden", "exit"), strconv.Itoa(exits[0])+"\n")
		})
	}
}

// golden compares got with the file, or rewrites it with -update.
func golden(t *testing.T, path, got string) {
	t.Helper()
	if *testflags.Update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// sarifSchema compiles the OASIS SARIF 2.1.0 schema kept as test data, with
// format assertions on (a uri must be a URI reference).
func sarifSchema(t *testing.T, path string) *jsonschema.Schema {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource("sarif-schema-2.1.0.json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("sarif-schema-2.1.0.json")
	if err != nil {
		t.Fatalf("compile %s: %v", path, err)
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
