package lint

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/intentc/intentc/compiler"
	"github.com/intentc/intentc/compiler/diag"
	"github.com/intentc/intentc/compiler/intent"
)

// CheckFiles lints hand-written manifests: every document of the YAML and
// JSON files among paths (directories are walked, skipping hidden entries
// and intentc's output directories unless named), intent documents
// excepted. Findings are reported at the field in those files. The mesh
// is the data files' data.intentc.mesh, if any.
func (e *Engine) CheckFiles(ctx context.Context, paths []string) diag.List {
	return e.CheckManifests(ctx, nil, paths)
}

// CheckManifests is CheckFiles judged against the mesh a compiled intent
// describes (res may be nil): what intentc lint does when it is given both
// intent and manifests.
func (e *Engine) CheckManifests(ctx context.Context, res *compiler.Result, paths []string) diag.List {
	t := &target{}
	if len(paths) > 0 {
		t.combinedPos = diag.Pos{File: paths[0]}
	}
	mesh := t.useResult(res)
	paths, diags := manifestFiles(paths)
	markers := markerCache{}
	var files []source
	for _, f := range paths {
		data, err := readLimited(f)
		if err != nil {
			diags.Add(diag.CodeReadFile, diag.Pos{File: f}, "cannot read: %v", unwrap(err))
			continue
		}
		files = append(files, source{path: f, cluster: clusterOf(filepath.ToSlash(f)), data: data, generated: markers.generated(f), handWritten: true})
	}
	diags.Append(e.run(ctx, t, files, mesh, true))
	return diags.Sorted()
}

// CheckObject runs the per-object rules (built-in and user; no bundle or
// combined rules) on one document held in memory, YAML or JSON, as the
// admission webhook receives an object: judged against the mesh of res
// (nil: the data files'), at the severity its labels call for, with
// positions in name.
func (e *Engine) CheckObject(ctx context.Context, res *compiler.Result, name string, data []byte) diag.List {
	t := &target{combinedPos: diag.Pos{File: name}}
	mesh := t.useResult(res)
	return e.run(ctx, t, []source{{path: name, data: data, handWritten: true}}, mesh, false)
}

// useResult takes the intent documents of res for positions, and returns
// its mesh (nil without one: the data files' then).
func (t *target) useResult(res *compiler.Result) any {
	if res == nil {
		return nil
	}
	t.docs = docsByRef(res.Set)
	if res.Model == nil {
		return nil
	}
	return MeshData(res.Model)
}

// manifestFiles expands paths to the YAML and JSON files under them, in
// lexical order. A directory holding intentc's output marker is skipped
// when met during a walk (its objects are checked when compiled), but not
// when named.
func manifestFiles(paths []string) ([]string, diag.List) {
	var diags diag.List
	var files []string
	seen := map[string]bool{}
	add := func(p string) {
		if !seen[p] {
			seen[p] = true
			files = append(files, p)
		}
	}
	for _, root := range paths {
		st, err := os.Stat(root)
		if err != nil {
			diags.Add(diag.CodeReadFile, diag.Pos{File: root}, "cannot read: %v", unwrap(err))
			continue
		}
		if !st.IsDir() {
			add(filepath.Clean(root))
			continue
		}
		err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				diags.Add(diag.CodeReadFile, diag.Pos{File: p}, "cannot read: %v", unwrap(err))
				return nil
			}
			if d.IsDir() {
				if p == root {
					return nil
				}
				if strings.HasPrefix(d.Name(), ".") {
					return filepath.SkipDir
				}
				if _, err := os.Stat(filepath.Join(p, intent.GeneratedMarker)); err == nil {
					return filepath.SkipDir
				}
				return nil
			}
			switch filepath.Ext(p) {
			case ".yaml", ".yml", ".json":
				if !strings.HasPrefix(d.Name(), ".") {
					add(p)
				}
			}
			return nil
		})
		if err != nil {
			diags.Add(diag.CodeReadFile, diag.Pos{File: root}, "cannot read: %v", err)
		}
	}
	return files, diags
}

func readLimited(p string) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, intent.MaxFileSize+1))
	if err == nil && len(data) > intent.MaxFileSize {
		err = errors.New("file is larger than 8 MiB")
	}
	return data, err
}

var yamlLineRE = regexp.MustCompile(`line (\d+)`)

func syntaxPos(file string, err error) diag.Pos {
	if m := yamlLineRE.FindStringSubmatch(err.Error()); m != nil {
		n, _ := strconv.Atoi(m[1])
		return diag.Pos{File: file, Line: n, Col: 1}
	}
	return diag.Pos{File: file}
}

// tagged reports whether a Neutron document's groups carry intentc's
// managed-by tag: the security-group form of the managed-by label.
func tagged(v ast.Value) bool {
	obj, ok := v.(ast.Object)
	if !ok {
		return false
	}
	groups, ok := termValue(obj.Get(ast.StringTerm("security_groups"))).(*ast.Array)
	if !ok {
		return false
	}
	found := false
	groups.Foreach(func(g *ast.Term) {
		if gobj, ok := g.Value.(ast.Object); ok {
			if tags, ok := termValue(gobj.Get(ast.StringTerm("tags"))).(*ast.Array); ok && tags.Until(func(t *ast.Term) bool { return t.Value.Compare(ast.String("managed-by:intentc")) == 0 }) {
				found = true
			}
		}
	})
	return found
}

func termValue(t *ast.Term) ast.Value {
	if t == nil {
		return nil
	}
	return t.Value
}

// markerCache answers "did intentc write this file?" from the
// .intentc-generated marker of the output directory above it, reading
// each marker once.
type markerCache map[string]map[string]bool // directory → files it lists (nil: no marker)

func (m markerCache) generated(file string) bool {
	abs, err := filepath.Abs(file)
	if err != nil {
		return false
	}
	for dir := filepath.Dir(abs); ; dir = filepath.Dir(dir) {
		listed, ok := m[dir]
		if !ok {
			listed = readMarker(dir)
			m[dir] = listed
		}
		if listed != nil {
			rel, err := filepath.Rel(dir, abs)
			return err == nil && listed[filepath.ToSlash(rel)]
		}
		if filepath.Dir(dir) == dir {
			return false
		}
	}
}

func readMarker(dir string) map[string]bool {
	data, err := os.ReadFile(filepath.Join(dir, intent.GeneratedMarker))
	if err != nil {
		return nil
	}
	listed := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); line != "" && !strings.HasPrefix(line, "#") {
			listed[line] = true
		}
	}
	return listed
}
