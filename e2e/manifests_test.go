package e2e

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// sourceAnnotation names the intent objects an output object was generated
// from; failures quote it so they point at what the user wrote.
const sourceAnnotation = "intentc.dev/source"

// intentAPIVersion marks intent documents in example and golden inputs.
const intentAPIVersion = "intentc.dev/v1alpha1"

// outFile is one generated file, Path slash-separated and relative to the
// output root (the same shape as compiler.File, so hand-written fixtures
// and compiler output go through the same checks).
type outFile struct {
	Path string
	Data []byte
}

// object is one Kubernetes object read from a file.
type object struct {
	File string // output-relative path
	Doc  int    // index of the YAML document in File
	U    *unstructured.Unstructured
	JSON []byte // the document as JSON: the exact apply body
}

// String identifies the object in failure messages: the file, the object
// and the intent objects it came from.
func (o object) String() string {
	file := o.File
	if o.Doc > 0 {
		file = fmt.Sprintf("%s (document %d)", o.File, o.Doc+1)
	}
	return fmt.Sprintf("%s: %s (source %s)", file, o.id(), o.source())
}

// id is "Kind namespace/name", the form istioctl uses for a finding's origin.
func (o object) id() string {
	if ns := o.U.GetNamespace(); ns != "" {
		return o.U.GetKind() + " " + ns + "/" + o.U.GetName()
	}
	return o.U.GetKind() + " " + o.U.GetName()
}

func (o object) source() string {
	if src := o.U.GetAnnotations()[sourceAnnotation]; src != "" {
		return src
	}
	return "<no " + sourceAnnotation + " annotation>"
}

// output is a generated tree sorted into what gets applied, what gets
// analyzed per cluster and what is only checked for shape.
type output struct {
	Objects  []object             // every applied object, in file order
	Clusters map[string][]outFile // cluster name -> its files for istioctl
	Patches  []outFile            // kustomize patches (partial objects)
	Problems []string             // structural problems: each one fails the case
}

// isYAML reports whether a generated file holds Kubernetes YAML. The
// OpenStack side (Heat templates, JSON) is another authority's business.
func isYAML(p string) bool {
	if strings.HasPrefix(p, "openstack/") {
		return false
	}
	ext := path.Ext(p)
	return ext == ".yaml" || ext == ".yml"
}

func isKustomization(p string) bool {
	switch path.Base(p) {
	case "kustomization.yaml", "kustomization.yml", "Kustomization":
		return true
	}
	return false
}

// clusterOf returns <c> for "clusters/<c>/...".
func clusterOf(p string) (string, bool) {
	rest, ok := strings.CutPrefix(p, "clusters/")
	if !ok {
		return "", false
	}
	c, _, ok := strings.Cut(rest, "/")
	return c, ok && c != ""
}

// splitOutput sorts a generated tree. Kustomization files and the patch
// files they list are not objects: a patch is partial, and a dry run would
// reject it for the missing fields it never meant to carry.
func splitOutput(files []outFile) output {
	out := output{Clusters: map[string][]outFile{}}
	byPath := map[string]outFile{}
	for _, f := range files {
		byPath[f.Path] = f
	}
	patches := map[string]bool{}
	for _, f := range files {
		if !isYAML(f.Path) || !isKustomization(f.Path) {
			continue
		}
		listed, err := kustomizePatchPaths(f)
		if err != nil {
			out.Problems = append(out.Problems, fmt.Sprintf("%s: %v", f.Path, err))
			continue
		}
		for _, p := range listed {
			pf, ok := byPath[p.path]
			if !ok {
				out.Problems = append(out.Problems, fmt.Sprintf("%s: lists patch %s, which was not generated", f.Path, p.path))
				continue
			}
			if err := checkPatch(pf, p.jsonPatch); err != nil {
				out.Problems = append(out.Problems, fmt.Sprintf("%s (patch listed in %s): %v", pf.Path, f.Path, err))
			}
			if !patches[p.path] {
				out.Patches = append(out.Patches, pf)
			}
			patches[p.path] = true
		}
	}
	for _, f := range files {
		if !isYAML(f.Path) || isKustomization(f.Path) || patches[f.Path] {
			continue
		}
		objs, err := decodeObjects(f)
		if err != nil {
			out.Problems = append(out.Problems, fmt.Sprintf("%s: %v", f.Path, err))
			continue
		}
		out.Objects = append(out.Objects, objs...)
		if c, ok := clusterOf(f.Path); ok {
			out.Clusters[c] = append(out.Clusters[c], f)
		}
	}
	return out
}

type patchRef struct {
	path      string // output-relative
	jsonPatch bool   // RFC 6902 operations rather than a partial object
}

// kustomizePatchPaths returns the patch files a kustomization refers to,
// resolved against its directory. Inline patches (patch:) have no file.
func kustomizePatchPaths(f outFile) ([]patchRef, error) {
	var k struct {
		Patches []struct {
			Path   string         `json:"path"`
			Patch  string         `json:"patch"`
			Target map[string]any `json:"target"`
		} `json:"patches"`
		PatchesStrategicMerge []string `json:"patchesStrategicMerge"`
		PatchesJSON6902       []struct {
			Path string `json:"path"`
		} `json:"patchesJson6902"`
	}
	if err := yaml.Unmarshal(f.Data, &k); err != nil {
		return nil, fmt.Errorf("not a kustomization: %w", err)
	}
	dir := path.Dir(f.Path)
	var refs []patchRef
	add := func(p string, j bool) {
		refs = append(refs, patchRef{path: path.Join(dir, p), jsonPatch: j})
	}
	for _, p := range k.Patches {
		if p.Path != "" {
			// A target-selected patch file may be either kind; checkPatch
			// tells them apart by shape.
			add(p.Path, false)
		}
	}
	for _, p := range k.PatchesStrategicMerge {
		if !strings.Contains(p, "\n") { // an entry may also be an inline patch
			add(p, false)
		}
	}
	for _, p := range k.PatchesJSON6902 {
		add(p.Path, true)
	}
	return refs, nil
}

// checkPatch verifies a patch file can do its job: it parses, and a partial
// object names the object it patches (apiVersion, kind, metadata.name),
// while an RFC 6902 patch is a list of operations with op and path.
func checkPatch(f outFile, jsonPatch bool) error {
	var v any
	if err := yaml.Unmarshal(f.Data, &v); err != nil {
		return fmt.Errorf("does not parse: %w", err)
	}
	switch v := v.(type) {
	case []any:
		if len(v) == 0 {
			return errors.New("empty JSON patch")
		}
		for i, op := range v {
			m, ok := op.(map[string]any)
			if !ok || m["op"] == nil || m["path"] == nil {
				return fmt.Errorf("JSON patch operation %d lacks op or path", i)
			}
		}
		return nil
	case map[string]any:
		if jsonPatch {
			return errors.New("listed as a JSON 6902 patch but holds an object")
		}
		u := unstructured.Unstructured{Object: v}
		var missing []string
		if u.GetAPIVersion() == "" {
			missing = append(missing, "apiVersion")
		}
		if u.GetKind() == "" {
			missing = append(missing, "kind")
		}
		if u.GetName() == "" {
			missing = append(missing, "metadata.name")
		}
		if len(missing) > 0 {
			return fmt.Errorf("patch lacks %s", strings.Join(missing, ", "))
		}
		return nil
	default:
		return fmt.Errorf("is neither a partial object nor a JSON patch (%T)", v)
	}
}

// yamlDocs splits a YAML stream into its documents, dropping empty ones.
func yamlDocs(data []byte) ([][]byte, error) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var docs [][]byte
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, err
		}
		if len(bytes.TrimSpace(stripComments(doc))) == 0 {
			continue
		}
		docs = append(docs, doc)
	}
}

func stripComments(doc []byte) []byte {
	var b bytes.Buffer
	for line := range bytes.Lines(doc) {
		if t := bytes.TrimSpace(line); len(t) > 0 && t[0] != '#' && !bytes.Equal(t, []byte("---")) {
			b.Write(line)
		}
	}
	return b.Bytes()
}

// decodeObjects reads every object of a file; anything that is not a
// complete object (no apiVersion, kind or name) is an error, since the API
// server would never see it.
func decodeObjects(f outFile) ([]object, error) {
	docs, err := yamlDocs(f.Data)
	if err != nil {
		return nil, fmt.Errorf("does not parse as YAML: %w", err)
	}
	if len(docs) == 0 {
		return nil, errors.New("holds no object")
	}
	var objs []object
	for i, doc := range docs {
		j, err := yaml.YAMLToJSONStrict(doc)
		if err != nil {
			return nil, fmt.Errorf("document %d does not parse: %w", i+1, err)
		}
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(j); err != nil {
			return nil, fmt.Errorf("document %d: %w", i+1, err)
		}
		if u.GetName() == "" {
			return nil, fmt.Errorf("document %d: %s has no metadata.name", i+1, u.GetKind())
		}
		objs = append(objs, object{File: f.Path, Doc: i, U: u, JSON: j})
	}
	return objs, nil
}

// readTree loads a directory as an output tree: the same shape compiler
// output has, for hand-written fixtures.
func readTree(dir string) ([]outFile, error) {
	var files []outFile
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		files = append(files, outFile{Path: filepath.ToSlash(rel), Data: data})
		return nil
	})
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	return files, err
}

// intentObjects returns the intent documents (intentc.dev/v1alpha1) of the
// YAML files under dir, the compiler's input.
func intentObjects(root, dir string) ([]object, error) {
	files, err := readTree(dir)
	if err != nil {
		return nil, err
	}
	base, err := filepath.Rel(root, dir)
	if err != nil {
		return nil, err
	}
	var objs []object
	for _, f := range files {
		if ext := path.Ext(f.Path); ext != ".yaml" && ext != ".yml" {
			continue
		}
		docs, err := yamlDocs(f.Data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.Path, err)
		}
		name := path.Join(filepath.ToSlash(base), f.Path)
		for i, doc := range docs {
			j, err := yaml.YAMLToJSON(doc)
			if err != nil {
				return nil, fmt.Errorf("%s document %d: %w", name, i+1, err)
			}
			var m map[string]any
			if err := yaml.Unmarshal(j, &m); err != nil || m["apiVersion"] != intentAPIVersion {
				continue // not an intent document (and not ours to judge)
			}
			objs = append(objs, object{File: name, Doc: i, U: &unstructured.Unstructured{Object: m}, JSON: j})
		}
	}
	return objs, nil
}

// applyOrder ranks objects so that what others depend on exists first:
// CRDs, then Namespaces, then everything else; file order within a rank.
func applyOrder(objs []object) []object {
	rank := func(o object) int {
		switch o.U.GroupVersionKind().GroupKind().String() {
		case "CustomResourceDefinition.apiextensions.k8s.io":
			return 0
		case "Namespace":
			return 1
		}
		return 2
	}
	sorted := slices.Clone(objs)
	slices.SortStableFunc(sorted, func(a, b object) int { return rank(a) - rank(b) })
	return sorted
}
