package webhook

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/intentc/intentc/compiler/manifest"
)

// maxDiffs bounds the differences a denial lists: one or two lines.
const maxDiffs = 3

// Drift compares an object as written with what the intent generates and
// returns the differences that matter, as "path: the intent has X, the
// object has Y". What does not matter:
//   - what the API server owns: status, and all of metadata except labels
//     and annotations (managedFields, resourceVersion, uid, timestamps...);
//   - fields the API server fills in with their defaults (defaultsFor);
//   - absent versus empty ({} , [], "" and null are the same);
//   - the spelling of a duration ("0.500s" and "500ms");
//   - labels and annotations the intent does not set, unless they change
//     what Istio or Kubernetes does with the object (semanticMeta): GitOps
//     tracking labels, kubectl's last-applied-configuration and other
//     bookkeeping are ignored;
//   - the intent-digest annotation (the digest window judges it).
//
// List order is compared: in a VirtualService it is the match order.
func Drift(kind string, want, got map[string]any) []string {
	d := &differ{defaults: defaultsFor[kind]}
	wm, _ := want["metadata"].(map[string]any)
	gm, _ := got["metadata"].(map[string]any)
	d.meta("metadata.labels", labelsAt(wm, "labels"), labelsAt(gm, "labels"), nil)
	d.meta("metadata.annotations", labelsAt(wm, "annotations"), labelsAt(gm, "annotations"), map[string]bool{
		manifest.AnnotationDigest: true,
	})
	keys := map[string]bool{}
	for k := range want {
		keys[k] = true
	}
	for k := range got {
		keys[k] = true
	}
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		switch k {
		case "apiVersion", "kind", "metadata", "status":
			continue
		}
		d.value(k, k, want[k], got[k], got)
	}
	return d.diffs
}

type differ struct {
	defaults map[string]defaultFunc
	diffs    []string
}

// defaultsBelow reports whether some defaulted field lies under pattern.
func (d *differ) defaultsBelow(pattern string) bool {
	for p := range d.defaults {
		if strings.HasPrefix(p, pattern+".") {
			return true
		}
	}
	return false
}

func (d *differ) add(format string, args ...any) {
	d.diffs = append(d.diffs, fmt.Sprintf(format, args...))
}

// semanticMeta reports whether a label or annotation the intent does not
// set still changes how traffic is handled (sidecar injection, revisions,
// the ambient data plane, traffic capture, exportTo, a Service's proxy), so
// adding it is drift. Everything else (GitOps tracking, team labels, pod
// security) is the platform's business, not the intent's.
func semanticMeta(key string) bool {
	if key == "istio-injection" {
		return true
	}
	domain, _, ok := strings.Cut(key, "/")
	if !ok {
		return false
	}
	switch {
	case domain == "intentc.dev",
		domain == "istio.io", strings.HasSuffix(domain, ".istio.io"),
		domain == "service.kubernetes.io": // a Service's proxy and topology
		return true
	}
	return false
}

func (d *differ) meta(path string, want, got map[string]string, skip map[string]bool) {
	for _, k := range slices.Sorted(maps.Keys(want)) {
		if skip[k] {
			continue
		}
		switch g, ok := got[k]; {
		case !ok:
			d.add("%s[%s]: the intent sets %q, the object has none", path, k, want[k])
		case g != want[k]:
			d.add("%s[%s]: the intent says %q, the object has %q", path, k, want[k], g)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(got)) {
		if _, ok := want[k]; !ok && !skip[k] && semanticMeta(k) {
			d.add("%s[%s]: not in the intent, the object adds %q", path, k, got[k])
		}
	}
}

// value compares one node. path is for messages (spec.ports[1].protocol),
// pattern for the defaults table (spec.ports[].protocol); parent is the
// object's map holding the node, for defaults that depend on a sibling.
func (d *differ) value(path, pattern string, want, got any, parent map[string]any) {
	if len(d.diffs) > maxDiffs {
		return
	}
	switch {
	case empty(want) && empty(got):
		return
	case empty(want):
		if f, ok := d.defaults[pattern]; ok && f(got, parent) {
			return
		}
		if g, ok := got.(map[string]any); ok && d.defaultsBelow(pattern) {
			// Judge the fields one by one: each may be a default.
			for _, k := range slices.Sorted(maps.Keys(g)) {
				d.value(path+"."+k, pattern+"."+k, nil, g[k], g)
			}
			return
		}
		d.add("%s: not in the intent, the object has %s", path, show(got))
		return
	case empty(got):
		d.add("%s: the intent has %s, the object has none", path, show(want))
		return
	}
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			d.add("%s: the intent has an object, the object has %s", path, show(got))
			return
		}
		keys := map[string]bool{}
		for k := range w {
			keys[k] = true
		}
		for k := range g {
			keys[k] = true
		}
		for _, k := range slices.Sorted(maps.Keys(keys)) {
			d.value(path+"."+k, pattern+"."+k, w[k], g[k], g)
		}
	case []any:
		g, ok := got.([]any)
		if !ok {
			d.add("%s: the intent has a list, the object has %s", path, show(got))
			return
		}
		if len(w) != len(g) {
			d.add("%s: the intent has %d items, the object has %d", path, len(w), len(g))
			return
		}
		for i := range w {
			d.value(fmt.Sprintf("%s[%d]", path, i), pattern+"[]", w[i], g[i], parent)
		}
	default:
		if !scalarEqual(want, got) {
			d.add("%s: the intent says %s, the object has %s", path, show(want), show(got))
		}
	}
}

// empty reports whether a value is absent in the API's eyes.
func empty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case map[string]any:
		for _, e := range x {
			if !empty(e) {
				return false
			}
		}
		return true
	case []any:
		return len(x) == 0
	}
	return false
}

func scalarEqual(a, b any) bool {
	switch x := a.(type) {
	case json.Number:
		y, ok := b.(json.Number)
		if !ok {
			return false
		}
		if x == y {
			return true
		}
		fx, err1 := strconv.ParseFloat(string(x), 64)
		fy, err2 := strconv.ParseFloat(string(y), 64)
		return err1 == nil && err2 == nil && fx == fy
	case string:
		y, ok := b.(string)
		if !ok {
			return false
		}
		if x == y {
			return true
		}
		// Istio durations: "0.500s" and "500ms" are one value.
		dx, err1 := time.ParseDuration(x)
		dy, err2 := time.ParseDuration(y)
		return err1 == nil && err2 == nil && dx == dy
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	}
	return false
}

func show(v any) string {
	b, _ := json.Marshal(v)
	s := string(b)
	if len(s) > 60 {
		s = s[:57] + "..."
	}
	return s
}

// defaultFunc accepts a value the API server filled in for a field the
// intent left out; parent is the map that holds the field.
type defaultFunc func(v, parent any) bool

func anyValue(any, any) bool { return true }

func is(want string) defaultFunc {
	return func(v, _ any) bool { s, ok := v.(string); return ok && s == want }
}

func isList(want ...string) defaultFunc {
	return func(v, _ any) bool {
		l, ok := v.([]any)
		if !ok || len(l) != len(want) {
			return false
		}
		for i, x := range l {
			if s, ok := x.(string); !ok || s != want[i] {
				return false
			}
		}
		return true
	}
}

// targetPortDefault: a Service port's targetPort defaults to its port.
func targetPortDefault(v, parent any) bool {
	p, _ := parent.(map[string]any)
	return p != nil && scalarEqual(v, p["port"])
}

// defaultsFor lists, per kind, the fields kube-apiserver defaults when a
// manifest leaves them out (k8s.io/kubernetes pkg/apis/*/v1/defaults.go)
// for the kinds intentc generates. Istio's CRDs default nothing.
var defaultsFor = map[string]map[string]defaultFunc{
	"Service": {
		"spec.clusterIP":             anyValue, // allocated
		"spec.clusterIPs":            anyValue,
		"spec.ipFamilies":            anyValue,
		"spec.ipFamilyPolicy":        is("SingleStack"),
		"spec.type":                  is("ClusterIP"),
		"spec.sessionAffinity":       is("None"),
		"spec.internalTrafficPolicy": is("Cluster"),
		"spec.ports[].protocol":      is("TCP"),
		"spec.ports[].targetPort":    targetPortDefault,
	},
	"NetworkPolicy": {
		"spec.ingress[].ports[].protocol": is("TCP"),
		"spec.egress[].ports[].protocol":  is("TCP"),
	},
	"Namespace": {
		"spec.finalizers": isList("kubernetes"),
	},
}
