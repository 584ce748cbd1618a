package webhook

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/intentc/intentc/compiler/diag"
)

// Options configure a Server. Zero durations and sizes take the defaults
// documented on each field.
type Options struct {
	IntentDir string
	Cluster   string
	// NextDigests are declared next digests in addition to NextDigestFile.
	NextDigests []string
	CertFile    string
	KeyFile     string
	Actions     Actions
	Checker     Checker
	// ReloadInterval is how often the intent directory and the
	// certificate files are checked for changes (default 2s).
	ReloadInterval time.Duration
	// MaxRequestBytes bounds an AdmissionReview (default 8 MiB: an object
	// and its old version of up to the API server's 3 MiB each).
	MaxRequestBytes int64
	// RequestTimeout bounds judging one request (default 2s; never more
	// than the API server's own timeout for the call minus a margin).
	RequestTimeout time.Duration
	// ReadTimeout bounds reading a request, so a slow client holds a
	// connection no longer than this (default 10s).
	ReadTimeout time.Duration
	// ShutdownDelay is how long the server stays up but not ready after
	// SIGTERM, so endpoints drop it before it stops accepting (default 0;
	// deployments set a few seconds).
	ShutdownDelay time.Duration
	// ShutdownTimeout bounds waiting for in-flight requests (default 15s).
	ShutdownTimeout time.Duration
	Logger          *slog.Logger
}

func (o *Options) defaults() {
	if o.ReloadInterval <= 0 {
		o.ReloadInterval = 2 * time.Second
	}
	if o.MaxRequestBytes <= 0 {
		o.MaxRequestBytes = 8 << 20
	}
	if o.RequestTimeout <= 0 {
		o.RequestTimeout = 2 * time.Second
	}
	if o.ReadTimeout <= 0 {
		o.ReadTimeout = 10 * time.Second
	}
	if o.ShutdownTimeout <= 0 {
		o.ShutdownTimeout = 15 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewJSONHandler(os.Stderr, nil))
	}
}

// Server is the admission webhook: one HTTPS listener serving /validate,
// /healthz, /readyz and /metrics.
type Server struct {
	opts    Options
	log     *slog.Logger
	judge   *Judge
	metrics *metrics
	certs   *certReloader

	intent   atomic.Pointer[Intent]
	draining atomic.Bool

	reloadMu sync.Mutex // one reload at a time
	failedFP string     // fingerprint of content known not to compile
}

// New loads the certificate and makes the first attempt to compile the
// intent. A certificate that cannot be loaded is an error; an intent that
// does not compile is not (the server runs, unready, and retries when the
// directory changes).
func New(opts Options) (*Server, error) {
	opts.defaults()
	s := &Server{opts: opts, log: opts.Logger, metrics: newMetrics()}
	s.judge = NewJudge(opts.Actions, opts.Checker)
	if opts.CertFile != "" || opts.KeyFile != "" {
		c, err := newCertReloader(opts.CertFile, opts.KeyFile)
		if err != nil {
			return nil, err
		}
		s.certs = c
	}
	s.Reload()
	return s, nil
}

// Intent returns the enforced intent (nil before the first good compile).
func (s *Server) Intent() *Intent { return s.intent.Load() }

// Ready reports whether the server judges requests: an intent compiled
// and no drain in progress.
func (s *Server) Ready() bool { return s.intent.Load() != nil && !s.draining.Load() }

// Reload checks the intent directory and, if its content changed,
// compiles it and swaps it in. A failed compile keeps the enforced intent.
// It reports whether a new intent was swapped in.
func (s *Server) Reload() bool {
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	files, fp, err := readTree(s.opts.IntentDir)
	if err != nil {
		if s.failedFP != "read-error" {
			s.log.Error("cannot read the intent directory", "dir", s.opts.IntentDir, "error", err.Error())
			s.metrics.compiles.WithLabelValues("error").Inc()
			s.metrics.compileErrs.Inc()
			s.metrics.stale.Set(boolGauge(s.intent.Load() != nil))
		}
		s.failedFP = "read-error"
		return false
	}
	if cur := s.intent.Load(); (cur != nil && cur.Fingerprint == fp) || fp == s.failedFP {
		return false
	}
	start := time.Now()
	in, diags := compileTree(s.opts.IntentDir, s.opts.Cluster, files, fp, s.opts.NextDigests)
	if in == nil {
		s.failedFP = fp
		s.metrics.compiles.WithLabelValues("error").Inc()
		s.metrics.compileErrs.Inc()
		old := s.intent.Load()
		s.metrics.stale.Set(boolGauge(old != nil))
		attrs := []any{"dir", s.opts.IntentDir, "cluster", s.opts.Cluster, "errors", diags.Count(diag.Error), "diagnostics", diagStrings(diags, 20)}
		if old != nil {
			attrs = append(attrs, "enforced_digest", old.Digest)
		}
		s.log.Error("intent does not compile; keeping the last good intent", attrs...)
		return false
	}
	s.failedFP = ""
	old := s.intent.Swap(in)
	s.metrics.compiles.WithLabelValues("ok").Inc()
	s.metrics.stale.Set(0)
	s.metrics.lastGood.SetToCurrentTime()
	s.metrics.intentInfo.Reset()
	s.metrics.intentInfo.WithLabelValues(in.Digest, strings.Join(in.Next, ",")).Set(1)
	attrs := []any{"dir", s.opts.IntentDir, "cluster", s.opts.Cluster, "digest", in.Digest, "next", in.Next,
		"objects", len(in.objects), "compile_ms", time.Since(start).Milliseconds()}
	if old != nil {
		attrs = append(attrs, "previous_digest", old.Digest)
	}
	if n := diags.Count(diag.Warning); n > 0 {
		attrs = append(attrs, "warnings", diagStrings(diags, 20))
	}
	s.log.Info("intent loaded", attrs...)
	return true
}

func diagStrings(ds diag.List, max int) []string {
	var out []string
	for i, d := range ds {
		if i == max {
			out = append(out, fmt.Sprintf("and %d more", len(ds)-max))
			break
		}
		out = append(out, d.String())
	}
	return out
}

func boolGauge(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// Handler serves /validate, /healthz, /readyz and /metrics.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/validate", s.validate)
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("/readyz", s.readyz)
	mux.Handle("/metrics", s.MetricsHandler())
	return mux
}

// MetricsHandler serves the Prometheus metrics (for a separate listener).
func (s *Server) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{})
}

func (s *Server) readyz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain")
	in := s.intent.Load()
	switch {
	case s.draining.Load():
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, "draining\n")
	case in == nil:
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, "no intent compiled yet\n")
	default:
		fmt.Fprintf(w, "ok %s\n", in.Digest)
	}
}

// validate answers one AdmissionReview. Failures the request causes get a
// 4xx; the server's own (not ready, timeout, panic) a 5xx, so that the
// webhook's failurePolicy decides; an object too large to judge is denied
// outright (with failurePolicy Ignore a 413 would admit it unchecked).
func (s *Server) validate(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	if r.Method != http.MethodPost {
		s.metrics.rejected.WithLabelValues("method").Inc()
		http.Error(w, "POST an admission.k8s.io/v1 AdmissionReview", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, s.opts.MaxRequestBytes+1))
	if err != nil {
		s.metrics.rejected.WithLabelValues("read").Inc()
		s.log.Warn("cannot read the request", "remote", r.RemoteAddr, "error", err.Error())
		http.Error(w, "cannot read the request: "+err.Error(), http.StatusRequestTimeout)
		return
	}
	if int64(len(body)) > s.opts.MaxRequestBytes {
		s.tooLarge(w, r, body, start)
		return
	}
	var review admissionv1.AdmissionReview
	if err := json.Unmarshal(body, &review); err != nil || review.Request == nil {
		s.metrics.rejected.WithLabelValues("malformed").Inc()
		msg := "not an AdmissionReview with a request"
		if err != nil {
			msg = "malformed AdmissionReview: " + err.Error()
		}
		http.Error(w, msg, http.StatusBadRequest)
		return
	}
	if review.APIVersion != "" && review.APIVersion != admissionv1.SchemeGroupVersion.String() {
		s.metrics.rejected.WithLabelValues("malformed").Inc()
		http.Error(w, fmt.Sprintf("AdmissionReview %s is not supported: register the webhook with admissionReviewVersions [v1]", review.APIVersion), http.StatusBadRequest)
		return
	}
	in := s.intent.Load()
	if in == nil {
		s.metrics.rejected.WithLabelValues("not_ready").Inc()
		http.Error(w, "intentc webhook: no intent compiled yet (see its logs)", http.StatusServiceUnavailable)
		return
	}
	req, err := NewRequest(review.Request)
	if err != nil {
		s.metrics.rejected.WithLabelValues("malformed").Inc()
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}

	s.metrics.inflight.Inc()
	defer s.metrics.inflight.Dec()
	ctx, cancel := context.WithTimeout(r.Context(), s.timeoutFor(r))
	defer cancel()
	d, panicked, err := s.judgeSafely(ctx, in, req)
	op, kind := string(req.Operation), req.Kind
	switch {
	case panicked != nil:
		s.metrics.panics.Inc()
		s.metrics.requests.WithLabelValues(op, kind, "error").Inc()
		s.log.Error("panic while judging a request", "uid", req.UID, "operation", op, "kind", kind,
			"namespace", req.Namespace, "name", req.Name, "panic", fmt.Sprint(panicked.value), "stack", panicked.stack)
		http.Error(w, fmt.Sprintf("intentc webhook: internal error judging %s %s/%s", kind, req.Namespace, req.Name), http.StatusInternalServerError)
		return
	case err != nil && r.Context().Err() != nil:
		// The client went away (the API server gave up): nobody to answer.
		s.metrics.rejected.WithLabelValues("client_gone").Inc()
		s.log.Warn("client went away before the answer", "uid", req.UID, "operation", op, "kind", kind,
			"namespace", req.Namespace, "name", req.Name)
		return
	case err != nil:
		s.metrics.timeouts.Inc()
		s.metrics.requests.WithLabelValues(op, kind, "error").Inc()
		s.log.Error("request not judged in time", "uid", req.UID, "operation", op, "kind", kind,
			"namespace", req.Namespace, "name", req.Name, "error", err.Error())
		http.Error(w, "intentc webhook: "+err.Error(), http.StatusServiceUnavailable)
		return
	}

	resp := &admissionv1.AdmissionResponse{UID: review.Request.UID, Allowed: d.Allowed, Warnings: d.Warnings()}
	if !d.Allowed {
		resp.Result = &metav1.Status{Status: metav1.StatusFailure, Code: http.StatusForbidden,
			Reason: metav1.StatusReasonForbidden, Message: d.Message()}
	}
	s.writeReview(w, resp)
	decision := "allowed"
	if !d.Allowed {
		decision = "denied"
	}
	s.metrics.requests.WithLabelValues(op, kind, decision).Inc()
	s.metrics.latency.WithLabelValues(decision).Observe(time.Since(start).Seconds())
	for _, f := range d.Findings {
		s.metrics.decisions.WithLabelValues(f.Rule, string(f.Action)).Inc()
	}
	if d.Window {
		s.metrics.decisions.WithLabelValues("digest-window", "window").Inc()
	}
	s.logDecision(req, in, d, time.Since(start))
}

type panicInfo struct {
	value any
	stack string
}

// judgeSafely runs the judge in its own goroutine, so that the answer
// goes out when the timeout expires even if judging does not stop, and a
// panic is caught and answered instead of closing the connection (or, in
// a goroutine of ours, killing the process).
func (s *Server) judgeSafely(ctx context.Context, in *Intent, req *Request) (Decision, *panicInfo, error) {
	type result struct {
		d Decision
		p *panicInfo
	}
	ch := make(chan result, 1)
	go func() {
		evalStart := time.Now()
		defer func() {
			if v := recover(); v != nil {
				ch <- result{p: &panicInfo{value: v, stack: string(debug.Stack())}}
			}
		}()
		d := s.judge.Admit(ctx, in, req)
		s.metrics.evaluation.Observe(time.Since(evalStart).Seconds())
		ch <- result{d: d}
	}()
	select {
	case r := <-ch:
		return r.d, r.p, nil
	case <-ctx.Done():
		return Decision{}, nil, fmt.Errorf("not judged within %s: %w", s.timeoutFor(nil), ctx.Err())
	}
}

// timeoutFor is the per-request timeout: the configured one, shortened to
// leave a margin inside the API server's own (?timeout= on the call).
func (s *Server) timeoutFor(r *http.Request) time.Duration {
	t := s.opts.RequestTimeout
	if r == nil {
		return t
	}
	if q := r.URL.Query().Get("timeout"); q != "" {
		if d, err := time.ParseDuration(q); err == nil && d > 0 {
			margin := min(d/5, 500*time.Millisecond)
			t = min(t, d-margin)
		}
	}
	return t
}

// tooLarge answers an oversized review: denied, if its UID can be read
// from the start of the body; otherwise 413.
func (s *Server) tooLarge(w http.ResponseWriter, r *http.Request, body []byte, start time.Time) {
	s.metrics.rejected.WithLabelValues("too_large").Inc()
	uid, kind := scanUID(body[:min(len(body), 64<<10)])
	s.log.Warn("request too large", "remote", r.RemoteAddr, "limit_bytes", s.opts.MaxRequestBytes, "uid", uid, "kind", kind)
	if uid == "" {
		http.Error(w, fmt.Sprintf("AdmissionReview larger than %d bytes", s.opts.MaxRequestBytes), http.StatusRequestEntityTooLarge)
		return
	}
	f := s.judge.finding(RuleTooLarge, "the request for %s is larger than %d bytes and cannot be judged", orUnknown(kind), s.opts.MaxRequestBytes)
	d := Decision{Findings: []Finding{f}, Allowed: f.Action != Deny}
	resp := &admissionv1.AdmissionResponse{UID: types.UID(uid), Allowed: d.Allowed, Warnings: d.Warnings()}
	if !d.Allowed {
		resp.Result = &metav1.Status{Status: metav1.StatusFailure, Code: http.StatusRequestEntityTooLarge,
			Reason: metav1.StatusReasonRequestEntityTooLarge, Message: d.Message()}
	}
	s.writeReview(w, resp)
	decision := "allowed"
	if !d.Allowed {
		decision = "denied"
	}
	s.metrics.requests.WithLabelValues("", orUnknown(kind), decision).Inc()
	s.metrics.decisions.WithLabelValues(f.Rule, string(f.Action)).Inc()
	s.metrics.latency.WithLabelValues(decision).Observe(time.Since(start).Seconds())
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// scanUID reads request.uid and request.kind.kind from the start of an
// AdmissionReview without decoding the rest (the API server writes them
// before the object).
func scanUID(prefix []byte) (uid, kind string) {
	type frame struct {
		obj     bool
		key     string
		wantKey bool
	}
	var stack []frame
	path := func() string {
		parts := make([]string, len(stack))
		for i, f := range stack {
			parts[i] = f.key
			if !f.obj {
				parts[i] = "[]"
			}
		}
		return strings.Join(parts, ".")
	}
	valueDone := func() {
		if n := len(stack); n > 0 && stack[n-1].obj {
			stack[n-1].wantKey = true
		}
	}
	dec := json.NewDecoder(bytes.NewReader(prefix))
	for uid == "" || kind == "" {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		if d, ok := tok.(json.Delim); ok {
			switch d {
			case '{':
				stack = append(stack, frame{obj: true, wantKey: true})
			case '[':
				stack = append(stack, frame{})
			default:
				if len(stack) == 0 {
					return uid, kind
				}
				stack = stack[:len(stack)-1]
				valueDone()
			}
			continue
		}
		if n := len(stack); n > 0 && stack[n-1].obj && stack[n-1].wantKey {
			stack[n-1].key, _ = tok.(string)
			stack[n-1].wantKey = false
			continue
		}
		if v, ok := tok.(string); ok {
			switch path() {
			case "request.uid":
				uid = v
			case "request.kind.kind":
				kind = v
			}
		}
		valueDone()
	}
	return uid, kind
}

func (s *Server) writeReview(w http.ResponseWriter, resp *admissionv1.AdmissionResponse) {
	out := admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: admissionv1.SchemeGroupVersion.String(), Kind: "AdmissionReview"},
		Response: resp,
	}
	b, err := json.Marshal(&out)
	if err != nil {
		http.Error(w, "cannot encode the response", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(b)
}

func (s *Server) logDecision(req *Request, in *Intent, d Decision, took time.Duration) {
	level := slog.LevelDebug
	if !d.Allowed || len(d.Findings) > 0 || d.Window {
		level = slog.LevelInfo
	}
	if !s.log.Enabled(context.Background(), level) {
		return
	}
	attrs := []slog.Attr{
		slog.String("uid", req.UID), slog.String("operation", string(req.Operation)),
		slog.String("group", req.Group), slog.String("kind", req.Kind),
		slog.String("namespace", req.Namespace), slog.String("name", req.Name),
		slog.String("user", req.User), slog.Bool("allowed", d.Allowed), slog.String("class", d.Class),
		slog.String("digest", in.Digest), slog.Float64("ms", float64(took.Microseconds())/1000),
	}
	if d.Window {
		attrs = append(attrs, slog.Bool("digest_window", true))
	}
	for i, f := range d.Findings {
		attrs = append(attrs, slog.Group(fmt.Sprintf("finding%d", i),
			slog.String("rule", f.Rule), slog.String("code", string(f.Code)),
			slog.String("action", string(f.Action)), slog.String("message", f.Message)))
	}
	s.log.LogAttrs(context.Background(), level, "admission", attrs...)
}

// TLSConfig is the serving configuration: TLS 1.2 or newer, the
// certificate read from the files at each handshake's time (reloaded when
// they change).
func (s *Server) TLSConfig() *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: s.certs.get}
}

// Serve serves HTTPS on ln until ctx is done, then drains: /readyz turns
// 503 at once, the listener keeps accepting for ShutdownDelay (endpoints
// take that long to drop the pod), and in-flight requests finish within
// ShutdownTimeout. It also runs the reload loops.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	if s.certs == nil {
		return errors.New("webhook: no certificate: set CertFile and KeyFile")
	}
	srv := &http.Server{
		Handler:           s.Handler(),
		TLSConfig:         s.TLSConfig(),
		ReadHeaderTimeout: min(s.opts.ReadTimeout, 5*time.Second),
		ReadTimeout:       s.opts.ReadTimeout,
		WriteTimeout:      s.opts.ReadTimeout + s.opts.RequestTimeout + 5*time.Second,
		IdleTimeout:       90 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	loopCtx, stopLoops := context.WithCancel(context.Background())
	defer stopLoops()
	go s.reloadLoop(loopCtx)

	errc := make(chan error, 1)
	go func() { errc <- srv.ServeTLS(ln, "", "") }()
	s.log.Info("serving", "addr", ln.Addr().String(), "cluster", s.opts.Cluster, "intent_dir", s.opts.IntentDir, "ready", s.Ready())
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	s.draining.Store(true)
	s.log.Info("draining", "delay", s.opts.ShutdownDelay.String(), "timeout", s.opts.ShutdownTimeout.String())
	time.Sleep(s.opts.ShutdownDelay)
	sctx, cancel := context.WithTimeout(context.Background(), s.opts.ShutdownTimeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	if err == nil {
		s.log.Info("stopped")
	}
	return err
}

func (s *Server) reloadLoop(ctx context.Context) {
	t := time.NewTicker(s.opts.ReloadInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s.Reload()
		if s.certs != nil {
			switch changed, err := s.certs.reload(); {
			case err != nil:
				s.metrics.certReloads.WithLabelValues("error").Inc()
				s.log.Error("cannot reload the serving certificate; keeping the previous one", "cert", s.opts.CertFile, "key", s.opts.KeyFile, "error", err.Error())
			case changed:
				s.metrics.certReloads.WithLabelValues("ok").Inc()
				s.log.Info("serving certificate reloaded", "cert", s.opts.CertFile, "not_after", s.certs.notAfter().Format(time.RFC3339))
			}
		}
	}
}

// certReloader holds the serving certificate and replaces it when the
// files change (a cert-manager renewal rewrites the Secret volume).
type certReloader struct {
	certFile, keyFile string
	mu                sync.RWMutex
	cert              *tls.Certificate
	sum               [32]byte
	lastBad           [32]byte
}

func newCertReloader(certFile, keyFile string) (*certReloader, error) {
	c := &certReloader{certFile: certFile, keyFile: keyFile}
	if _, err := c.reload(); err != nil {
		return nil, err
	}
	return c, nil
}

// reload loads the pair if the files' content changed. A pair that does
// not load (a half-written renewal, say) keeps the current certificate.
func (c *certReloader) reload() (bool, error) {
	certPEM, err := os.ReadFile(c.certFile)
	if err != nil {
		return false, fmt.Errorf("read certificate: %w", err)
	}
	keyPEM, err := os.ReadFile(c.keyFile)
	if err != nil {
		return false, fmt.Errorf("read key: %w", err)
	}
	sum := sha256.Sum256(append(append(certPEM, 0), keyPEM...))
	c.mu.RLock()
	same := c.cert != nil && sum == c.sum
	c.mu.RUnlock()
	if same || sum == c.lastBad {
		return false, nil
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		c.lastBad = sum
		return false, fmt.Errorf("load %s and %s: %w", c.certFile, c.keyFile, err)
	}
	c.mu.Lock()
	c.cert, c.sum = &cert, sum
	c.mu.Unlock()
	return true, nil
}

func (c *certReloader) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.cert, nil
}

func (c *certReloader) notAfter() time.Time {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.cert != nil && c.cert.Leaf != nil {
		return c.cert.Leaf.NotAfter
	}
	return time.Time{}
}
