package verify

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"
)

// decodeTargets are the structs verify decodes manifests into.
var decodeTargets = []func() any{
	func() any { return &header{} },
	func() any { return &sgFile{} },
	func() any { return &networkPolicySpec{} },
	func() any { return &authorizationPolicySpec{} },
	func() any { return &peerAuthenticationSpec{} },
	func() any { return &destinationRuleSpec{} },
	func() any { return &virtualServiceSpec{} },
	func() any { return &serviceEntrySpec{} },
	func() any { return &serviceSpec{} },
}

// sameDecode fails t unless decode fills every target from n as yaml.v3
// does, with the same error; it counts the decodes that took the fast
// path in fast.
func sameDecode(t *testing.T, name string, n *yaml.Node, fast *int) {
	t.Helper()
	for _, target := range decodeTargets {
		want, got := target(), target()
		wantErr := n.Decode(want)
		gotErr := decode(n, got)
		if fmt.Sprint(wantErr) != fmt.Sprint(gotErr) {
			t.Fatalf("%s into %T: error %v, yaml.v3 %v", name, got, gotErr, wantErr)
		}
		if diff := cmp.Diff(want, got, cmp.Exporter(func(reflect.Type) bool { return true })); diff != "" {
			t.Fatalf("%s into %T (-yaml.v3 +decode):\n%s", name, got, diff)
		}
		if decodeValue(n, reflect.ValueOf(target()).Elem()) {
			*fast++
		}
	}
}

// TestDecodeAsYAML holds decode to yaml.v3's Decode: every document of
// every golden output, and of odd manifests written for it, and their
// specs, decoded into every struct verify reads manifests into (the wrong
// ones too), give the same values and the same errors.
func TestDecodeAsYAML(t *testing.T) {
	t.Parallel()
	var files []string
	_ = filepath.Walk(filepath.Join("..", "testdata", "compile"), func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() && (strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".json")) && strings.Contains(p, string(filepath.Separator)+"out"+string(filepath.Separator)) {
			files = append(files, p)
		}
		return nil
	})
	var docs []string
	for _, f := range files {
		data, _ := os.ReadFile(f)
		docs = append(docs, string(data))
	}
	docs = append(docs, oddManifests...)
	fast, nodes := 0, 0
	for i, data := range docs {
		for j, doc := range yamlDocs(t, []byte(data)) {
			name := fmt.Sprintf("document %d of %d", j, i)
			if i < len(files) {
				name = fmt.Sprintf("%s, document %d", files[i], j)
			}
			nodes++
			sameDecode(t, name, doc, &fast)
			if spec := mapGet(doc, "spec"); spec != nil {
				sameDecode(t, name+", spec", spec, &fast)
			}
		}
	}
	if nodes < 1000 || fast < nodes {
		t.Errorf("%d decodes of %d documents took the fast path: too few", fast, nodes)
	}
}

// oddManifests are what intentc never writes, for decode to decline or
// follow: nulls, numbers in every notation, duplicate and merge keys,
// anchors, tags, scalars where mappings go.
var oddManifests = []string{
	"spec:\n  podSelector: ~\n  policyTypes: [Ingress, ~]\n",
	"spec:\n  podSelector:\n    matchLabels: {a: ~, b: 1, c: true, d: 1.5}\n",
	"spec:\n  ingress:\n  - ports:\n    - port: 0x50\n      protocol: TCP\n    - port: 080\n    - port: \"80\"\n    - port: http\n    - port: [1]\n",
	"spec:\n  action: ALLOW\n  rules:\n  - from: ~\n    to:\n    - operation: {ports: ['80', 8080], methods: [GET, ~]}\n",
	"spec:\n  rules:\n  - when:\n    - key: a\n      values: [1, 2.5, true, null]\n",
	"spec:\n  mtls: {mode: STRICT}\n  portLevelMtls:\n    8080: {mode: PERMISSIVE}\n    '9090': {mode: DISABLE}\n    x: ~\n",
	"spec:\n  host: h\n  trafficPolicy:\n    outlierDetection:\n      value: x\n      kind: 3\n  subsets:\n  - name: a\n    labels: {v: '1'}\n    trafficPolicy: {outlierDetection: ~}\n",
	"spec:\n  hosts: [a, 1, true]\n  http:\n  - route:\n    - destination: {host: h, subset: s, port: {number: 99999999999}}\n      weight: -3\n",
	"spec:\n  ports:\n  - port: 2147483648\n  - port: -2147483648\n  - port: 1e3\n  - port: True\n",
	"spec:\n  a: 1\n  a: 2\n",
	"spec:\n  podSelector: &x {matchLabels: {a: b}}\n  ingress:\n  - from:\n    - podSelector: *x\n",
	"spec:\n  <<: {podSelector: {}}\n",
	"spec:\n  podSelector: !!map {}\n  policyTypes: !!seq []\n",
	"spec:\n  policyTypes: [!!str 1, !!binary aGk=]\n",
	"spec: 3\n",
	"spec: [a]\n",
	"spec:\n  ingress: {a: b}\n  egress: x\n",
	"apiVersion: v1\nkind: [x]\nmetadata:\n  name: 1\n  labels: {a: 2, b: yes, c: ~}\n  annotations: []\n",
	"security_groups:\n- name: g\n  rules:\n  - protocol: 6\n    port_range_min: '22'\n    remote_ip_prefix: ~\n",
	"spec:\n  host: h\n  trafficPolicy:\n    loadBalancer:\n      localityLbSetting: {enabled: True}\n",
	"spec:\n  host: h\n  trafficPolicy:\n    loadBalancer:\n      localityLbSetting: {distribute: [{from: a, to: {b: 80, c: '20', d: 0x10}}]}\n",
	"spec:\n  host: h\n  trafficPolicy:\n    loadBalancer:\n      localityLbSetting: {enabled: false, failover: [{from: a, to: 1}]}\n",
	"spec:\n  selector: {app: x}\n  ports:\n  - {name: a, port: 80, targetPort: web}\n  - {port: 81, targetPort: 8081, protocol: UDP}\n",
}

// FuzzDecode holds decode to yaml.v3's Decode on any YAML: the same values
// and errors in every struct verify reads manifests into.
func FuzzDecode(f *testing.F) {
	for _, s := range oddManifests {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fast := 0
		for _, doc := range yamlDocs(t, data) {
			sameDecode(t, fmt.Sprintf("%q", data), doc, &fast)
			if spec := mapGet(doc, "spec"); spec != nil {
				sameDecode(t, fmt.Sprintf("%q, spec", data), spec, &fast)
			}
		}
	})
}

// yamlDocs are the root mappings of data's documents, as yaml.v3 reads them.
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
