package crdgen

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning"
	"sigs.k8s.io/yaml"

	"github.com/intentc/intentc/compiler/intent"
)

// The language reference is hand-written, so these tests hold it to the Go
// types: each struct has a section headed by its Go name, with one table row
// per JSON field giving the type, whether it is required and the allowed
// values. A new field, a renamed one or an invented one fails here.

const languageDoc = "docs/language.md"

func readLanguageDoc(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, languageDoc))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// docTypes are the struct types the reference documents: every kind, every
// struct reachable from one, and the project file. TypeMeta is inlined into
// each kind's table rather than documented on its own.
func docTypes() []reflect.Type {
	var out []reflect.Type
	seen := map[reflect.Type]bool{reflect.TypeFor[intent.TypeMeta](): true}
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || seen[t] {
			return
		}
		seen[t] = true
		out = append(out, t)
		for _, f := range jsonFields(t) {
			walk(f.Type)
		}
	}
	for _, k := range Kinds {
		walk(k.Type)
	}
	walk(reflect.TypeFor[intent.Project]())
	return out
}

// section returns the body under the "## Name" or "### Name" heading, up to
// the next heading of either level.
func section(doc, name string) (string, error) {
	lines := strings.Split(doc, "\n")
	start := -1
	for i, l := range lines {
		if l == "## "+name || l == "### "+name {
			if start >= 0 {
				return "", fmt.Errorf("two sections headed %q", name)
			}
			start = i + 1
		}
	}
	if start < 0 {
		return "", fmt.Errorf("no section headed \"### %s\"", name)
	}
	end := len(lines)
	inFence := false
	for i := start; i < len(lines); i++ {
		if strings.HasPrefix(lines[i], "```") {
			inFence = !inFence
		}
		if !inFence && (strings.HasPrefix(lines[i], "## ") || strings.HasPrefix(lines[i], "### ")) {
			end = i
			break
		}
	}
	return strings.Join(lines[start:end], "\n"), nil
}

// docType is how the reference writes a field's type.
func docType(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Slice:
		return "list of " + docType(t.Elem())
	case reflect.Map:
		return "map of " + docType(t.Elem())
	case reflect.Struct:
		return fmt.Sprintf("[%s](#%s)", t.Name(), strings.ToLower(t.Name()))
	case reflect.Int32:
		return "integer"
	case reflect.Bool:
		return "boolean"
	}
	return t.Kind().String()
}

var fieldRow = regexp.MustCompile("^\\| `([^`]+)` \\|")

func TestLanguageDocCoversTypes(t *testing.T) {
	doc := readLanguageDoc(t)
	for _, typ := range docTypes() {
		body, err := section(doc, typ.Name())
		if err != nil {
			t.Errorf("%s: %v", languageDoc, err)
			continue
		}
		rows := map[string][]string{}
		for l := range strings.SplitSeq(body, "\n") {
			m := fieldRow.FindStringSubmatch(l)
			if m == nil {
				continue
			}
			cells := strings.Split(strings.Trim(l, "|"), " | ")
			if len(cells) != 5 {
				t.Errorf("%s, %s: row %q needs 5 cells (field, type, required, default, description) without inner |", languageDoc, typ.Name(), l)
				continue
			}
			if _, dup := rows[m[1]]; dup {
				t.Errorf("%s, %s: field %q listed twice", languageDoc, typ.Name(), m[1])
			}
			for i := range cells {
				cells[i] = strings.TrimSpace(cells[i])
			}
			rows[m[1]] = cells
		}
		for _, f := range jsonFields(typ) {
			name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
			cells, ok := rows[name]
			if !ok {
				t.Errorf("%s, %s: no row for field `%s`", languageDoc, typ.Name(), name)
				continue
			}
			delete(rows, name)
			if want := docType(f.Type); cells[1] != want {
				t.Errorf("%s, %s.%s: type %q, want %q", languageDoc, typ.Name(), name, cells[1], want)
			}
			want := "no"
			if !strings.Contains(opts, "omitempty") {
				want = "yes"
			}
			if cells[2] != want {
				t.Errorf("%s, %s.%s: required %q, want %q", languageDoc, typ.Name(), name, cells[2], want)
			}
			if e := f.Tag.Get("enum"); e != "" {
				for v := range strings.SplitSeq(e, ",") {
					if !strings.Contains(cells[4], "`"+v+"`") {
						t.Errorf("%s, %s.%s: allowed value `%s` not listed", languageDoc, typ.Name(), name, v)
					}
				}
			}
		}
		for name := range rows {
			t.Errorf("%s, %s: row for `%s`, which the Go type does not have", languageDoc, typ.Name(), name)
		}
	}
}

// yamlBlocks returns the fenced yaml blocks of a Markdown document, each
// preceded by blank lines so that YAML positions are positions in the
// document.
func yamlBlocks(doc string) []string {
	var out []string
	lines := strings.Split(doc, "\n")
	for i := 0; i < len(lines); i++ {
		if lines[i] != "```yaml" {
			continue
		}
		start, end := i+1, i+1
		for end < len(lines) && !strings.HasPrefix(lines[end], "```") {
			end++
		}
		out = append(out, strings.Repeat("\n", start)+strings.Join(lines[start:end], "\n")+"\n")
		i = end
	}
	return out
}

// TestLanguageDocExamples checks that every example is a clean intent and
// that the API server, given the CRDs, would keep every field of it.
func TestLanguageDocExamples(t *testing.T) {
	doc := readLanguageDoc(t)
	schemas := map[string]*structuralschema.Structural{}
	for _, k := range Kinds {
		schemas[k.Kind] = structural(t, readCRD(t, k))
	}
	var kinds []string
	for _, block := range yamlBlocks(doc) {
		if !strings.HasPrefix(strings.TrimLeft(block, "\n"), "apiVersion: "+intent.APIVersion) {
			continue
		}
		docs, others, diags := intent.ParseFile(languageDoc, []byte(block))
		for _, d := range diags {
			t.Errorf("%s", d)
		}
		if len(others) > 0 || len(docs) != 1 {
			t.Errorf("%s: want one intent document per example, got %d (and %d others)", languageDoc, len(docs), len(others))
			continue
		}
		name := fmt.Sprintf("%s:%d (%s example)", languageDoc, docs[0].Pos.Line, docs[0].Kind)
		kinds = append(kinds, docs[0].Kind)
		var obj map[string]any
		if err := yaml.Unmarshal([]byte(block), &obj); err != nil {
			t.Fatal(err)
		}
		opts := structuralschema.UnknownFieldPathOptions{TrackUnknownFieldPaths: true}
		if pruned := pruning.PruneWithOptions(obj, schemas[docs[0].Kind], true, opts); len(pruned) > 0 {
			t.Errorf("%s: the API server would drop %v", name, pruned)
		}
	}
	for _, k := range intent.Kinds {
		if !slices.Contains(kinds, k) {
			t.Errorf("%s: no example of %s", languageDoc, k)
		}
	}
}

func TestLanguageDocProjectExample(t *testing.T) {
	doc := readLanguageDoc(t)
	var example string
	for _, b := range yamlBlocks(doc) {
		if b = strings.TrimLeft(b, "\n"); strings.HasPrefix(b, "# "+intent.ProjectFileName+"\n") {
			example = b
		}
	}
	if example == "" {
		t.Fatalf("%s: no example starting with # %s", languageDoc, intent.ProjectFileName)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, intent.ProjectFileName)
	if err := os.WriteFile(path, []byte(example), 0o644); err != nil {
		t.Fatal(err)
	}
	var p intent.Project
	if err := yaml.Unmarshal([]byte(example), &p); err != nil {
		t.Fatal(err)
	}
	for _, d := range append(slices.Clone(p.Intents), p.Policies...) {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if _, diags := intent.LoadProject(path); len(diags) > 0 {
		t.Errorf("%s: project example: %v", languageDoc, diags)
	}
}
