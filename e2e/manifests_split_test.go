package e2e

import (
	"strings"
	"testing"
)

// TestSplitOutput checks how a tree is sorted before anything is sent to an
// authority: a wrong split would apply partial patches as objects (false
// rejections) or skip objects (false passes). It needs no environment.
func TestSplitOutput(t *testing.T) {
	files, err := readTree("testdata/sample")
	if err != nil {
		t.Fatal(err)
	}
	out := splitOutput(files)
	if len(out.Problems) > 0 {
		t.Fatalf("problems: %v", out.Problems)
	}
	var got []string
	for _, o := range applyOrder(out.Objects) {
		got = append(got, o.id())
	}
	want := "Namespace shop,Gateway istio-system/public,DestinationRule shop/reviews,VirtualService shop/reviews"
	if strings.Join(got, ",") != want {
		t.Errorf("applied in order %v, want %s", got, want)
	}
	if len(out.Patches) != 1 || out.Patches[0].Path != "clusters/demo/shop/patch-virtualservice-reviews.yaml" {
		t.Errorf("patches = %v", out.Patches)
	}
	for _, f := range out.Clusters["demo"] {
		if isKustomization(f.Path) || f.Path == out.Patches[0].Path {
			t.Errorf("%s handed to istioctl", f.Path)
		}
	}

	broken := map[string][]outFile{
		"lists patch clusters/c/missing.yaml, which was not generated": {
			{Path: "clusters/c/kustomization.yaml", Data: []byte("patches:\n- path: missing.yaml\n")},
		},
		"patch lacks metadata.name": {
			{Path: "clusters/c/kustomization.yaml", Data: []byte("patches:\n- path: p.yaml\n")},
			{Path: "clusters/c/p.yaml", Data: []byte("apiVersion: v1\nkind: Namespace\nmetadata: {}\n")},
		},
		"has no metadata.name": {
			{Path: "clusters/c/x.yaml", Data: []byte("apiVersion: v1\nkind: Namespace\n")},
		},
		"holds no object": {
			{Path: "clusters/c/x.yaml", Data: []byte("# nothing\n")},
		},
		"does not parse": {
			{Path: "clusters/c/x.yaml", Data: []byte("apiVersion: v1\nkind: [\n")},
		},
		`key "kind" already set`: { // refused rather than last-one-wins
			{Path: "clusters/c/x.yaml", Data: []byte("apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\nkind: Namespace\n")},
		},
	}
	for want, files := range broken {
		out := splitOutput(files)
		if len(out.Problems) != 1 || !strings.Contains(out.Problems[0], want) {
			t.Errorf("want one problem containing %q, got %q", want, out.Problems)
		}
	}
}
