package manifest

import (
	"encoding/json"
	"fmt"
	"maps"
	"path"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

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
	// JSON is the object Data holds as compact JSON (keys sorted, the
	// same value), for readers that want the object rather than its text
	// (lint builds its OPA input from it instead of parsing the YAML); nil
	// for kustomizations and the backends' own artifacts.
	JSON []byte
}

// Render serialises objects into files and adds the artifacts the backends
// rendered themselves. Errors (IC3001) mean two outputs would share a file;
// no files are returned then.
func Render(objs []ir.Object, arts []ir.Artifact, digest string) ([]File, diag.List) {
	return render(objs, arts, digest, true)
}

// RenderJSON is Render for a caller that reads the objects and writes
// none (intentc lint, the webhook): an object's file has its JSON and no
// Data. Writing the YAML is a tenth of rendering, and holding it a third of
// what a large compile leaves alive.
func RenderJSON(objs []ir.Object, arts []ir.Artifact, digest string) ([]File, diag.List) {
	return render(objs, arts, digest, false)
}

func render(objs []ir.Object, arts []ir.Artifact, digest string, withYAML bool) ([]File, diag.List) {
	var diags diag.List
	byPath := make(map[string]ir.Object, len(objs)+len(arts))
	type patchRef struct{ path, kind, name, namespace string }
	resources := map[string][]string{}
	patches := map[string][]patchRef{}
	// First the paths, in the backends' order (a collision names the
	// earlier object), then the objects' serialisation, on every core.
	type job struct {
		o    ir.Object
		acc  metav1.Object
		full string
	}
	jobs := make([]job, 0, len(objs))
	// A body emitted more than once (a backend's object that is the same
	// in every cluster) is one group: its uses are labelled and
	// serialised in turn, on one worker, and a use labelled as the one
	// before it takes its bytes instead.
	var first []int                      // each body's first use
	next := make([]int, 0, len(objs))    // the same body's next use after each, or -1
	last := make(map[any]int, len(objs)) // each body's last use so far
	// Where each object goes is worked out on every core (serially it was
	// a third of a second at 190,000 objects); what depends on the order
	// (collisions, the bodies' uses) is done in order after.
	type place struct {
		acc       metav1.Object
		kind, rel string
		full      string
	}
	places := make([]place, len(objs))
	parallel(len(objs), func(i int) {
		o := objs[i]
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
		places[i] = place{acc, kind, rel, path.Join("clusters", o.Cluster, rel)}
	})
	for i, o := range objs {
		acc, kind, rel, full := places[i].acc, places[i].kind, places[i].rel, places[i].full
		if prev, dup := byPath[full]; dup {
			d := diags.Add(diag.CodeOutputCollision, firstPos(o.Sources), "%s and %s would both be written to %s", refs(prev.Sources), refs(o.Sources), full)
			d.WithRelated(firstPos(prev.Sources), "the other object comes from here")
			continue
		}
		byPath[full] = ir.Object{Sources: o.Sources} // the body is dropped once serialised
		if o.Patch {
			patches[o.Cluster] = append(patches[o.Cluster], patchRef{rel, kind, acc.GetName(), acc.GetNamespace()})
		} else {
			resources[o.Cluster] = append(resources[o.Cluster], rel)
		}
		next = append(next, -1)
		if reflect.TypeOf(o.Body).Kind() != reflect.Pointer {
			first = append(first, len(jobs)) // a value is a use of its own
		} else {
			if prev, ok := last[o.Body]; ok {
				next[prev] = len(jobs)
			} else {
				first = append(first, len(jobs))
			}
			last[o.Body] = len(jobs)
		}
		jobs = append(jobs, job{o, acc, full})
	}
	last, places = nil, nil
	files := make([]File, len(jobs), len(jobs)+len(arts)+len(resources))
	// render labels and serialises one use of a body whose labels and
	// annotations as the backend emitted it are labels and ann: every use
	// starts from those, as a fresh copy of the body would.
	render := func(i int, labels, ann map[string]string) {
		j := &jobs[i]
		j.acc.SetLabels(labels)
		j.acc.SetAnnotations(ann)
		if !j.o.Patch {
			// Cloned: a backend may share the map with a selector, which
			// must not gain intentc's label.
			labels := maps.Clone(labels)
			if labels == nil {
				labels = map[string]string{}
			}
			labels[LabelManagedBy] = ManagedByValue
			j.acc.SetLabels(labels)
			ann := maps.Clone(ann)
			if ann == nil {
				ann = map[string]string{}
			}
			ann[AnnotationSource] = refs(j.o.Sources)
			ann[AnnotationDigest] = digest
			j.acc.SetAnnotations(ann)
		}
		data, doc, err := marshal(j.o.Body, withYAML)
		if err != nil {
			panic(fmt.Sprintf("manifest: cannot serialise %s: %v", j.full, err)) // typed objects always serialise
		}
		files[i] = File{Path: j.full, Data: data, JSON: doc}
		// The typed objects are most of the memory a compile holds until
		// now: let each go as soon as its bytes exist, rather than all at
		// the end, when they would be alive beside every file's bytes.
		j.o.Body, j.acc = nil, nil
	}
	parallel(len(first), func(g int) {
		labels, ann := jobs[first[g]].acc.GetLabels(), jobs[first[g]].acc.GetAnnotations()
		for prev, i := -1, first[g]; i >= 0; prev, i = i, next[i] {
			if prev >= 0 && jobs[i].o.Patch == jobs[prev].o.Patch && refs(jobs[i].o.Sources) == refs(jobs[prev].o.Sources) {
				files[i] = File{Path: jobs[i].full, Data: files[prev].Data, JSON: files[prev].JSON}
				jobs[i].o.Body, jobs[i].acc = nil, nil
				continue
			}
			render(i, labels, ann)
		}
	})
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
	clusters := slices.Sorted(maps.Keys(resources))
	kusts := make([]File, len(clusters))
	// One goroutine a cluster: a large cluster's list is a tenth of a
	// second to sort and serialise.
	var wg sync.WaitGroup
	for i, cluster := range clusters {
		wg.Go(func() {
			res := resources[cluster]
			slices.Sort(res)
			ps := patches[cluster]
			slices.SortFunc(ps, func(a, b patchRef) int { return strings.Compare(a.path, b.path) })
			k := kustomization{APIVersion: "kustomize.config.k8s.io/v1beta1", Kind: "Kustomization", Resources: res}
			for _, p := range ps {
				k.Patches = append(k.Patches, kPatch{Path: p.path, Target: kTarget{Kind: p.kind, Name: p.name, Namespace: p.namespace}})
			}
			raw, _ := json.Marshal(k)
			data, _, _ := canonical(raw)
			kusts[i] = File{Path: path.Join("clusters", cluster, KustomizationFileName), Data: data}
		})
	}
	wg.Wait()
	files = append(files, kusts...)
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
	data, _, err := marshal(obj, true)
	return data, err
}

// marshal returns Marshal's YAML (withYAML) and the same object as compact
// JSON.
func marshal(obj any, withYAML bool) (yamlOut, jsonOut []byte, err error) {
	w := newSpecWriter()
	defer w.release()
	if root, size, ok := objectTree(w, obj); ok {
		return canonicalTree(root, size, withYAML)
	}
	return marshalJSON(obj, withYAML)
}

// marshalJSON is marshal through encoding/json, for every object.
func marshalJSON(obj any, withYAML bool) (yamlOut, jsonOut []byte, err error) {
	raw, err := json.Marshal(obj)
	if err != nil {
		return nil, nil, err
	}
	yamlOut, jsonOut, err = canonicalAs(raw, withYAML)
	if err != nil {
		return nil, nil, fmt.Errorf("manifest: %T: %w", obj, err)
	}
	return yamlOut, jsonOut, nil
}

// parallel runs f(0..n-1) on GOMAXPROCS goroutines.
func parallel(n int, f func(int)) { parallelN(n, runtime.GOMAXPROCS(0), f) }

// parallelN runs f(0..n-1) on up to workers goroutines.
func parallelN(n, workers int, f func(int)) {
	workers = min(workers, n/64+1)
	if workers <= 1 {
		for i := range n {
			f(i)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				// Chunks of 16: few atomic operations, even shares.
				start := int(next.Add(16)) - 16
				if start >= n {
					return
				}
				for i := start; i < min(start+16, n); i++ {
					f(i)
				}
			}
		})
	}
	wg.Wait()
}
