package crdgen

import (
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"reflect"
	"slices"
	"strings"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/intentc/intentc/compiler/intent"
)

// Paths relative to the repository root.
const (
	TypesFile = "compiler/intent/types.go"
	OutDir    = "deploy/crds"
)

// Category lets `kubectl get intentc` list every intent object at once.
const Category = "intentc"

// Kind is how one intent kind is served as a custom resource.
type Kind struct {
	Kind   string
	Plural string
	// ShortNames all start with "ic": Istio already took the obvious ones
	// (ap is AuthorizationPolicy, se ServiceEntry) and kubectl resolves a
	// clash to whichever group it finds first.
	ShortNames []string
	Scope      apiextensionsv1.ResourceScope
	// Type is the Go type of the whole document.
	Type reflect.Type
}

// Kinds lists the served kinds in intent.Kinds order.
var Kinds = []Kind{
	{intent.KindMesh, "meshes", []string{"icmesh"}, apiextensionsv1.ClusterScoped, reflect.TypeFor[intent.Mesh]()},
	{intent.KindMeshCluster, "meshclusters", []string{"icmc"}, apiextensionsv1.ClusterScoped, reflect.TypeFor[intent.MeshCluster]()},
	{intent.KindMeshService, "meshservices", []string{"icms"}, apiextensionsv1.NamespaceScoped, reflect.TypeFor[intent.MeshService]()},
	{intent.KindExternalService, "externalservices", []string{"icext"}, apiextensionsv1.NamespaceScoped, reflect.TypeFor[intent.ExternalService]()},
	{intent.KindAccessPolicy, "accesspolicies", []string{"icap"}, apiextensionsv1.NamespaceScoped, reflect.TypeFor[intent.AccessPolicy]()},
}

// FileName is the CRD's file in OutDir, named as controller-gen names them
// so the directory looks like every other operator's.
func (k Kind) FileName() string { return intent.Group + "_" + k.Plural + ".yaml" }

// header marks the files as generated; YAML comments survive kubectl apply.
const header = "# Code generated from " + TypesFile + " by `go test ./internal/crdgen -update`. DO NOT EDIT.\n"

// Docs are the doc comments of the intent types, keyed "Type" and
// "Type.Field" (Go names).
type Docs map[string]string

// ParseDocs reads the doc comments of a Go source file. Comments are read
// from source rather than kept in a table so that the CRD descriptions cannot
// drift from the contract.
func ParseDocs(path string) (Docs, error) {
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ParseComments|parser.SkipObjectResolution)
	if err != nil {
		return nil, err
	}
	docs := Docs{}
	for _, decl := range f.Decls {
		gd, ok := decl.(*ast.GenDecl)
		if !ok || gd.Tok != token.TYPE {
			continue
		}
		for _, spec := range gd.Specs {
			ts := spec.(*ast.TypeSpec)
			doc := ts.Doc
			if doc == nil && len(gd.Specs) == 1 {
				doc = gd.Doc // an ungrouped "type X" keeps its comment on the GenDecl
			}
			docs[ts.Name.Name] = text(doc)
			st, ok := ts.Type.(*ast.StructType)
			if !ok {
				continue
			}
			for _, fld := range st.Fields.List {
				c := fld.Doc
				if c == nil {
					c = fld.Comment
				}
				for _, name := range fld.Names {
					docs[ts.Name.Name+"."+name.Name] = text(c)
				}
			}
		}
	}
	return docs, nil
}

// text flattens a comment the way kubectl explain wraps it: one line per
// paragraph.
func text(c *ast.CommentGroup) string {
	if c == nil {
		return ""
	}
	var paras []string
	for p := range strings.SplitSeq(strings.TrimSpace(c.Text()), "\n\n") {
		paras = append(paras, strings.Join(strings.Fields(p), " "))
	}
	return strings.Join(paras, "\n\n")
}

// Generate returns every CRD file, keyed by file name, for the repository at
// root.
func Generate(root string) (map[string][]byte, error) {
	docs, err := ParseDocs(filepath.Join(root, TypesFile))
	if err != nil {
		return nil, err
	}
	out := make(map[string][]byte, len(Kinds))
	for _, k := range Kinds {
		crd, err := CRD(k, docs)
		if err != nil {
			return nil, err
		}
		b, err := Marshal(crd)
		if err != nil {
			return nil, err
		}
		out[k.FileName()] = b
	}
	return out, nil
}

// Marshal renders a CRD as the file content, without the status and server
// fields a typed object would otherwise carry.
func Marshal(crd *apiextensionsv1.CustomResourceDefinition) ([]byte, error) {
	b, err := yaml.Marshal(struct {
		metav1.TypeMeta `json:",inline"`
		Metadata        metav1.ObjectMeta                            `json:"metadata"`
		Spec            apiextensionsv1.CustomResourceDefinitionSpec `json:"spec"`
	}{crd.TypeMeta, crd.ObjectMeta, crd.Spec})
	if err != nil {
		return nil, err
	}
	return append([]byte(header), b...), nil
}

// CRD builds the CustomResourceDefinition of one kind.
func CRD(k Kind, docs Docs) (*apiextensionsv1.CustomResourceDefinition, error) {
	g := &generator{docs: docs}
	schema, err := g.object(k.Type)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", k.Kind, err)
	}
	// The API server owns metadata's schema and checks apiVersion, kind and
	// metadata before the schema applies; only spec is ours to require.
	schema.Required = slices.DeleteFunc(schema.Required, func(name string) bool { return name != "spec" })
	if len(schema.Required) == 0 {
		schema.Required = nil
	}
	for _, name := range []string{"apiVersion", "kind"} {
		p := schema.Properties[name]
		p.MinLength = nil
		schema.Properties[name] = p
	}
	schema.Properties["metadata"] = apiextensionsv1.JSONSchemaProps{Type: "object"}

	singular := strings.ToLower(k.Kind)
	return &apiextensionsv1.CustomResourceDefinition{
		TypeMeta: metav1.TypeMeta{
			APIVersion: apiextensionsv1.SchemeGroupVersion.String(),
			Kind:       "CustomResourceDefinition",
		},
		ObjectMeta: metav1.ObjectMeta{Name: k.Plural + "." + intent.Group},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: intent.Group,
			Names: apiextensionsv1.CustomResourceDefinitionNames{
				Kind:       k.Kind,
				ListKind:   k.Kind + "List",
				Plural:     k.Plural,
				Singular:   singular,
				ShortNames: k.ShortNames,
				Categories: []string{Category},
			},
			Scope: k.Scope,
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{
				Name:    intent.Version,
				Served:  true,
				Storage: true,
				Schema:  &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: schema},
			}},
		},
	}, nil
}

// field is one JSON field of a struct, with inline embedding flattened, as
// the intent decoder sees it.
type field struct {
	name     string
	goName   string
	owner    reflect.Type // the struct that declares it, for its doc comment
	typ      reflect.Type
	required bool
	enum     []string
}

func fields(t reflect.Type) []field {
	var out []field
	for i := range t.NumField() {
		sf := t.Field(i)
		name, opts, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if name == "-" || !sf.IsExported() {
			continue
		}
		if opts == "inline" {
			out = append(out, fields(sf.Type)...)
			continue
		}
		f := field{name: name, goName: sf.Name, owner: t, typ: sf.Type}
		f.required = !strings.Contains(opts, "omitempty")
		if e := sf.Tag.Get("enum"); e != "" {
			f.enum = strings.Split(e, ",")
		}
		out = append(out, f)
	}
	return out
}

type generator struct {
	docs Docs
}

func (g *generator) object(t reflect.Type) (*apiextensionsv1.JSONSchemaProps, error) {
	s := &apiextensionsv1.JSONSchemaProps{
		Type:        "object",
		Description: g.docs[t.Name()],
		Properties:  map[string]apiextensionsv1.JSONSchemaProps{},
	}
	for _, f := range fields(t) {
		p, err := g.value(f.typ)
		if err != nil {
			return nil, fmt.Errorf("%s.%s: %w", t.Name(), f.goName, err)
		}
		if f.enum != nil {
			// The decoder checks enums on plain string fields only; an enum
			// elsewhere needs a decision there first.
			if f.typ.Kind() != reflect.String {
				return nil, fmt.Errorf("%s.%s: enum tag on %s, not a string", t.Name(), f.goName, f.typ)
			}
			for _, v := range f.enum {
				raw, err := json.Marshal(v)
				if err != nil {
					return nil, err
				}
				p.Enum = append(p.Enum, apiextensionsv1.JSON{Raw: raw})
			}
		}
		p.Description = g.docs[f.owner.Name()+"."+f.goName]
		if p.Description == "" {
			p.Description = g.docs[structName(f.typ)]
		}
		if f.required {
			s.Required = append(s.Required, f.name)
			// The decoder rejects an empty required string or list as
			// missing (IC1005); the API server must agree.
			one := int64(1)
			switch p.Type {
			case "string":
				p.MinLength = &one
			case "array":
				p.MinItems = &one
			}
		}
		s.Properties[f.name] = *p
	}
	return s, nil
}

// value is the schema of a field's type.
func (g *generator) value(t reflect.Type) (*apiextensionsv1.JSONSchemaProps, error) {
	switch t.Kind() {
	case reflect.Pointer:
		return g.value(t.Elem())
	case reflect.Struct:
		return g.object(t)
	case reflect.Slice:
		items, err := g.value(t.Elem())
		if err != nil {
			return nil, err
		}
		return &apiextensionsv1.JSONSchemaProps{Type: "array", Items: &apiextensionsv1.JSONSchemaPropsOrArray{Schema: items}}, nil
	case reflect.Map:
		// Labels, selectors and headers: the decoder keeps only string
		// values (it reads `x-canary: true` as the text "true").
		if t.Key().Kind() != reflect.String || t.Elem().Kind() != reflect.String {
			return nil, fmt.Errorf("unsupported map type %s", t)
		}
		return &apiextensionsv1.JSONSchemaProps{
			Type:                 "object",
			AdditionalProperties: &apiextensionsv1.JSONSchemaPropsOrBool{Allows: true, Schema: &apiextensionsv1.JSONSchemaProps{Type: "string"}},
		}, nil
	case reflect.String:
		return &apiextensionsv1.JSONSchemaProps{Type: "string"}, nil
	case reflect.Bool:
		return &apiextensionsv1.JSONSchemaProps{Type: "boolean"}, nil
	case reflect.Int32:
		return &apiextensionsv1.JSONSchemaProps{Type: "integer", Format: "int32"}, nil
	}
	// A new field type needs a decision here (and in the decoder), not a
	// silent guess.
	return nil, fmt.Errorf("unsupported type %s", t)
}

// structName names the struct a field holds, through pointers and slices,
// so an undocumented field falls back to its type's doc; "" for scalars.
func structName(t reflect.Type) string {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return ""
	}
	return t.Name()
}
