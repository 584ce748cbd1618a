package intent

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/intentc/intentc/compiler/diag"
)

// Hostile input reaches the parser from pre-commit hooks, CI and the
// admission webhook. Each case must return (never panic, hang, or exhaust the
// stack) with the finding that names the problem. The deadline is generous:
// it catches a hang or an exponential blow-up, not a slow machine.
const deadline = 10 * time.Second

// parseWithin parses src under the deadline.
func parseWithin(t *testing.T, src []byte) (docs []*Document, others int, diags diag.List) {
	t.Helper()
	within(t, deadline, func() {
		d, o, ds := ParseFile(testFile, src)
		docs, others, diags = d, len(o), ds
	})
	return docs, others, diags
}

// codes lists the distinct codes of a list, in order.
func codes(l diag.List) []diag.Code {
	var out []diag.Code
	for _, d := range l {
		if len(out) == 0 || out[len(out)-1] != d.Code {
			out = append(out, d.Code)
		}
	}
	return out
}

func TestOversizedData(t *testing.T) {
	data := bytes.Repeat([]byte("a: b\n"), MaxFileSize/5+1)
	docs, others, diags := parseWithin(t, data)
	checkDiags(t, diags, []want{{"", diag.CodeFileTooLarge, fmt.Sprintf("the limit is %d", MaxFileSize)}})
	if len(docs) != 0 || others != 0 {
		t.Errorf("an oversized file must yield nothing, got %d docs, %d others", len(docs), others)
	}
}

// A file right at the limit is parsed (the limit is inclusive).
func TestDataAtSizeLimit(t *testing.T) {
	doc := header + "kind: Mesh\nmetadata: {name: x}\n"
	data := []byte(doc + "#" + strings.Repeat("x", MaxFileSize-len(doc)-2) + "\n")
	if len(data) != MaxFileSize {
		t.Fatalf("fixture is %d bytes", len(data))
	}
	docs, _, diags := parseWithin(t, data)
	if len(diags) != 0 || len(docs) != 1 {
		t.Errorf("want the document and no findings, got %d docs, %v", len(docs), diags)
	}
}

// Load refuses an oversized file by its size, without reading it: a sparse
// file of a terabyte would take minutes and all memory to read.
func TestLoadOversizedFileUnread(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "huge.yaml")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	// A terabyte where the file system allows sparse files that large, else
	// 64 MiB (still eight times the limit).
	size := int64(1 << 40)
	if err := f.Truncate(size); err != nil {
		size = 64 << 20
		if err := f.Truncate(size); err != nil {
			t.Fatal(err)
		}
	}
	f.Close()
	var diags diag.List
	within(t, deadline, func() { _, diags = Load([]string{dir}) })
	want := fmt.Sprintf("file is %d bytes; the limit is %d", size, MaxFileSize)
	if len(diags) != 1 || diags[0].Code != diag.CodeFileTooLarge || diags[0].Pos != (diag.Pos{File: path}) || diags[0].Message != want {
		t.Errorf("got %v, want one IC1008 %q for %s", diags, want, path)
	}
}

const billionLaughs = `a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
`

func TestAliasBombs(t *testing.T) {
	// 20,000 unknown keys aliased 100,000 times: 600 KB that used to take
	// minutes (one finding per key per alias).
	var wide strings.Builder
	wide.WriteString(header + "kind: MeshService\nmetadata: {name: x, namespace: y}\nx: &a {")
	for i := range 20000 {
		fmt.Fprintf(&wide, "k%d: 1, ", i)
	}
	wide.WriteString("}\nspec:\n  ports: [" + strings.Repeat("*a, ", 100000) + "]\n")

	tests := []struct {
		name string
		src  string
		pos  string
		msg  string
	}{
		{
			// The classic: nine levels of nine-fold aliases, in an intent.
			// The walk charges the nodes each alias adds and stops at the
			// alias where the budget runs out.
			name: "billion laughs in an intent",
			src:  header + "kind: MeshService\nmetadata: {name: x, namespace: y}\n" + billionLaughs + "spec: {ports: *i}\n",
			pos:  "8:26",
			msg:  "alias *d expands the document by more than",
		},
		{
			// Not an intent, but returned to lint, which would expand it.
			name: "billion laughs in another manifest",
			src:  "apiVersion: v1\nkind: ConfigMap\n" + billionLaughs,
			pos:  "7:26",
			msg:  "alias *d expands the document by more than",
		},
		{
			name: "wide mapping aliased many times",
			src:  wide.String(),
			pos:  "6:15", // the second alias: the first adds 40,001 nodes
			msg:  "alias *a expands the document by more than",
		},
		{
			// yaml.v3 registers an anchor before its content, so an alias
			// inside the anchored node makes a cycle in the node graph.
			name: "self-referencing anchor in another manifest",
			src:  "apiVersion: v1\nkind: ConfigMap\ndata: &a {x: *a}\n",
			pos:  "3:14",
			msg:  "alias *a refers to a node that contains it",
		},
		{
			name: "self-referencing anchor in an intent",
			src:  header + "kind: Mesh\nmetadata: &m {name: x, labels: {a: b}, annotations: *m}\n",
			pos:  "3:53",
			msg:  "alias *m refers to a node that contains it",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			docs, others, diags := parseWithin(t, []byte(tc.src))
			checkDiags(t, diags, []want{{tc.pos, diag.CodeAliases, tc.msg}})
			if len(docs) != 0 || others != 0 {
				t.Errorf("a bombed document must be dropped, got %d docs, %d others", len(docs), others)
			}
		})
	}
}

// A few aliases that expand modestly are fine: the limit is about bombs,
// not about anchors.
func TestModestAliases(t *testing.T) {
	docs, others, diags := parseWithin(t, []byte(header+`kind: MeshService
metadata: {name: x, namespace: y}
spec:
  ports: &p [{name: http, port: 80}]
  placement: [{cluster: a}]
---
apiVersion: v1
kind: ConfigMap
a: &a [1, 2, 3]
b: [*a, *a, *a]
`))
	if len(diags) != 1 || diags[0].Code != diag.CodeNotIntent || len(docs) != 1 || others != 1 {
		t.Errorf("got %d docs, %d others, %v", len(docs), others, diags)
	}
}

func TestDeepNesting(t *testing.T) {
	// Anchors stacked ten thousand levels each reach a depth yaml.v3's own
	// limit (10,000 levels of text) never sees.
	var stacked strings.Builder
	stacked.WriteString("apiVersion: v1\nkind: ConfigMap\n")
	stacked.WriteString("a0: &a0 x\n")
	for i := 1; i <= 3; i++ {
		fmt.Fprintf(&stacked, "a%d: &a%d %s*a%d%s\n", i, i, strings.Repeat("[", 5000), i-1, strings.Repeat("]", 5000))
	}

	tests := []struct {
		name string
		src  string
		want want
	}{
		{"100k open brackets", strings.Repeat("[", 100000), want{"1:1", diag.CodeYAMLSyntax, "exceeded max depth"}},
		{"100k balanced brackets", "a: " + strings.Repeat("[", 100000) + strings.Repeat("]", 100000), want{"1:1", diag.CodeYAMLSyntax, "exceeded max depth"}},
		{"100k nested mappings", strings.Repeat("{a: ", 100000), want{"1:1", diag.CodeYAMLSyntax, "exceeded max depth"}},
		{"100k block sequence levels", strings.Repeat("- ", 100000) + "x\n", want{"1:1", diag.CodeYAMLSyntax, "exceeded max depth"}},
		{
			// Within yaml.v3's limit but far beyond any intent: refused
			// where the 65th level starts.
			name: "deep list in an intent",
			src:  header + "kind: Mesh\nmetadata: {name: x}\nspec: {baseline: {scrapers: [{podLabels: " + strings.Repeat("[", 1000) + strings.Repeat("]", 1000) + "}]}}\n",
			want: want{"4:102", diag.CodeTooDeep, "nesting deeper than 64 levels"},
		},
		// Reported at the alias whose expansion crosses the limit: *a1,
		// after a2's 5,000 brackets.
		{"anchors stacked deeper than 10,000 levels", stacked.String(), want{"5:5009", diag.CodeTooDeep, "nesting deeper than 10000 levels"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			docs, others, diags := parseWithin(t, []byte(tc.src))
			checkDiags(t, diags, []want{tc.want})
			if len(docs) != 0 || others != 0 {
				t.Errorf("got %d docs, %d others", len(docs), others)
			}
		})
	}
}

func TestNotText(t *testing.T) {
	utf16 := []byte{0xff, 0xfe}
	for _, r := range "apiVersion: v1\n" {
		utf16 = append(utf16, byte(r), 0)
	}
	tests := map[string][]byte{
		"gzip header":           {0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03},
		"NUL in valid YAML":     []byte(header + "kind: Mesh\x00\n"),
		"invalid UTF-8":         []byte(header + "kind: Mesh\nmetadata: {name: \xc3\x28}\n"),
		"truncated UTF-8":       []byte("a: \xe2\x82"),
		"UTF-16 with BOM":       utf16,
		"lone surrogate (CESU)": []byte("a: \xed\xa0\x80\n"),
		"random binary garbage": func() []byte {
			b := make([]byte, 4096)
			for i := range b {
				b[i] = byte(i*7919 + i>>3)
			}
			return b
		}(),
		"ELF executable header":  []byte("\x7fELF\x02\x01\x01\x00"),
		"only a NUL":             {0},
		"NUL after 1 MB of text": append(bytes.Repeat([]byte("# comment\n"), 100000), 0),
	}
	for name, data := range tests {
		t.Run(name, func(t *testing.T) {
			docs, others, diags := parseWithin(t, data)
			checkDiags(t, diags, []want{{"", diag.CodeNotText, "not UTF-8 text"}})
			if len(docs) != 0 || others != 0 {
				t.Errorf("got %d docs, %d others", len(docs), others)
			}
		})
	}
}

// A UTF-8 byte order mark is text, and a document after it parses.
func TestByteOrderMark(t *testing.T) {
	docs, _, diags := parseWithin(t, []byte("\ufeff"+header+"kind: Mesh\nmetadata: {name: x}\n"))
	if len(diags) != 0 || len(docs) != 1 {
		t.Errorf("got %d docs, %v", len(docs), diags)
	}
}

func TestDocumentLimit(t *testing.T) {
	one := "---\napiVersion: v1\nkind: ConfigMap\n"
	t.Run("exactly the limit", func(t *testing.T) {
		_, others, diags := parseWithin(t, []byte(strings.Repeat(one, maxDocsPerFile)))
		if others != maxDocsPerFile || len(diags) != maxDocsPerFile || diags.HasErrors() {
			t.Errorf("want %d others and only IC1015 warnings, got %d others, codes %v", maxDocsPerFile, others, codes(diags))
		}
	})
	t.Run("one past the limit", func(t *testing.T) {
		_, others, diags := parseWithin(t, []byte(strings.Repeat(one, maxDocsPerFile+1)))
		if others != maxDocsPerFile || diags.Count(diag.Error) != 1 {
			t.Fatalf("want %d others and one error, got %d others, codes %v", maxDocsPerFile, others, codes(diags))
		}
		// Reported once, at the start of the first document beyond the limit.
		for _, d := range diags {
			if d.Severity == diag.Error && (d.Code != diag.CodeTooManyDocuments || posString(d.Pos) != fmt.Sprintf("%d:1", 3*maxDocsPerFile+1)) {
				t.Errorf("got %v", d)
			}
		}
	})
	t.Run("20,000 empty documents", func(t *testing.T) {
		_, _, diags := parseWithin(t, []byte(strings.Repeat("---\n", 20000)))
		if len(diags) != 1 || diags[0].Code != diag.CodeTooManyDocuments {
			t.Errorf("got codes %v", codes(diags))
		}
	})
}

func TestLongScalars(t *testing.T) {
	// 2 MiB: far beyond any real value, small enough to stay quick under -race.
	long := strings.Repeat("x", 2<<20)
	t.Run("long name", func(t *testing.T) {
		docs, _, diags := parseWithin(t, []byte(header+"kind: Mesh\nmetadata: {name: "+long+"}\n"))
		if len(diags) != 0 || len(docs) != 1 || len(docs[0].Meta.Name) != len(long) {
			t.Errorf("got %d docs, %v", len(docs), diags)
		}
	})
	// A long value or key in a finding is cut short: the message is one
	// line for a terminal or an admission response, not megabytes.
	t.Run("long wrong-typed value", func(t *testing.T) {
		_, _, diags := parseWithin(t, []byte(header+"kind: Mesh\nmetadata: {name: x}\nspec: {defaultDeny: "+long+"}\n"))
		if len(diags) != 1 || diags[0].Code != diag.CodeWrongType || len(diags[0].Message) > 200 {
			t.Errorf("got %d findings, first %.300v", len(diags), diags)
		}
	})
	t.Run("long unknown key", func(t *testing.T) {
		_, _, diags := parseWithin(t, []byte(header+"kind: Mesh\nmetadata: {name: x}\n? "+long+"\n: 1\n"))
		if len(diags) != 1 || diags[0].Code != diag.CodeUnknownField || len(diags[0].Message) > 200 {
			t.Errorf("got %d findings, first %.300v", len(diags), diags)
		}
	})
	t.Run("long invalid enum value", func(t *testing.T) {
		_, _, diags := parseWithin(t, []byte(header+"kind: Mesh\nmetadata: {name: x}\nspec: {mtls: "+strings.Repeat("é", 1<<20)+"}\n"))
		if len(diags) != 1 || diags[0].Code != diag.CodeInvalidValue || len(diags[0].Message) > 200 {
			t.Fatalf("got %d findings, first %.300v", len(diags), diags)
		}
		if !strings.Contains(diags[0].Message, "éé…") || strings.ContainsRune(diags[0].Message, '\ufffd') {
			t.Errorf("value not cut at a character boundary: %q", diags[0].Message)
		}
	})
	t.Run("long simple key", func(t *testing.T) {
		// Past 1024 characters a plain key is not a key to YAML.
		_, _, diags := parseWithin(t, []byte(header+"kind: Mesh\n"+long+": 1\n"))
		checkDiags(t, diags, []want{{"3:1", diag.CodeYAMLSyntax, "could not find expected ':'"}})
	})
}

func TestManySmallNodes(t *testing.T) {
	// As many nodes as the text allows: one per two bytes. yaml.v3 builds
	// every node before intentc sees any (about 190 bytes each, so a file at
	// the 8 MiB limit costs some 800 MB); 1 MiB keeps the test light while
	// still showing that the walk after parsing is linear.
	n := (1 << 20) / 2
	src := header + "kind: Mesh\nmetadata: {name: x, labels: {a: b}}\nother: [" + strings.Repeat("1,", n) + "]\n"
	_, _, diags := parseWithin(t, []byte(src))
	checkDiags(t, diags, []want{{"4:1", diag.CodeUnknownField, `unknown field "other"`}})
}

func TestMergeKeys(t *testing.T) {
	t.Run("in an intent", func(t *testing.T) {
		docs, _, diags := parseWithin(t, []byte(header+`kind: MeshCluster
metadata: {name: a}
x: &base {platform: kubernetes, network: n}
spec:
  <<: *base
  region: r
`))
		checkDiags(t, diags, []want{
			{"4:1", diag.CodeUnknownField, `document: unknown field "x"`},
			{"6:3", diag.CodeUnknownField, "merge keys (<<) are not supported"},
			{"6:3", diag.CodeMissingField, `missing required field "network"`},
			{"6:3", diag.CodeMissingField, `missing required field "platform"`},
		})
		if len(docs) != 1 {
			t.Errorf("want the document back with its errors, got %d", len(docs))
		}
	})
	t.Run("list of merges in another manifest", func(t *testing.T) {
		// Not ours to judge: handed to lint unchanged.
		_, others, diags := parseWithin(t, []byte("apiVersion: v1\nkind: ConfigMap\na: &a {x: 1}\nb: &b {y: 2}\ndata: {<<: [*a, *b]}\n"))
		if others != 1 || len(diags) != 1 || diags[0].Code != diag.CodeNotIntent {
			t.Errorf("got %d others, %v", others, diags)
		}
	})
}
