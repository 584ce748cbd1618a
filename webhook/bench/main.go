// Command bench is the load and fault benchmark of intentc serve (make
// bench-webhook). It starts the real binary on loopback with the bundled
// example's intent, sends concurrent AdmissionReviews mixing admitted and
// denied objects, and reports requests per second, latency percentiles at a
// fixed 500 requests/s and at saturation, and the server's steady-state
// memory. Then it injects faults — malformed JSON, an oversized body, slow
// and stalled clients, intent reloads, SIGTERM — under background load, and
// checks that every request gets a correct answer and none is lost.
//
// Input: the intentc binary (-intentc) and the repository's example.
// Output: a report on stdout; exit status 1 when an answer was wrong or
// lost. Every phase is bounded in time and in requests. Diagnostic codes:
// none.
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/intentc/intentc/webhook/webhooktest"
)

var (
	binary      = flag.String("intentc", "bin/intentc", "the intentc binary to benchmark")
	example     = flag.String("example", "examples/cross-cloud/intents", "intent directory to serve")
	cluster     = flag.String("cluster", "openstack-prod", "cluster to serve")
	phase       = flag.Duration("phase", 10*time.Second, "length of each load phase")
	maxRequests = flag.Int("max-requests", 200000, "upper bound on the requests of one phase")
	rate        = flag.Int("rate", 500, "requests per second of the fixed-rate phase")
	workers     = flag.Int("workers", 32, "concurrent clients of the saturation phase")
	policies    = flag.Bool("policies", true, "run the per-object policy rules (intentc serve's default)")
)

func main() {
	flag.Parse()
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// server is the intentc serve process under test.
type server struct {
	cmd    *exec.Cmd
	url    string
	dir    string // its intent directory
	pki    *webhooktest.PKI
	client *http.Client
	stderr *os.File
}

func run() error {
	work, err := os.MkdirTemp("", "intentc-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	s, err := start(work)
	if err != nil {
		return err
	}
	defer s.stop()

	mix, err := newMix(s)
	if err != nil {
		return err
	}
	fmt.Printf("intentc serve benchmark: %s, cluster %s, policies %v, %d CPUs\n",
		*example, *cluster, *policies, numCPU())
	fmt.Printf("request mix: %d bodies, %d admitted / %d denied (drift, managed delete, contradictions, policy)\n\n",
		len(mix), count(mix, true), count(mix, false))

	var failures []string
	// Warm up: open as many connections as the phases use (a TLS
	// handshake per new connection is not what is being measured) and let
	// the server's heap settle.
	load(s, mix, 0, max(64, *workers), 2*time.Second, *maxRequests)

	fixed := load(s, mix, *rate, 64, *phase, *maxRequests)
	mem1 := s.memory()
	fixed.print(fmt.Sprintf("fixed rate %d/s", *rate))
	failures = append(failures, fixed.failures...)

	sat := load(s, mix, 0, *workers, *phase, *maxRequests)
	mem2 := s.memory()
	sat.print(fmt.Sprintf("saturation, %d workers", *workers))
	failures = append(failures, sat.failures...)

	idle := 2 * time.Second
	time.Sleep(idle)
	mem3 := s.memory()
	fmt.Printf("\nmemory (server process):\n  after the fixed-rate phase  %s\n  after saturation           %s\n  idle %s later              %s\n\n",
		mem1, mem2, idle, mem3)

	fmt.Println("faults, each under background load of 100 requests/s:")
	for _, f := range []struct {
		name string
		fn   func(*server, []body) error
	}{
		{"malformed JSON", faultMalformed},
		{"oversized body (9 MiB)", faultOversized},
		{"slow client (body over 2 s)", faultSlowClient},
		{"stalled client (never finishes)", faultStalledClient},
		{"intent reloads (good, broken, good)", faultReload},
	} {
		bg := background(s, mix, 100)
		err := f.fn(s, mix)
		r := bg()
		status := "ok"
		if err != nil {
			status = "FAILED: " + err.Error()
			failures = append(failures, f.name+": "+err.Error())
		}
		failures = append(failures, r.failures...)
		fmt.Printf("  %-38s %s; background: %d sent, %d answered correctly, %d lost, p99 %s\n",
			f.name, status, r.sent, r.ok, r.sent-r.ok, round(r.pct(0.99)))
	}
	if err := faultSIGTERM(s, mix); err != nil {
		failures = append(failures, "SIGTERM: "+err.Error())
		fmt.Printf("  %-38s FAILED: %v\n", "SIGTERM under load", err)
	}
	if len(failures) > 0 {
		fmt.Printf("\n%d wrong or lost answers:\n", len(failures))
		for i, f := range failures {
			if i == 20 {
				fmt.Printf("  ... and %d more\n", len(failures)-20)
				break
			}
			fmt.Println("  " + f)
		}
		return errors.New("some answers were wrong or lost")
	}
	fmt.Println("\nevery request got a correct answer; none was lost")
	return nil
}

func numCPU() int { return runtime.NumCPU() }

func tlsDial(s *server) (net.Conn, error) {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(s.pki.CAPEM)
	return tls.Dial("tcp", strings.TrimPrefix(s.url, "https://"), &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12})
}

func start(work string) (*server, error) {
	pki, err := webhooktest.NewPKI(work)
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(work, "intent")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(*example)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(*example, e.Name()))
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), data, 0o644); err != nil {
			return nil, err
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	stderr, err := os.Create(filepath.Join(work, "serve.log"))
	if err != nil {
		return nil, err
	}
	args := []string{"serve", "--intent-dir", dir, "--cluster", *cluster, "--listen", addr,
		"--tls-cert-file", pki.CertFile, "--tls-key-file", pki.KeyFile,
		"--reload-interval", "200ms", "--read-timeout", "3s", "--shutdown-delay", "1s"}
	if !*policies {
		args = append(args, "--no-policies")
	}
	cmd := exec.Command(*binary, args...)
	cmd.Stderr = stderr
	// The Deployment gives the compiler and the policy step a
	// memory-backed /tmp (emptyDir medium Memory); do the same here.
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		cmd.Env = append(os.Environ(), "TMPDIR=/dev/shm")
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", *binary, err)
	}
	s := &server{cmd: cmd, url: "https://" + addr, dir: dir, pki: pki, client: pki.Client(256), stderr: stderr}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := s.client.Get(s.url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return s, nil
			}
		}
		if time.Now().After(deadline) {
			s.stop()
			log, _ := os.ReadFile(stderr.Name())
			return nil, fmt.Errorf("intentc serve not ready after 30s:\n%s", log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *server) stop() {
	if s.cmd.ProcessState == nil {
		s.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { s.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			s.cmd.Process.Kill()
			<-done
		}
	}
	s.stderr.Close()
}

// memory reads the server's resident set and Go heap.
func (s *server) memory() string {
	rss := "?"
	if data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid)); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if strings.HasPrefix(line, "VmRSS:") {
				rss = strings.Join(strings.Fields(strings.TrimPrefix(line, "VmRSS:")), " ")
			}
		}
	}
	heap := s.metric("go_memstats_heap_inuse_bytes")
	gr := s.metric("go_goroutines")
	return fmt.Sprintf("RSS %s, Go heap in use %.1f MiB, %0.f goroutines", rss, heap/(1<<20), gr)
}

func (s *server) metric(name string) float64 {
	resp, err := s.client.Get(s.url + "/metrics")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	total, found := 0.0, false
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, name+" ") || strings.HasPrefix(line, name+"{") {
			f := strings.Fields(line)
			if v, err := strconv.ParseFloat(f[len(f)-1], 64); err == nil {
				total += v
				found = true
			}
		}
	}
	if !found {
		return -1
	}
	return total
}

// body is one prepared AdmissionReview and the decision it must get.
type body struct {
	name    string
	data    []byte
	allowed bool
	// stable: the decision does not depend on which of the benchmark's
	// intents is loaded (reload faults check only these exactly).
	stable bool
}

func count(m []body, allowed bool) int {
	n := 0
	for _, b := range m {
		if b.allowed == allowed {
			n++
		}
	}
	return n
}

// newMix builds the request bodies from what the served intent compiles
// to: managed objects as written by a sync (admitted) and as edited by
// hand (denied), managed deletes, and unmanaged objects that do or do not
// contradict the intent.
func newMix(s *server) ([]body, error) {
	out, err := os.MkdirTemp("", "intentc-bench-out-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(out)
	if b, err := exec.Command(*binary, "compile", s.dir, "-o", out).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("compile: %v\n%s", err, b)
	}
	read := func(rel string) (map[string]any, error) {
		data, err := os.ReadFile(filepath.Join(out, "clusters", *cluster, rel))
		if err != nil {
			return nil, err
		}
		var m map[string]any
		return m, yaml.Unmarshal(data, &m)
	}
	var mix []body
	add := func(name, op string, obj, old any, allowed, stable bool) error {
		data, err := webhooktest.Review{UID: name, Operation: op, Object: obj, OldObject: old}.JSON()
		if err != nil {
			return err
		}
		mix = append(mix, body{name: name, data: data, allowed: allowed, stable: stable})
		return nil
	}
	for _, rel := range []string{"prod/virtualservice-inventory.yaml", "prod/authorizationpolicy-frontend-reads-inventory.yaml",
		"prod/networkpolicy-intentc-default-deny.yaml", "prod/destinationrule-inventory.yaml", "prod/peerauthentication-default.yaml"} {
		o, err := read(rel)
		if err != nil {
			return nil, err
		}
		if err := add("sync "+rel, "UPDATE", o, o, true, false); err != nil {
			return nil, err
		}
	}
	vs, err := read("prod/virtualservice-inventory.yaml")
	if err != nil {
		return nil, err
	}
	edited := clone(vs)
	for _, d := range edited["spec"].(map[string]any)["http"].([]any)[1].(map[string]any)["route"].([]any) {
		d.(map[string]any)["weight"] = 50
	}
	ap, err := read("prod/authorizationpolicy-allow-nothing.yaml")
	if err != nil {
		return nil, err
	}
	obj := func(js string) map[string]any {
		var m map[string]any
		json.Unmarshal([]byte(js), &m)
		return m
	}
	steps := []error{
		add("drift 50/50", "UPDATE", edited, vs, false, false),
		add("delete allow-nothing", "DELETE", nil, ap, false, true),
		add("allow-all policy", "CREATE", obj(`{"apiVersion":"security.istio.io/v1","kind":"AuthorizationPolicy","metadata":{"name":"open","namespace":"prod"},"spec":{"rules":[{}]}}`), nil, false, true),
		add("extra NetworkPolicy", "CREATE", obj(`{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"extra","namespace":"prod"},"spec":{"podSelector":{},"policyTypes":["Ingress"],"ingress":[{}]}}`), nil, false, true),
		add("second VirtualService", "CREATE", obj(`{"apiVersion":"networking.istio.io/v1","kind":"VirtualService","metadata":{"name":"mine","namespace":"prod"},"spec":{"hosts":["inventory"]}}`), nil, false, true),
		add("unmanaged VirtualService", "CREATE", obj(`{"apiVersion":"networking.istio.io/v1","kind":"VirtualService","metadata":{"name":"shop","namespace":"sandbox"},"spec":{"hosts":["shop.sandbox.svc.cluster.local"],"http":[{"route":[{"destination":{"host":"shop.sandbox.svc.cluster.local"}}]}]}}`), nil, true, true),
		add("unmanaged Service", "CREATE", obj(`{"apiVersion":"v1","kind":"Service","metadata":{"name":"shop","namespace":"sandbox"},"spec":{"ports":[{"name":"http","port":80}]}}`), nil, true, true),
		add("isolating NetworkPolicy", "CREATE", obj(`{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"iso","namespace":"prod"},"spec":{"podSelector":{},"policyTypes":["Ingress","Egress"]}}`), nil, true, true),
	}
	for _, err := range steps {
		if err != nil {
			return nil, err
		}
	}
	if *policies {
		if err := add("spiffe principal (policy IC4003)", "CREATE", obj(`{"apiVersion":"security.istio.io/v1","kind":"AuthorizationPolicy","metadata":{"name":"sp","namespace":"sandbox"},"spec":{"action":"DENY","rules":[{"from":[{"source":{"principals":["spiffe://cluster.local/ns/a/sa/b"]}}]}]}}`), nil, false, true); err != nil {
			return nil, err
		}
	}
	return mix, nil
}

func clone(m map[string]any) map[string]any {
	b, _ := json.Marshal(m)
	var out map[string]any
	json.Unmarshal(b, &out)
	return out
}

// result is one phase's outcome.
type result struct {
	sent, ok  int
	latencies []time.Duration
	elapsed   time.Duration
	failures  []string
}

func (r *result) pct(p float64) time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	l := slices.Clone(r.latencies)
	slices.Sort(l)
	i := int(float64(len(l))*p+0.5) - 1
	return l[max(0, min(i, len(l)-1))]
}

func (r *result) print(name string) {
	fmt.Printf("%-26s %7d requests in %5.1fs = %7.0f req/s   p50 %-9s p99 %-9s p99.9 %-9s max %-9s wrong/lost %d\n",
		name, r.sent, r.elapsed.Seconds(), float64(r.ok)/r.elapsed.Seconds(),
		round(r.pct(0.50)), round(r.pct(0.99)), round(r.pct(0.999)), round(r.pct(1)), r.sent-r.ok)
}

func round(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%dµs", d.Microseconds())
	case d < 100*time.Millisecond:
		return fmt.Sprintf("%.2fms", float64(d.Microseconds())/1000)
	}
	return d.Round(time.Millisecond).String()
}

// send posts one body and checks the answer: HTTP 200, the request's UID,
// the expected decision (for stable bodies when lax).
func (s *server) send(b body, lax bool) error {
	resp, err := s.client.Post(s.url+"/validate", "application/json", bytes.NewReader(b.data))
	if err != nil {
		return err
	}
	data, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	if resp.StatusCode != 200 {
		return fmt.Errorf("HTTP %d: %.200s", resp.StatusCode, data)
	}
	r, err := webhooktest.ParseResponse(data)
	if err != nil {
		return err
	}
	if r.UID != b.name {
		return fmt.Errorf("answer for %q", r.UID)
	}
	if (!lax || b.stable) && r.Allowed != b.allowed {
		msg := ""
		if r.Result != nil {
			msg = r.Result.Message
		}
		return fmt.Errorf("allowed=%v, want %v: %.300s", r.Allowed, b.allowed, msg)
	}
	return nil
}

// load sends the mix round-robin for d (or n requests): at a fixed rate
// when perSecond > 0 (open loop: latency counts from the scheduled send
// time, so a stall is not hidden), else as fast as conc workers can.
func load(s *server, mix []body, perSecond, conc int, d time.Duration, n int) *result {
	return loadLax(s, mix, perSecond, conc, d, n, false)
}

func loadLax(s *server, mix []body, perSecond, conc int, d time.Duration, n int, lax bool) *result {
	var (
		mu  sync.Mutex
		res = &result{}
		seq atomic.Int64
		wg  sync.WaitGroup
	)
	record := func(b body, lat time.Duration, err error) {
		mu.Lock()
		defer mu.Unlock()
		res.sent++
		if err != nil {
			res.failures = append(res.failures, fmt.Sprintf("%s: %v", b.name, err))
			return
		}
		res.ok++
		res.latencies = append(res.latencies, lat)
	}
	start := time.Now()
	deadline := start.Add(d)
	if perSecond > 0 {
		interval := time.Second / time.Duration(perSecond)
		sem := make(chan struct{}, conc)
		for i := 0; i < n; i++ {
			at := start.Add(time.Duration(i) * interval)
			if at.After(deadline) {
				break
			}
			time.Sleep(time.Until(at))
			sem <- struct{}{}
			wg.Add(1)
			go func(b body) {
				defer func() { <-sem; wg.Done() }()
				err := s.send(b, lax)
				record(b, time.Since(at), err)
			}(mix[i%len(mix)])
		}
	} else {
		for range conc {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := seq.Add(1) - 1
					if int(i) >= n || time.Now().After(deadline) {
						return
					}
					b := mix[int(i)%len(mix)]
					t := time.Now()
					err := s.send(b, lax)
					record(b, time.Since(t), err)
				}
			}()
		}
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	return res
}

// background runs load at perSecond until the returned function is called,
// which returns what happened. Decisions are checked laxly (only bodies
// whose decision no reload changes must match).
func background(s *server, mix []body, perSecond int) func() *result {
	stop := make(chan struct{})
	done := make(chan *result, 1)
	go func() {
		res := &result{}
		var mu sync.Mutex
		var wg sync.WaitGroup
		t := time.NewTicker(time.Second / time.Duration(perSecond))
		defer t.Stop()
		start := time.Now()
		for i := 0; ; i++ {
			select {
			case <-stop:
				wg.Wait()
				res.elapsed = time.Since(start)
				done <- res
				return
			case <-t.C:
			}
			b := mix[i%len(mix)]
			wg.Add(1)
			go func() {
				defer wg.Done()
				at := time.Now()
				err := s.send(b, true)
				mu.Lock()
				defer mu.Unlock()
				res.sent++
				if err != nil {
					res.failures = append(res.failures, "background "+b.name+": "+err.Error())
					return
				}
				res.ok++
				res.latencies = append(res.latencies, time.Since(at))
			}()
		}
	}()
	return func() *result { close(stop); return <-done }
}

func faultMalformed(s *server, _ []body) error {
	for i := range 50 {
		resp, err := s.client.Post(s.url+"/validate", "application/json", strings.NewReader(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"x`+strconv.Itoa(i)))
		if err != nil {
			return err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 400 {
			return fmt.Errorf("malformed JSON answered HTTP %d, want 400", resp.StatusCode)
		}
	}
	return nil
}

func faultOversized(s *server, _ []body) error {
	big := map[string]any{"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": "big", "namespace": "prod"},
		"data":     map[string]any{"blob": strings.Repeat("x", 9<<20)}}
	data, err := webhooktest.Review{UID: "oversized", Operation: "CREATE", Object: big}.JSON()
	if err != nil {
		return err
	}
	resp, err := s.client.Post(s.url+"/validate", "application/json", bytes.NewReader(data))
	if err != nil {
		return err
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	r, err := webhooktest.ParseResponse(b)
	if err != nil {
		return fmt.Errorf("HTTP %d: %v", resp.StatusCode, err)
	}
	if r.UID != "oversized" || r.Allowed || r.Result == nil || r.Result.Code != 413 {
		return fmt.Errorf("oversized body answered %+v", r)
	}
	return nil
}

// slowReader hands out its data in pieces, pausing between them.
type slowReader struct {
	data   []byte
	pieces int
	pause  time.Duration
	sent   int
}

func (r *slowReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	if r.sent > 0 {
		time.Sleep(r.pause)
	}
	n := min(len(p), max(1, len(r.data)/max(1, r.pieces-r.sent)))
	copy(p, r.data[:n])
	r.data = r.data[n:]
	r.sent++
	return n, nil
}

func faultSlowClient(s *server, mix []body) error {
	b := mix[0]
	req, err := http.NewRequest(http.MethodPost, s.url+"/validate", &slowReader{data: b.data, pieces: 10, pause: 200 * time.Millisecond})
	if err != nil {
		return err
	}
	req.ContentLength = int64(len(b.data))
	resp, err := s.pki.Client(1).Do(req)
	if err != nil {
		return err
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	r, err := webhooktest.ParseResponse(data)
	if err != nil {
		return fmt.Errorf("HTTP %d: %v", resp.StatusCode, err)
	}
	if r.UID != b.name || r.Allowed != b.allowed {
		return fmt.Errorf("slow client answered %+v", r)
	}
	return nil
}

// faultStalledClient opens connections that send half a request and
// stop: the server must cut them off after --read-timeout (3 s here) and
// keep serving everyone else meanwhile.
func faultStalledClient(s *server, _ []body) error {
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range 20 {
		c, err := tlsDial(s)
		if err != nil {
			return err
		}
		conns = append(conns, c)
		fmt.Fprintf(c, "POST /validate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n{\"apiVersion\":")
	}
	deadline := time.Now().Add(8 * time.Second)
	for i, c := range conns {
		c.SetReadDeadline(deadline)
		data, err := io.ReadAll(c)
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return fmt.Errorf("stalled connection %d still open after 8s", i)
		}
		if len(data) > 0 && !bytes.Contains(data, []byte(" 408 ")) {
			return fmt.Errorf("stalled connection %d answered %.100q", i, data)
		}
	}
	return nil
}

func faultReload(s *server, mix []body) error {
	files, _ := os.ReadDir(s.dir)
	orig := map[string][]byte{}
	for _, f := range files {
		orig[f.Name()], _ = os.ReadFile(filepath.Join(s.dir, f.Name()))
	}
	before := s.metric("intentc_webhook_intent_compiles_total")
	inv := filepath.Join(s.dir, "inventory.yaml")
	variant := bytes.Replace(orig["inventory.yaml"], []byte("weight: 70"), []byte("weight: 60"), 1)
	broken := filepath.Join(s.dir, "zz-broken.yaml")
	var steps []func() error
	steps = append(steps,
		func() error { return os.WriteFile(inv, variant, 0o644) },
		func() error {
			return os.WriteFile(broken, []byte("apiVersion: intentc.dev/v1alpha1\nkind: MeshService\nmetadata: {name: x}\n"), 0o644)
		},
		func() error { return os.Remove(broken) },
		func() error { return os.WriteFile(inv, orig["inventory.yaml"], 0o644) },
	)
	// Reload while the load runs: each step, then wait for the server to
	// pick it up (200 ms poll), under load.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan *result, 1)
	go func() { done <- loadLax(s, mix, 300, 64, 4*time.Second, *maxRequests, true) }()
	for _, step := range steps {
		select {
		case <-ctx.Done():
		case <-time.After(700 * time.Millisecond):
		}
		if err := step(); err != nil {
			return err
		}
	}
	r := <-done
	after := s.metric("intentc_webhook_intent_compiles_total")
	errs := s.metric("intentc_webhook_intent_compile_errors_total")
	if len(r.failures) > 0 {
		return fmt.Errorf("%d of %d requests during reloads were answered wrongly or lost: %s", len(r.failures), r.sent, r.failures[0])
	}
	if after-before < 3 || errs < 1 {
		return fmt.Errorf("expected ≥3 compiles and a compile error during the reloads, saw %.0f compiles, %.0f errors", after-before, errs)
	}
	fmt.Printf("  %-38s %d requests during %0.f compiles (%0.f failed, last good kept): all answered, p99 %s\n",
		"  (reload detail)", r.sent, after-before, errs, round(r.pct(0.99)))
	return nil
}

func faultSIGTERM(s *server, mix []body) error {
	// Requests in flight when SIGTERM arrives are answered; during
	// --shutdown-delay new ones are still served; only after it does the
	// listener close.
	res := make(chan *result, 1)
	go func() { res <- loadLax(s, mix, 200, 64, 1500*time.Millisecond, *maxRequests, true) }()
	time.Sleep(500 * time.Millisecond)
	t0 := time.Now()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	r := <-res
	state, err := s.cmd.Process.Wait()
	s.cmd.ProcessState = state
	if err != nil {
		return err
	}
	if len(r.failures) > 0 {
		return fmt.Errorf("%d of %d requests around SIGTERM failed: %s", len(r.failures), r.sent, r.failures[0])
	}
	fmt.Printf("  %-38s %d requests in the second around SIGTERM all answered; exit %d after %s\n",
		"SIGTERM under load (1s shutdown delay)", r.sent, state.ExitCode(), time.Since(t0).Round(10*time.Millisecond))
	if state.ExitCode() != 0 {
		return fmt.Errorf("exit status %d", state.ExitCode())
	}
	return nil
}
