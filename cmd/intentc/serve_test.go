package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/intentc/intentc/webhook/webhooktest"
)

func TestServeUsageErrors(t *testing.T) {
	pki, err := webhooktest.NewPKI(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	intents := filepath.Join(example, "intents")
	ok := []string{"serve", "--intent-dir", intents, "--cluster", "openstack-prod", "--tls-cert-file", pki.CertFile, "--tls-key-file", pki.KeyFile}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"serve"}, "serve needs --intent-dir, --cluster, --tls-cert-file, --tls-key-file"},
		{append(ok[:1:1], "--intent-dir", "/no/such/dir", "--cluster", "x", "--tls-cert-file", "a", "--tls-key-file", "b"), "is not a directory"},
		{append(append([]string{}, ok...), "--rule-action", "drift=maybe"), "not deny, warn or dryrun"},
		{append(append([]string{}, ok...), "--rule-action", "nonsense=warn"), `unknown rule "nonsense"`},
		{append(append([]string{}, ok...), "--log-level", "loud"), "--log-level"},
		{append(append([]string{}, ok...), "--rego-version", "v9"), "--rego-version"},
		{append(append([]string{}, ok[:len(ok)-1]...), filepath.Join(pki.Dir, "missing.key")), "read key"},
		{append(append([]string{}, ok...), "stray"), "unknown command"},
		{append(append([]string{}, ok...), "--next-digest", "sha256:xyz"), "--next-digest"},
	} {
		code, _, stderr := intentc(t, c.args...)
		if code != exitUsage || !strings.Contains(stderr, c.want) {
			t.Errorf("intentc %s: exit %d, stderr %q; want exit 2 mentioning %q", strings.Join(c.args, " "), code, stderr, c.want)
		}
	}
}

// lockedBuffer is the server's stderr, read while it runs.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestServeRunsAndDrainsOnSIGTERM runs intentc serve in-process, judges a
// request over HTTPS and stops it the way Kubernetes does.
func TestServeRunsAndDrainsOnSIGTERM(t *testing.T) {
	pki, err := webhooktest.NewPKI(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	stderr := &lockedBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- run([]string{"serve", "--intent-dir", filepath.Join(example, "intents"), "--cluster", "openstack-prod",
			"--tls-cert-file", pki.CertFile, "--tls-key-file", pki.KeyFile, "--listen", addr,
			"--rule-action", "extra-networkpolicy=warn", "--shutdown-delay", "0s"}, io.Discard, stderr)
	}()
	client := pki.Client(2)
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := client.Get("https://" + addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		select {
		case code := <-done:
			t.Fatalf("serve exited %d:\n%s", code, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve never became ready:\n%s", stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	body, _ := webhooktest.Review{UID: "u", Operation: "CREATE", Object: map[string]any{
		"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
		"metadata": map[string]any{"name": "extra", "namespace": "prod"},
		"spec":     map[string]any{"podSelector": map[string]any{}, "policyTypes": []any{"Ingress"}, "ingress": []any{map[string]any{}}},
	}}.JSON()
	resp, err := client.Post("https://"+addr+"/validate", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	r, err := webhooktest.ParseResponse(b)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Allowed || len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], "IC4315") {
		t.Errorf("warn-mode answer: %+v %+v", r, r.Result)
	}

	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("exit %d after SIGTERM", code)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop on SIGTERM")
	}
	var msgs []string
	for _, line := range strings.Split(strings.TrimSpace(stderr.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line is not JSON: %q", line)
		}
		msgs = append(msgs, m["msg"].(string))
	}
	for _, want := range []string{"intent loaded", "serving", "admission", "draining", "stopped"} {
		if !strings.Contains(strings.Join(msgs, "|"), want) {
			t.Errorf("logs lack %q: %v", want, msgs)
		}
	}
}

// TestServeDeploymentArgs parses the shipped Deployment's arguments with
// the real flags, so the manifests and the binary cannot drift apart.
func TestServeDeploymentArgs(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "deploy", "webhook", "deployment.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Spec struct {
			Template struct {
				Spec struct {
					Containers []struct {
						Args []string `json:"args"`
					} `json:"containers"`
				} `json:"spec"`
			} `json:"template"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(data, &d); err != nil {
		t.Fatal(err)
	}
	args := d.Spec.Template.Spec.Containers[0].Args
	if len(args) == 0 || args[0] != "serve" {
		t.Fatalf("args %v do not run serve", args)
	}
	cmd := newServeCmd()
	if err := cmd.ParseFlags(args[1:]); err != nil {
		t.Fatalf("deployment args %v: %v", args, err)
	}
	for _, f := range []string{"intent-dir", "cluster", "tls-cert-file", "tls-key-file", "listen"} {
		if !cmd.Flags().Changed(f) {
			t.Errorf("the Deployment does not set --%s", f)
		}
	}
}
