package verify

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/intentc/intentc/compiler/intent"
	"github.com/intentc/intentc/compiler/ir"
	"github.com/intentc/intentc/compiler/manifest"
	"github.com/intentc/intentc/compiler/resolve"
)

// peerCase is the PeerCase document of a testdata/peers file.
type peerCase struct {
	Kind   string `yaml:"kind"`
	Source string `yaml:"source"`
	Cases  []struct {
		From struct {
			Namespace      string            `yaml:"namespace"`
			ServiceAccount string            `yaml:"serviceAccount"`
			Service        string            `yaml:"service"`
			Labels         map[string]string `yaml:"labels"`
			Cluster        string            `yaml:"cluster"`
			Address        string            `yaml:"address"`
			Network        string            `yaml:"network"`
			MTLS           bool              `yaml:"mtls"`
		} `yaml:"from"`
		To      string          `yaml:"to"`
		Request Request         `yaml:"request"`
		Expect  map[int]Verdict `yaml:"expect"`
	} `yaml:"cases"`
}

// loadPeerFile reads one peer file: its inventory (resolved), its
// manifests and its cases.
func loadPeerFile(t *testing.T, path string) (*ir.Model, []manifest.File, *peerCase) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	docs, _, ds := intent.ParseFile(path, data)
	if ds.HasErrors() {
		t.Fatalf("inventory: %s", ds.Error())
	}
	model, ds := resolve.Resolve(&intent.Set{Docs: docs, Files: []string{path}})
	if ds.HasErrors() || model == nil {
		t.Fatalf("inventory does not resolve: %s", ds.Error())
	}
	var pc *peerCase
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var c peerCase
		err := dec.Decode(&c)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if c.Kind == "PeerCase" {
			pc = &c
		}
	}
	if pc == nil || pc.Source == "" || len(pc.Cases) == 0 {
		t.Fatalf("%s has no PeerCase document with a source and cases", path)
	}
	return model, []manifest.File{{Path: filepath.ToSlash(path), Data: data}}, pc
}

// TestPeerCases judges the scenarios of the Kubernetes network-policy
// recipes and Istio's authorization and authentication documentation and
// checks the documented verdicts.
func TestPeerCases(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "peers", "*.yaml"))
	if len(files) < 20 {
		t.Fatalf("only %d peer files", len(files))
	}
	n := 0
	for _, path := range files {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".yaml"), func(t *testing.T) {
			model, mfiles, pc := loadPeerFile(t, path)
			a, _ := New(model, mfiles, Options{})
			for i, c := range pc.Cases {
				name := fmt.Sprintf("case %d (%s → %s)", i, fromText(c.From.Namespace, c.From.Address), c.To)
				src := peerSource(t, model, c.From.Namespace, c.From.ServiceAccount, c.From.Service, c.From.Labels, c.From.Cluster, c.From.Address, c.From.Network, c.From.MTLS)
				targets, err := ParseTarget(model, c.To)
				if err != nil || len(targets) != 1 {
					t.Fatalf("%s: target: %v", name, err)
				}
				req := c.Request
				x := a.Explain("", []*Source{src}, targets, req, false)
				for layer, want := range c.Expect {
					got := x.Paths[0].Layers[layer-1].Verdict
					if got != want {
						var b bytes.Buffer
						_ = x.WriteText(&b)
						t.Errorf("%s: layer %d is %s, documented %s (%s)\n%s", name, layer, got, want, pc.Source, b.String())
					}
					n++
				}
			}
		})
	}
	t.Logf("%d documented verdicts checked", n)
}

func fromText(ns, addr string) string {
	if addr != "" {
		return addr
	}
	return ns
}

func peerSource(t *testing.T, m *ir.Model, ns, sa, svc string, labels map[string]string, cluster, addr, network string, mtls bool) *Source {
	t.Helper()
	c := m.Clusters[0]
	if cluster != "" {
		c = m.Cluster(cluster)
	}
	if addr != "" {
		p, err := parsePrefix(addr)
		if err != nil {
			t.Fatal(err)
		}
		return &Source{Kind: SourceAddress, Addr: p, Network: network, Plaintext: !mtls}
	}
	if svc != "" {
		for _, s := range m.Services {
			if s.Namespace == ns && s.Name == svc {
				return &Source{Kind: SourceWorkload, Cluster: c, Namespace: ns, ServiceAccount: s.ServiceAccount, Labels: s.Selector, Service: s}
			}
		}
		t.Fatalf("no service %s/%s", ns, svc)
	}
	if sa == "" {
		sa = anySA
	}
	return &Source{Kind: SourceWorkload, Cluster: c, Namespace: ns, ServiceAccount: sa, Labels: labels}
}
