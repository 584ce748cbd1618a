package verify

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/intentc/intentc/compiler/ir"
	"github.com/intentc/intentc/compiler/manifest"
)

// netpolicyPath finds np-guard's netpol-analyzer CLI where
// hack/verify-env.sh builds it (or $INTENTC_NETPOLICY). Without it the
// cross-check is skipped, unless INTENTC_E2E asks for the real peers.
func netpolicyPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("INTENTC_NETPOLICY"); p != "" {
		return p
	}
	gomod, err := os.ReadFile(filepath.Join("..", "hack", "netpol", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`github.com/np-guard/netpol-analyzer (v\S+)`).FindSubmatch(gomod)
	if m == nil {
		t.Fatal("hack/netpol/go.mod does not require github.com/np-guard/netpol-analyzer")
	}
	cache := os.Getenv("INTENTC_CACHE")
	if cache == "" {
		home, _ := os.UserHomeDir()
		cache = filepath.Join(home, ".cache", "intentc")
	}
	p := filepath.Join(cache, "netpol", fmt.Sprintf("%s-%s-%s", m[1], runtime.Version(), runtime.GOARCH), "netpolicy")
	if _, err := os.Stat(p); err != nil {
		if os.Getenv("INTENTC_E2E") != "" {
			t.Fatalf("INTENTC_E2E is set but netpol-analyzer is not built at %s (run make verify-prepare): %v", p, err)
		}
		t.Skipf("netpol-analyzer not built at %s (make verify-prepare builds it)", p)
	}
	return p
}

// npPod is a pod of the cross-check, as both tools see it.
type npPod struct {
	ns, name string
	labels   map[string]string
}

// crossCheckNetpol runs netpol-analyzer on one cluster's NetworkPolicies
// and pods, and compares every connection it lists, and every pod pair it
// does not, with the analyzer's layer-2 verdict (egress and ingress
// together, per protocol and port).
func crossCheckNetpol(t *testing.T, tool string, a *Analyzer, cluster string, files []manifest.File, pods []npPod) (checked, listedN int, mismatches []string) {
	t.Helper()
	v := a.clusters[cluster]
	dir := t.TempDir()
	var docs []any
	nsSeen := map[string]bool{}
	for _, p := range pods {
		if !nsSeen[p.ns] {
			nsSeen[p.ns] = true
			docs = append(docs, map[string]any{"apiVersion": "v1", "kind": "Namespace",
				"metadata": map[string]any{"name": p.ns, "labels": v.nsLabelsOf(p.ns)}})
		}
		docs = append(docs, map[string]any{"apiVersion": "v1", "kind": "Pod",
			"metadata": map[string]any{"name": p.name, "namespace": p.ns, "labels": p.labels},
			"spec":     map[string]any{"containers": []any{map[string]any{"name": "c", "image": "x"}}}})
	}
	// One JSON List: netpol-analyzer reads a file that starts with "{" as
	// a single JSON document.
	list := mustJSON(map[string]any{"apiVersion": "v1", "kind": "List", "items": docs})
	if err := os.WriteFile(filepath.Join(dir, "pods.json"), []byte(list), 0o644); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range files {
		if c := clusterOfPath(f.Path); c != cluster || !strings.Contains(filepath.Base(f.Path), "networkpolicy-") {
			continue
		}
		n++
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("np-%03d.yaml", n)), f.Data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out, err := exec.Command(tool, "list", "--dirpath", dir, "-o", "json").Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("netpol-analyzer: %v\n%s", err, stderr)
	}
	var conns []struct{ Src, Dst, Conn string }
	if err := json.Unmarshal(out, &conns); err != nil {
		t.Fatalf("netpol-analyzer output: %v\n%s", err, out)
	}
	byName := map[string]npPod{}
	for _, p := range pods {
		byName[p.ns+"/"+p.name+"[Pod]"] = p
	}
	peerOf := func(s string) (l2Peer, *npPod, bool) {
		if p, ok := byName[s]; ok {
			return l2Peer{pod: &l2Pod{ns: p.ns, labels: p.labels}}, &p, true
		}
		lo, hi, ok := strings.Cut(s, "-")
		if !ok {
			return l2Peer{}, nil, false
		}
		a1, e1 := netip.ParseAddr(lo)
		a2, e2 := netip.ParseAddr(hi)
		if e1 != nil || e2 != nil {
			return l2Peer{}, nil, false
		}
		return l2Peer{addr: ipSet{{a1, a2}}}, nil, true
	}
	mine := func(src, dst l2Peer) portSet {
		out := allPorts()
		if src.pod != nil {
			out = out.intersect(v.l2Ports(*src.pod, dst, false))
		}
		if dst.pod != nil {
			out = out.intersect(v.l2Ports(*dst.pod, src, true))
		}
		return out
	}
	listed := map[string]bool{}
	for _, c := range conns {
		sp, _, ok1 := peerOf(c.Src)
		dp, _, ok2 := peerOf(c.Dst)
		if !ok1 || !ok2 {
			mismatches = append(mismatches, fmt.Sprintf("%s: netpol-analyzer lists a peer the check does not know: %s => %s", cluster, c.Src, c.Dst))
			continue
		}
		listed[c.Src+" => "+c.Dst] = true
		listedN++
		theirs, err := parseConnString(c.Conn)
		if err != nil {
			mismatches = append(mismatches, fmt.Sprintf("%s: %v", cluster, err))
			continue
		}
		got := mine(sp, dp)
		checked++
		if got.String() != theirs.String() {
			mismatches = append(mismatches, fmt.Sprintf("%s: %s => %s: netpol-analyzer says %s, verify says %s", cluster, c.Src, c.Dst, theirs, got))
		}
	}
	names := slices.Sorted(maps.Keys(byName))
	for _, s := range names {
		for _, d := range names {
			if s == d || listed[s+" => "+d] {
				continue
			}
			sp, _, _ := peerOf(s)
			dp, _, _ := peerOf(d)
			checked++
			if got := mine(sp, dp); !got.isEmpty() {
				mismatches = append(mismatches, fmt.Sprintf("%s: %s => %s: netpol-analyzer lists no connection, verify says %s", cluster, s, d, got))
			}
		}
	}
	return checked, listedN, mismatches
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// podsFor are the pods the cross-check places in a cluster: every
// service's pods, the callers the intent names, the platform pods the
// policies name (gateways, DNS, istiod, scrapers), and one pod with no
// labels in every namespace involved.
func podsFor(m *ir.Model, c *ir.Cluster) []npPod {
	var out []npPod
	seen := map[string]bool{}
	add := func(ns string, labels map[string]string) {
		k := ns + "/" + labelString(labels)
		if seen[k] {
			return
		}
		seen[k] = true
		out = append(out, npPod{ns: ns, name: fmt.Sprintf("p%d", len(out)), labels: labels})
	}
	nss := map[string]bool{}
	for _, s := range m.Services {
		if s.PlacedIn(c) {
			add(s.Namespace, s.Selector)
		}
		nss[s.Namespace] = true
	}
	for _, p := range m.Policies {
		for _, peer := range p.From {
			if peer.Kind == ir.PeerCIDR || !slices.Contains(peer.Clusters, c) {
				continue
			}
			nss[peer.Namespace] = true
			switch peer.Kind {
			case ir.PeerService:
				add(peer.Namespace, peer.Service.Selector)
			case ir.PeerWorkload:
				add(peer.Namespace, peer.PodLabels)
			}
		}
	}
	if ew := c.EastWest; ew != nil {
		add(ew.Namespace, ew.Selector)
	}
	ig := m.Mesh.IngressGateway
	add(ig.Namespace, ig.Selector)
	add("kube-system", map[string]string{"k8s-app": "kube-dns"})
	add(m.Mesh.RootNamespace, map[string]string{"app": "istiod"})
	for _, s := range m.Mesh.Baseline.Scrapers {
		add(s.Namespace, s.PodLabels)
	}
	for _, ns := range slices.Sorted(maps.Keys(nss)) {
		add(ns, map[string]string{"intentc": "anyone"})
	}
	add(anyNS, map[string]string{"intentc": "anyone"})
	return out
}

// TestNetpolAnalyzerExample cross-checks layer 2 of the example's output
// against np-guard's netpol-analyzer, cluster by cluster.
func TestNetpolAnalyzerExample(t *testing.T) {
	tool := netpolicyPath(t)
	res := compileDir(t, exampleDir)
	a, _ := New(res.Model, res.Files, Options{})
	total, listed := 0, 0
	for _, c := range res.Model.Clusters {
		n, l, bad := crossCheckNetpol(t, tool, a, c.Name, res.Files, podsFor(res.Model, c))
		total, listed = total+n, listed+l
		for _, b := range bad {
			t.Error(b)
		}
	}
	if total < 100 || listed < 20 {
		t.Errorf("only %d pairs compared, %d connections listed by netpol-analyzer", total, listed)
	}
	t.Logf("%d pairs compared with netpol-analyzer (%d connections it lists)", total, listed)
}

// The cross-check can fail: judged against other policies than
// netpol-analyzer reads, it reports the difference.
func TestNetpolAnalyzerCatchesDisagreement(t *testing.T) {
	tool := netpolicyPath(t)
	res := compileDir(t, exampleDir)
	m := mutation{file: "openstack-prod/prod/networkpolicy-batch-updates-inventory.yaml", old: "operator: NotIn", new: "operator: In"}
	a, _ := New(res.Model, mutate(t, res.Files, m), Options{})
	c := res.Model.Cluster("openstack-prod")
	_, _, bad := crossCheckNetpol(t, tool, a, c.Name, res.Files, podsFor(res.Model, c))
	if !slices.ContainsFunc(bad, func(s string) bool { return strings.Contains(s, "=> prod/") && strings.Contains(s, "TCP 8080") }) {
		t.Errorf("a NotIn turned In went unnoticed: %q", bad)
	}
}

// TestNetpolAnalyzerRecipes cross-checks the network-policy recipes too.
func TestNetpolAnalyzerRecipes(t *testing.T) {
	tool := netpolicyPath(t)
	files, _ := filepath.Glob(filepath.Join("testdata", "peers", "np-*.yaml"))
	for _, path := range files {
		model, mfiles, _ := loadPeerFile(t, path)
		a, _ := New(model, mfiles, Options{})
		c := model.Clusters[0]
		var pods []npPod
		for _, s := range model.Services {
			pods = append(pods, npPod{ns: s.Namespace, name: fmt.Sprintf("svc%d", len(pods)), labels: s.Selector})
		}
		for _, ns := range []string{"default", "other", "prod", "dev", "secondary"} {
			pods = append(pods, npPod{ns: ns, name: fmt.Sprintf("x%d", len(pods)), labels: map[string]string{"app": "bookstore", "role": "monitoring", "type": "monitoring"}})
			pods = append(pods, npPod{ns: ns, name: fmt.Sprintf("x%d", len(pods)), labels: map[string]string{"app": "other"}})
		}
		// A recipe's manifests carry no clusters/<name>/ path: give them
		// one, with only the documents netpol-analyzer reads (it lists
		// nothing at all when a file holds a kind it does not know).
		var keep []string
		for _, doc := range strings.Split(string(mfiles[0].Data), "\n---\n") {
			if strings.Contains(doc, "kind: NetworkPolicy") && strings.Contains(doc, "networking.k8s.io/v1") || strings.Contains(doc, "kind: Namespace") {
				keep = append(keep, doc)
			}
		}
		cf := []manifest.File{{Path: "clusters/" + c.Name + "/networkpolicy-recipe.yaml", Data: []byte(strings.Join(keep, "\n---\n"))}}
		_, listed, bad := crossCheckNetpol(t, tool, a, c.Name, cf, pods)
		if listed == 0 {
			t.Errorf("%s: netpol-analyzer listed nothing", path)
		}
		for _, b := range bad {
			t.Errorf("%s: %s", filepath.Base(path), b)
		}
	}
}
