package policies

import (
	"cmp"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/intentc/intentc/compiler/diag"
)

// Scopes of a rule.
const (
	ScopeObject = "object"
	ScopeBundle = "bundle"
)

// Package roots of the two scopes' rules: the runner queries
// data.intentc.object[_].deny and data.intentc.bundle[_].deny.
const (
	ObjectRoot = "intentc.object"
	BundleRoot = "intentc.bundle"
)

// Rule is one built-in rule, as its METADATA declares it.
type Rule struct {
	Name        string // the package's last segment, e.g. "weights_sum"
	Package     string // e.g. "intentc.object.weights_sum"
	File        string // e.g. "object/weights_sum.rego"
	Code        diag.Code
	Title       string
	Description string
	Severity    diag.Severity
	// Handwritten is the severity on objects intentc did not generate
	// (equal to Severity unless the METADATA says otherwise).
	Handwritten diag.Severity
	Layer       string
	Scope       string
	// Kinds are the kinds of object the rule judges (an object rule) or
	// reads (a bundle rule): Kubernetes kinds, and the document types
	// "neutron" (security groups as Neutron API JSON) and "heat" (a Heat
	// template). The runner gives a rule only those objects, so that each
	// object costs the rules that can fire on it, not all of them.
	Kinds []string
	// Blame lists, in order of preference, the intent objects a finding is
	// reported at when the generated object came from several.
	Blame []Blame
}

// Document types of the objects that are not Kubernetes objects.
const (
	KindNeutron = "neutron"
	KindHeat    = "heat"
)

// Blame is one entry of a rule's blame list: an intent kind, and the field
// of that document to point at ("" for the document itself).
type Blame struct {
	Kind, Field string
}

// IsTest reports whether name is a Rego test file.
func IsTest(name string) bool { return strings.HasSuffix(name, "_test.rego") }

// Load parses the embedded policies. With tests, the _test.rego files are
// included (for the OPA test runner). Modules are keyed by their path in FS;
// rules are sorted by code. An error means the embedded library itself is
// broken, which this package's tests catch before a release.
func Load(tests bool) (map[string]*ast.Module, []Rule, error) {
	files, err := fs.Glob(FS, "*/*.rego")
	if err != nil {
		return nil, nil, err
	}
	mods := map[string]*ast.Module{}
	var rules []Rule
	for _, f := range files {
		if IsTest(f) && !tests {
			continue
		}
		src, err := FS.ReadFile(f)
		if err != nil {
			return nil, nil, err
		}
		m, err := ast.ParseModuleWithOpts(f, string(src), ast.ParserOptions{RegoVersion: ast.RegoV1, ProcessAnnotation: true})
		if err != nil {
			return nil, nil, err
		}
		mods[f] = m
		if IsTest(f) || path.Dir(f) == "lib" {
			continue
		}
		r, err := ruleOf(f, m)
		if err != nil {
			return nil, nil, err
		}
		rules = append(rules, r)
	}
	slices.SortFunc(rules, func(a, b Rule) int { return cmp.Compare(a.Code, b.Code) })
	return mods, rules, nil
}

var codeRE = regexp.MustCompile(`^IC4\d{3}$`)

// ruleOf reads a rule file's package METADATA, checking everything the
// runner relies on.
func ruleOf(file string, m *ast.Module) (Rule, error) {
	pkg := strings.TrimPrefix(m.Package.Path.String(), "data.")
	r := Rule{Package: pkg, File: file, Name: pkg[strings.LastIndex(pkg, ".")+1:]}
	var a *ast.Annotations
	for _, x := range m.Annotations {
		if x.Scope == "package" {
			a = x
		}
	}
	if a == nil {
		return r, fmt.Errorf("%s: no package METADATA", file)
	}
	r.Title, r.Description = a.Title, strings.TrimSpace(a.Description)
	str := func(key string) string { s, _ := a.Custom[key].(string); return s }
	r.Code = diag.Code(str("code"))
	r.Layer = str("layer")
	r.Scope = str("scope")
	var ok bool
	if r.Severity, ok = severity(str("severity")); !ok {
		return r, fmt.Errorf("%s: custom.severity must be error, warning or info, not %q", file, str("severity"))
	}
	r.Handwritten = r.Severity
	if s := str("handwritten_severity"); s != "" {
		if r.Handwritten, ok = severity(s); !ok {
			return r, fmt.Errorf("%s: custom.handwritten_severity must be error, warning or info, not %q", file, s)
		}
	}
	kinds, _ := a.Custom["kinds"].([]any)
	for _, k := range kinds {
		if s, ok := k.(string); ok && s != "" {
			r.Kinds = append(r.Kinds, s)
		}
	}
	if blame, ok := a.Custom["blame"].([]any); ok {
		for _, b := range blame {
			s, _ := b.(string)
			kind, field, _ := strings.Cut(strings.TrimSpace(s), " ")
			if kind == "" {
				return r, fmt.Errorf("%s: custom.blame entries are \"Kind [field]\", not %v", file, b)
			}
			r.Blame = append(r.Blame, Blame{Kind: kind, Field: strings.TrimSpace(field)})
		}
	}
	switch {
	case !codeRE.MatchString(string(r.Code)):
		return r, fmt.Errorf("%s: custom.code must be IC4xxx, not %q", file, r.Code)
	case r.Title == "" || r.Description == "" || r.Layer == "":
		return r, fmt.Errorf("%s: METADATA needs a title, a description and custom.layer", file)
	case len(r.Kinds) == 0 || len(r.Kinds) != len(kinds):
		return r, fmt.Errorf("%s: custom.kinds must list the kinds the rule judges", file)
	case r.Scope != ScopeObject && r.Scope != ScopeBundle:
		return r, fmt.Errorf("%s: custom.scope must be object or bundle, not %q", file, r.Scope)
	case pkg != "intentc."+r.Scope+"."+r.Name || path.Dir(file) != r.Scope:
		return r, fmt.Errorf("%s: a %s rule lives in %s/ as package intentc.%s.<rule>, not %s", file, r.Scope, r.Scope, r.Scope, pkg)
	}
	return r, nil
}

func severity(s string) (diag.Severity, bool) {
	switch s {
	case "error":
		return diag.Error, true
	case "warning":
		return diag.Warning, true
	case "info":
		return diag.Info, true
	}
	return diag.Error, false
}
