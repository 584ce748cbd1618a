package compiler

import (
	"slices"
	"sync"

	"github.com/intentc/intentc/compiler/diag"
	"github.com/intentc/intentc/compiler/intent"
	"github.com/intentc/intentc/compiler/ir"
	"github.com/intentc/intentc/compiler/istio"
	"github.com/intentc/intentc/compiler/kube"
	"github.com/intentc/intentc/compiler/manifest"
	"github.com/intentc/intentc/compiler/openstack"
	"github.com/intentc/intentc/compiler/resolve"
)

// File is one output file; Path is slash-separated and relative to the
// output root.
type File = manifest.File

// Options select what to compile.
type Options struct {
	// Paths are intent files and directories.
	Paths []string
	// Parsed, when not nil, holds files the caller already parsed
	// (intent.LoadParsed).
	Parsed *intent.Parsed
	// JSONOnly renders the objects as JSON alone (manifest.RenderJSON),
	// for a caller that checks the output and writes none.
	JSONOnly bool
}

// Result is a compilation's output. Files is empty when Diags has errors.
type Result struct {
	Files []File
	Set   *intent.Set
	Model *ir.Model
}

// Compile loads, checks and compiles the intent. It never writes to disk.
func Compile(opts Options) (*Result, diag.List) {
	var diags diag.List
	res := &Result{}
	set, ds := intent.LoadParsed(opts.Paths, opts.Parsed)
	diags.Append(ds)
	res.Set = set
	if len(set.Docs) == 0 && !ds.HasErrors() {
		diags.Add(diag.CodeNoIntent, diag.Pos{File: first(opts.Paths)}, "no intent documents (apiVersion %s) found", intent.APIVersion)
	}
	model, ds := resolve.Resolve(set)
	diags.Append(ds)
	res.Model = model
	if diags.HasErrors() {
		return res, diags.Sorted()
	}
	// The backends read the finished model and nothing else, so they run
	// side by side; their outputs are joined in a fixed order.
	var (
		routing, core, sec, netpols []ir.Object
		arts                        []ir.Artifact
		secDiags, npDiags, osDiags  diag.List
		wg                          sync.WaitGroup
	)
	wg.Go(func() { routing = istio.Emit(model) })
	wg.Go(func() { core = kube.Emit(model) })
	wg.Go(func() { sec, secDiags = istio.EmitSecurity(model) })
	wg.Go(func() { netpols, npDiags = kube.EmitNetworkPolicies(model) })
	wg.Go(func() { arts, osDiags = openstack.Emit(model) })
	wg.Wait()
	objs := slices.Concat(routing, core, sec, netpols)
	objs = append(objs, kube.Namespaces(model, objs)...)
	diags.Append(secDiags, npDiags, osDiags)
	if diags.HasErrors() {
		return res, diags.Sorted()
	}
	render := manifest.Render
	if opts.JSONOnly {
		render = manifest.RenderJSON
	}
	files, ds := render(objs, arts, model.Digest)
	diags.Append(ds)
	if !diags.HasErrors() {
		res.Files = files
	}
	return res, diags.Sorted()
}

func first(paths []string) string {
	if len(paths) == 0 {
		return "."
	}
	return paths[0]
}
