package compiler

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/intentc/intentc/compiler/diag"
	"github.com/intentc/intentc/internal/testflags"
	"github.com/intentc/intentc/verify"
)

// wantRE matches inline expectations: "# want: IC2003" or "# want: IC2003 IC2011".
var wantRE = regexp.MustCompile(`#\s*want:\s*((?:IC\d{4}[\s,]*)+)`)

type want struct {
	file string
	line int
	code diag.Code
}

func (w want) String() string { return fmt.Sprintf("%s:%d: %s", w.file, w.line, w.code) }

// wants collects the inline expectations of every file under dir.
func wants(t *testing.T, dir string) []want {
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
				for _, code := range strings.FieldsFunc(m[1], func(r rune) bool { return r == ' ' || r == ',' || r == '\t' }) {
					out = append(out, want{p, i + 1, diag.Code(code)})
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

func got(diags diag.List) []want {
	var out []want
	for _, d := range diags {
		out = append(out, want{d.Pos.File, d.Pos.Line, d.Code})
	}
	return out
}

func sortWants(ws []want) []want {
	ws = slices.Clone(ws)
	slices.SortFunc(ws, func(a, b want) int { return strings.Compare(a.String(), b.String()) })
	return slices.Compact(ws)
}

// TestGolden compiles every case under testdata/compile/<case>/in and checks
// its diagnostics against the inline "# want:" comments and, when it
// compiles, its output against testdata/compile/<case>/out.
func TestGolden(t *testing.T) {
	cases, err := filepath.Glob(filepath.Join("..", "testdata", "compile", "*"))
	if err != nil || len(cases) == 0 {
		t.Fatalf("no golden cases found: %v", err)
	}
	for _, dir := range cases {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			in := filepath.Join(dir, "in")
			res, diags := Compile(Options{Paths: []string{in}})
			if !diags.HasErrors() {
				// Every compile includes the cross-layer proof (the CLI runs
				// it after Compile); its findings are expected inline too.
				diags = append(diags, verify.Prove(res.Model, res.Files)...).Sorted()
			}
			if d := cmp.Diff(sortWants(wants(t, in)), sortWants(got(diags)), cmp.Comparer(func(a, b want) bool { return a == b })); d != "" {
				t.Errorf("diagnostics differ from the # want: comments (-want +got):\n%s\nall diagnostics:\n%s", d, diags.Error())
			}
			checkGolden(t, filepath.Join(dir, "out"), res.Files, diags.HasErrors())
		})
	}
}

// TestExamples compiles every example: each must be clean and match its golden.
func TestExamples(t *testing.T) {
	examples, _ := filepath.Glob(filepath.Join("..", "examples", "*"))
	if len(examples) == 0 {
		t.Fatal("no examples found")
	}
	for _, dir := range examples {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			res, diags := Compile(Options{Paths: []string{dir}})
			if diags.HasErrors() {
				t.Fatalf("example must compile:\n%s", diags.Error())
			}
			// Examples compile clean except for findings they document
			// inline (# want:), as the golden cases do.
			diags = append(diags, verify.Prove(res.Model, res.Files)...).Sorted()
			if d := cmp.Diff(sortWants(wants(t, dir)), sortWants(got(diags)), cmp.Comparer(func(a, b want) bool { return a == b })); d != "" {
				t.Errorf("findings differ from the # want: comments (-want +got):\n%s\nall findings:\n%s", d, diags.Error())
			}
			checkGolden(t, filepath.Join("..", "testdata", "examples", filepath.Base(dir)), res.Files, false)
		})
	}
}

// TestDeterministic compiles the same intent twice, and once with the input
// paths in another order, and wants identical bytes.
func TestDeterministic(t *testing.T) {
	dir := filepath.Join("..", "examples", "cross-cloud", "intents")
	files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	a, da := Compile(Options{Paths: files})
	b, db := Compile(Options{Paths: files})
	rev := slices.Clone(files)
	slices.Reverse(rev)
	c, dc := Compile(Options{Paths: rev})
	if da.HasErrors() || db.HasErrors() || dc.HasErrors() {
		t.Fatalf("example does not compile: %v", da)
	}
	for _, other := range [][]File{b.Files, c.Files} {
		if len(other) != len(a.Files) {
			t.Fatalf("file count differs: %d vs %d", len(a.Files), len(other))
		}
		for i := range a.Files {
			if a.Files[i].Path != other[i].Path || !bytes.Equal(a.Files[i].Data, other[i].Data) {
				t.Errorf("%s differs between runs", a.Files[i].Path)
			}
		}
	}
}

// checkGolden compares files with the tree under dir (rewriting it with
// -update). A compile with errors must produce no files and have no golden.
func checkGolden(t *testing.T, dir string, files []File, hasErrors bool) {
	t.Helper()
	if hasErrors {
		if len(files) > 0 {
			t.Errorf("a compile with errors returned %d files", len(files))
		}
		if _, err := os.Stat(dir); err == nil {
			t.Errorf("%s exists but the case has errors; remove it", dir)
		}
		return
	}
	if *testflags.Update {
		if err := os.RemoveAll(dir); err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			p := filepath.Join(dir, filepath.FromSlash(f.Path))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, f.Data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	have := map[string][]byte{}
	_ = filepath.WalkDir(dir, func(p string, e os.DirEntry, err error) error {
		if err == nil && !e.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			have[filepath.ToSlash(rel)], _ = os.ReadFile(p)
		}
		return nil
	})
	for _, f := range files {
		g, ok := have[f.Path]
		switch {
		case !ok:
			t.Errorf("%s: missing from the golden tree (run go test ./compiler -update and review the diff)", f.Path)
		case !bytes.Equal(g, f.Data):
			t.Errorf("%s differs from golden (-golden +got):\n%s", f.Path, cmp.Diff(string(g), string(f.Data)))
		}
		delete(have, f.Path)
	}
	for p := range have {
		t.Errorf("%s: in the golden tree but no longer generated", p)
	}
}
