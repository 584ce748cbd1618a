package webhook

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/intentc/intentc/lint"
)

// BenchmarkAdmit measures judging one request in-process (no HTTP, no
// TLS): the webhook's own rules, and with the per-object policy rules.
// make bench-webhook measures the whole server.
func BenchmarkAdmit(b *testing.B) {
	in := loadExample(b)
	vs := generated(b, in, "networking.istio.io", "VirtualService", "prod", "inventory")
	drift := clone(b, vs)
	lookup(drift, "spec", "http").([]any)[1].(map[string]any)["route"].([]any)[0].(map[string]any)["weight"] = json.Number("50")
	reqs := map[string]*Request{
		"managed-sync":        request(b, "UPDATE", vs, vs, ""),
		"managed-drift":       request(b, "UPDATE", drift, vs, ""),
		"authz-widening":      request(b, "CREATE", obj(b, `{"apiVersion":"security.istio.io/v1","kind":"AuthorizationPolicy","metadata":{"name":"open","namespace":"prod"},"spec":{"rules":[{"from":[{"source":{"namespaces":["web"]}}]}]}}`), nil, ""),
		"unmanaged-configmap": request(b, "CREATE", obj(b, `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c","namespace":"sandbox"},"data":{"k":"v"}}`), nil, ""),
	}
	e, ds := lint.New(lint.Options{})
	if e == nil || ds.HasErrors() {
		b.Fatal(ds)
	}
	for _, judge := range []struct {
		name string
		j    *Judge
	}{{"rules", NewJudge(nil, nil)}, {"rules+policies", NewJudge(nil, NewLintChecker(e))}} {
		for _, name := range []string{"managed-sync", "managed-drift", "authz-widening", "unmanaged-configmap"} {
			req := reqs[name]
			b.Run(judge.name+"/"+name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					judge.j.Admit(context.Background(), in, req)
				}
			})
		}
	}
}
