package manifest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/yaml"

	"github.com/intentc/intentc/compiler/diag"
	"github.com/intentc/intentc/compiler/ir"
)

// Labels and annotations on every generated object.
const (
	LabelManagedBy        = "app.kubernetes.io/managed-by"
	ManagedByValue        = "intentc"
	AnnotationSource      = "intentc.dev/source"
	AnnotationDigest      = "intentc.dev/intent-digest"
	KustomizationFileName = "kustomization.yaml"
)

// File is one output file.
type File struct {
	Path string // slash-separated, relative to the output root
	Data []byte
}

// Render serialises objects into files and adds the artifacts the backends
// rendered themselves. Errors (IC3001) mean two outputs would share a file;
// no files are returned then.
func Render(objs []ir.Object, arts []ir.Artifact, digest string) ([]File, diag.List) {
	var diags diag.List
	byPath := map[string]ir.Object{}
	var files []File
	type patchRef struct{ path, kind, name, namespace string }
	resources := map[string][]string{}
	patches := map[string][]patchRef{}
	for _, o := range objs {
		acc, err := meta.Accessor(o.Body)
		if err != nil {
			panic(fmt.Sprintf("manifest: %T has no object metadata", o.Body)) // a backend bug
		}
		kind := o.Body.GetObjectKind().GroupVersionKind().Kind
		dir := acc.GetNamespace()
		if dir == "" {
			dir = acc.GetName() // a Namespace goes beside the objects it holds
		}
		base := strings.ToLower(kind) + "-" + acc.GetName() + ".yaml"
		if o.Patch {
			base = "patch-" + base
		}
		rel := path.Join(dir, base)
		full := path.Join("clusters", o.Cluster, rel)
		if prev, dup := byPath[full]; dup {
			d := diags.Add(diag.CodeOutputCollision, firstPos(o.Sources), "%s and %s would both be written to %s", refs(prev.Sources), refs(o.Sources), full)
			d.WithRelated(firstPos(prev.Sources), "the other object comes from here")
			continue
		}
		byPath[full] = o
		if o.Patch {
			patches[o.Cluster] = append(patches[o.Cluster], patchRef{rel, kind, acc.GetName(), acc.GetNamespace()})
		} else {
			labels := acc.GetLabels()
			if labels == nil {
				labels = map[string]string{}
			}
			labels[LabelManagedBy] = ManagedByValue
			acc.SetLabels(labels)
			ann := acc.GetAnnotations()
			if ann == nil {
				ann = map[string]string{}
			}
			ann[AnnotationSource] = refs(o.Sources)
			ann[AnnotationDigest] = digest
			acc.SetAnnotations(ann)
			resources[o.Cluster] = append(resources[o.Cluster], rel)
		}
		data, err := Marshal(o.Body)
		if err != nil {
			panic(fmt.Sprintf("manifest: cannot serialise %s: %v", full, err)) // typed objects always serialise
		}
		files = append(files, File{Path: full, Data: data})
	}
	for _, a := range arts {
		if prev, dup := byPath[a.Path]; dup || strings.HasPrefix(a.Path, "clusters/") {
			diags.Add(diag.CodeOutputCollision, firstPos(a.Sources), "%s and %s would both be written to %s", refs(prev.Sources), refs(a.Sources), a.Path)
			continue
		}
		byPath[a.Path] = ir.Object{Sources: a.Sources}
		files = append(files, File{Path: a.Path, Data: a.Data})
	}
	if diags.HasErrors() {
		return nil, diags
	}
	for cluster, res := range resources {
		slices.Sort(res)
		ps := patches[cluster]
		slices.SortFunc(ps, func(a, b patchRef) int { return strings.Compare(a.path, b.path) })
		k := kustomization{APIVersion: "kustomize.config.k8s.io/v1beta1", Kind: "Kustomization", Resources: res}
		for _, p := range ps {
			k.Patches = append(k.Patches, kPatch{Path: p.path, Target: kTarget{Kind: p.kind, Name: p.name, Namespace: p.namespace}})
		}
		data, _ := yaml.Marshal(k)
		files = append(files, File{Path: path.Join("clusters", cluster, KustomizationFileName), Data: data})
	}
	slices.SortFunc(files, func(a, b File) int { return strings.Compare(a.Path, b.Path) })
	return files, diags
}

type kustomization struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Resources  []string `json:"resources"`
	Patches    []kPatch `json:"patches,omitempty"`
}

type kPatch struct {
	Path   string  `json:"path"`
	Target kTarget `json:"target"`
}

type kTarget struct {
	Kind      string `json:"kind"`
	Name      string `json:"name"`
	Namespace string `json:"namespace,omitempty"`
}

func refs(srcs []ir.Source) string {
	var out []string
	for _, s := range srcs {
		out = append(out, s.Ref())
	}
	slices.Sort(out)
	return strings.Join(slices.Compact(out), ",")
}

func firstPos(srcs []ir.Source) diag.Pos {
	if len(srcs) == 0 {
		return diag.Pos{}
	}
	return srcs[0].Pos
}

// Marshal serialises one object as YAML with sorted keys, dropping what the
// API server owns (status, a null creationTimestamp) so that output is a pure
// function of the intent.
func Marshal(obj any) ([]byte, error) {
	raw, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber() // keep integers integers
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	delete(m, "status")
	if md, ok := m["metadata"].(map[string]any); ok {
		if md["creationTimestamp"] == nil {
			delete(md, "creationTimestamp")
		}
	}
	return yaml.Marshal(m)
}
