package webhook

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are the webhook's Prometheus series, on their own registry (a
// process serving one webhook has no use for the global one, and tests
// create many servers).
type metrics struct {
	reg         *prometheus.Registry
	requests    *prometheus.CounterVec   // operation, kind, decision
	decisions   *prometheus.CounterVec   // rule, action
	latency     *prometheus.HistogramVec // decision
	evaluation  prometheus.Histogram
	compiles    *prometheus.CounterVec // result
	compileErrs prometheus.Counter
	stale       prometheus.Gauge
	intentInfo  *prometheus.GaugeVec // digest, next
	lastGood    prometheus.Gauge
	panics      prometheus.Counter
	timeouts    prometheus.Counter
	rejected    *prometheus.CounterVec // reason
	certReloads *prometheus.CounterVec // result
	inflight    prometheus.Gauge
}

func newMetrics() *metrics {
	const ns = "intentc_webhook"
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "requests_total",
			Help: "Admission requests answered, by operation, kind and decision (allowed, denied, error)."},
			[]string{"operation", "kind", "decision"}),
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "rule_findings_total",
			Help: "Rule findings by rule (name or policy code) and action (deny, warn, dryrun, window)."},
			[]string{"rule", "action"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: ns, Name: "request_duration_seconds",
			Help:    "Time from reading the request to writing the answer.",
			Buckets: []float64{.0002, .0005, .001, .002, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5}},
			[]string{"decision"}),
		evaluation: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: ns, Name: "evaluation_duration_seconds",
			Help:    "Time spent judging one request (drift, contradictions, intent CR compile, policies).",
			Buckets: []float64{.0001, .0002, .0005, .001, .002, .005, .01, .025, .05, .1, .25, 1}}),
		compiles: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "intent_compiles_total",
			Help: "Compiles of the intent directory, by result (ok, error)."}, []string{"result"}),
		compileErrs: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Name: "intent_compile_errors_total",
			Help: "Compiles of the intent directory that failed (the last good intent stays in force)."}),
		stale: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Name: "intent_stale",
			Help: "1 when the intent directory's current content does not compile and an older intent is enforced."}),
		intentInfo: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: "intent_info",
			Help: "The enforced intent: 1 for its digest and declared next digests."}, []string{"digest", "next"}),
		lastGood: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Name: "intent_last_success_timestamp_seconds",
			Help: "When the enforced intent was compiled."}),
		panics: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Name: "panics_total",
			Help: "Requests whose evaluation panicked (each answered with HTTP 500)."}),
		timeouts: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Name: "timeouts_total",
			Help: "Requests not judged within the per-request timeout (answered with HTTP 503)."}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "bad_requests_total",
			Help: "Requests not judged, by reason (method, read, too_large, malformed, not_ready, client_gone)."}, []string{"reason"}),
		certReloads: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "certificate_reloads_total",
			Help: "Serving certificate reloads, by result (ok, error)."}, []string{"result"}),
		inflight: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Name: "inflight_requests",
			Help: "Admission requests being judged."}),
	}
	m.reg.MustRegister(m.requests, m.decisions, m.latency, m.evaluation, m.compiles, m.compileErrs, m.stale,
		m.intentInfo, m.lastGood, m.panics, m.timeouts, m.rejected, m.certReloads, m.inflight,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}
