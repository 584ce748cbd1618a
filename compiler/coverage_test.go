package compiler

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/intentc/intentc/compiler/diag"
)

// notInline are the parse and semantic codes no golden case can show with an
// inline "# want:" comment, and where each is tested instead.
var notInline = map[diag.Code]string{
	diag.CodeFileTooLarge:     "an 8 MiB fixture; compiler/intent parser tests",
	diag.CodeTooDeep:          "64 nesting levels; compiler/intent parser tests",
	diag.CodeAliases:          "an alias bomb; compiler/intent parser tests",
	diag.CodeNotText:          "a binary file has no line to put a comment on; compiler/intent parser tests",
	diag.CodeReadFile:         "needs an unreadable path, not a file's content; compiler/intent parser tests",
	diag.CodeProjectFile:      ".intentc.yaml is read by the CLI, not by Compile on a case's in/",
	diag.CodeNoIntent:         "a case without intent documents has no line to point at (the diagnostic has no line)",
	diag.CodeTooManyDocuments: "a file with 10,000 documents; compiler/intent parser tests",
}

// pending are codes added to the table after the golden cases were written,
// whose fixture is still to come (with the backend that owns them). A code
// that has gained a fixture is only logged, so adding one never breaks this
// test; delete its entry then.
var pending = map[diag.Code]string{}

// TestGoldenCoverage checks that every parse (IC1xxx) and semantic (IC2xxx)
// code of the table is expected by at least one golden case, so a code
// cannot lose its only test (or ship without one) unnoticed, and that every
// "# want:" names a code of the table.
func TestGoldenCoverage(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join("..", "testdata", "compile", "*", "in"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no golden cases found: %v", err)
	}
	covered := map[diag.Code][]string{}
	for _, dir := range dirs {
		for _, w := range wants(t, dir) {
			if _, ok := w.code.Info(); !ok {
				t.Errorf("%s:%d: # want: %s is not a code of compiler/diag's table", w.file, w.line, w.code)
			}
			name := filepath.Base(filepath.Dir(dir))
			if !slices.Contains(covered[w.code], name) {
				covered[w.code] = append(covered[w.code], name)
			}
		}
	}
	var missing []string
	for _, info := range diag.Table {
		c := info.Code
		if !strings.HasPrefix(string(c), "IC1") && !strings.HasPrefix(string(c), "IC2") {
			continue
		}
		_, skip := notInline[c]
		_, later := pending[c]
		cases := covered[c]
		switch {
		case skip && len(cases) > 0:
			t.Errorf("%s is allow-listed as not expressible inline, but cases %v expect it: remove it from notInline", c, cases)
		case later && len(cases) > 0:
			t.Logf("%s is listed as pending, but cases %v expect it now: delete its pending entry", c, cases)
		case !skip && !later && len(cases) == 0:
			missing = append(missing, string(c)+" ("+info.Title+")")
		}
	}
	for c := range notInline {
		if _, ok := c.Info(); !ok {
			t.Errorf("notInline lists %s, which is not in the table", c)
		}
	}
	for c := range pending {
		if _, ok := c.Info(); !ok {
			t.Errorf("pending lists %s, which is not in the table", c)
		}
	}
	if len(missing) > 0 {
		t.Errorf("no golden case under testdata/compile expects these codes; add a case with an inline # want: for each:\n\t%s",
			strings.Join(missing, "\n\t"))
	}
}
