package verify

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

func sameNode(a, b *yaml.Node, path string) error {
	if a.Kind != b.Kind || a.ShortTag() != b.ShortTag() || a.Value != b.Value || a.Line != b.Line || a.Column != b.Column || len(a.Content) != len(b.Content) {
		return fmt.Errorf("%s: fast {kind %d tag %s %q at %d:%d, %d children} vs yaml.v3 {kind %d tag %s %q at %d:%d, %d children}",
			path, a.Kind, a.ShortTag(), a.Value, a.Line, a.Column, len(a.Content), b.Kind, b.ShortTag(), b.Value, b.Line, b.Column, len(b.Content))
	}
	for i := range a.Content {
		if err := sameNode(a.Content[i], b.Content[i], fmt.Sprintf("%s/%d", path, i)); err != nil {
			return err
		}
	}
	return nil
}

func yamlDocs(t *testing.T, data []byte) []*yaml.Node {
	t.Helper()
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	var out []*yaml.Node
	for {
		var n yaml.Node
		if err := dec.Decode(&n); err != nil {
			return out
		}
		if len(n.Content) > 0 && n.Content[0].Kind == yaml.MappingNode {
			out = append(out, n.Content[0])
		}
	}
}

// The fast parser gives yaml.v3's trees on every file intentc writes (the
// golden outputs and the example's), and refuses what it does not read.
func TestFastParseMatchesYAML(t *testing.T) {
	var files []string
	_ = filepath.Walk(filepath.Join("..", "testdata", "compile"), func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() && (strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".json")) && strings.Contains(p, string(filepath.Separator)+"out"+string(filepath.Separator)) {
			files = append(files, p)
		}
		return nil
	})
	if len(files) < 500 {
		t.Fatalf("only %d golden output files", len(files))
	}
	fast := 0
	for _, f := range files {
		data, _ := os.ReadFile(f)
		got, err := fastParse(data)
		if err != nil {
			if strings.HasSuffix(f, ".yaml") && !strings.HasSuffix(f, "heat.yaml") {
				t.Errorf("%s: the fast parser refuses a file intentc wrote", f)
			}
			continue
		}
		fast++
		want := yamlDocs(t, data)
		if len(got) != len(want) {
			t.Errorf("%s: %d documents, yaml.v3 %d", f, len(got), len(want))
			continue
		}
		for i := range got {
			if err := sameNode(got[i], want[i], f); err != nil {
				t.Error(err)
				break
			}
		}
	}
	t.Logf("%d of %d files read by the fast parser", fast, len(files))
	for _, bad := range []string{"a: {b: c}\n", "a: |\n  x\n", "a: &x 1\n", "a: b # c\n", "a:\n\t- b\n", "- - a\n", "a: [b]\n"} {
		if _, err := fastParse([]byte(bad)); err == nil {
			t.Errorf("%q: the fast parser should refuse it", bad)
		}
	}
}

func TestIsPrefixRange(t *testing.T) {
	for _, c := range []struct {
		s    string
		want bool
	}{{"10.0.0.0/8", true}, {"10.1.2.3/32", true}, {"0.0.0.0/0", true}, {"fd00::/56", true}, {"::/0", true}} {
		if got := isPrefixRange(prefixRange(netip.MustParsePrefix(c.s))); got != c.want {
			t.Errorf("%s: %v", c.s, got)
		}
	}
	for _, r := range []addrRange{
		{netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")},
		{netip.MustParseAddr("10.0.0.0"), netip.MustParseAddr("10.0.0.2")},
		{netip.MustParseAddr("10.0.0.0"), netip.MustParseAddr("10.0.1.254")},
	} {
		if isPrefixRange(r) {
			t.Errorf("%v-%v is not a prefix", r.lo, r.hi)
		}
	}
	// rangesToPrefixes tiles a range exactly.
	r := addrRange{netip.MustParseAddr("10.0.0.3"), netip.MustParseAddr("10.0.2.200")}
	ps := rangesToPrefixes(ipSet{r})
	if got := setOf(ps...); len(got) != 1 || got[0] != r {
		t.Errorf("tiling %v gives %v", r, ps)
	}
}

// FuzzFastParse holds the fast parser to yaml.v3 on any input: it never
// panics, and what it reads it reads as yaml.v3 does (it may refuse more).
func FuzzFastParse(f *testing.F) {
	for _, s := range []string{
		"a: b\n", "a:\n- \n", "- \n", "k:\n- b\n- \n", "a:\n  - x: 1\n    y: [ ]\n", "a: \"q\\\"\"\n",
		"apiVersion: v1\nkind: Service\nmetadata:\n  name: s\nspec:\n  ports:\n  - port: 80\n    targetPort: 8080\n",
		"a: 'it''s'\n---\nb: true\n...\n", "a:\n  b:\n    c: .5\n  d: -1\n  e: ~\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := fastParse(data)
		if err != nil {
			return
		}
		dec := yaml.NewDecoder(strings.NewReader(string(data)))
		var want []*yaml.Node
		for {
			var n yaml.Node
			if err := dec.Decode(&n); err != nil {
				if err.Error() != "EOF" {
					t.Fatalf("%q: the fast parser reads what yaml.v3 refuses (%v)", data, err)
				}
				break
			}
			if len(n.Content) > 0 && n.Content[0].Kind == yaml.MappingNode {
				want = append(want, n.Content[0])
			}
		}
		if len(got) != len(want) {
			t.Fatalf("%q: %d documents, yaml.v3 %d", data, len(got), len(want))
		}
		for i := range got {
			if err := sameNode(got[i], want[i], "doc"); err != nil {
				t.Fatalf("%q: %v", data, err)
			}
		}
	})
}
