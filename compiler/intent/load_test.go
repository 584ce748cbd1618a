package intent

import (
	"os"

	"github.com/google/go-cmp/cmp"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/intentc/intentc/compiler/diag"
)

// writeTree creates files (slash-separated paths relative to root).
func writeTree(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for p, data := range files {
		full := filepath.Join(root, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func mesh(name string) string {
	return header + "kind: MeshCluster\nmetadata: {name: " + name + "}\nspec: {platform: kubernetes, network: n}\n"
}

func TestLoadWalksDirectories(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, map[string]string{
		"b.yaml":                       mesh("b"),
		"a/z.yml":                      mesh("az"),
		"a/sub/m.yaml":                 mesh("asubm"),
		"a-b.yaml":                     mesh("ab"), // "a" < "a-b.yaml": the directory comes first
		"B.yaml":                       mesh("upper"),
		"notes.txt":                    "not yaml",
		"README.md":                    "# not yaml",
		".hidden.yaml":                 mesh("hidden-file"),
		".git/config.yaml":             mesh("git"),
		"a/.cache/x.yaml":              mesh("cache"),
		"out/.intentc-generated":       "clusters/x/kustomization.yaml\n",
		"out/clusters/x/ns/thing.yaml": "apiVersion: v1\nkind: ConfigMap\n",
		"deep/out2/.intentc-generated": "",
		"deep/out2/x.yaml":             mesh("generated"),
		"deep/kept.yaml":               mesh("kept"),
		"empty/.keep":                  "",
	})
	set, diags := Load([]string{root})
	if len(diags) != 0 {
		t.Fatalf("unexpected findings: %v", diags)
	}
	var got []string
	for _, f := range set.Files {
		rel, _ := filepath.Rel(root, f)
		got = append(got, filepath.ToSlash(rel))
	}
	want := []string{"B.yaml", "a/sub/m.yaml", "a/z.yml", "a-b.yaml", "b.yaml", "deep/kept.yaml"}
	if !slices.Equal(got, want) {
		t.Errorf("files = %q\nwant    %q", got, want)
	}
	var names []string
	for _, d := range set.Docs {
		names = append(names, d.Meta.Name)
	}
	if want := []string{"upper", "asubm", "az", "ab", "b", "kept"}; !slices.Equal(names, want) {
		t.Errorf("documents in order %q, want %q", names, want)
	}
}

// Explicit paths are read even when hidden, each file once however it is
// named, and a missing path is reported while the rest is still loaded.
func TestLoadExplicitPaths(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, map[string]string{
		".intents/a.yaml": mesh("a"),
		".intents/b.txt":  mesh("b"), // named explicitly: read whatever its extension
		"c.yaml":          mesh("c"),
	})
	hidden := filepath.Join(root, ".intents")
	missing := filepath.Join(root, "missing")
	set, diags := Load([]string{
		hidden,
		filepath.Join(hidden, "a.yaml"),
		filepath.Join(root, "c.yaml"),
		root + string(filepath.Separator) + "." + string(filepath.Separator) + "c.yaml",
		filepath.Join(hidden, "b.txt"),
		missing,
	})
	if len(diags) != 1 || diags[0].Code != diag.CodeReadFile || diags[0].Pos != (diag.Pos{File: missing}) ||
		!strings.Contains(diags[0].Message, "no such file or directory") {
		t.Errorf("want one IC1012 for %s, got %v", missing, diags)
	}
	var names []string
	for _, d := range set.Docs {
		names = append(names, d.Meta.Name)
	}
	if want := []string{"a", "c", "b"}; !slices.Equal(names, want) {
		t.Errorf("documents %q, want %q", names, want)
	}
}

// LoadParsed takes a file already parsed from the same bytes instead of
// parsing it again, once, and parses it again when its bytes changed.
func TestLoadParsed(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, map[string]string{"a.yaml": mesh("a"), "b.yaml": mesh("b")})
	a, b := filepath.Join(root, "a.yaml"), filepath.Join(root, "b.yaml")
	parsed := &Parsed{}
	keep := func(f, as string) *Document {
		docs, others, diags := ParseFile(f, []byte(mesh(as)))
		parsed.Keep(f, []byte(mesh(as)), docs, others, diags)
		return docs[0]
	}
	keptA := keep(a, "a")
	keep(b, "stale") // b's bytes on disk are not these
	set, diags := LoadParsed([]string{root}, parsed)
	if len(diags) > 0 || len(set.Docs) != 2 {
		t.Fatalf("want two documents, no findings; got %d, %v", len(set.Docs), diags)
	}
	if set.Docs[0] != keptA {
		t.Error("a.yaml was parsed again")
	}
	if set.Docs[1].Meta.Name != "b" {
		t.Errorf("b.yaml: got %q, want the file's own bytes parsed", set.Docs[1].Meta.Name)
	}
	again, _ := LoadParsed([]string{a}, parsed)
	if again.Docs[0] == keptA {
		t.Error("a kept parse was handed out twice")
	}
	if diff := cmp.Diff(set.Docs[0], again.Docs[0], cmp.AllowUnexported(Document{}, lineCol{}, positions{}, posAt{})); diff != "" {
		t.Errorf("kept and fresh parse differ:\n%s", diff)
	}
}

// Findings from several files come back sorted by file, then position, and
// non-intent documents are kept with the file they came from.
func TestLoadFindingsAndOthers(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, map[string]string{
		"b.yaml":   header + "kind: Mesh\nmetadata: {name: x}\nspec: {mtls: strikt}\n",
		"a/x.yaml": "apiVersion: v1\nkind: ConfigMap\n---\n" + header + "kind: Mesh\nmetadata: {nam: x}\n",
	})
	set, diags := Load([]string{root})
	var got []string
	for _, d := range diags {
		rel, _ := filepath.Rel(root, d.Pos.File)
		got = append(got, filepath.ToSlash(rel)+":"+posString(d.Pos)+" "+string(d.Code))
	}
	want := []string{
		"a/x.yaml:1:1 IC1015",
		"a/x.yaml:6:11 IC1005", // metadata's missing name, at the mapping
		"a/x.yaml:6:12 IC1002", // the misspelt key
		"b.yaml:4:14 IC1014",
	}
	if !slices.Equal(got, want) {
		t.Errorf("findings %q\nwant     %q", got, want)
	}
	if len(set.Others) != 1 || set.Others[0].File != filepath.Join(root, "a", "x.yaml") || set.Others[0].Node.Line != 1 {
		t.Errorf("others: %+v", set.Others)
	}
}

func TestLoadEmptyDirectory(t *testing.T) {
	set, diags := Load([]string{t.TempDir()})
	if len(diags) != 0 || len(set.Docs) != 0 || len(set.Files) != 0 {
		t.Errorf("got %v, %+v", diags, set)
	}
}

// The digest depends on the meaning, not on files, order or comments.
func TestDigest(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	writeTree(t, a, map[string]string{"one.yaml": mesh("x") + "---\n" + mesh("y")})
	writeTree(t, b, map[string]string{"2.yaml": "# comment\n" + mesh("x"), "1.yaml": mesh("y")})
	sa, _ := Load([]string{a})
	sb, _ := Load([]string{b})
	if sa.Digest() != sb.Digest() || !strings.HasPrefix(sa.Digest(), "sha256:") {
		t.Errorf("digests differ: %s, %s", sa.Digest(), sb.Digest())
	}
	writeTree(t, b, map[string]string{"1.yaml": mesh("z")})
	sc, _ := Load([]string{b})
	if sc.Digest() == sa.Digest() {
		t.Error("digest did not change with the intent")
	}
}

func TestFindProject(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, map[string]string{
		ProjectFileName:          "# project\nintents: [intents, more]\noutput: build/out\npolicies: [policies]\n",
		"intents/sub/deep/.keep": "",
		"more/.keep":             "",
		"policies/.keep":         "",
	})
	t.Chdir(filepath.Join(root, "intents", "sub", "deep"))
	p, diags := FindProject(".")
	if len(diags) != 0 || p == nil {
		t.Fatalf("FindProject: %v, %v", p, diags)
	}
	// Paths stay relative to the working directory, so findings and output
	// never carry an absolute path.
	up := filepath.Join("..", "..", "..")
	if p.Dir != up {
		t.Errorf("Dir = %q, want %q", p.Dir, up)
	}
	if got, want := p.IntentPaths(), []string{filepath.Join(up, "intents"), filepath.Join(up, "more")}; !slices.Equal(got, want) {
		t.Errorf("IntentPaths = %q, want %q", got, want)
	}
	if got, want := p.OutputPath(), filepath.Join(up, "build", "out"); got != want {
		t.Errorf("OutputPath = %q, want %q", got, want)
	}
	if !slices.Equal(p.Policies, []string{"policies"}) {
		t.Errorf("Policies = %q", p.Policies)
	}
}

func TestFindProjectNone(t *testing.T) {
	dir := t.TempDir()
	// Guard the premise: no project file may exist above the temp dir.
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, ProjectFileName)); err == nil {
			t.Fatalf("%s exists above the test's temp dir; the test cannot run here", filepath.Join(d, ProjectFileName))
		}
		if filepath.Dir(d) == d {
			break
		}
	}
	p, diags := FindProject(dir)
	if p != nil || len(diags) != 0 {
		t.Errorf("got %+v, %v", p, diags)
	}
}

func TestProjectDefaults(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, map[string]string{ProjectFileName: "# all defaults\n"})
	p, diags := LoadProject(filepath.Join(root, ProjectFileName))
	if len(diags) != 0 {
		t.Fatal(diags)
	}
	if got := p.IntentPaths(); !slices.Equal(got, []string{root}) {
		t.Errorf("IntentPaths = %q, want [%q]", got, root)
	}
	if got := p.OutputPath(); got != filepath.Join(root, "out") {
		t.Errorf("OutputPath = %q", got)
	}
}

func TestProjectErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []want
	}{
		{
			name: "missing intent directory",
			src:  "intents: [intents, missing]\n",
			want: []want{{"1:20", diag.CodeProjectFile, "intents[1]: " + filepath.Join("PROJ", "missing") + " is not a directory"}},
		},
		{
			name: "intent path is a file",
			src:  "intents:\n  - intents\n  - file.yaml\n",
			want: []want{{"3:5", diag.CodeProjectFile, "intents[1]: " + filepath.Join("PROJ", "file.yaml") + " is not a directory"}},
		},
		{
			name: "missing policy directory",
			src:  "policies: [rego]\n",
			want: []want{{"1:12", diag.CodeProjectFile, "policies[0]: " + filepath.Join("PROJ", "rego") + " is not a directory"}},
		},
		{
			// The code table's own example: every problem in the project
			// file is IC1013, not the intent-document code.
			name: "wrong type",
			src:  "intents: 42\n",
			want: []want{{"1:10", diag.CodeProjectFile, "intents: expected a list, got an integer"}},
		},
		{
			name: "unknown field",
			src:  "intents: [intents]\nouptut: out\n",
			want: []want{{"2:1", diag.CodeProjectFile, `unknown field "ouptut"; did you mean "output"?`}},
		},
		{
			name: "syntax error",
			src:  "intents: [intents\n",
			// The list is still open at the end of the file, on line 2.
			want: []want{{"2:1", diag.CodeProjectFile, "invalid YAML: did not find expected ',' or ']'"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			writeTree(t, root, map[string]string{ProjectFileName: tc.src, "intents/.keep": "", "file.yaml": ""})
			path := filepath.Join(root, ProjectFileName)
			_, got := LoadProject(path)
			for i := range tc.want {
				tc.want[i].msg = strings.ReplaceAll(tc.want[i].msg, "PROJ", root)
			}
			// checkDiags expects testFile; compare positions here instead.
			for i := range got {
				if got[i].Pos.File != path {
					t.Errorf("finding %v does not name %s", got[i], path)
				}
				got[i].Pos.File = testFile
			}
			checkDiags(t, got, tc.want)
		})
	}
}

func TestProjectUnreadable(t *testing.T) {
	path := filepath.Join(t.TempDir(), ProjectFileName)
	p, diags := LoadProject(path)
	if p != nil || len(diags) != 1 || diags[0].Code != diag.CodeReadFile || diags[0].Pos.File != path {
		t.Errorf("got %+v, %v", p, diags)
	}
}
