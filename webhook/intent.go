package webhook

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/intentc/intentc/compiler"
	"github.com/intentc/intentc/compiler/diag"
	"github.com/intentc/intentc/compiler/intent"
	"github.com/intentc/intentc/compiler/ir"
	"github.com/intentc/intentc/compiler/manifest"
)

// NextDigestFile, at the root of the intent directory, declares the digests
// of the intents about to be synced (one per line, # comments): objects
// carrying one of them are admitted while the webhook still holds the
// current intent. It is hidden, so the compiler never reads it as intent.
const NextDigestFile = ".intentc-next-digest"

var digestRE = regexp.MustCompile(`^sha256:[0-9a-f]{16}$`)

// ValidDigest reports whether s has the form of an intent digest
// (intentc.dev/intent-digest).
func ValidDigest(s string) bool { return digestRE.MatchString(s) }

// maxTreeBytes bounds what one load reads from the intent directory, so a
// misdirected --intent-dir (a whole volume) fails instead of eating memory.
const maxTreeBytes = 64 << 20

// objKey identifies an object in a cluster: API group, kind, namespace, name.
type objKey struct{ Group, Kind, Namespace, Name string }

func (k objKey) String() string {
	if k.Namespace == "" {
		return k.Kind + " " + k.Name
	}
	return k.Kind + " " + k.Namespace + "/" + k.Name
}

// desired is one object the intent generates for the cluster.
type desired struct {
	Key    objKey
	Object map[string]any // decoded from the generated YAML
	Source string         // intentc.dev/source
}

// srcFile is one file of the intent directory as it was compiled.
type srcFile struct {
	Rel  string // slash-separated, relative to the intent directory
	Data []byte
}

// Intent is one compiled intent, indexed for the cluster the webhook runs
// in. It is immutable once loaded: the server swaps whole Intents.
type Intent struct {
	Dir     string
	Cluster string
	Digest  string
	// Next are the declared next digests (NextDigestFile and --next-digest).
	Next []string
	// Fingerprint identifies the files compiled (content hash).
	Fingerprint string
	Result      *compiler.Result

	files   []srcFile
	project bool // the directory holds a .intentc.yaml naming its intent dirs

	objects map[objKey]*desired
	// managedNS are the namespaces intentc manages in the cluster.
	managedNS map[string]bool
	rootNS    string
	strict    bool // the mesh's mTLS is strict
	// services are every MeshService by "namespace/name"; placed those
	// placed in this cluster, by namespace.
	services map[string]*ir.Service
	placed   map[string][]*ir.Service
	// vsHosts, drHosts: managed hosts → the managed object routing them.
	vsHosts map[string]objKey
	drHosts map[string]objKey
	// seHosts: hosts an unmanaged ServiceEntry must not claim → the intent
	// object they come from.
	seHosts map[string]string
	// allows are the managed ALLOW AuthorizationPolicies by namespace.
	allows map[string][]*authzPolicy
	// permissive are the target ports declared mtls: permissive, by namespace.
	permissive map[string][]permissivePorts
	docs       map[string]*intent.Document
}

type permissivePorts struct {
	selector map[string]string
	ports    []int32
}

// Generates reports whether the intent generates an object with this key.
func (in *Intent) generates(k objKey) *desired { return in.objects[k] }

// isNext reports whether d is a declared next digest other than the current.
func (in *Intent) isNext(d string) bool { return d != in.Digest && slices.Contains(in.Next, d) }

// LoadIntent reads the intent directory, compiles it and indexes what it
// generates for cluster. extraNext are digests declared on the command line.
// Diagnostics point at the files of dir; a nil Intent means the compile
// failed (errors in the list).
func LoadIntent(dir, cluster string, extraNext []string) (*Intent, diag.List) {
	files, fp, err := readTree(dir)
	if err != nil {
		var diags diag.List
		diags.Add(diag.CodeReadFile, diag.Pos{File: dir}, "cannot read the intent directory: %v", err)
		return nil, diags
	}
	return compileTree(dir, cluster, files, fp, extraNext)
}

// readTree reads what the compiler would: the .yaml/.yml files under dir,
// skipping hidden entries and intentc's output directories, plus the project
// file and NextDigestFile. It reads twice and insists on the same content,
// so a ConfigMap or git-sync swap in the middle of a read is never compiled
// as a mix of two revisions.
func readTree(dir string) ([]srcFile, string, error) {
	var files []srcFile
	var fp string
	for attempt := 0; ; attempt++ {
		a, fa, err := readTreeOnce(dir)
		if err != nil {
			return nil, "", err
		}
		_, fb, err := readTreeOnce(dir)
		if err != nil {
			return nil, "", err
		}
		if fa == fb {
			files, fp = a, fa
			break
		}
		if attempt == 4 {
			return nil, "", fmt.Errorf("%s keeps changing while it is read", dir)
		}
	}
	return files, fp, nil
}

func readTreeOnce(dir string) ([]srcFile, string, error) {
	// A git-sync or ConfigMap root is often a symlink, which WalkDir would
	// not descend into.
	root, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return nil, "", err
	}
	st, err := os.Stat(root)
	if err != nil {
		return nil, "", err
	}
	if !st.IsDir() {
		return nil, "", fmt.Errorf("%s is not a directory", dir)
	}
	var files []srcFile
	total := 0
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if p == root {
				return nil
			}
			if strings.HasPrefix(name, ".") {
				return fs.SkipDir
			}
			if _, err := os.Stat(filepath.Join(p, intent.GeneratedMarker)); err == nil {
				return fs.SkipDir
			}
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		special := rel == intent.ProjectFileName || rel == NextDigestFile
		if !special && (strings.HasPrefix(name, ".") || !(strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml"))) {
			return nil
		}
		// ConfigMap keys are symlinks into ..data: follow them, and skip
		// anything that is not a regular file behind them.
		if fi, err := os.Stat(p); err != nil || !fi.Mode().IsRegular() {
			return nil
		}
		data, err := readLimited(p, intent.MaxFileSize+1)
		if err != nil {
			return err
		}
		total += len(data)
		if total > maxTreeBytes {
			return fmt.Errorf("more than %d MiB of YAML under %s: is --intent-dir the intent directory?", maxTreeBytes>>20, dir)
		}
		files = append(files, srcFile{Rel: rel, Data: data})
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	slices.SortFunc(files, func(a, b srcFile) int { return strings.Compare(a.Rel, b.Rel) })
	h := sha256.New()
	for _, f := range files {
		fmt.Fprintf(h, "%s\x00%d\x00", f.Rel, len(f.Data))
		h.Write(f.Data)
	}
	return files, hex.EncodeToString(h.Sum(nil))[:16], nil
}

func readLimited(p string, n int64) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, n))
}

// stage writes files into a fresh temporary directory; the compiler reads
// this private copy, never the live directory.
func stage(files []srcFile) (string, error) {
	tmp, err := os.MkdirTemp("", "intentc-serve-")
	if err != nil {
		return "", err
	}
	for _, f := range files {
		p := filepath.Join(tmp, filepath.FromSlash(f.Rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			os.RemoveAll(tmp)
			return "", err
		}
		if err := os.WriteFile(p, f.Data, 0o600); err != nil {
			os.RemoveAll(tmp)
			return "", err
		}
	}
	return tmp, nil
}

// compileStaged compiles files (plus extra, relative names that are not in
// the directory) from a private copy, and reports positions in dir.
func compileStaged(dir string, files []srcFile, extra []srcFile) (*compiler.Result, diag.List, error) {
	tmp, err := stage(append(slices.Clone(files), extra...))
	if err != nil {
		return nil, nil, err
	}
	defer os.RemoveAll(tmp)
	paths := []string{tmp}
	var diags diag.List
	if slices.ContainsFunc(files, func(f srcFile) bool { return f.Rel == intent.ProjectFileName }) {
		proj, ds := intent.LoadProject(filepath.Join(tmp, intent.ProjectFileName))
		diags.Append(ds)
		if ds.HasErrors() {
			return nil, relocate(diags, tmp, dir, extra), nil
		}
		paths = proj.IntentPaths()
	}
	for _, e := range extra {
		paths = append(paths, filepath.Join(tmp, filepath.FromSlash(e.Rel)))
	}
	// The webhook reads the objects and writes none: their JSON is what it
	// compares requests with.
	res, ds := compiler.Compile(compiler.Options{Paths: paths, JSONOnly: true})
	diags.Append(ds)
	return res, relocate(diags.Sorted(), tmp, dir, extra), nil
}

// relocate rewrites positions in the staging copy to the directory's own
// paths; files from extra keep their bare names (they exist nowhere else).
func relocate(diags diag.List, tmp, dir string, extra []srcFile) diag.List {
	fix := func(p diag.Pos) diag.Pos {
		rel, err := filepath.Rel(tmp, p.File)
		if p.File == "" || err != nil || strings.HasPrefix(rel, "..") {
			return p
		}
		rel = filepath.ToSlash(rel)
		if slices.ContainsFunc(extra, func(e srcFile) bool { return e.Rel == rel }) {
			p.File = rel
		} else {
			p.File = path.Join(filepath.ToSlash(dir), rel)
		}
		return p
	}
	out := make(diag.List, len(diags))
	for i, d := range diags {
		d.Pos = fix(d.Pos)
		if len(d.Related) > 0 {
			d.Related = slices.Clone(d.Related)
			for j := range d.Related {
				d.Related[j].Pos = fix(d.Related[j].Pos)
			}
		}
		out[i] = d
	}
	return out
}

func compileTree(dir, cluster string, files []srcFile, fp string, extraNext []string) (*Intent, diag.List) {
	res, diags, err := compileStaged(dir, files, nil)
	if err != nil {
		diags.Add(diag.CodeReadFile, diag.Pos{File: dir}, "cannot stage the intent for compiling: %v", err)
		return nil, diags
	}
	next, ds := nextDigests(dir, files, extraNext)
	diags.Append(ds)
	if diags.HasErrors() {
		return nil, diags.Sorted()
	}
	if res.Model.Cluster(cluster) == nil {
		var names []string
		for _, c := range res.Model.Clusters {
			names = append(names, c.Name)
		}
		diags.Add(diag.CodeServeCluster, diag.Pos{File: dir}, "--cluster %q is not a MeshCluster of the intent (clusters: %s)", cluster, strings.Join(names, ", "))
		return nil, diags.Sorted()
	}
	in, err := index(dir, cluster, res)
	if err != nil {
		diags.Add(diag.CodeReadFile, diag.Pos{File: dir}, "cannot read the compiled output back: %v", err)
		return nil, diags.Sorted()
	}
	in.Next = next
	in.Fingerprint = fp
	in.files = files
	return in, diags.Sorted()
}

// nextDigests reads NextDigestFile and adds the command line's digests.
func nextDigests(dir string, files []srcFile, extra []string) ([]string, diag.List) {
	var diags diag.List
	var out []string
	for _, d := range extra {
		d = strings.TrimSpace(d)
		if !digestRE.MatchString(d) {
			diags.Add(diag.CodeServeNextDigest, diag.Pos{}, "--next-digest %q is not a digest of the form sha256:<16 hex digits>", d)
			continue
		}
		out = append(out, d)
	}
	i := slices.IndexFunc(files, func(f srcFile) bool { return f.Rel == NextDigestFile })
	if i >= 0 {
		name := path.Join(filepath.ToSlash(dir), NextDigestFile)
		sc := bufio.NewScanner(bytes.NewReader(files[i].Data))
		for n := 1; sc.Scan(); n++ {
			line, _, _ := strings.Cut(sc.Text(), "#")
			line = strings.TrimSpace(line)
			if line == "" {
				continue
			}
			if !digestRE.MatchString(line) {
				diags.Add(diag.CodeServeNextDigest, diag.Pos{File: name, Line: n, Col: 1}, "%q is not a digest of the form sha256:<16 hex digits>", line)
				continue
			}
			out = append(out, line)
		}
	}
	slices.Sort(out)
	return slices.Compact(out), diags
}

// index reads the cluster's generated objects back and derives what the
// rules need.
func index(dir, cluster string, res *compiler.Result) (*Intent, error) {
	m := res.Model
	in := &Intent{
		Dir: dir, Cluster: cluster, Digest: m.Digest, Result: res,
		objects:    map[objKey]*desired{},
		managedNS:  map[string]bool{},
		rootNS:     m.Mesh.RootNamespace,
		strict:     m.Mesh.MTLS != "permissive",
		services:   map[string]*ir.Service{},
		placed:     map[string][]*ir.Service{},
		vsHosts:    map[string]objKey{},
		drHosts:    map[string]objKey{},
		seHosts:    map[string]string{},
		allows:     map[string][]*authzPolicy{},
		permissive: map[string][]permissivePorts{},
		docs:       map[string]*intent.Document{},
	}
	c := m.Cluster(cluster)
	for _, ns := range m.ManagedNamespaces(c) {
		in.managedNS[ns] = true
	}
	for _, s := range m.Services {
		in.services[s.Namespace+"/"+s.Name] = s
		in.seHosts[s.Host()] = s.Src.Ref()
		if s.PlacedIn(c) {
			in.placed[s.Namespace] = append(in.placed[s.Namespace], s)
			var ports []int32
			for _, p := range s.Ports {
				if p.Permissive {
					ports = append(ports, p.TargetPort)
				}
			}
			if len(ports) > 0 {
				in.permissive[s.Namespace] = append(in.permissive[s.Namespace], permissivePorts{s.Selector, ports})
			}
		}
	}
	if res.Set != nil {
		for _, d := range res.Set.Docs {
			if _, dup := in.docs[d.Ref()]; !dup {
				in.docs[d.Ref()] = d
			}
		}
	}
	prefix := "clusters/" + cluster + "/"
	for _, f := range res.Files {
		rest, ok := strings.CutPrefix(f.Path, prefix)
		// Patches are partial objects another installer owns (the
		// east-west gateway Service): there is nothing whole to compare.
		if !ok || rest == manifest.KustomizationFileName || strings.HasPrefix(path.Base(rest), "patch-") {
			continue
		}
		obj, err := decodeJSON(f.JSON)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.Path, err)
		}
		k := keyOf(obj)
		d := &desired{Key: k, Object: obj, Source: str(obj, "metadata", "annotations", manifest.AnnotationSource)}
		in.objects[k] = d
		switch k.Group + "/" + k.Kind {
		case "networking.istio.io/VirtualService":
			if appliesToMesh(obj) {
				for _, h := range strs(obj, "spec", "hosts") {
					in.vsHosts[fqdn(h, k.Namespace)] = k
				}
			}
		case "networking.istio.io/DestinationRule":
			if h := str(obj, "spec", "host"); h != "" {
				in.drHosts[fqdn(h, k.Namespace)] = k
			}
		case "networking.istio.io/ServiceEntry":
			for _, h := range strs(obj, "spec", "hosts") {
				in.seHosts[fqdn(h, k.Namespace)] = d.Source
			}
		case "security.istio.io/AuthorizationPolicy":
			if a := str(obj, "spec", "action"); a == "" || a == "ALLOW" {
				in.allows[k.Namespace] = append(in.allows[k.Namespace], parseAuthz(obj))
			}
		}
	}
	return in, nil
}

// decodeJSON decodes an object keeping numbers exact.
func decodeJSON(b []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	if m == nil {
		return nil, fmt.Errorf("not an object")
	}
	return m, nil
}

func keyOf(obj map[string]any) objKey {
	group, _, _ := strings.Cut(str(obj, "apiVersion"), "/")
	if !strings.Contains(str(obj, "apiVersion"), "/") {
		group = "" // core: "v1"
	}
	return objKey{Group: group, Kind: str(obj, "kind"), Namespace: str(obj, "metadata", "namespace"), Name: str(obj, "metadata", "name")}
}

// str reads a string at a path of map keys ("" when absent).
func str(obj map[string]any, keys ...string) string {
	s, _ := lookup(obj, keys...).(string)
	return s
}

// strs reads a list of strings at a path.
func strs(obj map[string]any, keys ...string) []string {
	l, _ := lookup(obj, keys...).([]any)
	var out []string
	for _, x := range l {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func lookup(obj map[string]any, keys ...string) any {
	var cur any = obj
	for _, k := range keys {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[k]
	}
	return cur
}

// labelsAt reads a string map at a path.
func labelsAt(obj map[string]any, keys ...string) map[string]string {
	m, _ := lookup(obj, keys...).(map[string]any)
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		if s, ok := v.(string); ok {
			out[k] = s
		}
	}
	return out
}

// fqdn resolves a host as Istio does: a name without dots is short for a
// Service in the object's namespace; anything with a dot is taken as is.
func fqdn(host, ns string) string {
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	if ns != "" && h != "" && !strings.Contains(h, ".") && !strings.Contains(h, "*") {
		return h + "." + ns + ".svc.cluster.local"
	}
	return h
}

// appliesToMesh reports whether a VirtualService routes sidecar traffic:
// no gateways, or the reserved gateway "mesh" among them.
func appliesToMesh(vs map[string]any) bool {
	gws := strs(vs, "spec", "gateways")
	return len(gws) == 0 || slices.Contains(gws, "mesh")
}
