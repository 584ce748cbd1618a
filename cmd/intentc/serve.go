package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/intentc/intentc/lint"
	"github.com/intentc/intentc/webhook"
)

type serveFlags struct {
	intentDir       string
	cluster         string
	listen          string
	metricsListen   string
	certFile        string
	keyFile         string
	nextDigests     []string
	ruleActions     []string
	policies        []string
	regoVersion     string
	noPolicies      bool
	reloadInterval  time.Duration
	maxRequestBytes int64
	requestTimeout  time.Duration
	readTimeout     time.Duration
	shutdownDelay   time.Duration
	shutdownTimeout time.Duration
	logLevel        string
}

func newServeCmd() *cobra.Command {
	var f serveFlags
	cmd := &cobra.Command{
		Use:   "serve --intent-dir DIR --cluster NAME --tls-cert-file F --tls-key-file F",
		Short: "Run the validating admission webhook that guards the intent in a cluster",
		Long: `Serve runs intentc's validating admission webhook (admission.k8s.io/v1) over
HTTPS, on one listener serving /validate, /healthz, /readyz and /metrics.

It compiles the intent in --intent-dir (a mounted ConfigMap or git-sync
volume) for --cluster and recompiles when the files change; a broken new
intent keeps the last good one (logged, and counted in
intentc_webhook_intent_compile_errors_total). /readyz answers 200 once an
intent has compiled.

It denies (or, per --rule-action, warns about or only records):
  - drift: a managed object that differs from what the intent compiles to,
    and deleting one. Objects carrying a digest declared in
    DIR/.intentc-next-digest (or --next-digest) are admitted: the window in
    which a GitOps sync of the next intent runs ahead of the webhook.
  - contradictions by unmanaged objects (second VirtualService for a managed
    host, shadowing DestinationRule, widening AuthorizationPolicy, weakening
    PeerAuthentication, extra NetworkPolicy, ServiceEntry/WorkloadEntry/
    EnvoyFilter/Sidecar on managed hosts or workloads, Service port
    protocols contradicting the intent);
  - intent custom resources that do not compile with the loaded intent;
  - findings of the per-object policy rules (built-in and --policy).

Rules for --rule-action:
` + wrap(strings.Join(ruleNames(), ", ")+", a policy code (IC4002), or * for every rule not named.", 76, "  ") + `
Actions: deny, warn, dryrun. See docs/webhook.md.

` + exitCodesHelp,
		Example: `  intentc serve --intent-dir /intent --cluster openstack-prod \
    --tls-cert-file /tls/tls.crt --tls-key-file /tls/tls.key
  intentc serve ... --rule-action '*=warn'                 # roll out in warn mode
  intentc serve ... --rule-action extra-networkpolicy=warn --policy /policies`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return runServe(c, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.intentDir, "intent-dir", "", "directory holding the intent (required)")
	fl.StringVar(&f.cluster, "cluster", "", "name of the MeshCluster this webhook runs in (required)")
	fl.StringVar(&f.listen, "listen", ":8443", "HTTPS listen address")
	fl.StringVar(&f.metricsListen, "metrics-listen", "", "optional plain-HTTP address serving only /metrics, /healthz and /readyz")
	fl.StringVar(&f.certFile, "tls-cert-file", "", "serving certificate (PEM; reloaded when it changes; required)")
	fl.StringVar(&f.keyFile, "tls-key-file", "", "serving key (PEM; reloaded when it changes; required)")
	fl.StringArrayVar(&f.nextDigests, "next-digest", nil, "declared next intent digest, in addition to DIR/"+webhook.NextDigestFile+" (repeatable)")
	fl.StringArrayVar(&f.ruleActions, "rule-action", nil, "RULE=deny|warn|dryrun (repeatable)")
	fl.StringArrayVarP(&f.policies, "policy", "p", nil, "directory of Rego policies run on every admitted object (repeatable)")
	fl.StringVar(&f.regoVersion, "rego-version", "auto", "Rego version of your policies: auto, v0 or v1")
	fl.BoolVar(&f.noPolicies, "no-policies", false, "skip the per-object policy rules (built-in and --policy)")
	fl.DurationVar(&f.reloadInterval, "reload-interval", 2*time.Second, "how often the intent directory and certificate are checked for changes")
	fl.Int64Var(&f.maxRequestBytes, "max-request-bytes", 8<<20, "largest AdmissionReview judged; larger objects are denied")
	fl.DurationVar(&f.requestTimeout, "request-timeout", 2*time.Second, "time to judge one request (shortened to fit the API server's own timeout)")
	fl.DurationVar(&f.readTimeout, "read-timeout", 10*time.Second, "time to read one request from a client")
	fl.DurationVar(&f.shutdownDelay, "shutdown-delay", 5*time.Second, "on SIGTERM, keep serving (unready) this long before closing the listener")
	fl.DurationVar(&f.shutdownTimeout, "shutdown-timeout", 15*time.Second, "on SIGTERM, wait this long for in-flight requests")
	fl.StringVar(&f.logLevel, "log-level", "info", "debug (every decision), info (denials, warnings, reloads), warn or error")
	_ = cmd.MarkFlagDirname("intent-dir")
	_ = cmd.MarkFlagDirname("policy")
	_ = cmd.RegisterFlagCompletionFunc("log-level", cobra.FixedCompletions([]string{"debug", "info", "warn", "error"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func ruleNames() []string {
	var out []string
	for _, r := range webhook.Rules {
		out = append(out, r.Name)
	}
	return out
}

// wrap breaks text into lines of at most width, each indented.
func wrap(text string, width int, indent string) string {
	var lines []string
	line := ""
	for _, w := range strings.Fields(text) {
		if line != "" && len(indent)+len(line)+1+len(w) > width {
			lines = append(lines, indent+line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += w
	}
	if line != "" {
		lines = append(lines, indent+line)
	}
	return strings.Join(lines, "\n")
}

// usagef reports a usage error (exit 2).
func usagef(w io.Writer, format string, args ...any) error {
	fmt.Fprintf(w, "intentc: "+format+"\n", args...)
	return exitError{exitUsage}
}

func runServe(c *cobra.Command, f serveFlags) error {
	stderr := c.ErrOrStderr()
	var missing []string
	for _, m := range []struct{ name, v string }{{"--intent-dir", f.intentDir}, {"--cluster", f.cluster}, {"--tls-cert-file", f.certFile}, {"--tls-key-file", f.keyFile}} {
		if m.v == "" {
			missing = append(missing, m.name)
		}
	}
	if len(missing) > 0 {
		return usagef(stderr, "serve needs %s", strings.Join(missing, ", "))
	}
	if st, err := os.Stat(f.intentDir); err != nil || !st.IsDir() {
		return usagef(stderr, "--intent-dir %s is not a directory", f.intentDir)
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(f.logLevel)); err != nil {
		return usagef(stderr, "--log-level must be debug, info, warn or error, not %q", f.logLevel)
	}
	for _, d := range f.nextDigests {
		if !webhook.ValidDigest(d) {
			return usagef(stderr, "--next-digest %q is not a digest of the form sha256:<16 hex digits>", d)
		}
	}
	actions, err := webhook.ParseActions(f.ruleActions)
	if err != nil {
		return usagef(stderr, "--rule-action: %v", err)
	}
	switch f.regoVersion {
	case "auto", "v0", "v1":
	default:
		return usagef(stderr, "--rego-version must be auto, v0 or v1, not %q", f.regoVersion)
	}
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level}))

	var checker webhook.Checker
	if !f.noPolicies {
		version := f.regoVersion
		if version == "auto" {
			version = ""
		}
		engine, ds := lint.New(lint.Options{PolicyDirs: f.policies, RegoVersion: version})
		if engine == nil || ds.HasErrors() {
			for _, d := range ds {
				fmt.Fprintln(stderr, d)
			}
			fmt.Fprintln(stderr, "intentc: the policies do not load")
			return exitError{exitFindings}
		}
		checker = webhook.NewLintChecker(engine)
	}

	srv, err := webhook.New(webhook.Options{
		IntentDir: f.intentDir, Cluster: f.cluster, NextDigests: f.nextDigests,
		CertFile: f.certFile, KeyFile: f.keyFile, Actions: actions, Checker: checker,
		ReloadInterval: f.reloadInterval, MaxRequestBytes: f.maxRequestBytes,
		RequestTimeout: f.requestTimeout, ReadTimeout: f.readTimeout,
		ShutdownDelay: f.shutdownDelay, ShutdownTimeout: f.shutdownTimeout,
		Logger: log,
	})
	if err != nil {
		return usagef(stderr, "%v", err)
	}
	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		return usagef(stderr, "--listen: %v", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()

	if f.metricsListen != "" {
		mln, err := net.Listen("tcp", f.metricsListen)
		if err != nil {
			ln.Close()
			return usagef(stderr, "--metrics-listen: %v", err)
		}
		mux := http.NewServeMux()
		full := srv.Handler()
		mux.Handle("/metrics", srv.MetricsHandler())
		mux.Handle("/healthz", full)
		mux.Handle("/readyz", full)
		msrv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		go msrv.Serve(mln)
		defer msrv.Close()
	}
	if err := srv.Serve(ctx, ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Error("server stopped", "error", err.Error())
		return exitError{exitUsage}
	}
	return nil
}
