package manifest

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/intentc/intentc/compiler/diag"
	"github.com/intentc/intentc/compiler/ir"
	_ "github.com/intentc/intentc/internal/testflags" // accept -update like every test binary
)

const digest = "sha256:0123456789abcdef"

func src(kind, ns, name string, line int) ir.Source {
	return ir.Source{Kind: kind, Namespace: ns, Name: name, Pos: diag.Pos{File: "intent.yaml", Line: line, Col: 1}}
}

func namespaceObj(name string) *corev1.Namespace {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"istio-injection": "enabled"}}}
	ns.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Namespace"))
	return ns
}

func serviceObj(ns, name string) *corev1.Service {
	s := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}}
	s.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Service"))
	s.Spec.Ports = []corev1.ServicePort{{Name: "http", Port: 8080}}
	return s
}

func configMapObj(ns, name string) *corev1.ConfigMap {
	c := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Data: map[string]string{"b": "2", "a": "1"}}
	c.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("ConfigMap"))
	return c
}

// sampleObjects is a small output: two clusters, a namespace, services, a
// patch. Fresh objects on every call, because Render labels them.
func sampleObjects() []ir.Object {
	inv := src("MeshService", "prod", "inventory", 10)
	fe := src("MeshService", "web", "frontend", 20)
	ew := src("MeshCluster", "", "east", 1)
	return []ir.Object{
		{Cluster: "west", Body: serviceObj("prod", "inventory"), Sources: []ir.Source{inv}},
		{Cluster: "east", Body: serviceObj("prod", "inventory"), Sources: []ir.Source{inv, fe, inv}},
		{Cluster: "east", Body: namespaceObj("prod"), Sources: []ir.Source{inv}},
		{Cluster: "east", Body: serviceObj("istio-system", "istio-eastwestgateway"), Sources: []ir.Source{ew}, Patch: true},
		{Cluster: "east", Body: configMapObj("web", "a-config"), Sources: []ir.Source{fe}},
		{Cluster: "east", Body: serviceObj("istio-system", "another-gateway"), Sources: []ir.Source{ew}, Patch: true},
	}
}

func paths(files []File) []string {
	var out []string
	for _, f := range files {
		out = append(out, f.Path)
	}
	return out
}

func fileData(t *testing.T, files []File, path string) []byte {
	t.Helper()
	for _, f := range files {
		if f.Path == path {
			return f.Data
		}
	}
	t.Fatalf("no file %s in %q", path, paths(files))
	return nil
}

func TestRenderLayout(t *testing.T) {
	files, diags := Render(sampleObjects(), nil, digest)
	if len(diags) != 0 {
		t.Fatal(diags)
	}
	want := []string{
		"clusters/east/istio-system/patch-service-another-gateway.yaml",
		"clusters/east/istio-system/patch-service-istio-eastwestgateway.yaml",
		"clusters/east/kustomization.yaml",
		"clusters/east/prod/namespace-prod.yaml", // a Namespace sits beside the objects it holds
		"clusters/east/prod/service-inventory.yaml",
		"clusters/east/web/configmap-a-config.yaml",
		"clusters/west/kustomization.yaml",
		"clusters/west/prod/service-inventory.yaml",
	}
	if got := paths(files); !slices.Equal(got, want) {
		t.Errorf("paths:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// RenderJSON writes the files Render does, with the same JSON, but keeps
// no YAML for the objects (the kustomizations, which have no JSON, keep
// theirs).
func TestRenderJSON(t *testing.T) {
	want, _ := Render(sampleObjects(), nil, digest)
	got, diags := RenderJSON(sampleObjects(), nil, digest)
	if len(diags) != 0 {
		t.Fatal(diags)
	}
	if !slices.Equal(paths(got), paths(want)) {
		t.Fatalf("paths:\n%s\nwant:\n%s", strings.Join(paths(got), "\n"), strings.Join(paths(want), "\n"))
	}
	objects := 0
	for i, f := range got {
		w := want[i]
		if !bytes.Equal(f.JSON, w.JSON) {
			t.Errorf("%s: JSON\n%s\nwant\n%s", f.Path, f.JSON, w.JSON)
		}
		switch {
		case w.JSON != nil:
			objects++
			if f.Data != nil {
				t.Errorf("%s: has YAML", f.Path)
			}
		case !bytes.Equal(f.Data, w.Data):
			t.Errorf("%s:\n%s\nwant\n%s", f.Path, f.Data, w.Data)
		}
	}
	if objects == 0 {
		t.Fatal("no object has JSON")
	}
}

// kustomization.yaml lists the resources sorted and the patches under
// patches: (with their targets), never among the resources.
func TestRenderKustomization(t *testing.T) {
	files, _ := Render(sampleObjects(), nil, digest)
	want := `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
patches:
- path: istio-system/patch-service-another-gateway.yaml
  target:
    kind: Service
    name: another-gateway
    namespace: istio-system
- path: istio-system/patch-service-istio-eastwestgateway.yaml
  target:
    kind: Service
    name: istio-eastwestgateway
    namespace: istio-system
resources:
- prod/namespace-prod.yaml
- prod/service-inventory.yaml
- web/configmap-a-config.yaml
`
	if got := string(fileData(t, files, "clusters/east/kustomization.yaml")); got != want {
		t.Errorf("kustomization.yaml:\n%s\nwant:\n%s", got, want)
	}
}

// Every generated object carries the managed-by label, its sources (sorted,
// de-duplicated, no positions) and the digest; patches carry nothing extra
// (they are merged into an object someone else owns).
func TestRenderProvenance(t *testing.T) {
	files, _ := Render(sampleObjects(), nil, digest)
	want := `apiVersion: v1
kind: Service
metadata:
  annotations:
    intentc.dev/intent-digest: sha256:0123456789abcdef
    intentc.dev/source: MeshService/prod/inventory,MeshService/web/frontend
  labels:
    app.kubernetes.io/managed-by: intentc
  name: inventory
  namespace: prod
spec:
  ports:
  - name: http
    port: 8080
    targetPort: 0
`
	if got := string(fileData(t, files, "clusters/east/prod/service-inventory.yaml")); got != want {
		t.Errorf("service:\n%s\nwant:\n%s", got, want)
	}
	patch := string(fileData(t, files, "clusters/east/istio-system/patch-service-istio-eastwestgateway.yaml"))
	if strings.Contains(patch, LabelManagedBy) || strings.Contains(patch, AnnotationDigest) {
		t.Errorf("patch carries intentc metadata:\n%s", patch)
	}
	// No status, no null creationTimestamp: the API server owns those.
	for _, f := range files {
		if bytes.Contains(f.Data, []byte("status:")) || bytes.Contains(f.Data, []byte("creationTimestamp")) {
			t.Errorf("%s carries server-owned fields:\n%s", f.Path, f.Data)
		}
	}
}

// Adding intentc's label must not write through a map the backend shares
// with another field: a Service whose selector is its label map would stop
// matching its pods.
func TestRenderDoesNotWriteThroughSharedMaps(t *testing.T) {
	shared := map[string]string{"app": "inventory"}
	s := serviceObj("prod", "inventory")
	s.Labels = shared
	s.Spec.Selector = shared
	files, diags := Render([]ir.Object{{Cluster: "east", Body: s, Sources: []ir.Source{src("MeshService", "prod", "inventory", 1)}}}, nil, digest)
	if len(diags) != 0 {
		t.Fatal(diags)
	}
	var got corev1.Service
	if err := yaml.Unmarshal(fileData(t, files, "clusters/east/prod/service-inventory.yaml"), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Spec.Selector) != 1 || got.Spec.Selector["app"] != "inventory" {
		t.Errorf("selector = %v, want only app=inventory", got.Spec.Selector)
	}
	if got.Labels[LabelManagedBy] != ManagedByValue || got.Labels["app"] != "inventory" {
		t.Errorf("labels = %v", got.Labels)
	}
	if len(shared) != 1 {
		t.Errorf("the backend's map was modified: %v", shared)
	}
}

// Output is a pure function of the objects: the same bytes on every run and
// whatever order the backends emitted them in.
func TestRenderDeterministic(t *testing.T) {
	first, _ := Render(sampleObjects(), nil, digest)
	for i := range 5 {
		objs := sampleObjects()
		// A different order each time: rotate, and reverse on odd runs.
		objs = append(objs[i%len(objs):], objs[:i%len(objs)]...)
		if i%2 == 1 {
			slices.Reverse(objs)
		}
		again, diags := Render(objs, nil, digest)
		if len(diags) != 0 {
			t.Fatal(diags)
		}
		if !slices.EqualFunc(first, again, func(a, b File) bool { return a.Path == b.Path && bytes.Equal(a.Data, b.Data) }) {
			t.Fatalf("run %d differs from the first", i)
		}
	}
	// Map keys are sorted in the YAML, whatever Go's map order.
	cm := string(fileData(t, first, "clusters/east/web/configmap-a-config.yaml"))
	if !strings.Contains(cm, "data:\n  a: \"1\"\n  b: \"2\"\n") {
		t.Errorf("config map keys not sorted:\n%s", cm)
	}
}

func TestRenderCollision(t *testing.T) {
	a := src("MeshService", "prod", "a", 3)
	b := src("MeshService", "prod", "b", 9)
	objs := []ir.Object{
		{Cluster: "east", Body: serviceObj("prod", "x"), Sources: []ir.Source{a}},
		{Cluster: "east", Body: configMapObj("prod", "fine"), Sources: []ir.Source{a}},
		{Cluster: "east", Body: serviceObj("prod", "x"), Sources: []ir.Source{b}},
		{Cluster: "west", Body: serviceObj("prod", "x"), Sources: []ir.Source{b}}, // another cluster: no collision
	}
	files, diags := Render(objs, nil, digest)
	if files != nil {
		t.Errorf("files returned despite a collision: %q", paths(files))
	}
	if len(diags) != 1 {
		t.Fatalf("want one finding, got %v", diags)
	}
	d := diags[0]
	if d.Code != diag.CodeOutputCollision || d.Pos != b.Pos ||
		d.Message != "MeshService/prod/a and MeshService/prod/b would both be written to clusters/east/prod/service-x.yaml" {
		t.Errorf("got %v", d)
	}
	if len(d.Related) != 1 || d.Related[0].Pos != a.Pos {
		t.Errorf("related = %+v, want the first object's source at %v", d.Related, a.Pos)
	}
}

func TestMarshalSortsAndDropsServerFields(t *testing.T) {
	cm := configMapObj("ns", "c")
	got, err := Marshal(cm)
	if err != nil {
		t.Fatal(err)
	}
	want := "apiVersion: v1\ndata:\n  a: \"1\"\n  b: \"2\"\nkind: ConfigMap\nmetadata:\n  name: c\n  namespace: ns\n"
	if string(got) != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
	// A set creationTimestamp is kept: only the null one is noise.
	cm.CreationTimestamp = metav1.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	got, _ = Marshal(cm)
	if !strings.Contains(string(got), "creationTimestamp: \"2020-01-02T03:04:05Z\"") {
		t.Errorf("set creationTimestamp dropped:\n%s", got)
	}
}

// A cluster that only receives patches still gets a kustomization listing
// them; otherwise the patch files would be written and never applied.
func TestRenderPatchOnlyCluster(t *testing.T) {
	ew := src("MeshCluster", "", "east", 1)
	files, diags := Render([]ir.Object{{Cluster: "east", Body: serviceObj("istio-system", "gw"), Sources: []ir.Source{ew}, Patch: true}}, nil, digest)
	if len(diags) != 0 {
		t.Fatal(diags)
	}
	want := `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
patches:
- path: istio-system/patch-service-gw.yaml
  target:
    kind: Service
    name: gw
    namespace: istio-system
resources: []
`
	if got := string(fileData(t, files, "clusters/east/kustomization.yaml")); got != want {
		t.Errorf("kustomization.yaml:\n%s\nwant:\n%s", got, want)
	}
}

func TestRenderArtifacts(t *testing.T) {
	c1 := src("MeshCluster", "", "dc1-a", 4)
	c2 := src("MeshCluster", "", "dc1-b", 8)
	t.Run("written beside the clusters", func(t *testing.T) {
		files, diags := Render(sampleObjects(), []ir.Artifact{
			{Path: "openstack/dc1/prod/security-groups.json", Data: []byte("{}\n"), Sources: []ir.Source{c1}},
		}, digest)
		if len(diags) != 0 {
			t.Fatal(diags)
		}
		if got := string(fileData(t, files, "openstack/dc1/prod/security-groups.json")); got != "{}\n" {
			t.Errorf("artifact data %q", got)
		}
		if !slices.IsSortedFunc(files, func(a, b File) int { return strings.Compare(a.Path, b.Path) }) {
			t.Errorf("files not sorted: %q", paths(files))
		}
	})
	tests := []struct {
		name string
		arts []ir.Artifact
		pos  diag.Pos
		msg  string
	}{
		{
			name: "two artifacts, one path",
			arts: []ir.Artifact{
				{Path: "openstack/dc1/p/a.json", Sources: []ir.Source{c1}},
				{Path: "openstack/dc1/p/a.json", Sources: []ir.Source{c2}},
			},
			pos: c2.Pos,
			msg: "MeshCluster/dc1-a and MeshCluster/dc1-b would both be written to openstack/dc1/p/a.json",
		},
		{
			name: "inside the cluster folders",
			arts: []ir.Artifact{{Path: "clusters/east/x.json", Sources: []ir.Source{c1}}},
			pos:  c1.Pos,
			msg:  "MeshCluster/dc1-a would be written to clusters/east/x.json, inside the cluster folders",
		},
		{
			name: "escaping the output directory",
			arts: []ir.Artifact{{Path: "openstack/../../etc/x.json", Sources: []ir.Source{c1}}},
			pos:  c1.Pos,
			msg:  `MeshCluster/dc1-a would be written to "openstack/../../etc/x.json", which is not a clean path inside the output directory`,
		},
		{
			name: "absolute",
			arts: []ir.Artifact{{Path: "/etc/x.json", Sources: []ir.Source{c1}}},
			pos:  c1.Pos,
			msg:  `which is not a clean path inside the output directory`,
		},
		{
			name: "over the marker file",
			arts: []ir.Artifact{{Path: MarkerFile, Sources: []ir.Source{c1}}},
			pos:  c1.Pos,
			msg:  `which is not a clean path inside the output directory`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			files, diags := Render(sampleObjects(), tc.arts, digest)
			if files != nil {
				t.Errorf("files returned despite an error: %q", paths(files))
			}
			if len(diags) != 1 || diags[0].Code != diag.CodeOutputCollision || diags[0].Pos != tc.pos || !strings.Contains(diags[0].Message, tc.msg) {
				t.Errorf("got %v, want one IC3001 at %v containing %q", diags, tc.pos, tc.msg)
			}
		})
	}
}

// A body emitted in several clusters renders as fresh copies of it would:
// uses labelled alike share their bytes, and a use with other sources (or
// as a patch) gets its own annotation, whatever the order of the uses.
func TestRenderSharedBody(t *testing.T) {
	inv := src("MeshService", "prod", "inventory", 10)
	fe := src("MeshService", "web", "frontend", 20)
	// Enough uses that the groups are rendered on several workers.
	objs := func(shared bool) []ir.Object {
		var out []ir.Object
		body := func(ns, name string) *corev1.Service { return serviceObj(ns, name) }
		for i := range 100 {
			name := "svc-" + strings.Repeat("x", i%3) + string(rune('a'+i%26)) + string(rune('a'+i/26))
			s := body("prod", name)
			use := func() *corev1.Service {
				if shared {
					return s
				}
				return body("prod", name)
			}
			out = append(out,
				ir.Object{Cluster: "a", Body: use(), Sources: []ir.Source{inv}},
				ir.Object{Cluster: "b", Body: use(), Sources: []ir.Source{inv}},
				ir.Object{Cluster: "c", Body: use(), Sources: []ir.Source{inv, fe}},
				ir.Object{Cluster: "d", Body: use(), Sources: []ir.Source{inv}},
				ir.Object{Cluster: "e", Body: use(), Sources: []ir.Source{inv}, Patch: true},
			)
		}
		return out
	}
	want, diags := Render(objs(false), nil, digest)
	if len(diags) != 0 {
		t.Fatal(diags)
	}
	got, diags := Render(objs(true), nil, digest)
	if len(diags) != 0 {
		t.Fatal(diags)
	}
	if len(got) != len(want) {
		t.Fatalf("%d files, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i].Path != want[i].Path || !bytes.Equal(got[i].Data, want[i].Data) || !bytes.Equal(got[i].JSON, want[i].JSON) {
			t.Errorf("%s:\n%s\nwant %s:\n%s", got[i].Path, got[i].Data, want[i].Path, want[i].Data)
		}
	}
	// The comparison above means something only if the uses differ.
	for p, source := range map[string]string{
		"clusters/a/prod/service-svc-aa.yaml": "MeshService/prod/inventory\n",
		"clusters/c/prod/service-svc-aa.yaml": "MeshService/prod/inventory,MeshService/web/frontend\n",
	} {
		i := slices.IndexFunc(got, func(f File) bool { return f.Path == p })
		if i < 0 || !strings.Contains(string(got[i].Data), "intentc.dev/source: "+source) {
			t.Errorf("%s is not annotated with its source %q", p, source)
		}
	}
}
