// Package neutrontest starts a real, keystone-less Neutron for tests with
// hack/neutron-up.sh (Debian's python3-neutron, SQLite; see
// docs/openstack.md) on a free loopback port with a temporary state
// directory, and hands out clients scoped to fresh random projects, so that
// tests sharing one server never see each other's groups.
//
// Input: INTENTC_E2E (unset: tests that need Neutron skip; set: they fail
// when it cannot start). Output: a running server and clients. Diagnostic
// codes: none.
package neutrontest

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/intentc/intentc/neutron"
)

// Server is a running neutron-server.
type Server struct {
	Endpoint string // http://127.0.0.1:PORT/
	Dir      string // state directory (server.log is there)
	root     string
	// Startup is how long neutron-up.sh took.
	Startup time.Duration
}

// Enabled reports whether real-component tests are asked for.
func Enabled() bool { return os.Getenv("INTENTC_E2E") != "" }

// RepoRoot is the module root (where go.mod is), found from the working
// directory of the test.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the working directory")
		}
		dir = parent
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Start runs hack/neutron-up.sh. The server also stops by itself when this
// process exits (the script's watchdog), so a test binary that crashes or
// times out leaves nothing behind.
func Start() (*Server, error) {
	root, err := RepoRoot()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "intentc-neutron-")
	if err != nil {
		return nil, err
	}
	var lastErr error
	// A free port can be taken between the probe and the bind: try a few.
	for attempt := 0; attempt < 3; attempt++ {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		start := time.Now()
		cmd := exec.Command("bash", filepath.Join(root, "hack", "neutron-up.sh"), dir)
		cmd.Env = append(os.Environ(), fmt.Sprintf("NEUTRON_PORT=%d", port), fmt.Sprintf("NEUTRON_WATCH_PID=%d", os.Getpid()))
		out, err := cmd.CombinedOutput()
		if err == nil {
			return &Server{Endpoint: fmt.Sprintf("http://127.0.0.1:%d/", port), Dir: dir, root: root, Startup: time.Since(start)}, nil
		}
		lastErr = fmt.Errorf("hack/neutron-up.sh %s (port %d): %v\n%s", dir, port, err, strings.TrimSpace(string(out)))
	}
	_ = os.RemoveAll(dir)
	return nil, lastErr
}

// Stop stops the server and removes its state directory.
func (s *Server) Stop() error {
	if s == nil {
		return nil
	}
	out, err := exec.Command("bash", filepath.Join(s.root, "hack", "neutron-down.sh"), s.Dir).CombinedOutput()
	if err != nil {
		return fmt.Errorf("hack/neutron-down.sh: %v\n%s", err, out)
	}
	return os.RemoveAll(s.Dir)
}

// Project returns a fresh random project ID.
func Project() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return "it-" + hex.EncodeToString(b)
}

// Client is a member of project, as a keystone-less Neutron sees it.
func (s *Server) Client(project string) *neutron.Client {
	return neutron.NewNoAuthClient(s.Endpoint, project, "it-user", "member")
}

// Admin is an admin scoped to project (quotas are admin-only).
func (s *Server) Admin(project string) *neutron.Client {
	return neutron.NewNoAuthClient(s.Endpoint, project, "it-admin", "admin")
}

// Log is the tail of the server's log, for failure messages.
func (s *Server) Log() string {
	b, err := os.ReadFile(filepath.Join(s.Dir, "server.log"))
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > 60 {
		lines = lines[len(lines)-60:]
	}
	return strings.Join(lines, "\n")
}

var (
	sharedOnce sync.Once
	shared     *Server
	sharedErr  error
)

// Shared starts one server for the whole test binary on first use, or
// skips the test when INTENTC_E2E is unset. A server that cannot start fails
// the test, never skips it. Call StopShared from TestMain after m.Run.
func Shared(t testing.TB) *Server {
	t.Helper()
	if !Enabled() {
		t.Skip("needs a real Neutron: set INTENTC_E2E=1 (make test-neutron)")
	}
	sharedOnce.Do(func() { shared, sharedErr = Start() })
	if sharedErr != nil {
		t.Fatalf("INTENTC_E2E is set but Neutron could not start: %v", sharedErr)
	}
	return shared
}

// StopShared stops the server Shared started, if any.
func StopShared() error { return shared.Stop() }

// Main is a TestMain body: with INTENTC_E2E set it starts the server before
// the tests (failing the whole binary, with the reason, when it cannot
// start) and stops it after them. Tests get it with Shared.
//
//	func TestMain(m *testing.M) { os.Exit(neutrontest.Main(m)) }
func Main(m *testing.M) int {
	if Enabled() {
		sharedOnce.Do(func() { shared, sharedErr = Start() })
		if sharedErr != nil {
			fmt.Fprintf(os.Stderr, "FAIL: INTENTC_E2E is set but Neutron could not start: %v\n", sharedErr)
			return 1
		}
		fmt.Fprintf(os.Stderr, "neutrontest: Neutron at %s started in %s\n", shared.Endpoint, shared.Startup.Round(time.Millisecond))
	}
	code := m.Run()
	if code != 0 && shared != nil {
		// The server's side of a failure (a 500's traceback) is only here.
		fmt.Fprintf(os.Stderr, "neutrontest: last lines of %s/server.log:\n%s\n", shared.Dir, shared.Log())
	}
	if err := StopShared(); err != nil {
		fmt.Fprintf(os.Stderr, "neutrontest: stopping Neutron: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}
