package verify

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"maps"
	"net/netip"
	"path"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"go.yaml.in/yaml/v3"

	"github.com/intentc/intentc/compiler/diag"
	"github.com/intentc/intentc/compiler/ir"
	"github.com/intentc/intentc/compiler/manifest"
	"github.com/intentc/intentc/internal/fastyaml"
)

// Options tune what an Analyzer reads besides the manifests.
type Options struct {
	// Ports is the union of security groups per node port (from `intentc
	// openstack plan`). Without it layer 1 is judged for intentc's group
	// alone.
	Ports *PortInventory
}

// Analyzer judges connections against manifests and the inventory of an
// intent (its MeshClusters, MeshServices and Mesh settings). It never
// changes after New, so it may be used from several goroutines.
type Analyzer struct {
	model    *ir.Model
	clusters map[string]*clusterView
	// groups are the security groups read, by "cloud/project/name".
	groups map[string]*secGroup
	ports  *PortInventory
	// mesh-wide facts
	root  string
	hosts map[*ir.Service]string // each service's Host(), built once
	fixed fixedSets
	cache *analyzerCache
	// terse: decisions carry no text (the proof builds text only for the
	// connections it reports, by judging them again).
	terse bool
}

// fixedSets are the address sets and pods every judged connection asks
// for, built in New for the model's clusters and services and read
// without a lock; the memos of analyzerCache hold the rest.
type fixedSets struct {
	pods     map[*ir.Cluster]keyedSet // podAddrs
	common   map[[2]*ir.Cluster]keyedSet
	eastWest map[*ir.Cluster]keyedSet // the east-west gateway's address, when it is one
	svcPods  map[*ir.Service]*l2Pod   // podOf
}

// analyzerCache memoises what every connection to a service asks; shared
// by copies of an Analyzer.
type analyzerCache struct {
	mu   sync.Mutex
	pods map[*ir.Service]*l2Pod
	sets map[string]ipSet
}

// hostOf is s.Host(), without building it again.
func (a *Analyzer) hostOf(s *ir.Service) string {
	if h, ok := a.hosts[s]; ok {
		return h
	}
	return s.Host()
}

// textf formats a decision's text, unless the analyzer is terse.
func (a *Analyzer) textf(format string, args ...any) string {
	if a.terse {
		return ""
	}
	return fmt.Sprintf(format, args...)
}

// cat is textf for texts that are only concatenated.
func (a *Analyzer) cat(parts ...string) string {
	if a.terse {
		return ""
	}
	return strings.Join(parts, "")
}

// clusterView is everything read for one cluster.
type clusterView struct {
	c        *ir.Cluster
	nsLabels map[string]map[string]string
	ewPod    *l2Pod // the east-west gateway's pods, with their view key

	// memo of the policies that select a pod or workload
	mu      sync.Mutex
	selMemo map[selKey][]*netpol
	apMemo  map[string][2][]*authzPolicy
	l4Memo  map[l4Key]l4Result // terse answers of l4Mode

	netpols   map[string]*selIndex[*netpol] // by namespace
	authz     map[string]*selIndex[*authzPolicy]
	peerAuthn map[string][]*peerAuthn
	destRules map[string][]*destRule // by host
	virtSvcs  map[string][]*virtualService
	svcEntry  map[string][]*serviceEntry // by host
	services  map[string]*k8sService     // ns/name
	// Objects of engines verify does not model.
	unknownL2 []*unknownObj
	unknownL3 []*unknownObj
}

type unknownObj struct {
	ref       *ObjRef
	namespace string // "" when cluster-scoped
	engine    string
}

// selIndex finds the policies whose workload selector may match a set of
// labels without scanning every policy of a namespace: each policy is filed
// under one of its matchLabels pairs, or under all when it has none.
type selIndex[T any] struct {
	all []T
	by  map[string][]T
	n   int
}

func (ix *selIndex[T]) add(key string, v T) {
	ix.n++
	if key == "" {
		ix.all = append(ix.all, v)
		return
	}
	if ix.by == nil {
		ix.by = map[string][]T{}
	}
	ix.by[key] = append(ix.by[key], v)
}

func (ix *selIndex[T]) candidates(labels map[string]string, order func(a, b T) int) []T {
	if ix == nil {
		return nil
	}
	out := slices.Clone(ix.all)
	for k, v := range labels {
		out = append(out, ix.by[k+"="+v]...)
	}
	slices.SortFunc(out, order)
	return out
}

// every returns all the policies filed.
func (ix *selIndex[T]) every(order func(a, b T) int) []T {
	if ix == nil {
		return nil
	}
	out := slices.Clone(ix.all)
	for _, vs := range ix.by {
		out = append(out, vs...)
	}
	slices.SortFunc(out, order)
	return out
}

func indexKey(ml map[string]string) string {
	if len(ml) == 0 {
		return ""
	}
	k := slices.Min(slices.Collect(maps.Keys(ml)))
	return k + "=" + ml[k]
}

type netpol struct {
	ref      *ObjRef
	ns       string
	pods     *selector
	ingress  bool
	egress   bool
	inRules  []npRuleC
	outRules []npRuleC
	invalid  string
}

type npRuleC struct {
	index int
	line  int
	peers []npPeerC // empty: every peer
	ports portSet
}

type npPeerC struct {
	pods, namespaces *selector
	block            ipSet
	isBlock          bool
	text             string
}

type authzPolicy struct {
	ref       *ObjRef
	ns        string
	selector  map[string]string // nil: every workload in scope
	targeted  bool              // targetRef(s): applies to waypoints/gateways
	action    string
	provider  string
	rules     []apRuleC
	dryRun    bool
	rootScope bool
}

type apRuleC struct {
	index    int
	line     int
	raw      apRule
	from     []apSourceC
	httpOnly bool // ruleHTTPOnly(raw), asked for every request judged
}

type apSourceC struct {
	ipBlocks, notIPBlocks, remote, notRemote ipSet
	bad                                      []string
}

type peerAuthn struct {
	ref      *ObjRef
	ns       string
	selector map[string]string
	mode     string
	ports    map[int32]string
}

type destRule struct {
	ref      *ObjRef
	ns       string
	host     string
	exportTo []string
	spec     *destinationRuleSpec
	wsel     bool
}

type virtualService struct {
	ref  *ObjRef
	ns   string
	spec *virtualServiceSpec
}

type serviceEntry struct {
	ref  *ObjRef
	ns   string
	spec *serviceEntrySpec
}

type k8sService struct {
	ref  *ObjRef
	spec *serviceSpec
}

type secGroup struct {
	ref   *ObjRef
	cloud string
	proj  string
	name  string
	id    string
	rules []secRule
}

type secRule struct {
	index   int
	ingress bool
	eth     string // IPv4 | IPv6
	proto   string // "" = any, else lower-case name or number
	lo, hi  int32  // 0,0 = every port
	remote  ipSet  // nil with group set
	group   string // remote group name or id
	anyAddr bool   // no remote at all: every address of eth
	text    string
	line    int
}

// New reads manifests (YAML or JSON, as intentc writes them or by hand)
// for the clusters of model. A file under clusters/<name>/ applies to that
// cluster; any other Kubernetes manifest applies to every cluster. Security
// groups are read from Neutron JSON ({"security_groups": [...]}).
// Problems are reported as IC5006 (unreadable) and IC5007 (objects of
// engines verify does not model) at the manifest's file:line. The files'
// bytes are read in place, not copied: they must not change while the
// Analyzer is in use.
func New(model *ir.Model, files []manifest.File, opts Options) (*Analyzer, diag.List) {
	a := &Analyzer{
		model:    model,
		clusters: map[string]*clusterView{},
		groups:   map[string]*secGroup{},
		ports:    opts.Ports,
		root:     cmp.Or(model.Mesh.RootNamespace, "istio-system"),
		cache:    &analyzerCache{pods: map[*ir.Service]*l2Pod{}, sets: map[string]ipSet{}},
		hosts:    map[*ir.Service]string{},
	}
	a.fixed = fixedSets{pods: map[*ir.Cluster]keyedSet{}, common: map[[2]*ir.Cluster]keyedSet{},
		eastWest: map[*ir.Cluster]keyedSet{}, svcPods: map[*ir.Service]*l2Pod{}}
	for _, s := range model.Services {
		a.hosts[s] = s.Host()
		a.fixed.svcPods[s] = a.podOf(s)
	}
	for _, x := range model.Clusters {
		a.fixed.pods[x] = keyed(a.podAddrs(x))
		for _, y := range model.Clusters {
			a.fixed.common[[2]*ir.Cluster{x, y}] = keyed(a.common(x, y))
		}
		if ew := x.EastWest; ew != nil {
			if s, ok := a.addr(ew.Address); ok {
				a.fixed.eastWest[x] = keyed(s)
			}
		}
	}
	for _, c := range model.Clusters {
		a.clusters[c.Name] = &clusterView{
			c: c, nsLabels: map[string]map[string]string{},
			selMemo: map[selKey][]*netpol{}, apMemo: map[string][2][]*authzPolicy{}, l4Memo: map[l4Key]l4Result{},
			netpols: map[string]*selIndex[*netpol]{}, authz: map[string]*selIndex[*authzPolicy]{},
			peerAuthn: map[string][]*peerAuthn{}, destRules: map[string][]*destRule{},
			virtSvcs: map[string][]*virtualService{}, svcEntry: map[string][]*serviceEntry{},
			services: map[string]*k8sService{},
		}
		if ew := c.EastWest; ew != nil {
			pod := &l2Pod{ns: ew.Namespace, labels: ew.Selector}
			pod.viewKey()
			a.clusters[c.Name].ewPod = pod
		}
	}
	var diags diag.List
	// Kustomize patches are fragments of objects another installer owns
	// (the east-west gateway Service), not objects of their own.
	patches := map[string]bool{}
	for _, f := range files {
		if path.Base(f.Path) == "kustomization.yaml" || path.Base(f.Path) == "kustomization.yml" {
			var k struct {
				Patches []struct {
					Path string `yaml:"path"`
				} `yaml:"patches"`
				PatchesStrategicMerge []string `yaml:"patchesStrategicMerge"`
			}
			if err := yaml.Unmarshal(f.Data, &k); err == nil {
				dir := path.Dir(f.Path)
				for _, p := range k.Patches {
					patches[path.Join(dir, p.Path)] = true
				}
				for _, p := range k.PatchesStrategicMerge {
					patches[path.Join(dir, p)] = true
				}
			}
		}
	}
	// Parsing is most of the cost of reading a large output: it runs on
	// every core; what the documents mean is applied in file order.
	type prepared = func([]*clusterView, *diag.List)
	parsed := make([][]prepared, len(files))
	errs := make([]error, len(files))
	skip := func(f manifest.File) bool {
		base := path.Base(f.Path)
		return patches[f.Path] || base == "kustomization.yaml" || base == "kustomization.yml" || strings.HasPrefix(base, ".")
	}
	// A compile writes many files byte for byte the same in several
	// clusters (a quarter of them over 3 clusters, nearly half over 20):
	// such files are parsed once, and their nodes, which nothing writes
	// to, read for each of them. Each file's hash is taken on every core;
	// grouping by it, in file order, is then cheap enough to stay serial
	// (grouping by the text in one map took 0.46 s of a 4.3 s read at
	// 190,000 files).
	workers := max(1, runtime.GOMAXPROCS(0))
	hashes := make([]uint64, len(files))
	eachIndex(len(files), workers, func(i int) {
		if !skip(files[i]) {
			hashes[i] = maphash.Bytes(hashSeed, files[i].Data)
		}
	})
	groupsOf := map[uint64][]int{} // hash → the groups (indexes in same) with it
	var same [][]int               // the files of each text, in the order first seen
	for i, f := range files {
		if skip(f) {
			continue
		}
		g := -1
		for _, k := range groupsOf[hashes[i]] {
			if bytes.Equal(files[same[k][0]].Data, f.Data) {
				g = k
				break
			}
		}
		if g < 0 {
			g = len(same)
			same = append(same, nil)
			groupsOf[hashes[i]] = append(groupsOf[hashes[i]], g)
		}
		same[g] = append(same[g], i)
	}
	eachIndex(len(same), workers, func(g int) {
		group := same[g]
		docs, err := parseDocs(files[group[0]].Data)
		for _, i := range group {
			errs[i] = err
			cluster := clusterOfPath(files[i].Path)
			for _, d := range docs {
				if f := a.prepareDoc(files[i].Path, cluster, d); f != nil {
					parsed[i] = append(parsed[i], f)
				}
			}
		}
	})
	unknownClusters := map[string]bool{}
	for i, f := range files {
		if skip(f) {
			continue
		}
		cluster := clusterOfPath(f.Path)
		var views []*clusterView
		switch {
		case cluster == "":
			for _, c := range model.Clusters {
				views = append(views, a.clusters[c.Name])
			}
		case a.clusters[cluster] != nil:
			views = []*clusterView{a.clusters[cluster]}
		default:
			if !unknownClusters[cluster] {
				unknownClusters[cluster] = true
				diags.Add(diag.CodeVerifyUnknownCluster, diag.Pos{File: f.Path},
					"manifests for cluster %q, which no MeshCluster of the inventory defines; they are not judged", cluster)
			}
			continue
		}
		for _, apply := range parsed[i] {
			apply(views, &diags)
		}
		if errs[i] != nil {
			diags.Add(diag.CodeVerifyUnreadable, yamlErrPos(f.Path, errs[i]), "cannot read manifest: %v", errs[i])
		}
	}
	return a, diags.Sorted()
}

var hashSeed = maphash.MakeSeed()

// eachIndex runs f(0..n-1) on workers goroutines, which take the next
// index from a counter: handing indexes over a channel made each wait for
// the feeding goroutine to be scheduled, and the read ran at about one
// core of two.
func eachIndex(n, workers int, f func(int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(workers, n) {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				f(i)
			}
		})
	}
	wg.Wait()
}

// clusterOfPath returns <name> for a path with a clusters/<name>/ segment.
func clusterOfPath(p string) string {
	segs := strings.Split(p, "/")
	for i := 0; i+2 < len(segs); i++ {
		if segs[i] == "clusters" {
			return segs[i+1]
		}
	}
	return ""
}

func mapGet(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

func seqLines(n *yaml.Node) []int {
	if n == nil || n.Kind != yaml.SequenceNode {
		return nil
	}
	out := make([]int, len(n.Content))
	for i, c := range n.Content {
		out[i] = c.Line
	}
	return out
}

func lineAt(lines []int, i int) int {
	if i < len(lines) {
		return lines[i]
	}
	return 0
}

// parseDocs parses every document of a file (up to the first syntax
// error), keeping the mappings.
func parseDocs(data []byte) ([]*yaml.Node, error) {
	if docs, _, err := fastyaml.Parse(data); err == nil {
		return docs, nil
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var out []*yaml.Node
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		if len(doc.Content) > 0 && doc.Content[0].Kind == yaml.MappingNode {
			out = append(out, doc.Content[0])
		}
	}
}

var yamlLineRE = func(s string) int {
	// yaml.v3 errors read "yaml: line N: ..."
	if _, rest, ok := strings.Cut(s, "line "); ok {
		num, _, _ := strings.Cut(rest, ":")
		if n, err := strconv.Atoi(num); err == nil {
			return n
		}
	}
	return 0
}

func yamlErrPos(file string, err error) diag.Pos {
	if l := yamlLineRE(err.Error()); l > 0 {
		return diag.Pos{File: file, Line: l, Col: 1}
	}
	return diag.Pos{File: file}
}

// prepareDoc decodes one document (on any goroutine: it touches nothing
// shared) and returns what applying it to the clusters' views does, in
// file order.
func (a *Analyzer) prepareDoc(file, cluster string, n *yaml.Node) func(views []*clusterView, diags *diag.List) {
	pos := diag.Pos{File: file, Line: n.Line, Col: n.Column}
	var ds diag.List
	done := func(f func(views []*clusterView)) func([]*clusterView, *diag.List) {
		return func(views []*clusterView, diags *diag.List) {
			diags.Append(ds)
			if f != nil {
				f(views)
			}
		}
	}
	if mapGet(n, "security_groups") != nil {
		var sf sgFile
		if err := decode(n, &sf); err != nil {
			ds.Add(diag.CodeVerifyUnreadable, pos, "cannot read security groups: %v", err)
			return done(nil)
		}
		return done(func([]*clusterView) { a.addGroups(file, n, &sf) })
	}
	if mapGet(n, "heat_template_version") != nil {
		return nil // the Heat form repeats the JSON form, which is what is judged
	}
	var h header
	if err := decode(n, &h); err != nil || h.Kind == "" {
		return nil // not a Kubernetes object
	}
	g := h.group()
	if g == "intentc.dev" || strings.HasSuffix(g, ".intentc.dev") {
		return nil // intent documents are the inventory, read elsewhere
	}
	ref := &ObjRef{Kind: h.Kind, Namespace: h.Metadata.Namespace, Name: h.Metadata.Name, Cluster: cluster, File: file, Line: n.Line}
	if s := h.Metadata.Annotations[annSource]; s != "" {
		ref.Sources = strings.Split(s, ",")
	}
	ns := cmp.Or(h.Metadata.Namespace, "default")
	spec := mapGet(n, "spec")
	decode := func(v any) bool {
		if spec == nil {
			return true
		}
		if err := decode(spec, v); err != nil {
			ds.Add(diag.CodeVerifyUnreadable, diag.Pos{File: file, Line: spec.Line, Col: spec.Column}, "%s %s/%s: %v", h.Kind, ns, h.Metadata.Name, err)
			return false
		}
		return true
	}
	unknown := func(engine string, namespaced bool, l3 bool) func([]*clusterView, *diag.List) {
		u := &unknownObj{ref: ref, engine: engine}
		if namespaced {
			u.namespace = ns
		}
		ds.Add(diag.CodeVerifyUnmodeled, pos, "%s %s is an object of %s, which verify does not model: verdicts it could change are reported as unknown", h.Kind, strings.TrimPrefix(ns+"/"+h.Metadata.Name, "/"), engine)
		return done(func(views []*clusterView) {
			for _, v := range views {
				if l3 {
					v.unknownL3 = append(v.unknownL3, u)
				} else {
					v.unknownL2 = append(v.unknownL2, u)
				}
			}
		})
	}
	switch {
	case g == "networking.k8s.io" && h.Kind == "NetworkPolicy":
		var s networkPolicySpec
		if !decode(&s) {
			return done(nil)
		}
		np := compileNetpol(ref, ns, &s, spec)
		if np.invalid != "" {
			ds.Add(diag.CodeVerifyUnreadable, pos, "NetworkPolicy %s/%s: %s; it is judged as selecting nothing", ns, h.Metadata.Name, np.invalid)
		}
		key := ""
		if np.pods != nil && len(np.pods.MatchLabels) > 0 {
			key = indexKey(np.pods.MatchLabels)
		}
		return done(func(views []*clusterView) {
			for _, v := range views {
				ix := v.netpols[ns]
				if ix == nil {
					ix = &selIndex[*netpol]{}
					v.netpols[ns] = ix
				}
				ix.add(key, np)
			}
		})
	case g == "security.istio.io" && h.Kind == "AuthorizationPolicy":
		var s authorizationPolicySpec
		if !decode(&s) {
			return done(nil)
		}
		ap := a.compileAuthz(ref, ns, &s, spec, h.Metadata.Annotations[annDryRun] == "true")
		return done(func(views []*clusterView) {
			for _, v := range views {
				ix := v.authz[ns]
				if ix == nil {
					ix = &selIndex[*authzPolicy]{}
					v.authz[ns] = ix
				}
				ix.add(indexKey(ap.selector), ap)
			}
		})
	case g == "security.istio.io" && h.Kind == "PeerAuthentication":
		var s peerAuthenticationSpec
		if !decode(&s) {
			return done(nil)
		}
		pa := &peerAuthn{ref: ref, ns: ns, ports: map[int32]string{}}
		if s.Selector != nil {
			pa.selector = s.Selector.MatchLabels
			if pa.selector == nil {
				pa.selector = map[string]string{}
			}
		}
		if s.MTLS != nil {
			pa.mode = strings.ToUpper(s.MTLS.Mode)
		}
		for k, m := range s.PortLevelMTLS {
			if p, err := strconv.Atoi(k); err == nil {
				pa.ports[int32(p)] = strings.ToUpper(m.Mode)
			}
		}
		return done(func(views []*clusterView) {
			for _, v := range views {
				v.peerAuthn[ns] = append(v.peerAuthn[ns], pa)
			}
		})
	case g == "networking.istio.io" && h.Kind == "DestinationRule":
		var s destinationRuleSpec
		if !decode(&s) {
			return done(nil)
		}
		dr := &destRule{ref: ref, ns: ns, host: fqdn(s.Host, ns), exportTo: s.ExportTo, spec: &s, wsel: s.WorkloadSelector != nil}
		return done(func(views []*clusterView) {
			for _, v := range views {
				v.destRules[dr.host] = append(v.destRules[dr.host], dr)
			}
		})
	case g == "networking.istio.io" && h.Kind == "VirtualService":
		var s virtualServiceSpec
		if !decode(&s) {
			return done(nil)
		}
		vs := &virtualService{ref: ref, ns: ns, spec: &s}
		return done(func(views []*clusterView) {
			for _, v := range views {
				for _, host := range s.Hosts {
					h := fqdn(host, ns)
					v.virtSvcs[h] = append(v.virtSvcs[h], vs)
				}
			}
		})
	case g == "networking.istio.io" && h.Kind == "ServiceEntry":
		var s serviceEntrySpec
		if !decode(&s) {
			return done(nil)
		}
		se := &serviceEntry{ref: ref, ns: ns, spec: &s}
		return done(func(views []*clusterView) {
			for _, v := range views {
				for _, host := range s.Hosts {
					v.svcEntry[strings.ToLower(host)] = append(v.svcEntry[strings.ToLower(host)], se)
				}
			}
		})
	case g == "networking.istio.io" && h.Kind == "EnvoyFilter":
		return unknown("an Istio EnvoyFilter (it can rewrite the sidecar's authorization)", true, true)
	case g == "" && h.Kind == "Service":
		var s serviceSpec
		if !decode(&s) {
			return done(nil)
		}
		svc := &k8sService{ref: ref, spec: &s}
		return done(func(views []*clusterView) {
			for _, v := range views {
				v.services[ns+"/"+h.Metadata.Name] = svc
			}
		})
	case g == "" && h.Kind == "Namespace":
		labels := maps.Clone(h.Metadata.Labels)
		if labels == nil {
			labels = map[string]string{}
		}
		labels[nsNameKey] = h.Metadata.Name
		return done(func(views []*clusterView) {
			for _, v := range views {
				v.nsLabels[h.Metadata.Name] = labels
			}
		})
	case g == "policy.networking.k8s.io":
		return unknown("the AdminNetworkPolicy API (evaluated before NetworkPolicy)", false, false)
	case g == "crd.projectcalico.org" || g == "projectcalico.org":
		return unknown("Calico", strings.HasPrefix(h.Kind, "NetworkPolicy") || strings.HasPrefix(h.Kind, "Staged") && !strings.Contains(h.Kind, "Global"), false)
	case g == "cilium.io" && strings.Contains(h.Kind, "Policy"):
		return unknown("Cilium", !strings.Contains(h.Kind, "Clusterwide"), false)
	}
	return nil
}

// fqdn expands a short Istio host name the way Istio does, relative to the
// namespace of the object that names it.
func fqdn(host, ns string) string {
	host = strings.ToLower(host)
	if strings.Contains(host, "*") {
		return host
	}
	switch strings.Count(host, ".") {
	case 0:
		return host + "." + ns + ".svc.cluster.local"
	case 1:
		if !strings.HasSuffix(host, ".svc") {
			return host + ".svc.cluster.local"
		}
	}
	if strings.HasSuffix(host, ".svc") {
		return host + ".cluster.local"
	}
	return host
}

func compileNetpol(ref *ObjRef, ns string, s *networkPolicySpec, spec *yaml.Node) *netpol {
	np := &netpol{ref: ref, ns: ns, pods: s.PodSelector}
	if np.pods == nil {
		np.pods = &selector{}
	}
	if err := np.pods.valid(); err != nil {
		np.invalid = "podSelector: " + err.Error()
	}
	// policyTypes defaults as the API server defaults it: Ingress always,
	// Egress when there are egress rules.
	if len(s.PolicyTypes) == 0 {
		np.ingress = true
		np.egress = len(s.Egress) > 0
	}
	for _, t := range s.PolicyTypes {
		switch t {
		case "Ingress":
			np.ingress = true
		case "Egress":
			np.egress = true
		}
	}
	inLines := seqLines(mapGet(spec, "ingress"))
	for i, r := range s.Ingress {
		rc := compileNPRule(i, lineAt(inLines, i), r.From, r.Ports, &np.invalid)
		np.inRules = append(np.inRules, rc)
	}
	outLines := seqLines(mapGet(spec, "egress"))
	for i, r := range s.Egress {
		rc := compileNPRule(i, lineAt(outLines, i), r.To, r.Ports, &np.invalid)
		np.outRules = append(np.outRules, rc)
	}
	if np.invalid != "" {
		// The API server would refuse the object; judge it as absent.
		np.ingress, np.egress = false, false
	}
	return np
}

func compileNPRule(i, line int, peers []npPeer, ports []npPort, invalid *string) npRuleC {
	rc := npRuleC{index: i, line: line}
	if len(ports) == 0 {
		rc.ports = allPorts()
	}
	for _, p := range ports {
		proto := cmp.Or(strings.ToUpper(p.Protocol), "TCP")
		switch {
		case !p.Port.set:
			rc.ports.add(proto, 1, 65535)
		case p.Port.isInt:
			hi := p.Port.i
			if p.EndPort != nil {
				hi = *p.EndPort
			}
			if p.Port.i < 1 || hi > 65535 || hi < p.Port.i {
				*invalid = fmt.Sprintf("invalid port range %d-%d", p.Port.i, hi)
				continue
			}
			rc.ports.add(proto, p.Port.i, hi)
		default:
			if rc.ports.named == nil {
				rc.ports.named = map[string][]string{}
			}
			rc.ports.named[proto] = append(rc.ports.named[proto], p.Port.s)
		}
	}
	for _, p := range peers {
		pc := npPeerC{pods: p.PodSelector, namespaces: p.NamespaceSelector}
		var parts []string
		if p.IPBlock != nil {
			pc.isBlock = true
			c, err := parsePrefix(p.IPBlock.CIDR)
			if err != nil {
				*invalid = fmt.Sprintf("ipBlock %q: %v", p.IPBlock.CIDR, err)
				continue
			}
			pc.block = setOf(c)
			exc, bad := parsePrefixes(p.IPBlock.Except)
			if len(bad) > 0 {
				*invalid = fmt.Sprintf("ipBlock except %q does not parse", bad[0])
			}
			pc.block = pc.block.subtract(setOf(exc...))
			t := "ipBlock " + c.String()
			if len(p.IPBlock.Except) > 0 {
				t += " except " + strings.Join(p.IPBlock.Except, ",")
			}
			parts = append(parts, t)
		}
		if p.NamespaceSelector != nil {
			if err := p.NamespaceSelector.valid(); err != nil {
				*invalid = "namespaceSelector: " + err.Error()
			}
			parts = append(parts, "namespaces "+p.NamespaceSelector.String())
		}
		if p.PodSelector != nil {
			if err := p.PodSelector.valid(); err != nil {
				*invalid = "podSelector: " + err.Error()
			}
			parts = append(parts, "pods "+p.PodSelector.String())
		}
		pc.text = strings.Join(parts, " and ")
		rc.peers = append(rc.peers, pc)
	}
	return rc
}

func (a *Analyzer) compileAuthz(ref *ObjRef, ns string, s *authorizationPolicySpec, spec *yaml.Node, dryRun bool) *authzPolicy {
	ap := &authzPolicy{ref: ref, ns: ns, action: cmp.Or(strings.ToUpper(s.Action), "ALLOW"), dryRun: dryRun,
		targeted: s.TargetRef != nil || len(s.TargetRefs) > 0, rootScope: ns == a.root}
	if s.Selector != nil {
		ap.selector = s.Selector.MatchLabels
		if ap.selector == nil {
			ap.selector = map[string]string{}
		}
	}
	if s.Provider != nil {
		ap.provider = s.Provider.Name
	}
	lines := seqLines(mapGet(spec, "rules"))
	for i, r := range s.Rules {
		rc := apRuleC{index: i, line: lineAt(lines, i), raw: r, httpOnly: ruleHTTPOnly(r)}
		for _, f := range r.From {
			sc := apSourceC{}
			var ps []netip.Prefix
			ps, sc.bad = parsePrefixes(f.Source.IPBlocks)
			sc.ipBlocks = setOf(ps...)
			ps, bad := parsePrefixes(f.Source.NotIPBlocks)
			sc.notIPBlocks, sc.bad = setOf(ps...), append(sc.bad, bad...)
			ps, bad = parsePrefixes(f.Source.RemoteIPBlocks)
			sc.remote, sc.bad = setOf(ps...), append(sc.bad, bad...)
			ps, bad = parsePrefixes(f.Source.NotRemoteIPBlocks)
			sc.notRemote, sc.bad = setOf(ps...), append(sc.bad, bad...)
			rc.from = append(rc.from, sc)
		}
		ap.rules = append(ap.rules, rc)
	}
	return ap
}

func (a *Analyzer) addGroups(file string, n *yaml.Node, sf *sgFile) {
	groupsNode := mapGet(n, "security_groups")
	lines := seqLines(groupsNode)
	for gi, g := range sf.Groups {
		ref := &ObjRef{Kind: "SecurityGroup", Name: g.Name, File: file, Line: lineAt(lines, gi)}
		sg := &secGroup{ref: ref, cloud: sf.Cloud, proj: sf.Project, name: g.Name, id: g.ID}
		var ruleLines []int
		if gi < len(groupsNode.Content) {
			ruleLines = seqLines(mapGet(groupsNode.Content[gi], "rules"))
			if ruleLines == nil {
				ruleLines = seqLines(mapGet(groupsNode.Content[gi], "security_group_rules"))
			}
		}
		for i, r := range append(slices.Clone(g.Rules), g.NeutronRules...) {
			rc := compileSGRule(i, r)
			rc.line = lineAt(ruleLines, i)
			sg.rules = append(sg.rules, rc)
		}
		a.groups[sf.Cloud+"/"+sf.Project+"/"+g.Name] = sg
	}
}

func compileSGRule(i int, r sgRule) secRule {
	sr := secRule{index: i, ingress: r.Direction != "egress", eth: cmp.Or(r.Ethertype, "IPv4")}
	sr.proto = strings.ToLower(r.Protocol.s)
	switch sr.proto {
	case "any", "0":
		sr.proto = ""
	case "6":
		sr.proto = "tcp"
	case "17":
		sr.proto = "udp"
	case "ipip":
		sr.proto = "4"
	}
	if r.PortMin != nil {
		sr.lo = *r.PortMin
		sr.hi = sr.lo
		if r.PortMax != nil {
			sr.hi = *r.PortMax
		}
	} else if r.PortMax != nil {
		sr.lo, sr.hi = 1, *r.PortMax
	}
	switch {
	case r.RemoteIPPrefix.set:
		if p, err := parsePrefix(r.RemoteIPPrefix.s); err == nil {
			sr.remote = setOf(p)
		}
	case r.RemoteGroup != "":
		sr.group = r.RemoteGroup
	case r.RemoteGroupID != "":
		sr.group = r.RemoteGroupID
	case r.RemoteAddressGroupID != "":
		sr.group = "address-group:" + r.RemoteAddressGroupID
	default:
		sr.anyAddr = true
	}
	sr.text = sgRuleText(sr)
	return sr
}

func sgRuleText(r secRule) string {
	dir := "ingress"
	if !r.ingress {
		dir = "egress"
	}
	proto := cmp.Or(r.proto, "any protocol")
	ports := ""
	if r.lo != 0 {
		ports = fmt.Sprintf(" %d", r.lo)
		if r.hi != r.lo {
			ports += fmt.Sprintf("-%d", r.hi)
		}
	}
	from := "from anywhere"
	switch {
	case r.group != "":
		from = "from group " + r.group
	case !r.anyAddr:
		from = "from " + r.remote.String()
		if len(r.remote) == 1 {
			if p, ok := rangePrefix(r.remote[0]); ok {
				from = "from " + p.String()
			}
		}
	}
	return fmt.Sprintf("%s %s %s%s %s", dir, r.eth, proto, ports, from)
}

// rangePrefix returns the prefix a range is exactly, if it is one.
func rangePrefix(r addrRange) (netip.Prefix, bool) {
	for bits := 0; bits <= r.lo.BitLen(); bits++ {
		p := netip.PrefixFrom(r.lo, bits)
		if p.Masked().Addr() == r.lo && lastAddr(p) == r.hi {
			return p, true
		}
	}
	return netip.Prefix{}, false
}
