package intent

import (
	"fmt"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/intentc/intentc/compiler/diag"
)

// testFile is the name every in-memory case is parsed under; every finding
// must name it.
const testFile = "in.yaml"

// want is one expected finding: its exact position, its code and a fragment
// of its message (the fragment keeps the tests about the meaning, not the
// wording, while still catching a finding about the wrong field).
type want struct {
	pos  string // "line:col", or "" for the whole file
	code diag.Code
	msg  string
}

func (w want) String() string { return fmt.Sprintf("%s %s %q", w.pos, w.code, w.msg) }

func posString(p diag.Pos) string {
	if p.Line == 0 {
		return ""
	}
	return fmt.Sprintf("%d:%d", p.Line, p.Col)
}

// checkDiags compares findings with wants, in order (ParseFile returns them
// sorted), and checks that every finding names the file it came from.
func checkDiags(t *testing.T, got diag.List, wants []want) {
	t.Helper()
	ok := len(got) == len(wants)
	for i := 0; ok && i < len(got); i++ {
		g, w := got[i], wants[i]
		ok = posString(g.Pos) == w.pos && g.Code == w.code && strings.Contains(g.Message, w.msg)
	}
	if !ok {
		var b strings.Builder
		for _, g := range got {
			fmt.Fprintf(&b, "\n\t%s %s %q", posString(g.Pos), g.Code, g.Message)
		}
		t.Errorf("findings differ\ngot:%s\nwant: %v", b.String(), wants)
	}
	for _, g := range got {
		if g.Pos.File != testFile {
			t.Errorf("finding %v names file %q, want %q", g, g.Pos.File, testFile)
		}
		if g.Severity != g.Code.Severity() {
			t.Errorf("finding %v has severity %v, the table says %v", g, g.Severity, g.Code.Severity())
		}
	}
}

func parse(src string) ([]*Document, []*yaml.Node, diag.List) {
	return ParseFile(testFile, []byte(src))
}

const header = "apiVersion: intentc.dev/v1alpha1\n"

func TestParseDiagnostics(t *testing.T) {
	tests := []struct {
		name   string
		src    string
		want   []want
		docs   int // intent documents returned (with errors or not)
		others int // non-intent documents returned
	}{
		{
			name: "valid service",
			src: header + `kind: MeshService
metadata: {name: inventory, namespace: prod}
spec:
  ports: [{name: http, port: 8080, protocol: http}]
  placement:
    - {cluster: openstack-prod, weight: 70}
    - {cluster: public-prod, weight: 30}
`,
			docs: 1,
		},
		{
			name: "unknown field with did-you-mean",
			src: header + `kind: MeshCluster
metadata: {name: east}
spec:
  platform: kubernetes
  network: net-east
  regin: us-east
`,
			want: []want{{"7:3", diag.CodeUnknownField, `spec: unknown field "regin"; did you mean "region"?`}},
			docs: 1,
		},
		{
			// A transposition is one edit (optimal string alignment), and the
			// real field is still reported missing at the mapping.
			name: "transposed field name",
			src: header + `kind: MeshService
metadata: {name: inventory, namespace: prod}
spec:
  ports: [{name: http, port: 8080}]
  palcement: [{cluster: east}]
`,
			want: []want{
				{"5:3", diag.CodeMissingField, `spec: missing required field "placement"`},
				{"6:3", diag.CodeUnknownField, `unknown field "palcement"; did you mean "placement"?`},
			},
			docs: 1,
		},
		{
			name: "unknown field without a plausible match",
			src: header + `kind: Mesh
metadata: {name: prod, colour: blue}
`,
			want: []want{{"3:24", diag.CodeUnknownField, `metadata: unknown field "colour"`}},
			docs: 1,
		},
		{
			name: "unknown top-level field",
			src: header + `kind: Mesh
metadata: {name: prod}
sepc: {}
`,
			want: []want{{"4:1", diag.CodeUnknownField, `document: unknown field "sepc"; did you mean "spec"?`}},
			docs: 1,
		},
		{
			name: "wrong types",
			src: header + `kind: MeshService
metadata: {name: inventory, namespace: prod}
spec:
  ports: [{name: http, port: "8080"}]
  placement:
    - {cluster: east, weight: seventy}
    - {cluster: [west]}
  selector: [app]
  routes: {match: {}}
`,
			want: []want{
				{"5:30", diag.CodeWrongType, `spec.ports[0].port: expected an integer, got the string "8080"`},
				{"7:31", diag.CodeWrongType, `spec.placement[0].weight: expected an integer, got the string "seventy"`},
				{"8:17", diag.CodeWrongType, `spec.placement[1].cluster: expected a string, got a list`},
				{"9:13", diag.CodeWrongType, `spec.selector: expected a mapping of strings, got a list`},
				{"10:11", diag.CodeWrongType, `spec.routes: expected a list, got a mapping`},
			},
			docs: 1,
		},
		{
			name: "integer overflow and booleans",
			src: header + `kind: Mesh
metadata: {name: prod}
spec:
  defaultDeny: "yes"
  baseline: {telemetry: [{namespace: o, ports: [99999999999]}]}
`,
			want: []want{
				{"5:16", diag.CodeWrongType, `spec.defaultDeny: expected a boolean, got the string "yes"`},
				{"6:49", diag.CodeWrongType, `spec.baseline.telemetry[0].ports[0]: 99999999999 does not fit a 32-bit integer`},
			},
			docs: 1,
		},
		{
			name: "duplicate key",
			src: header + `kind: MeshService
metadata: {name: inventory, namespace: prod}
spec:
  split: weighted
  ports: [{name: http, port: 8080}]
  placement: [{cluster: east}]
  split: locality
`,
			want: []want{{"8:3", diag.CodeDuplicateKey, `spec: key "split" appears twice`}},
			docs: 1,
		},
		{
			name: "missing required fields",
			src: header + `kind: MeshCluster
metadata: {namespace: x}
spec: {region: dc1}
`,
			want: []want{
				{"3:11", diag.CodeMissingField, `metadata: missing required field "name"`},
				{"4:7", diag.CodeMissingField, `spec: missing required field "network"`},
				{"4:7", diag.CodeMissingField, `spec: missing required field "platform"`},
			},
			docs: 1,
		},
		{
			name: "missing spec and namespace",
			src: header + `kind: AccessPolicy
metadata: {name: p}
`,
			want: []want{
				{"1:1", diag.CodeMissingField, `document: missing required field "spec"`},
				{"3:11", diag.CodeMissingField, `missing required field "namespace" (AccessPolicy is namespaced)`},
			},
			docs: 1,
		},
		{
			name: "empty required values",
			src: header + `kind: MeshService
metadata: {name: "", namespace: prod}
spec: {ports: [], placement: [{cluster: east}]}
`,
			want: []want{
				{"3:18", diag.CodeMissingField, `metadata.name must not be empty`},
				{"4:15", diag.CodeMissingField, `spec.ports must not be empty`},
			},
			docs: 1,
		},
		{
			// The value is wrong, so it is reported once: not also as empty.
			name: "invalid enum value reported once",
			src: header + `kind: MeshCluster
metadata: {name: east}
spec: {platform: openstak, network: n, cni: calico}
`,
			want: []want{
				{"4:18", diag.CodeInvalidValue, `spec.platform: "openstak" is not one of openstack, openshift, kubernetes; did you mean "openstack"?`},
				{"4:45", diag.CodeInvalidValue, `spec.cni: "calico" is not one of`},
			},
			docs: 1,
		},
		{
			name: "wrong type on a required field reported once",
			src: header + `kind: MeshCluster
metadata: {name: 42}
spec: {platform: kubernetes, network: [a]}
`,
			want: []want{
				{"3:18", diag.CodeWrongType, `metadata.name: expected a string, got an integer`},
				{"4:39", diag.CodeWrongType, `spec.network: expected a string, got a list`},
			},
			docs: 1,
		},
		{
			name: "unknown kind with suggestion",
			src:  header + "kind: MeshServce\nmetadata: {name: x}\n",
			want: []want{{"2:7", diag.CodeUnknownKind, `unknown kind "MeshServce" for intentc.dev/v1alpha1; did you mean "MeshService"?`}},
		},
		{
			name: "unknown kind without suggestion",
			src:  header + "kind: Deployment\n",
			want: []want{{"2:7", diag.CodeUnknownKind, `unknown kind "Deployment"`}},
		},
		{
			name: "missing kind",
			src:  header + "metadata: {name: x}\n",
			want: []want{{"1:1", diag.CodeMissingField, `missing required field "kind"`}},
		},
		{
			name: "missing apiVersion on an intentc kind",
			src:  "kind: MeshService\nmetadata: {name: x}\n",
			want: []want{{"1:1", diag.CodeMissingField, `missing required field "apiVersion" (want "intentc.dev/v1alpha1")`}},
		},
		{
			name: "misspelt apiVersion: version",
			src:  "apiVersion: intentc.dev/v1alpha\nkind: MeshService\n",
			want: []want{{"1:13", diag.CodeBadAPIVersion, `apiVersion "intentc.dev/v1alpha" looks like intentc's but is not "intentc.dev/v1alpha1"`}},
		},
		{
			name: "misspelt apiVersion: group",
			src:  "kind: MeshCluster\napiVersion: intentc.io/v1alpha1\n",
			want: []want{{"2:13", diag.CodeBadAPIVersion, `apiVersion "intentc.io/v1alpha1"`}},
		},
		{
			name: "misspelt apiVersion: core v1 with an intentc kind",
			src:  "apiVersion: v1\nkind: AccessPolicy\n",
			want: []want{{"1:13", diag.CodeBadAPIVersion, `apiVersion "v1"`}},
		},
		{
			name: "misspelt apiVersion: apps/v1 with an intentc kind",
			src:  "apiVersion: apps/v1\nkind: MeshService\n",
			want: []want{{"1:13", diag.CodeBadAPIVersion, `apiVersion "apps/v1"`}},
		},
		{
			name: "misspelt apiVersion: typo in the group, unknown kind",
			src:  "apiVersion: intnetc.dev/v1alpha1\nkind: Whatever\n",
			want: []want{{"1:13", diag.CodeBadAPIVersion, `apiVersion "intnetc.dev/v1alpha1"`}},
		},
		{
			name: "misspelt apiVersion: capitalised",
			src:  "apiVersion: Intentc.dev/v1alpha1\nkind: Mesh\n",
			want: []want{{"1:13", diag.CodeBadAPIVersion, `apiVersion "Intentc.dev/v1alpha1"`}},
		},
		{
			name:   "non-intent document",
			src:    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n",
			want:   []want{{"1:1", diag.CodeNotIntent, `v1 ConfigMap is not an intent document`}},
			others: 1,
		},
		{
			// A real Kubernetes kind in a real group is never "ours".
			name:   "non-intent document in another group",
			src:    "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n",
			want:   []want{{"1:1", diag.CodeNotIntent, `networking.k8s.io/v1 NetworkPolicy is not an intent document`}},
			others: 1,
		},
		{
			name: "empty file",
			src:  "",
		},
		{
			name: "comments only",
			src:  "# nothing here\n# at all\n",
		},
		{
			name: "empty documents",
			src:  "---\n---\n# c\n---\n--- ~\n...\n",
		},
		{
			name: "scalar document",
			src:  "--- hello\n",
			want: []want{{"1:5", diag.CodeWrongType, `document: expected a mapping with apiVersion and kind, got the string "hello"`}},
		},
		{
			name: "list document",
			src:  "- a\n- b\n",
			want: []want{{"1:1", diag.CodeWrongType, `document: expected a mapping with apiVersion and kind, got a list`}},
		},
		{
			name: "no apiVersion, not our kind",
			src:  "foo: bar\n",
			want: []want{{"1:1", diag.CodeMissingField, `document: missing required field "apiVersion"`}},
		},
		{
			// yaml.v3 gives a line only; it is the line of the flow mapping
			// left open (reported 0-based by yaml.v3 and corrected).
			name: "YAML syntax error: unclosed flow mapping",
			src:  header + "kind: Mesh\nmetadata: {name: x\nspec: {}\n",
			want: []want{{"3:1", diag.CodeYAMLSyntax, `invalid YAML: did not find expected ',' or '}'`}},
		},
		{
			name: "YAML syntax error: bad indentation",
			src:  header + "kind: Mesh\nmetadata:\n    name: x\n  spec: {}\n",
			want: []want{{"5:1", diag.CodeYAMLSyntax, `invalid YAML: did not find expected key`}},
		},
		{
			name: "YAML syntax error: tab",
			src:  header + "kind: Mesh\nmetadata:\n\tname: x\n",
			want: []want{{"4:1", diag.CodeYAMLSyntax, `invalid YAML: found character that cannot start any token`}},
		},
		{
			// The first document is still returned; the stream cannot be
			// resynchronised after the error, which is at its absolute line.
			name: "YAML syntax error in a later document",
			src:  header + "kind: Mesh\nmetadata: {name: x}\n---\na: b: c\n",
			want: []want{{"5:1", diag.CodeYAMLSyntax, `invalid YAML: mapping values are not allowed in this context`}},
			docs: 1,
		},
		{
			name: "merge key",
			src: header + `kind: MeshCluster
metadata: {name: east}
spec:
  <<: {platform: kubernetes}
  network: n
`,
			want: []want{
				{"5:3", diag.CodeUnknownField, `YAML merge keys (<<) are not supported`},
				{"5:3", diag.CodeMissingField, `spec: missing required field "platform"`},
			},
			docs: 1,
		},
		{
			name: "non-string mapping key",
			src:  header + "kind: Mesh\nmetadata: {name: x, ? [a] : b}\n",
			want: []want{{"3:23", diag.CodeWrongType, `metadata: mapping keys must be strings, got a list`}},
			docs: 1,
		},
		{
			// Labels and header values are strings to Kubernetes; the
			// literal text is kept, but a list is still wrong.
			name: "string maps",
			src: header + `kind: Mesh
metadata: {name: x, labels: {a: true, b: 1, c: [x]}}
`,
			want: []want{{"3:48", diag.CodeWrongType, `metadata.labels.c: expected a string, got a list`}},
			docs: 1,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			docs, others, diags := parse(tc.src)
			checkDiags(t, diags, tc.want)
			if len(docs) != tc.docs || len(others) != tc.others {
				t.Errorf("got %d docs and %d others, want %d and %d", len(docs), len(others), tc.docs, tc.others)
			}
		})
	}
}

// The duplicate key finding points back at the first occurrence.
func TestDuplicateKeyRelated(t *testing.T) {
	_, _, diags := parse(header + "kind: Mesh\nmetadata: {name: a, name: b}\n")
	if len(diags) != 1 {
		t.Fatalf("want one finding, got %v", diags)
	}
	d := diags[0]
	if d.Code != diag.CodeDuplicateKey || posString(d.Pos) != "3:21" {
		t.Errorf("got %v, want IC1004 at 3:21", d)
	}
	if len(d.Related) != 1 || d.Related[0].Pos != (diag.Pos{File: testFile, Line: 3, Col: 12}) || d.Related[0].Message != "first set here" {
		t.Errorf("related = %+v, want the first key at in.yaml:3:12", d.Related)
	}
	want := "in.yaml:3:21: error: metadata: key \"name\" appears twice [IC1004]\n\tin.yaml:3:12: first set here"
	if s := d.String(); s != want {
		t.Errorf("String() = %q, want %q", s, want)
	}
}

// A stream mixing intents, other manifests, empty documents and errors:
// every document is classified, positions are absolute in the file, and
// one document's errors do not stop the next from being decoded.
func TestMultiDocument(t *testing.T) {
	src := `# leading comment
apiVersion: intentc.dev/v1alpha1
kind: MeshCluster
metadata: {name: east}
spec: {platform: kubernetes, network: net-east, region: r1}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cfg}
---
---
apiVersion: intentc.dev/v1alpha1
kind: MeshService
metadata: {name: inventory, namespace: prod}
spec:
  ports: [{name: http, port: 8080, protocol: http}]
  placement:
    - {cluster: east, weight: 70}
    - {cluster: west, weight: lots}
---
apiVersion: intentc.dev/v1alpa1
kind: AccessPolicy
`
	docs, others, diags := parse(src)
	checkDiags(t, diags, []want{
		{"7:1", diag.CodeNotIntent, "v1 ConfigMap"},
		{"19:31", diag.CodeWrongType, "spec.placement[1].weight"},
		{"21:13", diag.CodeBadAPIVersion, `"intentc.dev/v1alpa1"`},
	})
	if len(docs) != 2 {
		t.Fatalf("want 2 intent documents, got %d", len(docs))
	}
	if docs[0].Kind != KindMeshCluster || docs[0].Pos != (diag.Pos{File: testFile, Line: 2, Col: 1}) {
		t.Errorf("doc 0: %s at %v", docs[0].Kind, docs[0].Pos)
	}
	if docs[0].Ref() != "MeshCluster/east" || docs[1].Ref() != "MeshService/prod/inventory" {
		t.Errorf("refs: %s, %s", docs[0].Ref(), docs[1].Ref())
	}
	// The service is returned with what could be decoded: the bad weight is
	// left unset (so the resolver sees "not written"), the good one kept.
	svc := docs[1].Object.(*MeshService)
	if len(svc.Spec.Placement) != 2 || *svc.Spec.Placement[0].Weight != 70 || svc.Spec.Placement[1].Weight != nil {
		t.Errorf("placement decoded as %+v", svc.Spec.Placement)
	}
	if len(others) != 1 || others[0].Kind != yaml.MappingNode || others[0].Line != 7 {
		t.Errorf("others: %+v", others)
	}
}

// Positions of decoded paths are what later stages report at.
func TestPositions(t *testing.T) {
	docs, _, diags := parse(header + `kind: MeshService
metadata: {name: inventory, namespace: prod}
spec:
  ports: [{name: http, port: 8080}]
  placement:
    - {cluster: east, weight: 70}
    - cluster: west
      weight: 30
  selector: {app: inventory}
`)
	if len(diags) != 0 || len(docs) != 1 {
		t.Fatalf("unexpected findings %v", diags)
	}
	d := docs[0]
	for _, tc := range []struct{ path, pos string }{
		{"spec.placement[1].weight", "9:15"},
		{"spec.placement[0].cluster", "7:17"},
		{"spec.placement", "7:5"},
		{"spec.selector.app", "10:19"},
		{"spec.placement[1].nothing.below", "8:7"}, // nearest written ancestor
		{"spec.failover", "5:3"},                   // not written: falls back to spec
		{"metadata.namespace", "3:40"},
	} {
		if got := posString(d.PosOf(tc.path)); got != tc.pos {
			t.Errorf("PosOf(%s) = %s, want %s", tc.path, got, tc.pos)
		}
	}
	if got := posString(d.KeyPosOf("spec.placement")); got != "6:3" {
		t.Errorf("KeyPosOf(spec.placement) = %s, want the key at 6:3", got)
	}
	if !d.Has("spec.placement[1].weight") || d.Has("spec.failover") {
		t.Error("Has reports the wrong paths as written")
	}
}

// Tags that do not mean "string" are refused in string fields and named in
// the message; tags that do are accepted.
func TestTags(t *testing.T) {
	docs, _, diags := parse(header + `kind: MeshCluster
metadata: {name: !!binary aGVsbG8=, labels: {a: !!str 1}}
spec: !!map
  platform: !<tag:yaml.org,2002:str> kubernetes
  network: !Ref other
  region: !!timestamp 2001-12-14
  eastWestGateway: {address: gw, port: !!int "15443"}
`)
	checkDiags(t, diags, []want{
		{"3:18", diag.CodeWrongType, "metadata.name: expected a string, got a !!binary value"},
		{"6:12", diag.CodeWrongType, "spec.network: expected a string, got a !Ref value"},
		{"7:11", diag.CodeWrongType, "spec.region: expected a string, got a !!timestamp value"},
	})
	if len(docs) != 1 {
		t.Fatalf("want the document back, got %d", len(docs))
	}
	c := docs[0].Object.(*MeshCluster)
	if c.Spec.Platform != "kubernetes" || c.Spec.EastWestGateway.Port != 15443 || c.Metadata.Labels["a"] != "1" {
		t.Errorf("decoded %+v", c)
	}
}

// Decoded documents marshal back to the JSON the API server would store,
// with defaults left unset rather than invented.
func TestDecodedObjectJSON(t *testing.T) {
	docs, _, diags := parse(header + `kind: MeshService
metadata: {name: inventory, namespace: prod}
spec:
  ports: [{name: http, port: 8080, protocol: http}]
  placement: [{cluster: east}]
`)
	if len(diags) != 0 {
		t.Fatal(diags)
	}
	got, err := jsonOf(docs[0].Object)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"apiVersion":"intentc.dev/v1alpha1","kind":"MeshService","metadata":{"name":"inventory","namespace":"prod"},"spec":{"ports":[{"name":"http","port":8080,"protocol":"http"}],"placement":[{"cluster":"east"}]}}`
	if got != want {
		t.Errorf("JSON:\n got %s\nwant %s", got, want)
	}
}
