package verify

import (
	"fmt"
	"slices"
	"strings"
)

func paOrder(a, b *peerAuthn) int { return strings.Compare(a.ref.Name, b.ref.Name) }

// l4Mode is the mTLS mode in effect on a workload's target port: the
// workload-level PeerAuthentication over the namespace's over the mesh's
// (the root namespace's, without selector), a port-level setting over its
// policy's, UNSET inheriting from the level above; PERMISSIVE when none
// says anything.
func (v *clusterView) l4Mode(a *Analyzer, w l3Workload, port int32) (string, []Decision, string) {
	if !a.terse || w.key == "" {
		return v.l4ModeUncached(a, w, port)
	}
	// The proof asks once per caller; the answer is the workload's.
	k := l4Key{w.key, port}
	v.mu.Lock()
	r, ok := v.l4Memo[k]
	v.mu.Unlock()
	if !ok {
		r.mode, r.ds, r.note = v.l4ModeUncached(a, w, port)
		r.ds = slices.Clip(r.ds)
		v.mu.Lock()
		v.l4Memo[k] = r
		v.mu.Unlock()
	}
	return r.mode, r.ds, r.note
}

type l4Key struct {
	workload string
	port     int32
}

type l4Result struct {
	mode, note string
	ds         []Decision
}

func (v *clusterView) l4ModeUncached(a *Analyzer, w l3Workload, port int32) (string, []Decision, string) {
	var ds []Decision
	var notes []string
	pick := func(ps []*peerAuthn, level string) *peerAuthn {
		if len(ps) == 0 {
			return nil
		}
		slices.SortFunc(ps, paOrder)
		if len(ps) > 1 {
			notes = append(notes, fmt.Sprintf("%d %s-level PeerAuthentications apply; Istio uses the oldest, taken here as %s", len(ps), level, ps[0].ref))
		}
		return ps[0]
	}
	var mesh, ns, wl []*peerAuthn
	for _, p := range v.peerAuthn[a.root] {
		if len(p.selector) == 0 {
			mesh = append(mesh, p)
		}
	}
	for _, p := range v.peerAuthn[w.ns] {
		switch {
		case len(p.selector) == 0:
			if w.ns != a.root {
				ns = append(ns, p)
			}
		case matchLabels(p.selector, w.labels):
			wl = append(wl, p)
		}
	}
	mode := "PERMISSIVE"
	src := "no PeerAuthentication sets a mode: Istio's default is PERMISSIVE"
	apply := func(p *peerAuthn, level string) {
		if p == nil {
			return
		}
		if p.mode != "" && p.mode != "UNSET" {
			mode = p.mode
			src = a.textf("%s-level mode %s", level, p.mode)
			ds = append(ds, Decision{Object: p.ref, Rule: -1, Effect: strings.ToLower(p.mode), Text: src})
		}
	}
	apply(pick(mesh, "mesh"), "mesh")
	apply(pick(ns, "namespace"), "namespace")
	w1 := pick(wl, "workload")
	apply(w1, "workload")
	if w1 != nil {
		if m, ok := w1.ports[port]; ok && m != "" && m != "UNSET" {
			mode = m
			ds = append(ds, Decision{Object: w1.ref, Rule: -1, Effect: strings.ToLower(m),
				Text: a.textf("portLevelMtls[%d] mode %s overrides the workload's", port, m)})
		}
	}
	if len(ds) == 0 {
		ds = append(ds, Decision{Rule: -1, Effect: "permissive", Text: src})
	}
	// Only the decision in effect matters to a reader; keep the last.
	return mode, ds[len(ds)-1:], strings.Join(notes, "; ")
}

// clientTLS is how a client sidecar in ns of cluster v sends to host on
// port: the DestinationRule it sees (its own namespace's, then the
// service's, then the root namespace's) decides; without one, auto mTLS.
func (v *clusterView) clientTLS(a *Analyzer, clientNS, host, serviceNS string, port int32) (string, *Decision) {
	dr := v.visibleDR(a, clientNS, host, serviceNS)
	if dr == nil {
		return "ISTIO_MUTUAL", nil
	}
	mode := ""
	if tp := dr.spec.TrafficPolicy; tp != nil {
		if tp.TLS != nil {
			mode = strings.ToUpper(tp.TLS.Mode)
		}
		for _, pl := range tp.PortLevelSettings {
			if pl.Port.Number == port && pl.TLS != nil {
				mode = strings.ToUpper(pl.TLS.Mode)
			}
		}
	}
	if mode == "" {
		return "ISTIO_MUTUAL", &Decision{Object: dr.ref, Rule: -1, Effect: "auto", Text: "the DestinationRule the client sees sets no tls: auto mTLS"}
	}
	return mode, &Decision{Object: dr.ref, Rule: -1, Effect: strings.ToLower(mode), Text: "the DestinationRule the client sees sets tls mode " + mode}
}

func exported(exportTo []string, from, to string) bool {
	if len(exportTo) == 0 {
		return true
	}
	for _, e := range exportTo {
		switch e {
		case "*":
			return true
		case ".":
			if from == to {
				return true
			}
		case "~":
		default:
			if e == to {
				return true
			}
		}
	}
	return false
}

// visibleDR is the DestinationRule Istio applies for a client namespace:
// one in the client's own namespace first, then the service's, then the
// mesh root namespace's.
func (v *clusterView) visibleDR(a *Analyzer, clientNS, host, serviceNS string) *destRule {
	cands := v.destRules[host]
	for _, ns := range []string{clientNS, serviceNS, a.root} {
		var hit []*destRule
		for _, d := range cands {
			if d.ns == ns && !d.wsel && exported(d.exportTo, d.ns, clientNS) {
				hit = append(hit, d)
			}
		}
		if len(hit) > 0 {
			slices.SortFunc(hit, func(x, y *destRule) int { return strings.Compare(x.ref.Name, y.ref.Name) })
			return hit[0]
		}
	}
	return nil
}
