package diag

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/intentc/intentc/internal/testflags"
)

func TestTableIsWellFormed(t *testing.T) {
	seen := map[Code]bool{}
	re := regexp.MustCompile(`^IC[1-5]\d{3}$`)
	var prev Code
	for _, c := range Table {
		if !re.MatchString(string(c.Code)) {
			t.Errorf("%s: code does not match ICnxxx", c.Code)
		}
		if seen[c.Code] {
			t.Errorf("%s: listed twice", c.Code)
		}
		seen[c.Code] = true
		if c.Code <= prev {
			t.Errorf("%s: table not in code order (after %s)", c.Code, prev)
		}
		prev = c.Code
		if c.Title == "" || c.Doc == "" || c.Example == "" {
			t.Errorf("%s: needs a title, a doc line and an example", c.Code)
		}
	}
}

func TestDocsMatchTable(t *testing.T) {
	path := filepath.Join("..", "..", "docs", "diagnostics.md")
	want := Markdown()
	if *testflags.Update {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./compiler/diag -update)", err)
	}
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("docs/diagnostics.md is stale; run go test ./compiler/diag -update (-want +got):\n%s", diff)
	}
}

func TestSortedDeduplicates(t *testing.T) {
	var l List
	l.Add(CodeUnknownCluster, Pos{"b.yaml", 3, 1}, "x")
	l.Add(CodeUnknownField, Pos{"a.yaml", 9, 2}, "y")
	l.Add(CodeUnknownCluster, Pos{"b.yaml", 3, 1}, "x")
	l.Add(CodeUnknownField, Pos{"a.yaml", 2, 5}, "z")
	got := l.Sorted()
	if len(got) != 3 {
		t.Fatalf("want 3 findings after de-duplication, got %d: %v", len(got), got)
	}
	if got[0].Pos.Line != 2 || got[1].Pos.Line != 9 || got[2].Pos.File != "b.yaml" {
		t.Errorf("wrong order: %v", got)
	}
	if s := got[0].String(); s != "a.yaml:2:5: error: z [IC1002]" {
		t.Errorf("format: %q", s)
	}
	if !l.HasErrors() {
		t.Error("HasErrors = false")
	}
}
