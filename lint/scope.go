package lint

import (
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/intentc/intentc/compiler"
	"github.com/intentc/intentc/compiler/diag"
	"github.com/intentc/intentc/compiler/intent"
)

// A Scope is one intent root's share of an `intentc lint PATH...` run:
// the whole intent to compile (so that a pre-commit run on a few staged
// files still resolves references across files and judges manifests
// against the real mesh), the manifests to check, and which findings to
// report (those in the files given).
type Scope struct {
	// Project is the nearest .intentc.yaml above the paths, or nil: the
	// paths are then the whole intent.
	Project *intent.Project
	// Intent is what is compiled: the project's intent directories, and
	// the files among the paths outside them that hold intent documents
	// (or mean to: a misspelt apiVersion, an intentc kind without one).
	// Empty when there is nothing to compile.
	Intent []string
	// Manifests are the files checked with the per-object and bundle rules
	// (their intent documents skipped): the files given, and the other
	// files of each given file's bundle — its clusters/<name>/ directory,
	// or its own directory — so that a bundle rule sees the DestinationRule
	// beside a staged VirtualService. Findings in those others are not
	// reported.
	Manifests []string
	// Policies are the project's policy directories.
	Policies []string
	// Parsed holds the files of Intent that finding them parsed, for the
	// compile (compiler.Options.Parsed).
	Parsed *intent.Parsed

	all     bool            // no paths given: every finding is reported
	given   []string        // the paths given, absolute
	context map[string]bool // absolute files read only for a bundle's sake
}

// Scopes resolves the paths of `intentc lint` into one Scope per intent
// root. With no paths, the project found from the working directory is
// linted whole (nil, without error, when there is none). A path that
// cannot be read is IC1012; a malformed project file IC1013.
func Scopes(paths []string) ([]*Scope, diag.List) {
	var diags diag.List
	if len(paths) == 0 {
		proj, ds := intent.FindProject(".")
		diags.Append(ds)
		if proj == nil || ds.HasErrors() {
			return nil, diags
		}
		s := newScope(proj)
		s.all = true
		s.Manifests = proj.IntentPaths()
		return []*Scope{s}, diags
	}

	var scopes []*Scope
	byRoot := map[string]*Scope{}
	inputs := map[*Scope][]string{}
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			diags.Add(diag.CodeReadFile, diag.Pos{File: p}, "cannot read: %v", unwrap(err))
			continue
		}
		dir := p
		if !st.IsDir() {
			dir = filepath.Dir(p)
		}
		proj, ds := intent.FindProject(dir)
		diags.Append(ds)
		if ds.HasErrors() {
			continue
		}
		key := ""
		if proj != nil {
			key = absPath(proj.Dir)
		}
		s := byRoot[key]
		if s == nil {
			s = newScope(proj)
			byRoot[key] = s
			scopes = append(scopes, s)
		}
		s.given = append(s.given, absPath(p))
		inputs[s] = append(inputs[s], p)
	}
	for _, s := range scopes {
		diags.Append(s.resolve(inputs[s]))
	}
	return scopes, diags.Sorted()
}

func newScope(proj *intent.Project) *Scope {
	s := &Scope{Project: proj, context: map[string]bool{}, Parsed: &intent.Parsed{}}
	if proj != nil {
		s.Intent = proj.IntentPaths()
		for _, d := range proj.Policies {
			s.Policies = append(s.Policies, filepath.Join(proj.Dir, d))
		}
	}
	return s
}

// resolve expands the given paths into the files to compile and check.
func (s *Scope) resolve(paths []string) diag.List {
	var intentDirs []string
	if s.Project != nil {
		for _, d := range s.Project.IntentPaths() {
			intentDirs = append(intentDirs, absPath(d))
		}
	}
	files, diags := manifestFiles(paths)
	seen := map[string]bool{}
	add := func(f string) bool {
		a := absPath(f)
		if seen[a] {
			return false
		}
		seen[a] = true
		s.Manifests = append(s.Manifests, f)
		return true
	}
	generated := map[string]bool{} // directory → lies in an output tree
	var candidates []string
	for _, f := range files {
		add(f)
		// The project's intent directories are compiled whole anyway:
		// loading one of their files twice (by another spelling of its
		// path) would define every object in it twice. An output tree is
		// never intent (the loader never reads one), so its files are not
		// parsed for it.
		if a := absPath(f); !under(a, intentDirs) && !inOutputTree(filepath.Dir(a), generated) {
			candidates = append(candidates, f)
		}
	}
	// Parsing every candidate is most of this for a large tree: on every
	// core, kept in the files' order.
	holds := make([]bool, len(candidates))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(candidates)) {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < len(candidates); i = int(next.Add(1)) - 1 {
				holds[i] = holdsIntent(candidates[i], s.Parsed)
			}
		})
	}
	wg.Wait()
	for i, f := range candidates {
		if holds[i] {
			s.Intent = append(s.Intent, f)
		}
	}
	for _, p := range paths {
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			for _, c := range bundleContext(p) {
				if add(c) {
					s.context[absPath(c)] = true
				}
			}
		}
	}
	return diags
}

// holdsIntent reports whether a file outside the project's intent
// directories is intent: it holds an intent document, or a document that
// means to be one (a misspelt intentc apiVersion, an unknown kind under
// intentc's apiVersion, an intentc kind without apiVersion) — which the
// compile then reports as an error, never as "some other manifest". Any
// other YAML (a CI workflow, a Helm values file, a Kubernetes manifest)
// is not: the compile would call a document without apiVersion an error.
func holdsIntent(f string, parsed *intent.Parsed) bool {
	data, err := readLimited(f)
	if err != nil {
		return false // reported when the file is checked as a manifest
	}
	// Named as the compile's loader names a file given by path, so that
	// what is kept is what it would parse.
	name := filepath.Clean(f)
	docs, others, ds := intent.ParseFile(name, data)
	if len(docs) > 0 || isIntentDiag(ds) {
		parsed.Keep(name, data, docs, others, ds)
		return true
	}
	return false
}

// isIntentDiag reports whether a file's parse diagnostics show a document
// that means to be intent.
func isIntentDiag(ds diag.List) bool {
	return slices.ContainsFunc(ds, func(d diag.Diagnostic) bool {
		switch d.Code {
		case diag.CodeBadAPIVersion, diag.CodeUnknownKind:
			return true
		case diag.CodeMissingField:
			// Only an intentc kind's missing apiVersion names the one it
			// wants.
			return strings.Contains(d.Message, intent.APIVersion)
		}
		return false
	})
}

// inOutputTree reports whether the absolute directory dir is, or lies
// in, a directory holding intentc's output marker.
func inOutputTree(dir string, cache map[string]bool) bool {
	if v, ok := cache[dir]; ok {
		return v
	}
	_, err := os.Stat(filepath.Join(dir, intent.GeneratedMarker))
	v := err == nil
	if !v {
		if parent := filepath.Dir(dir); parent != dir {
			v = inOutputTree(parent, cache)
		}
	}
	cache[dir] = v
	return v
}

// bundleContext returns the other manifest files a bundle rule needs to
// judge file: the whole clusters/<name>/ directory it lies in (a bundle
// is one cluster's objects), or else the YAML and JSON files beside it.
func bundleContext(file string) []string {
	// The first clusters/ segment, as clusterOf reads a file's cluster.
	parts := strings.Split(filepath.ToSlash(filepath.Clean(file)), "/")
	for i := 0; i+2 < len(parts); i++ {
		if parts[i] == "clusters" {
			files, _ := manifestFiles([]string{filepath.FromSlash(strings.Join(parts[:i+2], "/"))})
			return files
		}
	}
	dir := filepath.Dir(file)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		name := e.Name()
		if e.Type()&fs.ModeType != 0 || strings.HasPrefix(name, ".") {
			continue
		}
		switch filepath.Ext(name) {
		case ".yaml", ".yml", ".json":
			out = append(out, filepath.Join(dir, name))
		}
	}
	return out
}

// ManifestsFor returns the Manifests that still need checking once the
// intent is compiled: a file the compile read whose documents are all
// intent documents has nothing for the manifest rules (and its syntax
// errors are the compile's), so a run on intent files alone need not
// wait for the policies when the intent does not compile.
func (s *Scope) ManifestsFor(res *compiler.Result) []string {
	if res == nil || res.Set == nil {
		return s.Manifests
	}
	intentOnly := map[string]bool{}
	for _, f := range res.Set.Files {
		intentOnly[absPath(f)] = true
	}
	for _, o := range res.Set.Others {
		intentOnly[absPath(o.File)] = false
	}
	var out []string
	for _, m := range s.Manifests {
		if st, err := os.Stat(m); err == nil && st.IsDir() {
			out = append(out, m) // walked by the check: not known here
			continue
		}
		if !intentOnly[absPath(m)] {
			out = append(out, m)
		}
	}
	return out
}

// All reports whether every finding is reported (no paths were given).
func (s *Scope) All() bool { return s.all }

// CoversIntent reports whether the findings at the compiled intent can be
// reported at all: no paths were given, or one of them holds an intent
// file. Otherwise the generated objects need not be checked (every such
// finding is reported at an intent file, which was not given).
func (s *Scope) CoversIntent(res *compiler.Result) bool {
	if s.all {
		return true
	}
	if res == nil || res.Set == nil {
		return false
	}
	return slices.ContainsFunc(res.Set.Files, func(f string) bool { return s.covers(f) })
}

// Report merges the findings of the compile (res, compiled) and of the
// manifest checks into what `intentc lint` prints: only those in the
// files given (or naming one among their related positions, or about no
// input file at all — a policy, a data file, the project file), without
// compile's "not an intent document" notes (lint checks those documents),
// and with a file's syntax or read error reported once.
func (s *Scope) Report(res *compiler.Result, compiled, manifests diag.List) diag.List {
	broken := map[string]bool{}
	var out diag.List
	for _, d := range compiled {
		switch d.Code {
		case diag.CodeNotIntent, diag.CodeNoIntent:
			continue
		case diag.CodeYAMLSyntax, diag.CodeReadFile, diag.CodeFileTooLarge, diag.CodeNotText:
			broken[absPath(d.Pos.File)] = true
		}
		out = append(out, d)
	}
	for _, d := range manifests {
		switch d.Code {
		case diag.CodeYAMLSyntax, diag.CodeReadFile:
			if broken[absPath(d.Pos.File)] {
				continue
			}
		}
		out = append(out, d)
	}
	if s.all {
		return out.Sorted()
	}
	inputs := map[string]bool{}
	if res != nil && res.Set != nil {
		for _, f := range res.Set.Files {
			inputs[absPath(f)] = true
		}
	}
	kept := out[:0]
	for _, d := range out {
		if s.keep(d, inputs) {
			kept = append(kept, d)
		}
	}
	return kept.Sorted()
}

func (s *Scope) keep(d diag.Diagnostic, intentFiles map[string]bool) bool {
	if d.Pos.File == "" || s.covers(d.Pos.File) {
		return true
	}
	if slices.ContainsFunc(d.Related, func(r diag.Related) bool { return r.Pos.File != "" && s.covers(r.Pos.File) }) {
		return true
	}
	a := absPath(d.Pos.File)
	return !intentFiles[a] && !s.context[a]
}

// covers reports whether file is, or lies under, a path given.
func (s *Scope) covers(file string) bool {
	return under(absPath(file), s.given)
}

// under reports whether the absolute path p is one of dirs or lies below
// one.
func under(p string, dirs []string) bool {
	for _, d := range dirs {
		if p == d || strings.HasPrefix(p, d+string(filepath.Separator)) || d == string(filepath.Separator) {
			return true
		}
	}
	return false
}

func absPath(p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		return filepath.Clean(p)
	}
	return a
}
