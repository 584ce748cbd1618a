package lint

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/intentc/intentc/internal/fastyaml"
)

// TestFastReaderMatchesYAMLv3: every YAML and JSON file of the repository
// (hand-written manifests, intent, golden outputs) reads to the same
// documents — values, and the nodes findings are placed with — through
// the fast reader as through yaml.v3, and the fast reader reads most of
// them.
func TestFastReaderMatchesYAMLv3(t *testing.T) {
	var files []string
	for _, root := range []string{filepath.Join("..", "testdata"), filepath.Join("..", "examples"), "testdata"} {
		_ = filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
			if ext := filepath.Ext(p); err == nil && !info.IsDir() && (ext == ".yaml" || ext == ".yml" || ext == ".json") {
				files = append(files, p)
			}
			return nil
		})
	}
	if len(files) < 100 {
		t.Fatalf("only %d files", len(files))
	}
	fast := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		got, gotErr := parseDocumentsWith(f, data, true)
		want, wantErr := parseDocumentsWith(f, data, false)
		if (gotErr == nil) != (wantErr == nil) || len(got) != len(want) {
			t.Errorf("%s: %d documents (error %v), with yaml.v3 %d (error %v)", f, len(got), gotErr, len(want), wantErr)
			continue
		}
		for i := range got {
			if ast.Compare(got[i].value, want[i].value) != 0 {
				t.Errorf("%s: document %d reads to another value", f, i)
			}
			if got[i].node == nil || want[i].node == nil {
				if (got[i].node == nil) != (want[i].node == nil) {
					t.Errorf("%s: document %d has a node one way only", f, i)
				}
				continue
			}
			if err := fastyaml.Compare(got[i].node.Content[0], want[i].node.Content[0], f); err != nil {
				t.Error(err)
			}
		}
		if _, _, err := fastyaml.Parse(data); err == nil {
			fast++
		}
	}
	// It saves nothing on what it refuses.
	if fast < len(files)/2 {
		t.Errorf("the fast reader reads only %d of %d files", fast, len(files))
	}
	t.Logf("the fast reader reads %d of %d files", fast, len(files))
}
