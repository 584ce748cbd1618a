package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/intentc/intentc/neutron"
	"github.com/intentc/intentc/neutron/neutrontest"
)

// TestMain stops the Neutron that the openstack tests start on first use
// (neutrontest.Shared); the other tests of this package never start it.
func TestMain(m *testing.M) {
	code := m.Run()
	if err := neutrontest.StopShared(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

// osRun runs the CLI with stdin, as run does.
func osRun(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	root := newRootCmd(&out, &errb)
	root.SetIn(strings.NewReader(stdin))
	root.SetArgs(args)
	err := root.Execute()
	var ee exitError
	switch {
	case err == nil:
		code = exitOK
	case errors.As(err, &ee):
		code = ee.code
	default:
		fmt.Fprintf(&errb, "intentc: %v\n", err)
		code = exitUsage
	}
	return code, out.String(), errb.String()
}

// noCredentials makes sure no real cloud can be reached from a test.
func noCredentials(t *testing.T) {
	t.Helper()
	for _, k := range []string{neutron.EnvEndpoint, neutron.EnvProject, "OS_CLOUD", "OS_AUTH_URL", "OS_USERNAME", "OS_PASSWORD", "OS_PROJECT_NAME"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	t.Setenv("OS_CLIENT_CONFIG_FILE", filepath.Join(t.TempDir(), "clouds.yaml"))
}

func TestOpenstackUsageErrors(t *testing.T) {
	noCredentials(t)
	for _, tc := range []struct {
		args []string
		want int
		msg  string
	}{
		{[]string{"openstack", "plan", "--bogus"}, 2, "unknown flag: --bogus"},
		{[]string{"openstack", "plan", "--bogus", "--detailed-exitcode"}, 1, "unknown flag: --bogus"},
		{[]string{"openstack", "plan", "--detailed-exitcode", "--bogus"}, 1, "unknown flag: --bogus"},
		{[]string{"openstack", "plan", "-detailed-exitcode", "--nodes"}, 1, "flag needs an argument"},
		{[]string{"openstack", "plan", "--detailed-exitcode", "no/such/dir"}, 1, "no such file or directory"},
		{[]string{"openstack", "plan", "no/such/dir"}, 2, "no such file or directory"},
		{[]string{"openstack", "plan", "--nodes-metadata", "novalue", example}, 2, "KEY=VALUE"},
		{[]string{"openstack", "plan", "--detailed-exitcode", "--nodes-metadata", "novalue", example}, 1, "KEY=VALUE"},
		{[]string{"openstack", "apply", "--bogus"}, 2, "unknown flag: --bogus"},
		// No credentials: an I/O error, 2; under --detailed-exitcode every error is 1.
		{[]string{"openstack", "plan", example}, 2, `no credentials for cloud "dc1"`},
		{[]string{"openstack", "plan", "--detailed-exitcode", example}, 1, `no credentials for cloud "dc1"`},
		{[]string{"openstack", "apply", "--yes", example}, 2, "Nothing was applied"},
	} {
		code, _, stderr := osRun(t, "", tc.args...)
		if code != tc.want || !strings.Contains(stderr, tc.msg) {
			t.Errorf("intentc %s: exit %d, want %d with %q; stderr:\n%s", strings.Join(tc.args, " "), code, tc.want, tc.msg, stderr)
		}
	}
	code, stdout, _ := osRun(t, "", "openstack", "plan", "--help")
	if code != 0 || !strings.Contains(stdout, "--detailed-exitcode") || !strings.Contains(stdout, "INTENTC_NEUTRON_ENDPOINT") {
		t.Errorf("plan --help: exit %d\n%s", code, stdout)
	}
}

func TestOpenstackBrokenDocument(t *testing.T) {
	noCredentials(t)
	dir := t.TempDir()
	p := filepath.Join(dir, "security-groups.json")
	if err := os.WriteFile(p, []byte("{\n  \"cloud\": \"x\",\n  \"project\": 7\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := osRun(t, "", "openstack", "plan", "--detailed-exitcode", p)
	if code != 1 || !strings.Contains(stderr, p+":3:") || !strings.Contains(stderr, "[IC3401]") {
		t.Errorf("broken document: exit %d, stderr:\n%s", code, stderr)
	}
	code, _, _ = osRun(t, "", "openstack", "plan", p)
	if code != 1 {
		t.Errorf("broken document without --detailed-exitcode: exit %d, want 1 (a finding)", code)
	}
}

// useNeutron points the CLI at the test Neutron, in a fresh project.
func useNeutron(t *testing.T) (project string) {
	t.Helper()
	srv := neutrontest.Shared(t)
	noCredentials(t)
	project = neutrontest.Project()
	t.Setenv(neutron.EnvEndpoint, srv.Endpoint)
	t.Setenv(neutron.EnvProject, project)
	return project
}

func TestOpenstackPlanApply(t *testing.T) {
	useNeutron(t)

	code, stdout, stderr := osRun(t, "", "openstack", "plan", "--detailed-exitcode", example)
	if code != 2 || !strings.Contains(stdout, "+ group k8s-prod-mesh (create, tag managed-by:intentc)") {
		t.Fatalf("plan of a fresh project: exit %d, want 2\n%s%s", code, stdout, stderr)
	}
	code, _, _ = osRun(t, "", "openstack", "plan", example)
	if code != 0 {
		t.Errorf("plan without --detailed-exitcode: exit %d, want 0", code)
	}

	code, stdout, stderr = osRun(t, "no\n", "openstack", "apply", example)
	if code != 1 || !strings.Contains(stderr, "Only 'yes' will be accepted") || !strings.Contains(stderr, "Apply cancelled") {
		t.Fatalf("apply answered no: exit %d\n%s%s", code, stdout, stderr)
	}
	code, stdout, _ = osRun(t, "", "openstack", "apply", "--dry-run", example)
	if code != 0 || !strings.Contains(stdout, "Dry run: nothing was applied.") {
		t.Fatalf("apply --dry-run: exit %d\n%s", code, stdout)
	}
	if code, _, _ = osRun(t, "", "openstack", "plan", "--detailed-exitcode", example); code != 2 {
		t.Fatalf("after a cancelled apply and a dry run the plan is %d, want 2 (nothing applied)", code)
	}

	code, stdout, stderr = osRun(t, "yes\n", "openstack", "apply", example)
	if code != 0 || !strings.Contains(stdout, "Applied dc1/k8s-prod: 1 group(s) created, 1 tagged, 0 updated; 5 rule(s) created") ||
		!strings.Contains(stdout, "Apply complete.") {
		t.Fatalf("apply: exit %d\n%s%s", code, stdout, stderr)
	}
	code, stdout, stderr = osRun(t, "", "openstack", "plan", "--detailed-exitcode", example)
	if code != 0 || !strings.Contains(stdout, "No changes in dc1/k8s-prod") {
		t.Fatalf("plan after apply: exit %d, want 0\n%s%s", code, stdout, stderr)
	}
	code, stdout, _ = osRun(t, "", "openstack", "apply", "--yes", example)
	if code != 0 || !strings.Contains(stdout, "No changes. Nothing to apply.") {
		t.Errorf("second apply: exit %d\n%s", code, stdout)
	}

	// The same from an output tree and from the JSON file itself.
	out := filepath.Join(t.TempDir(), "out")
	if code, _, stderr := intentc(t, "compile", example, "-o", out); code != 0 {
		t.Fatalf("compile: %s", stderr)
	}
	for _, path := range []string{out, filepath.Join(out, "openstack", "dc1", "k8s-prod", "security-groups.json")} {
		if code, stdout, stderr := osRun(t, "", "openstack", "plan", "--detailed-exitcode", path); code != 0 {
			t.Errorf("plan %s: exit %d\n%s%s", path, code, stdout, stderr)
		}
	}
}

func TestOpenstackNeutronErrors(t *testing.T) {
	project := useNeutron(t)
	// A rule Neutron rejects (ipv6-icmp with IPv4): its type and message shown.
	doc := map[string]any{"cloud": "it", "project": project, "security_groups": []any{map[string]any{
		"name": "web", "description": "intentc: test", "tags": []string{neutron.TagManagedBy},
		"rules": []any{map[string]any{"direction": "ingress", "ethertype": "IPv4", "protocol": "ipv6-icmp", "remote_ip_prefix": "10.0.0.0/8", "description": "intentc: bad"}},
	}}}
	data, _ := json.Marshal(doc)
	p := filepath.Join(t.TempDir(), "security-groups.json")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := osRun(t, "", "openstack", "apply", "--yes", p)
	if code != 2 || !strings.Contains(stderr, "Neutron 400 SecurityGroupEthertypeConflictWithProtocol") {
		t.Errorf("apply of a rejected rule: exit %d\n%s%s", code, stdout, stderr)
	}

	// A group of intentc's name that intentc does not own: a finding, nothing written.
	c := neutron.NewNoAuthClient(os.Getenv(neutron.EnvEndpoint), neutrontest.Project(), "u", "member")
	t.Setenv(neutron.EnvProject, c.ProjectID)
	if _, err := c.Network.Post(context.Background(), c.Network.ServiceURL("security-groups"),
		map[string]any{"security_group": map[string]any{"name": "k8s-prod-mesh", "description": "by hand"}}, nil, nil); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = osRun(t, "", "openstack", "apply", "--yes", example)
	if code != 1 || !strings.Contains(stderr, "[IC3402]") || !strings.Contains(stderr, "Nothing was applied") {
		t.Errorf("apply over a foreign group of the same name: exit %d\n%s", code, stderr)
	}
	if code, _, _ = osRun(t, "", "openstack", "plan", "--detailed-exitcode", example); code != 1 {
		t.Errorf("plan --detailed-exitcode with an error finding: exit %d, want 1", code)
	}
}
