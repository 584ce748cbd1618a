package fastyaml

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/intentc/intentc/bench/fleet"
)

// reference is what yaml.v3 reads: the documents' root mappings and the
// empty documents, or ok false when it refuses the input or reads a
// document that is neither (which Parse must refuse).
func reference(data []byte) (docs []*yaml.Node, empty int, ok bool) {
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	for {
		var n yaml.Node
		if err := dec.Decode(&n); err != nil {
			return docs, empty, err.Error() == "EOF"
		}
		switch c := n.Content; {
		case len(c) == 1 && c[0].Kind == yaml.MappingNode:
			docs = append(docs, c[0])
		case len(c) == 1 && c[0].Kind == yaml.ScalarNode && c[0].ShortTag() == "!!null" && c[0].Value == "":
			empty++
		default:
			return nil, 0, false
		}
	}
}

// same fails unless Parse reads data as yaml.v3 does, or refuses it.
func same(t *testing.T, name string, data []byte) (read bool) {
	t.Helper()
	got, gotEmpty, err := Parse(data)
	if err != nil {
		return false
	}
	want, wantEmpty, ok := reference(data)
	if !ok {
		t.Errorf("%s: the fast parser reads what yaml.v3 refuses or reads otherwise", name)
		return true
	}
	if len(got) != len(want) || gotEmpty != wantEmpty {
		t.Errorf("%s: %d documents and %d empty, yaml.v3 %d and %d", name, len(got), gotEmpty, len(want), wantEmpty)
		return true
	}
	for i := range got {
		if err := Compare(got[i], want[i], name); err != nil {
			t.Error(err)
			break
		}
	}
	return true
}

func yamlFiles(t *testing.T, root string) []string {
	t.Helper()
	var files []string
	err := filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() && (strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml") || strings.HasSuffix(p, ".json")) {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// The fast parser gives yaml.v3's trees on every file intentc writes (the
// golden outputs), on the intent files it reads (a generated fleet's, the
// examples', the golden cases'), and on every other YAML file of the
// repository it accepts.
func TestMatchesYAML(t *testing.T) {
	outputs, other := 0, 0
	for _, f := range append(yamlFiles(t, filepath.Join("..", "..", "testdata")), yamlFiles(t, filepath.Join("..", "..", "examples"))...) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		read := same(t, f, data)
		generated := strings.Contains(f, string(filepath.Separator)+"out"+string(filepath.Separator)) && strings.Contains(f, "compile")
		switch {
		case generated && strings.HasSuffix(f, ".yaml") && !strings.HasSuffix(f, "heat.yaml") && !read:
			t.Errorf("%s: the fast parser refuses a file intentc wrote", f)
		case generated:
			outputs++
		case read:
			other++
		}
	}
	if outputs < 500 {
		t.Fatalf("only %d golden output files", outputs)
	}
	t.Logf("%d golden outputs and %d other files read by the fast parser", outputs, other)

	dir := t.TempDir()
	if _, err := fleet.Write(dir, fleet.Options{Services: 200, Clusters: 5}); err != nil {
		t.Fatal(err)
	}
	intents := yamlFiles(t, dir)
	if len(intents) == 0 {
		t.Fatal("the fleet has no intent file")
	}
	for _, f := range intents {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !same(t, f, data) {
			t.Errorf("%s: the fast parser refuses a generated intent file", filepath.Base(f))
		}
	}
}

func TestRefuses(t *testing.T) {
	for _, bad := range []string{
		"a: |\n  x\n", "a: &x 1\n", "a: # c\n", "a: # c\nb: d\n", "a: [b]# c\n", "a: 'b'# c\n", "a:\n\t- b\n", "- - a\n", "- a\n", "x\n", "a: b\n...\n",
		"a: {b: c,}\n", "a: {b}\n", "a: [b: c]\n", "a: {b: c\n  }\n", "a: [b,\n  c]\n", "a: {b:c}\n", "a: [*x]\n",
		"a: [http://x]\n", "a: [b]c\n", "a: {[b]: c}\n", "a: {b: }\n", "a: [b, , c]\n", "a: [- b]\n",
		"a: {? b: c}\n", "a: [b#c]\n", "a: [&x b]\n", "a: [!!str b]\n", "a: é\n", "a: 'é' # x\n", "a: \"#\" # é\n", "# \u2028\na: b\n", "a: " + strings.Repeat("[", maxFlowDepth+2) + strings.Repeat("]", maxFlowDepth+2) + "\n",
	} {
		if _, _, err := Parse([]byte(bad)); err == nil {
			t.Errorf("%q: the fast parser should refuse it", bad)
		}
	}
}

// FuzzParse holds the fast parser to yaml.v3 on any input: it never
// panics, and what it reads it reads as yaml.v3 does (it may refuse more).
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"a: b\n", "a:\n- \n", "- \n", "k:\n- b\n- \n", "a:\n  - x: 1\n    y: [ ]\n", "a: \"q\\\"\"\n",
		"apiVersion: v1\nkind: Service\nmetadata:\n  name: s\nspec:\n  ports:\n  - port: 80\n    targetPort: 8080\n",
		"a: 'it''s'\n---\nb: true\n...\n", "a:\n  b:\n    c: .5\n  d: -1\n  e: ~\n", "---\n---\na: b\n---\n",
		"metadata: {name: svc-1, namespace: team-1}\nspec:\n  ports:\n    - {name: http, port: 8080, protocol: http}\n",
		"a: {b: {c: [1, 'x', \"y\", -2, .5, true, ~]}, d: []}\n", "- match: {headers: {x-canary: \"true\"}}\n  to: [{cluster: c-1}]\n",
		"a: [ b , c ]   \n", "a: {b: c d, e: f}\n", "a: [\"/api\", \"/api/*\"]\n", "a: b # c\nd: [e] # f\ng: 'h' # i\nj: # k\n  l: m\n",
		"- {a: b}   # c\n- x # y: z\n", "# naïve — “quoted”\na: b # ünïcode\n", "a: 'é' # x\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		same(t, fmt.Sprintf("%q", data), data)
	})
}
