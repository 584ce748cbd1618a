package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var lintTestdata = filepath.Join("..", "..", "lint", "testdata")

func TestLintExampleIsClean(t *testing.T) {
	code, stdout, stderr := intentc(t, "lint", example)
	if code != 0 || stderr != "" {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
}

// findingRE is the text format: file:line:col: severity: message [code].
var findingRE = regexp.MustCompile(`^[^:]+:\d+:\d+: (error|warning|info): .+ \[IC\d{4}\]$`)

func TestLintHandWritten(t *testing.T) {
	dir := filepath.Join(lintTestdata, "manifests")
	code, _, stderr := intentc(t, "lint", "--data", filepath.Join(dir, "mesh-data.yaml"), filepath.Join(dir, "shop"), filepath.Join(dir, "openstack"))
	if code != exitFindings {
		t.Fatalf("exit %d, want %d\n%s", code, exitFindings, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	if len(lines) < 2 || !strings.HasSuffix(lines[len(lines)-1], "warning(s)") {
		t.Fatalf("no summary line:\n%s", stderr)
	}
	for _, l := range lines[:len(lines)-1] {
		if !strings.HasPrefix(l, "\t") && !findingRE.MatchString(l) {
			t.Errorf("not file:line:col: severity: message [code]: %q", l)
		}
	}
	for _, want := range []string{"routing.yaml:9:7: warning:", "[IC4001]", "nodes.heat.yaml:12:5: error:", "[IC4008]", "security.yaml:41:16: error:", "[IC4013]"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("output lacks %q:\n%s", want, stderr)
		}
	}
}

func TestLintUserPoliciesJSON(t *testing.T) {
	code, stdout, stderr := intentc(t, "lint", "--format", "json",
		"--policy", filepath.Join(lintTestdata, "conftest-v0", "policy"), "--namespace", "main", "--namespace", "istio",
		filepath.Join(lintTestdata, "conftest", "manifests"))
	if code != exitFindings {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	var rep struct {
		Diagnostics []struct {
			Code     string `json:"code"`
			Severity string `json:"severity"`
			Message  string `json:"message"`
		} `json:"diagnostics"`
	}
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("%v\n%s", err, stdout)
	}
	got := map[string]int{}
	for _, d := range rep.Diagnostics {
		got[d.Code+" "+d.Severity]++
		if strings.Contains(d.Message, "istio.deny") {
			got["istio"]++
		}
	}
	if got["IC4201 error"] != 4 || got["IC4202 warning"] != 1 || got["istio"] != 1 {
		t.Errorf("findings %v:\n%s", got, stdout)
	}
}

func TestLintInvalidPolicy(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "bad.rego"), []byte("package main\n\ndeny[msg] {\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := intentc(t, "lint", "--policy", dir, example)
	if code != exitFindings || !strings.Contains(stderr, filepath.Join(dir, "bad.rego")+":") || !strings.Contains(stderr, "[IC4101]") {
		t.Errorf("exit %d, want 1 and IC4101 at bad.rego:\n%s", code, stderr)
	}
}

func TestLintUsage(t *testing.T) {
	for _, args := range [][]string{
		{"lint", "--rego-version", "v2", example},
		{"lint", "--format", "xml", example},
	} {
		if code, _, _ := intentc(t, args...); code != exitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, exitUsage)
		}
	}
	if code, _, stderr := intentc(t, "lint", filepath.Join(t.TempDir(), "missing")); code != exitUsage {
		t.Errorf("missing path: exit %d, want %d\n%s", code, exitUsage, stderr)
	}
}
