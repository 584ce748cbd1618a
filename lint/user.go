package lint

import (
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/loader"

	"github.com/intentc/intentc/compiler/diag"
	"github.com/intentc/intentc/policies"
)

// Rule names conftest runs: deny, violation and warn, optionally followed
// by _name segments (conftest's own expressions).
var (
	failureRE = regexp.MustCompile(`^(deny|violation)(_[a-zA-Z0-9]+)*$`)
	warningRE = regexp.MustCompile(`^warn(_[a-zA-Z0-9]+)*$`)
)

// userNamespace is one package of user policies and the rules of it that
// run in one scope.
type userNamespace struct {
	name  string   // e.g. "main" or "k8s.security"
	rules []string // sorted
}

// ref is the Rego reference to the package, quoting each segment so that
// any package name works.
func (ns userNamespace) ref() string {
	var b strings.Builder
	b.WriteString("data")
	for _, seg := range strings.Split(ns.name, ".") {
		fmt.Fprintf(&b, "[%q]", seg)
	}
	return b.String()
}

// exceptionName is the name an exception[rules] entry uses for a rule:
// without its deny_/violation_/warn_ prefix. conftest's documentation
// says the empty string excepts the unsuffixed rules, and its code matches
// them by their own name; both are accepted.
func exceptionNames(rule string) []string {
	for _, p := range []string{"deny_", "violation_", "warn_"} {
		if strings.HasPrefix(rule, p) {
			return []string{strings.TrimPrefix(rule, p)}
		}
	}
	return []string{"", rule}
}

// loadUserPolicies parses every .rego file under dirs. With version "",
// each file is parsed as Rego v1 and, when that fails, as v0 (most existing
// conftest libraries are v0); when both fail, the errors reported are those
// of the version that read further.
func loadUserPolicies(dirs []string, version string) (map[string]*ast.Module, diag.List) {
	var diags diag.List
	mods := map[string]*ast.Module{}
	for _, dir := range dirs {
		err := filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
			if err != nil {
				diags.Add(diag.CodeInvalidPolicy, diag.Pos{File: path}, "cannot read policy: %v", err)
				return nil
			}
			if e.IsDir() {
				if path != dir && strings.HasPrefix(e.Name(), ".") {
					return filepath.SkipDir
				}
				return nil
			}
			if !strings.HasSuffix(path, ".rego") || strings.HasSuffix(path, "_test.rego") {
				return nil
			}
			src, err := os.ReadFile(path)
			if err != nil {
				diags.Add(diag.CodeInvalidPolicy, diag.Pos{File: path}, "cannot read policy: %v", err)
				return nil
			}
			m, errs := parsePolicy(path, string(src), version)
			if errs != nil {
				diags.Append(policyErrors(errs))
				return nil
			}
			if pkg := strings.TrimPrefix(m.Package.Path.String(), "data."); pkg == "intentc" || strings.HasPrefix(pkg, "intentc.") {
				diags.Add(diag.CodeInvalidPolicy, diag.Pos{File: path, Line: m.Package.Location.Row, Col: m.Package.Location.Col},
					"package %s: the intentc namespace is reserved for the built-in rules", pkg)
				return nil
			}
			mods[path] = m
			return nil
		})
		if err != nil {
			diags.Add(diag.CodeInvalidPolicy, diag.Pos{File: dir}, "cannot read policies: %v", err)
		}
	}
	return mods, diags
}

func parsePolicy(path, src, version string) (*ast.Module, ast.Errors) {
	parse := func(v ast.RegoVersion) (*ast.Module, ast.Errors) {
		m, err := ast.ParseModuleWithOpts(path, src, ast.ParserOptions{RegoVersion: v, ProcessAnnotation: true})
		if err == nil {
			return m, nil
		}
		if errs, ok := err.(ast.Errors); ok {
			return nil, errs
		}
		return nil, ast.Errors{ast.NewError(ast.ParseErr, &ast.Location{File: path}, "%v", err)}
	}
	switch version {
	case "v0":
		return parse(ast.RegoV0)
	case "v1":
		return parse(ast.RegoV1)
	}
	m, errs1 := parse(ast.RegoV1)
	if errs1 == nil {
		return m, nil
	}
	m, errs0 := parse(ast.RegoV0)
	if errs0 == nil {
		return m, nil
	}
	if firstRow(errs0) > firstRow(errs1) {
		return nil, errs0
	}
	return nil, errs1
}

func firstRow(errs ast.Errors) int {
	row := 1 << 30
	for _, e := range errs {
		if e.Location != nil && e.Location.Row < row {
			row = e.Location.Row
		}
	}
	return row
}

// userRules selects the rules conftest would run: in the chosen namespaces
// (every package of the user policies with all), the deny/violation/warn
// rules, split by scope. A rule runs once per object, or over the combined
// input when combine is set (conftest test --combine); the METADATA of one
// of its definitions, or of its package, can say otherwise with
// custom.scope: object or bundle. The scope is per rule name: all the
// definitions of a name make one document.
func userRules(c *ast.Compiler, mods map[string]*ast.Module, namespaces []string, all, combine bool) (object, bundle []userNamespace) {
	if len(mods) == 0 {
		return nil, nil
	}
	if len(namespaces) == 0 {
		namespaces = []string{"main"}
	}
	defaultScope := policies.ScopeObject
	if combine {
		defaultScope = policies.ScopeBundle
	}
	byNS := map[string]map[string]string{} // namespace → rule → scope
	annotations := c.GetAnnotationSet()
	for name := range mods {
		m := c.Modules[name]
		ns := strings.TrimPrefix(m.Package.Path.String(), "data.")
		if !all && !slices.Contains(namespaces, ns) {
			continue
		}
		if byNS[ns] == nil {
			byNS[ns] = map[string]string{}
		}
		for _, r := range m.Rules {
			name := r.Head.Name.String()
			if !failureRE.MatchString(name) && !warningRE.MatchString(name) {
				continue
			}
			scope := scopeOf(annotations, r)
			if scope == "" {
				scope = defaultScope
			}
			if prev := byNS[ns][name]; prev == "" || scope == policies.ScopeBundle {
				byNS[ns][name] = scope
			}
		}
	}
	for _, ns := range slices.Sorted(maps.Keys(byNS)) {
		var o, b []string
		for _, name := range slices.Sorted(maps.Keys(byNS[ns])) {
			if byNS[ns][name] == policies.ScopeBundle {
				b = append(b, name)
			} else {
				o = append(o, name)
			}
		}
		if len(o) > 0 {
			object = append(object, userNamespace{ns, o})
		}
		if len(b) > 0 {
			bundle = append(bundle, userNamespace{ns, b})
		}
	}
	return object, bundle
}

// scopeOf returns the custom.scope of the nearest METADATA of a rule
// (rule, document, package, subpackages), or "".
func scopeOf(as *ast.AnnotationSet, r *ast.Rule) string {
	if as == nil {
		return ""
	}
	for _, ref := range as.Chain(r) {
		if ref.Annotations == nil {
			continue
		}
		if s, ok := ref.Annotations.Custom["scope"].(string); ok && (s == policies.ScopeObject || s == policies.ScopeBundle) {
			return s
		}
	}
	return ""
}

func sortedKeys(m map[string]bool) []string { return slices.Sorted(maps.Keys(m)) }

// loadData reads the data files with OPA's loader, so a file's documents
// land where opa and conftest put them (the root, or under its directory's
// path when a directory is given).
func loadData(paths []string) (map[string]any, diag.List) {
	var diags diag.List
	if len(paths) == 0 {
		return map[string]any{}, nil
	}
	for _, p := range paths {
		if _, err := os.Stat(p); err != nil {
			diags.Add(diag.CodeInvalidData, diag.Pos{File: p}, "cannot read data: %v", unwrap(err))
		}
	}
	if len(diags) > 0 {
		return map[string]any{}, diags
	}
	res, err := loader.NewFileLoader().Filtered(paths, func(_ string, info fs.FileInfo, _ int) bool {
		if info.IsDir() {
			return false
		}
		ext := filepath.Ext(info.Name())
		return ext != ".json" && ext != ".yaml" && ext != ".yml"
	})
	if err != nil {
		diags.Add(diag.CodeInvalidData, dataErrorPos(err, paths), "invalid data: %v", err)
		return map[string]any{}, diags
	}
	if res.Documents == nil {
		return map[string]any{}, nil
	}
	return res.Documents, nil
}

// dataErrorPos points at the file a loader error names, when it names one.
func dataErrorPos(err error, paths []string) diag.Pos {
	msg := err.Error()
	for _, p := range paths {
		if strings.Contains(msg, p) {
			return diag.Pos{File: p}
		}
	}
	return diag.Pos{File: paths[0]}
}

func unwrap(err error) error {
	if pe, ok := err.(*fs.PathError); ok {
		return pe.Err
	}
	return err
}
