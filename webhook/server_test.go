package webhook

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/intentc/intentc/compiler"
	"github.com/intentc/intentc/compiler/diag"
	"github.com/intentc/intentc/webhook/webhooktest"
)

// testServer runs a Server on a loopback port.
type testServer struct {
	*Server
	url    string
	pki    *webhooktest.PKI
	client *http.Client
	cancel context.CancelFunc
	done   chan error
	logs   *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func startServer(t *testing.T, dir string, mod func(*Options)) *testServer {
	t.Helper()
	pki, err := webhooktest.NewPKI(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	opts := Options{
		IntentDir: dir, Cluster: testCluster, CertFile: pki.CertFile, KeyFile: pki.KeyFile,
		ReloadInterval: 50 * time.Millisecond, ShutdownTimeout: 5 * time.Second,
		Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if mod != nil {
		mod(&opts)
	}
	srv, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ts := &testServer{Server: srv, url: "https://" + ln.Addr().String(), pki: pki, client: pki.Client(16), cancel: cancel, done: make(chan error, 1), logs: logs}
	go func() { ts.done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-ts.done:
		case <-time.After(10 * time.Second):
			t.Error("server did not stop")
		}
		if t.Failed() {
			t.Logf("server logs:\n%s", logs.String())
		}
	})
	return ts
}

func (ts *testServer) post(t *testing.T, body []byte) (int, []byte) {
	t.Helper()
	resp, err := ts.client.Post(ts.url+"/validate", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func (ts *testServer) review(t *testing.T, r webhooktest.Review) *webhooktest.Response {
	t.Helper()
	body, err := r.JSON()
	if err != nil {
		t.Fatal(err)
	}
	code, b := ts.post(t, body)
	if code != http.StatusOK {
		t.Fatalf("HTTP %d: %s", code, b)
	}
	resp, err := webhooktest.ParseResponse(b)
	if err != nil {
		t.Fatal(err)
	}
	if resp.UID != r.UID {
		t.Fatalf("answer for uid %q, asked %q", resp.UID, r.UID)
	}
	return resp
}

func (ts *testServer) get(t *testing.T, path string) (int, string) {
	t.Helper()
	resp, err := ts.client.Get(ts.url + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

const extraNetpol = `{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"extra","namespace":"prod"},"spec":{"podSelector":{},"ingress":[{}]}}`

func TestServerAnswers(t *testing.T) {
	ts := startServer(t, exampleDir(t), func(o *Options) { o.MaxRequestBytes = 64 << 10 })
	if code, body := ts.get(t, "/healthz"); code != 200 {
		t.Errorf("/healthz = %d %s", code, body)
	}
	if code, body := ts.get(t, "/readyz"); code != 200 || !strings.Contains(body, ts.Intent().Digest) {
		t.Errorf("/readyz = %d %s", code, body)
	}

	resp := ts.review(t, webhooktest.Review{UID: "a", Operation: "CREATE", Object: obj(t, extraNetpol)})
	if resp.Allowed || resp.Result == nil || resp.Result.Code != 403 || !strings.Contains(resp.Result.Message, "IC4315") {
		t.Errorf("extra NetworkPolicy: %+v", resp)
	}
	resp = ts.review(t, webhooktest.Review{UID: "b", Operation: "CREATE", Object: obj(t, `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c","namespace":"prod"}}`)})
	if !resp.Allowed || resp.Result != nil {
		t.Errorf("ConfigMap: %+v", resp)
	}

	t.Run("malformed JSON", func(t *testing.T) {
		if code, body := ts.post(t, []byte(`{"apiVersion":"admission.k8s.io/v1","request":`)); code != 400 || !strings.Contains(string(body), "malformed") {
			t.Errorf("HTTP %d %s", code, body)
		}
		if code, _ := ts.post(t, []byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}`)); code != 400 {
			t.Errorf("no request: HTTP %d", code)
		}
		if code, body := ts.post(t, []byte(`{"apiVersion":"admission.k8s.io/v1beta1","kind":"AdmissionReview","request":{"uid":"x"}}`)); code != 400 || !strings.Contains(string(body), "v1beta1") {
			t.Errorf("v1beta1: HTTP %d %s", code, body)
		}
	})
	t.Run("GET", func(t *testing.T) {
		if code, _ := ts.get(t, "/validate"); code != http.StatusMethodNotAllowed {
			t.Errorf("HTTP %d", code)
		}
	})
	t.Run("oversized body is denied, not admitted unchecked", func(t *testing.T) {
		big := obj(t, `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"big","namespace":"prod"}}`)
		big["data"] = map[string]any{"blob": strings.Repeat("x", 100<<10)}
		body, _ := webhooktest.Review{UID: "big-1", Operation: "CREATE", Object: big}.JSON()
		code, b := ts.post(t, body)
		if code != 200 {
			t.Fatalf("HTTP %d %s", code, b)
		}
		resp, err := webhooktest.ParseResponse(b)
		if err != nil {
			t.Fatal(err)
		}
		if resp.UID != "big-1" || resp.Allowed || resp.Result.Code != 413 || !strings.Contains(resp.Result.Message, "IC4305") {
			t.Errorf("%+v", resp)
		}
		// Without a readable UID there is nothing to answer but HTTP.
		if code, _ := ts.post(t, bytes.Repeat([]byte(" "), 100<<10)); code != http.StatusRequestEntityTooLarge {
			t.Errorf("junk: HTTP %d", code)
		}
	})
	t.Run("TLS below 1.2 is refused", func(t *testing.T) {
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(ts.pki.CAPEM)
		c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11}}}
		if resp, err := c.Get(ts.url + "/healthz"); err == nil {
			resp.Body.Close()
			t.Error("a TLS 1.1 client was served")
		}
	})
	t.Run("metrics", func(t *testing.T) {
		code, body := ts.get(t, "/metrics")
		for _, s := range []string{
			`intentc_webhook_requests_total{decision="denied",kind="NetworkPolicy",operation="CREATE"} 1`,
			`intentc_webhook_rule_findings_total{action="deny",rule="extra-networkpolicy"} 1`,
			`intentc_webhook_request_duration_seconds_bucket`,
			`intentc_webhook_evaluation_duration_seconds_count`,
			`intentc_webhook_intent_compiles_total{result="ok"} 1`,
			`intentc_webhook_bad_requests_total{reason="malformed"} 3`,
			`intentc_webhook_bad_requests_total{reason="too_large"} 2`,
			`intentc_webhook_intent_info{digest="` + ts.Intent().Digest + `",next=""} 1`,
			`go_memstats_heap_inuse_bytes`,
		} {
			if !strings.Contains(body, s) {
				t.Errorf("/metrics (HTTP %d) lacks %s", code, s)
			}
		}
	})
	t.Run("JSON logs", func(t *testing.T) {
		var found bool
		for _, line := range strings.Split(strings.TrimSpace(ts.logs.String()), "\n") {
			var m map[string]any
			if err := json.Unmarshal([]byte(line), &m); err != nil {
				t.Fatalf("log line is not JSON: %s", line)
			}
			if m["msg"] == "admission" && m["name"] == "extra" && m["allowed"] == false {
				found = true
			}
		}
		if !found {
			t.Errorf("no log line for the denial:\n%s", ts.logs.String())
		}
	})
}

func TestServerHotReload(t *testing.T) {
	dir := exampleDir(t)
	ts := startServer(t, dir, nil)
	first := ts.Intent().Digest

	// A change that compiles is swapped in.
	inv := filepath.Join(dir, "inventory.yaml")
	data, _ := os.ReadFile(inv)
	changed := bytes.Replace(data, []byte("weight: 70"), []byte("weight: 60"), 1)
	if bytes.Equal(changed, data) {
		t.Fatal("fixture changed: no weight: 70 in inventory.yaml")
	}
	if err := os.WriteFile(inv, changed, 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the new intent", func() bool { return ts.Intent().Digest != first })
	second := ts.Intent().Digest

	// A broken change keeps the last good intent, and says so.
	if err := os.WriteFile(filepath.Join(dir, "broken.yaml"), []byte("apiVersion: intentc.dev/v1alpha1\nkind: MeshService\nmetadata: {name: x, namespace: prod}\nspec: {placement: [{cluster: nowhere}], ports: [{name: a, port: 1}]}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the compile error to be counted", func() bool {
		_, m := ts.get(t, "/metrics")
		return strings.Contains(m, "intentc_webhook_intent_compile_errors_total 1") && strings.Contains(m, "intentc_webhook_intent_stale 1")
	})
	if ts.Intent().Digest != second {
		t.Errorf("a broken intent replaced the last good one")
	}
	if code, _ := ts.get(t, "/readyz"); code != 200 {
		t.Errorf("not ready while holding a good intent: %d", code)
	}
	if !strings.Contains(ts.logs.String(), "keeping the last good intent") || !strings.Contains(ts.logs.String(), "IC2002") {
		t.Errorf("the failed compile is not logged with its diagnostics:\n%s", ts.logs.String())
	}
	// Still judging with the good intent.
	resp := ts.review(t, webhooktest.Review{UID: "r", Operation: "CREATE", Object: obj(t, extraNetpol)})
	if resp.Allowed {
		t.Error("admitted while holding the last good intent")
	}
	// Fixed again: swapped in, no longer stale.
	os.Remove(filepath.Join(dir, "broken.yaml"))
	if err := os.WriteFile(inv, data, 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the fixed intent", func() bool { return ts.Intent().Digest == first })
	_, m := ts.get(t, "/metrics")
	if !strings.Contains(m, "intentc_webhook_intent_stale 0") {
		t.Error("still stale after a good compile")
	}
}

func TestServerNotReadyWithoutIntent(t *testing.T) {
	dir := exampleDir(t)
	ts := startServer(t, dir, func(o *Options) { o.Cluster = "nowhere" })
	if code, body := ts.get(t, "/readyz"); code != 503 {
		t.Errorf("/readyz = %d %s", code, body)
	}
	body, _ := webhooktest.Review{UID: "x", Operation: "CREATE", Object: obj(t, extraNetpol)}.JSON()
	if code, b := ts.post(t, body); code != 503 {
		t.Errorf("/validate = %d %s", code, b)
	}
	if code, _ := ts.get(t, "/healthz"); code != 200 {
		t.Errorf("/healthz = %d", code)
	}
}

func TestServerCertificateReload(t *testing.T) {
	ts := startServer(t, exampleDir(t), nil)
	serial := func() int64 {
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(ts.pki.CAPEM)
		conn, err := tls.Dial("tcp", strings.TrimPrefix(ts.url, "https://"), &tls.Config{RootCAs: pool})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		return conn.ConnectionState().PeerCertificates[0].SerialNumber.Int64()
	}
	before := serial()
	// A half-written renewal is not loaded.
	if err := os.WriteFile(ts.pki.KeyFile, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the failed reload", func() bool {
		_, m := ts.get(t, "/metrics")
		return strings.Contains(m, `intentc_webhook_certificate_reloads_total{result="error"}`)
	})
	if s := serial(); s != before {
		t.Errorf("serving certificate changed to %d after a bad renewal", s)
	}
	after, err := ts.pki.Issue()
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the renewed certificate", func() bool { return serial() == after })
}

// slowChecker sleeps, or panics, per object name.
type slowChecker struct{}

func (slowChecker) CheckObject(ctx context.Context, object []byte, _ *compiler.Result) diag.List {
	switch {
	case bytes.Contains(object, []byte(`"panic"`)):
		panic("checker exploded")
	case bytes.Contains(object, []byte(`"slow"`)):
		select {
		case <-time.After(3 * time.Second):
		case <-ctx.Done():
		}
	case bytes.Contains(object, []byte(`"drain"`)):
		time.Sleep(700 * time.Millisecond)
	}
	return nil
}

func cm(name string) map[string]any {
	return map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": name, "namespace": "sandbox"}}
}

func TestServerFaults(t *testing.T) {
	ts := startServer(t, exampleDir(t), func(o *Options) {
		o.Checker = slowChecker{}
		o.RequestTimeout = 300 * time.Millisecond
		o.ReadTimeout = 500 * time.Millisecond
	})
	t.Run("a panic answers that request only", func(t *testing.T) {
		body, _ := webhooktest.Review{UID: "p", Operation: "CREATE", Object: cm("panic")}.JSON()
		code, b := ts.post(t, body)
		if code != 500 || !strings.Contains(string(b), "internal error") {
			t.Errorf("HTTP %d %s", code, b)
		}
		if r := ts.review(t, webhooktest.Review{UID: "after", Operation: "CREATE", Object: cm("fine")}); !r.Allowed {
			t.Errorf("next request: %+v", r)
		}
		if !strings.Contains(ts.logs.String(), "checker exploded") {
			t.Error("the panic is not logged")
		}
	})
	t.Run("a slow evaluation times out with 503", func(t *testing.T) {
		body, _ := webhooktest.Review{UID: "s", Operation: "CREATE", Object: cm("slow")}.JSON()
		start := time.Now()
		code, b := ts.post(t, body)
		if code != 503 || time.Since(start) > 2*time.Second {
			t.Errorf("HTTP %d after %s: %s", code, time.Since(start), b)
		}
	})
	t.Run("the API server's timeout shortens ours", func(t *testing.T) {
		r := httptestRequest("/validate?timeout=200ms")
		if got := ts.timeoutFor(r); got != 160*time.Millisecond {
			t.Errorf("timeout = %s", got)
		}
	})
	t.Run("a slow client is cut off and blocks no one", func(t *testing.T) {
		conn, err := tls.Dial("tcp", strings.TrimPrefix(ts.url, "https://"), &tls.Config{RootCAs: poolOf(ts.pki.CAPEM)})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		fmt.Fprintf(conn, "POST /validate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"apiVersion\":")
		// Others are served meanwhile.
		if r := ts.review(t, webhooktest.Review{UID: "meanwhile", Operation: "CREATE", Object: cm("fine")}); !r.Allowed {
			t.Errorf("%+v", r)
		}
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		b, _ := io.ReadAll(conn)
		if len(b) > 0 && !strings.Contains(string(b), "408") {
			t.Errorf("slow client got: %s", b)
		}
	})
}

func httptestRequest(target string) *http.Request {
	r, _ := http.NewRequest(http.MethodPost, "https://127.0.0.1"+target, nil)
	return r
}

func poolOf(pem []byte) *x509.CertPool {
	p := x509.NewCertPool()
	p.AppendCertsFromPEM(pem)
	return p
}

func TestServerGracefulDrain(t *testing.T) {
	ts := startServer(t, exampleDir(t), func(o *Options) {
		o.Checker = slowChecker{}
		o.ShutdownDelay = 300 * time.Millisecond
	})
	body, _ := webhooktest.Review{UID: "d", Operation: "CREATE", Object: cm("drain")}.JSON()
	type result struct {
		code int
		err  error
	}
	res := make(chan result, 1)
	go func() {
		resp, err := ts.client.Post(ts.url+"/validate", "application/json", bytes.NewReader(body))
		if err != nil {
			res <- result{err: err}
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		res <- result{code: resp.StatusCode}
	}()
	waitFor(t, "the request to be in flight", func() bool {
		_, m := ts.get(t, "/metrics")
		return strings.Contains(m, "intentc_webhook_inflight_requests 1")
	})
	ts.cancel() // SIGTERM
	waitFor(t, "unready", func() bool { code, _ := ts.get(t, "/readyz"); return code == 503 })
	r := <-res
	if r.err != nil || r.code != 200 {
		t.Errorf("in-flight request during drain: %d %v", r.code, r.err)
	}
	select {
	case err := <-ts.done:
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("Serve: %v", err)
		}
		ts.done <- err // for the cleanup
	case <-time.After(10 * time.Second):
		t.Fatal("server did not stop")
	}
}

func TestScanUID(t *testing.T) {
	body, _ := webhooktest.Review{UID: "u-1", Operation: "CREATE", Object: cm("x")}.JSON()
	if uid, kind := scanUID(body); uid != "u-1" || kind != "ConfigMap" {
		t.Errorf("scanUID = %q, %q", uid, kind)
	}
	// Cut in the middle of the object: the header is still read.
	if uid, _ := scanUID(body[:len(body)-20]); uid != "u-1" {
		t.Errorf("truncated: %q", uid)
	}
	// A uid key inside the object is not the request's.
	tricky := []byte(`{"request":{"object":{"uid":"nope","kind":{"kind":"no"}},"uid":"yes","kind":{"kind":"Pod"}}}`)
	if uid, kind := scanUID(tricky); uid != "yes" || kind != "Pod" {
		t.Errorf("nested: %q %q", uid, kind)
	}
	if uid, _ := scanUID([]byte("garbage")); uid != "" {
		t.Errorf("garbage: %q", uid)
	}
}
