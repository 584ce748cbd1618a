package lint

import (
	"context"
	"path"
	"slices"
	"strings"

	"github.com/intentc/intentc/compiler"
	"github.com/intentc/intentc/compiler/diag"
	"github.com/intentc/intentc/compiler/intent"
	"github.com/intentc/intentc/compiler/ir"
	"github.com/intentc/intentc/compiler/manifest"
)

// Compile compiles the intent and checks every generated object. Like
// compiler.Compile, it returns no files when any finding is an error.
func Compile(ctx context.Context, opts compiler.Options, e *Engine) (*compiler.Result, diag.List) {
	res, diags := compiler.Compile(opts)
	if diags.HasErrors() || e == nil {
		return res, diags
	}
	diags = append(diags, e.CheckCompiled(ctx, res)...)
	if diags.HasErrors() {
		res.Files = nil
	}
	return res, diags.Sorted()
}

// CheckCompiled runs every rule over a compile's output: each YAML object
// under clusters/ (not the kustomizations), each OpenStack JSON document
// and Heat template, each cluster's objects as a bundle, and everything at
// once for user bundle rules. Findings are reported at the intent that
// produced the object, at the rule's generated-output severity.
func (e *Engine) CheckCompiled(ctx context.Context, res *compiler.Result) diag.List {
	if res == nil {
		return nil
	}
	t := &target{compiled: true, docs: docsByRef(res.Set), clusterRefs: openstackClusters(res.Model)}
	var files []source
	for _, f := range res.Files {
		if checkedOutput(f.Path) {
			files = append(files, source{path: f.Path, cluster: clusterOf(f.Path), data: f.Data, generated: true})
		}
	}
	var mesh any
	if res.Model != nil {
		mesh = MeshData(res.Model)
	}
	return e.run(ctx, t, files, mesh, true)
}

// checkedOutput reports whether a generated file is an object the rules
// judge.
func checkedOutput(p string) bool {
	switch {
	case strings.HasPrefix(p, "clusters/"):
		return strings.HasSuffix(p, ".yaml") && path.Base(p) != manifest.KustomizationFileName
	case strings.HasPrefix(p, "openstack/"):
		return strings.HasSuffix(p, ".json") || strings.HasSuffix(p, ".yaml")
	}
	return false
}

// clusterOf returns <cluster> of a path containing clusters/<cluster>/.
func clusterOf(p string) string {
	parts := strings.Split(p, "/")
	for i := 0; i+2 < len(parts); i++ {
		if parts[i] == "clusters" {
			return parts[i+1]
		}
	}
	return ""
}

func docsByRef(set *intent.Set) map[string]*intent.Document {
	m := map[string]*intent.Document{}
	if set == nil {
		return m
	}
	for _, d := range set.Docs {
		if _, dup := m[d.Ref()]; !dup { // a duplicate is IC2001; the first is the one
			m[d.Ref()] = d
		}
	}
	return m
}

func openstackClusters(m *ir.Model) map[string][]string {
	out := map[string][]string{}
	if m == nil {
		return out
	}
	for _, c := range m.Clusters {
		if c.OpenStack != nil {
			key := path.Join("openstack", c.OpenStack.Cloud, c.OpenStack.Project) + "/"
			out[key] = append(out[key], c.Src.Ref())
		}
	}
	return out
}

// MeshData is what the rules read as data.intentc.mesh for a compiled
// intent (docs/policies.md lists the fields). It is a plain JSON value, so
// it can be written to a file and given to intentc lint --data.
func MeshData(m *ir.Model) map[string]any {
	never := []string{"kube-system", "kube-public", "kube-node-lease", "openshift", "openshift-*", m.Mesh.RootNamespace, m.Mesh.IntentcNamespace}
	never = append(never, m.Mesh.GatewayNamespaces...)
	slices.Sort(never)
	never = slices.Compact(never)
	if len(never) > 0 && never[0] == "" {
		never = never[1:]
	}

	managed := map[string]any{}
	for _, c := range m.Clusters {
		nss := map[string]any{}
		for _, s := range m.Services {
			if s.PlacedIn(c) {
				refs, _ := nss[s.Namespace].([]any)
				nss[s.Namespace] = append(refs, s.Src.Ref())
			}
		}
		if len(nss) > 0 {
			managed[c.Name] = nss
		}
	}

	// Keyed by namespace: a rule looks up its object's namespace instead of
	// scanning every service of the mesh.
	tcp, permissive := map[string]any{}, map[string]any{}
	for _, s := range m.Services {
		var nonL7, plain []any
		for _, p := range s.Ports {
			if !p.IsL7() {
				nonL7 = append(nonL7, int(p.TargetPort))
			}
			if p.Permissive {
				plain = append(plain, int(p.TargetPort))
			}
		}
		add := func(to map[string]any, ports []any) {
			if len(ports) == 0 {
				return
			}
			sel := map[string]any{}
			for k, v := range s.Selector {
				sel[k] = v
			}
			list, _ := to[s.Namespace].([]any)
			to[s.Namespace] = append(list, map[string]any{"service": s.Name, "selector": sel, "ports": ports})
		}
		add(tcp, nonL7)
		add(permissive, plain)
	}

	data := map[string]any{
		"mtls":              m.Mesh.MTLS,
		"defaultDeny":       m.Mesh.DefaultDeny,
		"trustDomain":       m.Mesh.TrustDomain,
		"rootNamespace":     m.Mesh.RootNamespace,
		"neverManaged":      toAny(never),
		"managedNamespaces": managed,
		"tcpPorts":          tcp,
		"permissivePorts":   permissive,
	}
	if m.Mesh.Src.Kind != "" {
		data["source"] = m.Mesh.Src.Ref()
	}
	return data
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}
