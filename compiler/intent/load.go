package intent

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"

	"github.com/intentc/intentc/compiler/diag"
)

// ProjectFileName is the project file at the root of an intent repository.
const ProjectFileName = ".intentc.yaml"

// GeneratedMarker is written by intentc into every output directory it owns;
// the loader never reads intent from a directory holding it.
const GeneratedMarker = ".intentc-generated"

// Project is the decoded .intentc.yaml.
type Project struct {
	// Intents are the intent directories, relative to the project file. Default ["."].
	Intents []string `json:"intents,omitempty"`
	// Output is the output directory, relative to the project file. Default "out".
	Output string `json:"output,omitempty"`
	// Policies are extra Rego policy directories.
	Policies []string `json:"policies,omitempty"`

	// Dir is the directory holding the project file (not read from YAML).
	Dir string `json:"-"`
}

// IntentPaths returns the intent directories joined to the project's directory.
func (p *Project) IntentPaths() []string {
	dirs := p.Intents
	if len(dirs) == 0 {
		dirs = []string{"."}
	}
	out := make([]string, len(dirs))
	for i, d := range dirs {
		out[i] = filepath.Join(p.Dir, d)
	}
	return out
}

// OutputPath returns the output directory joined to the project's directory.
func (p *Project) OutputPath() string {
	return filepath.Join(p.Dir, cmp.Or(p.Output, "out"))
}

// FindProject walks up from dir to the nearest .intentc.yaml; nil when none.
func FindProject(dir string) (*Project, diag.List) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, nil
	}
	for {
		path := filepath.Join(abs, ProjectFileName)
		if _, err := os.Stat(path); err == nil {
			rel := path
			if wd, err := os.Getwd(); err == nil {
				if r, err := filepath.Rel(wd, path); err == nil {
					rel = r
				}
			}
			return LoadProject(rel)
		}
		parent := filepath.Dir(abs)
		if parent == abs {
			return nil, nil
		}
		abs = parent
	}
}

// LoadProject reads and validates one project file.
func LoadProject(path string) (*Project, diag.List) {
	var diags diag.List
	data, err := os.ReadFile(path)
	if err != nil {
		diags.Add(diag.CodeReadFile, diag.Pos{File: path}, "cannot read project file: %v", unwrapPathError(err))
		return nil, diags
	}
	p := &Project{Dir: filepath.Dir(path)}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		diags.Add(diag.CodeProjectFile, yamlErrorPos(path, err), "%s", yamlErrorMessage(err))
		return nil, diags
	}
	if len(root.Content) == 0 {
		return p, diags
	}
	// Every problem in the project file is IC1013 (the code table's
	// example is "intents: 42"), whatever the decoder would call it in an
	// intent document.
	var decoded diag.List
	d := &decoder{file: path, diags: &decoded}
	d.decode(root.Content[0], reflect.ValueOf(p).Elem(), "", 0)
	for _, x := range decoded {
		x.Code, x.Severity = diag.CodeProjectFile, diag.CodeProjectFile.Severity()
		diags = append(diags, x)
	}
	// Point at the entry that names the missing directory.
	posOf := func(field string) diag.Pos {
		if at, ok := d.pos.get(field); ok {
			return at.in(path)
		}
		return diag.Pos{File: path}
	}
	for i, dir := range p.IntentPaths() {
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			diags.Add(diag.CodeProjectFile, posOf(fmt.Sprintf("intents[%d]", i)), "intents[%d]: %s is not a directory", i, dir)
		}
	}
	for i, dir := range p.Policies {
		full := filepath.Join(p.Dir, dir)
		if st, err := os.Stat(full); err != nil || !st.IsDir() {
			diags.Add(diag.CodeProjectFile, posOf(fmt.Sprintf("policies[%d]", i)), "policies[%d]: %s is not a directory", i, full)
		}
	}
	return p, diags.Sorted()
}

func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Set is a whole intent: every document of every file, in file order.
type Set struct {
	Docs  []*Document
	Files []string
	// Others are YAML documents that are not intents (for lint).
	Others []Other
}

// Other is a non-intent YAML document found among the inputs.
type Other struct {
	File string
	Node *yaml.Node
}

// Load reads every .yaml/.yml file under the given files and directories.
// Directories are walked recursively in lexical order, skipping hidden
// entries and intentc's own output directories.
func Load(paths []string) (*Set, diag.List) { return LoadParsed(paths, nil) }

// LoadParsed is Load, taking from parsed (when not nil) the files some
// caller has already parsed with the same bytes.
func LoadParsed(paths []string, parsed *Parsed) (*Set, diag.List) {
	var diags diag.List
	var files []string
	seen := map[string]bool{}
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			diags.Add(diag.CodeReadFile, diag.Pos{File: p}, "cannot read: %v", unwrapPathError(err))
			continue
		}
		if !st.IsDir() {
			if !seen[filepath.Clean(p)] {
				seen[filepath.Clean(p)] = true
				files = append(files, filepath.Clean(p))
			}
			continue
		}
		err = filepath.WalkDir(p, func(path string, e fs.DirEntry, err error) error {
			if err != nil {
				diags.Add(diag.CodeReadFile, diag.Pos{File: path}, "cannot read: %v", unwrapPathError(err))
				return nil
			}
			name := e.Name()
			if e.IsDir() {
				if path != p && strings.HasPrefix(name, ".") {
					return filepath.SkipDir
				}
				if _, err := os.Stat(filepath.Join(path, GeneratedMarker)); err == nil {
					return filepath.SkipDir
				}
				return nil
			}
			if strings.HasPrefix(name, ".") || !(strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml")) {
				return nil
			}
			if !seen[path] {
				seen[path] = true
				files = append(files, path)
			}
			return nil
		})
		if err != nil {
			diags.Add(diag.CodeReadFile, diag.Pos{File: p}, "cannot read: %v", err)
		}
	}
	set := &Set{Files: files}
	// Files are read and parsed on every core, and joined in file order.
	type result struct {
		docs   []*Document
		others []*yaml.Node
		diags  diag.List
	}
	results := make([]result, len(files))
	var wg sync.WaitGroup
	workers := min(runtime.GOMAXPROCS(0), len(files))
	for w := range workers {
		wg.Go(func() {
			for i := w; i < len(files); i += workers {
				results[i].docs, results[i].others, results[i].diags = loadFile(files[i], parsed)
			}
		})
	}
	wg.Wait()
	for i, r := range results {
		set.Docs = append(set.Docs, r.docs...)
		for _, o := range r.others {
			set.Others = append(set.Others, Other{File: files[i], Node: o})
		}
		diags.Append(r.diags)
	}
	return set, diags.Sorted()
}

// loadFile reads and parses one intent file.
func loadFile(f string, parsed *Parsed) ([]*Document, []*yaml.Node, diag.List) {
	var diags diag.List
	if st, err := os.Stat(f); err == nil && st.Size() > MaxFileSize {
		// Refused unread, with its real size (ParseFile only ever sees
		// the first MaxFileSize+1 bytes of it).
		diags.Add(diag.CodeFileTooLarge, diag.Pos{File: f}, "file is %d bytes; the limit is %d", st.Size(), MaxFileSize)
		return nil, nil, diags
	}
	data, err := readLimited(f)
	if err != nil {
		diags.Add(diag.CodeReadFile, diag.Pos{File: f}, "cannot read: %v", unwrapPathError(err))
		return nil, nil, diags
	}
	if r, ok := parsed.take(f, data); ok {
		return r.docs, r.others, r.diags
	}
	return ParseFile(f, data)
}

// Parsed holds the results of ParseFile by file name, so that a caller
// which parses files to tell intent from other YAML (intentc lint, given
// paths without a project file) does not have the compile parse them a
// second time: at 10,000 services that second parse was about a second.
// Safe for concurrent use.
type Parsed struct {
	files sync.Map // name → *parsedFile
}

type parsedFile struct {
	data   []byte
	docs   []*Document
	others []*yaml.Node
	diags  diag.List
}

// Keep holds what ParseFile(name, data) returned for the Load that reads
// name next.
func (p *Parsed) Keep(name string, data []byte, docs []*Document, others []*yaml.Node, diags diag.List) {
	if p == nil {
		return
	}
	p.files.Store(name, &parsedFile{data: data, docs: docs, others: others, diags: diags})
}

// take hands over, once, what was parsed from name if it was parsed from
// these same bytes: a file changed since, or named otherwise, is parsed
// again. Positions name the file as it was named, so only the same name
// matches.
func (p *Parsed) take(name string, data []byte) (*parsedFile, bool) {
	if p == nil {
		return nil, false
	}
	v, ok := p.files.LoadAndDelete(name)
	if !ok {
		return nil, false
	}
	r := v.(*parsedFile)
	return r, bytes.Equal(r.data, data)
}

// readLimited reads at most one byte past the size limit, so an oversized
// file is reported without being read whole.
func readLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, MaxFileSize+1))
}

// Digest is a stable hash of the intent's meaning: the decoded objects in
// canonical order, independent of files, comments and positions. The webhook
// uses it to tell a legitimate sync from drift.
func (s *Set) Digest() string {
	// Sorted by reference, each built once: building two per comparison
	// was most of the digest's time on a large intent.
	type refDoc struct {
		ref string
		doc *Document
	}
	byRef := make([]refDoc, len(s.Docs))
	for i, d := range s.Docs {
		byRef[i] = refDoc{d.Ref(), d}
	}
	slices.SortFunc(byRef, func(a, b refDoc) int { return strings.Compare(a.ref, b.ref) })
	docs := make([]*Document, len(byRef))
	for i, r := range byRef {
		docs[i] = r.doc
	}
	// Encoding is most of the cost on a large intent: documents are
	// encoded on every core, then hashed in order.
	enc := make([][]byte, len(docs))
	var wg sync.WaitGroup
	workers := min(runtime.GOMAXPROCS(0), max(1, len(docs)/64))
	for w := range workers {
		wg.Go(func() {
			for i := w; i < len(docs); i += workers {
				enc[i], _ = json.Marshal(docs[i].Object)
			}
		})
	}
	wg.Wait()
	h := sha256.New()
	for _, b := range enc {
		h.Write(b)
		h.Write([]byte{'\n'})
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))[:16]
}
