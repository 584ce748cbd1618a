package webhook

import (
	"context"
	"strings"
	"testing"

	"github.com/intentc/intentc/compiler/diag"
	"github.com/intentc/intentc/lint"
)

func TestLintChecker(t *testing.T) {
	in := loadExample(t)
	e, ds := lint.New(lint.Options{})
	if e == nil || ds.HasErrors() {
		t.Fatalf("engine: %v", ds)
	}
	j := NewJudge(nil, NewLintChecker(e))
	// A per-object rule (IC4003) denies, with no position in a scratch file.
	sp := obj(t, `{"apiVersion":"security.istio.io/v1","kind":"AuthorizationPolicy","metadata":{"name":"sp","namespace":"sandbox","managedFields":[{"manager":"kubectl"}]},"spec":{"action":"DENY","rules":[{"from":[{"source":{"principals":["spiffe://cluster.local/ns/a/sa/b"]}}]}]}}`)
	d := j.Admit(context.Background(), in, request(t, "CREATE", sp, nil, ""))
	check(t, d, want{rule: string(diag.CodeSPIFFEPrincipal), contains: []string{"IC4003", "AuthorizationPolicy sandbox/sp"}})
	if strings.Contains(d.Message(), objectName) {
		t.Errorf("the denial names the scratch object: %s", d.Message())
	}
	// A bundle rule (IC4011, subsets) needs the other objects: it must not
	// fire on a VirtualService alone.
	vs := obj(t, `{"apiVersion":"networking.istio.io/v1","kind":"VirtualService","metadata":{"name":"shop","namespace":"sandbox"},"spec":{"hosts":["shop"],"http":[{"route":[{"destination":{"host":"shop","subset":"v1"}}]}]}}`)
	check(t, j.Admit(context.Background(), in, request(t, "CREATE", vs, nil, "")), want{allowed: true})
	// Generated objects pass their own rules.
	gen := generated(t, in, "networking.istio.io", "VirtualService", "prod", "inventory")
	check(t, j.Admit(context.Background(), in, request(t, "UPDATE", gen, gen, "")), want{allowed: true})
}

func TestStripBookkeeping(t *testing.T) {
	in := []byte(`{"kind":"X","metadata":{"name":"a","managedFields":[{"manager":"m"}]},"spec":{"k":1}}`)
	out := string(stripBookkeeping(in))
	if strings.Contains(out, "managedFields") || !strings.Contains(out, `"spec":{"k":1}`) || !strings.Contains(out, `"name":"a"`) {
		t.Errorf("stripBookkeeping = %s", out)
	}
	same := []byte(`{"metadata":{"name":"a"}}`)
	if string(stripBookkeeping(same)) != string(same) {
		t.Error("an object without managedFields was rewritten")
	}
}
