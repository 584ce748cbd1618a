package compiler

import (
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
	set, ds := intent.Load(opts.Paths)
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
	objs := append(istio.Emit(model), kube.Emit(model)...)
	sec, ds := istio.EmitSecurity(model)
	diags.Append(ds)
	objs = append(objs, sec...)
	netpols, ds := kube.EmitNetworkPolicies(model)
	diags.Append(ds)
	objs = append(objs, netpols...)
	objs = append(objs, kube.Namespaces(model, objs)...)
	arts, ds := openstack.Emit(model)
	diags.Append(ds)
	if diags.HasErrors() {
		return res, diags.Sorted()
	}
	files, ds := manifest.Render(objs, arts, model.Digest)
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
