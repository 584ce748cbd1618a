package intent

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/intentc/intentc/compiler/diag"
	"github.com/intentc/intentc/internal/fastyaml"
)

// Input limits (see the IC1008–IC1017 codes).
const (
	MaxFileSize    = 8 << 20
	maxDocsPerFile = 10000
)

// Document is one decoded intent document with the position of every field.
type Document struct {
	File       string
	Pos        diag.Pos // where the document starts
	APIVersion string
	Kind       string
	Meta       ObjectMeta
	// Object is *Mesh, *MeshCluster, *MeshService, *ExternalService or *AccessPolicy.
	Object any

	positions positions // in File
	keys      positions
}

// PosOf returns the position of a JSON path such as "spec.placement[1].weight",
// falling back to the nearest enclosing node that was written in the file.
func (d *Document) PosOf(path string) diag.Pos {
	for {
		if at, ok := d.positions.get(path); ok {
			return at.in(d.File)
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			return d.Pos
		}
		path = path[:i]
	}
}

// KeyPosOf returns the position of the key that names path (so a finding
// about a whole list points at "placement:", not at its first item), falling
// back to PosOf.
func (d *Document) KeyPosOf(path string) diag.Pos {
	if at, ok := d.keys.get(path); ok {
		return at.in(d.File)
	}
	return d.PosOf(path)
}

// Has reports whether the path was written in the file (as opposed to defaulted).
func (d *Document) Has(path string) bool {
	_, ok := d.positions.get(path)
	return ok
}

// Ref is the provenance name "Kind/namespace/name" (or "Kind/name").
func (d *Document) Ref() string {
	if d.Meta.Namespace == "" {
		return d.Kind + "/" + d.Meta.Name
	}
	return d.Kind + "/" + d.Meta.Namespace + "/" + d.Meta.Name
}

var newObject = map[string]func() any{
	KindMesh:            func() any { return new(Mesh) },
	KindMeshCluster:     func() any { return new(MeshCluster) },
	KindMeshService:     func() any { return new(MeshService) },
	KindExternalService: func() any { return new(ExternalService) },
	KindAccessPolicy:    func() any { return new(AccessPolicy) },
}

var namespacedKinds = map[string]bool{KindMeshService: true, KindExternalService: true, KindAccessPolicy: true}

// ParseFile decodes every document of one file. Documents that are not
// intents are reported (IC1015) and returned in others so a linter can check
// them as manifests; intent documents with errors are still returned with what
// could be decoded, so later stages can report more.
func ParseFile(name string, data []byte) (docs []*Document, others []*yaml.Node, diags diag.List) {
	return parseFile(name, data, true)
}

// parseFile is ParseFile; fast false reads every file with yaml.v3, as the
// tests holding the two readers equal do.
func parseFile(name string, data []byte, fast bool) (docs []*Document, others []*yaml.Node, diags diag.List) {
	// Findings are collected document by document, field by field; the
	// stage contract (DESIGN §5) is a list sorted by position.
	defer func() { diags = diags.Sorted() }()
	if len(data) > MaxFileSize {
		diags.Add(diag.CodeFileTooLarge, diag.Pos{File: name}, "file is %d bytes; the limit is %d", len(data), MaxFileSize)
		return nil, nil, diags
	}
	if !utf8.Valid(data) || bytes.IndexByte(data, 0) >= 0 {
		diags.Add(diag.CodeNotText, diag.Pos{File: name}, "file is not UTF-8 text")
		return nil, nil, diags
	}
	// Most intent files are in the subset fastyaml reads, which builds the
	// nodes yaml.v3 would several times faster (yaml.v3 was a fifth of a
	// large compile). What it refuses — and a file past the document
	// limit, which is reported where yaml.v3 finds the document — is read
	// by yaml.v3, which also words the syntax errors. Its strings share
	// the bytes they are read from: a copy, so that the documents do not
	// change with a caller's buffer.
	if fast {
		if roots, empty, err := fastyaml.Parse(bytes.Clone(data)); err == nil && len(roots)+empty <= maxDocsPerFile {
			for _, root := range roots {
				doc, other := parseDocument(name, root, &diags)
				if doc != nil {
					docs = append(docs, doc)
				}
				if other != nil {
					others = append(others, other)
				}
			}
			return docs, others, diags
		}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for i := 0; ; i++ {
		var root yaml.Node
		err := safeDecode(dec, &root)
		if errors.Is(err, io.EOF) {
			return docs, others, diags
		}
		if err != nil {
			diags.Add(diag.CodeYAMLSyntax, yamlErrorPos(name, err), "%s", yamlErrorMessage(err))
			return docs, others, diags // the decoder cannot resynchronise after a syntax error
		}
		// Checked once a document beyond the limit exists, so a file of
		// exactly maxDocsPerFile documents is accepted.
		if i == maxDocsPerFile {
			diags.Add(diag.CodeTooManyDocuments, diag.Pos{File: name, Line: root.Line, Col: root.Column}, "more than %d documents in one file", maxDocsPerFile)
			return docs, others, diags
		}
		doc, other := parseDocument(name, &root, &diags)
		if doc != nil {
			docs = append(docs, doc)
		}
		if other != nil {
			others = append(others, other)
		}
	}
}

// safeDecode turns a panic inside the YAML library into an error: hostile
// input must never crash the compiler or the webhook.
func safeDecode(dec *yaml.Decoder, n *yaml.Node) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("yaml: %v", r)
		}
	}()
	return dec.Decode(n)
}

var lineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// yamlParserErrors are the messages of yaml.v3's parser errors, whose line
// it reports 0-based (its scanner errors are 1-based): it prints the
// context or problem mark's line without the +1 it adds for scanner errors.
var yamlParserErrors = map[string]bool{
	"did not find expected <stream-start>":   true,
	"did not find expected <document start>": true,
	"did not find expected node content":     true,
	"did not find expected '-' indicator":    true,
	"did not find expected key":              true,
	"did not find expected ',' or ']'":       true,
	"did not find expected ',' or '}'":       true,
	"found undefined tag handle":             true,
	"found duplicate %YAML directive":        true,
	"found incompatible YAML document":       true,
	"found duplicate %TAG directive":         true,
}

func yamlErrorPos(file string, err error) diag.Pos {
	if m := lineRE.FindStringSubmatch(err.Error()); m != nil {
		line, _ := strconv.Atoi(m[1])
		if yamlParserErrors[m[2]] {
			line++
		}
		return diag.Pos{File: file, Line: line, Col: 1}
	}
	return diag.Pos{File: file, Line: 1, Col: 1}
}

func yamlErrorMessage(err error) string {
	if m := lineRE.FindStringSubmatch(err.Error()); m != nil {
		return "invalid YAML: " + m[2]
	}
	return "invalid YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")
}

// looksLikeOurs catches misspellings of intentc's apiVersion, so such a
// document is an error rather than silently "some other manifest".
func looksLikeOurs(apiVersion string) bool {
	lower := strings.ToLower(apiVersion)
	if strings.Contains(lower, "intentc") || strings.Contains(lower, "intent.dev") {
		return true
	}
	group, _, _ := strings.Cut(lower, "/")
	return distance(lower, APIVersion) <= 3 || distance(group, Group) <= 2
}

func scalarField(m *yaml.Node, key string) (*yaml.Node, bool) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			v := m.Content[i+1]
			return v, v.Kind == yaml.ScalarNode
		}
	}
	return nil, false
}

func parseDocument(file string, root *yaml.Node, diags *diag.List) (*Document, *yaml.Node) {
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) == 0 {
			return nil, nil
		}
		root = root.Content[0]
	}
	start := diag.Pos{File: file, Line: root.Line, Col: root.Column}
	if root.Kind == yaml.ScalarNode && root.ShortTag() == "!!null" {
		return nil, nil // an empty document between two "---"
	}
	if root.Kind != yaml.MappingNode {
		diags.Add(diag.CodeWrongType, start, "document: expected a mapping with apiVersion and kind, got %s", kindName(root))
		return nil, nil
	}
	av, avOK := scalarField(root, "apiVersion")
	kd, kdOK := scalarField(root, "kind")
	apiVersion, kind := "", ""
	if avOK {
		apiVersion = av.Value
	}
	if kdOK {
		kind = kd.Value
	}
	_, ourKind := newObject[kind]
	switch {
	case apiVersion == APIVersion:
	case avOK && looksLikeOurs(apiVersion), ourKind && avOK && !strings.Contains(apiVersion, "."):
		// v1/MeshService is not a core kind: it is ours, misspelt.
		diags.Add(diag.CodeBadAPIVersion, diag.Pos{File: file, Line: av.Line, Col: av.Column},
			"apiVersion %q looks like intentc's but is not %q", apiVersion, APIVersion)
		return nil, nil
	case !avOK:
		if ourKind {
			diags.Add(diag.CodeMissingField, start, "document: missing required field \"apiVersion\" (want %q)", APIVersion)
			return nil, nil
		}
		diags.Add(diag.CodeMissingField, start, "document: missing required field \"apiVersion\"")
		return nil, nil
	default:
		if !checkShape(file, root, maxOtherDepth, diags) {
			return nil, nil // whoever reads it next (lint) would expand it
		}
		diags.Add(diag.CodeNotIntent, start, "%s %s is not an intent document; ignored", apiVersion, kind)
		return nil, root
	}
	if !kdOK {
		diags.Add(diag.CodeMissingField, start, "document: missing required field \"kind\"")
		return nil, nil
	}
	mk, ok := newObject[kind]
	if !ok {
		msg := fmt.Sprintf("unknown kind %q for %s", kind, APIVersion)
		if s := Suggest(kind, Kinds); s != "" {
			msg += fmt.Sprintf("; did you mean %q?", s)
		}
		diags.Add(diag.CodeUnknownKind, diag.Pos{File: file, Line: kd.Line, Col: kd.Column}, "%s", msg)
		return nil, nil
	}
	if !checkShape(file, root, maxDepth, diags) {
		return nil, nil
	}
	obj := mk()
	d := &decoder{file: file, diags: diags, keys: new(posList)}
	d.decode(root, reflect.ValueOf(obj).Elem(), "", 0)
	doc := &Document{File: file, Pos: start, APIVersion: apiVersion, Kind: kind, Object: obj, positions: freeze(d.pos), keys: freeze(*d.keys)}
	doc.Meta = reflect.ValueOf(obj).Elem().FieldByName("Metadata").Interface().(ObjectMeta)
	if d.bombed {
		return nil, nil
	}
	if namespacedKinds[kind] && doc.Meta.Namespace == "" && doc.Has("metadata") {
		diags.Add(diag.CodeMissingField, doc.PosOf("metadata"), "metadata: missing required field \"namespace\" (%s is namespaced)", kind)
	}
	return doc, nil
}
