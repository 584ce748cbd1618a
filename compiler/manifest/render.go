package manifest

import (
	"fmt"
	"maps"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"

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
			// Cloned: a backend may share the map with a selector, which
			// must not gain intentc's label.
			labels := maps.Clone(acc.GetLabels())
			if labels == nil {
				labels = map[string]string{}
			}
			labels[LabelManagedBy] = ManagedByValue
			acc.SetLabels(labels)
			ann := maps.Clone(acc.GetAnnotations())
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
		switch prev, dup := byPath[a.Path]; {
		case !filepath.IsLocal(filepath.FromSlash(a.Path)) || path.Clean(a.Path) != a.Path || a.Path == MarkerFile:
			// Names from the intent make up the path: never write outside
			// the output directory, and never crash on what resolve missed.
			diags.Add(diag.CodeOutputCollision, firstPos(a.Sources), "%s would be written to %q, which is not a clean path inside the output directory", refs(a.Sources), a.Path)
			continue
		case strings.HasPrefix(a.Path, "clusters/"):
			diags.Add(diag.CodeOutputCollision, firstPos(a.Sources), "%s would be written to %s, inside the cluster folders", refs(a.Sources), a.Path)
			continue
		case dup:
			diags.Add(diag.CodeOutputCollision, firstPos(a.Sources), "%s and %s would both be written to %s", refs(prev.Sources), refs(a.Sources), a.Path).
				WithRelated(firstPos(prev.Sources), "the other object comes from here")
			continue
		}
		byPath[a.Path] = ir.Object{Sources: a.Sources}
		files = append(files, File{Path: a.Path, Data: a.Data})
	}
	if diags.HasErrors() {
		return nil, diags
	}
	// Every cluster with objects gets a kustomization, even one that only
	// has patches (they would be orphaned otherwise).
	for cluster := range patches {
		if _, ok := resources[cluster]; !ok {
			resources[cluster] = []string{}
		}
	}
	for cluster, res := range resources {
		slices.Sort(res)
		ps := patches[cluster]
		slices.SortFunc(ps, func(a, b patchRef) int { return strings.Compare(a.path, b.path) })
		k := kustomization{APIVersion: "kustomize.config.k8s.io/v1beta1", Kind: "Kustomization", Resources: res}
		for _, p := range ps {
			k.Patches = append(k.Patches, kPatch{Path: p.path, Target: kTarget{Kind: p.kind, Name: p.name, Namespace: p.namespace}})
		}
		kv, _ := jsonValue(k)
		data, _ := toYAML(kv)
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
	v, err := jsonValue(obj)
	if err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("manifest: %T is not an object", obj)
	}
	delete(m, "status")
	if md, ok := m["metadata"].(map[string]any); ok {
		if md["creationTimestamp"] == nil {
			delete(md, "creationTimestamp")
		}
	}
	return toYAML(m)
}
