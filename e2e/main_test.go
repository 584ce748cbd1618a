package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
)

// Environment variables. hack/e2e-env.sh prints the last two.
const (
	envE2E      = "INTENTC_E2E"
	envAssets   = "KUBEBUILDER_ASSETS" // directory with etcd and kube-apiserver
	envIstioctl = "INTENTC_ISTIOCTL"
)

// platformNamespaces exist in every cluster before intentc's output is
// applied: the mesh root namespace (which also holds the east-west gateway)
// and the ingress gateway's default namespace. intentc places objects there
// but does not own (or generate) the namespaces.
var platformNamespaces = []string{"istio-system", "istio-ingress"}

// suite is the environment shared by all tests of the binary: one envtest
// start per `go test` run keeps the tests' own run time to seconds.
var suite struct {
	enabled  bool
	root     string // repository root
	startErr error  // why the environment is unusable; tests fail with it

	env      *envtest.Environment
	client   client.Client
	istioctl string
}

func TestMain(m *testing.M) {
	flag.Parse()
	_, suite.enabled = os.LookupEnv(envE2E)
	if !suite.enabled {
		os.Exit(m.Run())
	}
	// controller-runtime complains on stderr when no logger is set; its logs
	// carry nothing a failing test does not already report.
	logf.SetLogger(logr.Discard())

	code := func() int {
		defer stopEnv()
		stop := stopOnSignalOrDeadline()
		defer stop()
		if err := startEnv(); err != nil {
			suite.startErr = err
			fmt.Fprintf(os.Stderr, "e2e: %s is set but the environment cannot start (run `make e2e-prepare` or hack/e2e-env.sh):\n\t%v\n", envE2E, err)
		}
		return m.Run()
	}()
	os.Exit(code)
}

// requireEnv skips when the e2e environment is not wanted and fails when it
// is wanted but unusable, so a broken CI setup never turns into a green skip.
func requireEnv(t *testing.T) {
	t.Helper()
	if !suite.enabled {
		t.Skipf("%s is unset: e2e tests need a kube-apiserver and istioctl (make e2e)", envE2E)
	}
	if suite.startErr != nil {
		t.Fatalf("e2e environment did not start: %v", suite.startErr)
	}
}

func startEnv() error {
	root, err := filepath.Abs("..")
	if err != nil {
		return err
	}
	suite.root = root

	istioctl := os.Getenv(envIstioctl)
	if istioctl == "" {
		return fmt.Errorf("%s is unset", envIstioctl)
	}
	if err := checkExecutable(istioctl); err != nil {
		return fmt.Errorf("%s: %w", envIstioctl, err)
	}
	suite.istioctl = istioctl

	assets := os.Getenv(envAssets)
	if assets == "" {
		return fmt.Errorf("%s is unset", envAssets)
	}
	for _, bin := range []string{"etcd", "kube-apiserver"} {
		if err := checkExecutable(filepath.Join(assets, bin)); err != nil {
			return fmt.Errorf("%s: %w", envAssets, err)
		}
	}

	crds, err := crdFiles(root)
	if err != nil {
		return err
	}

	start := time.Now()
	env := &envtest.Environment{
		// Never fall back to a kubeconfig's cluster (USE_EXISTING_CLUSTER):
		// the tests only ever talk to the API server they start on loopback.
		UseExistingCluster:       ptr.To(false),
		BinaryAssetsDirectory:    assets,
		ControlPlaneStartTimeout: time.Minute,
		ControlPlaneStopTimeout:  time.Minute,
		CRDInstallOptions: envtest.CRDInstallOptions{
			Paths:              crds,
			ErrorIfPathMissing: true,
			MaxTime:            time.Minute,
		},
	}
	api := env.ControlPlane.GetAPIServer()
	// The API server refuses a loopback advertise address while its endpoint
	// reconciler runs, and otherwise advertises a host interface. Nothing
	// here needs the `kubernetes` Service endpoints, so turn the reconciler
	// off and keep every address on loopback.
	api.Configure().
		Set("advertise-address", "127.0.0.1").
		Set("endpoint-reconciler-type", "none")
	suite.env = env
	cfg, err := env.Start()
	if err != nil {
		return fmt.Errorf("envtest: %w", err)
	}
	c, err := client.New(cfg, client.Options{})
	if err != nil {
		return fmt.Errorf("client: %w", err)
	}
	suite.client = c

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, ns := range platformNamespaces {
		if err := ensureNamespace(ctx, ns); err != nil {
			return fmt.Errorf("create namespace %s: %w", ns, err)
		}
	}
	fmt.Printf("e2e: envtest (etcd + kube-apiserver, %d CRD files) ready in %s\n",
		len(crds), time.Since(start).Round(time.Millisecond))
	return nil
}

var stopOnce sync.Once

func stopEnv() {
	stopOnce.Do(func() {
		if suite.env == nil {
			return
		}
		start := time.Now()
		if err := suite.env.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "e2e: stopping envtest: %v\n", err)
			return
		}
		fmt.Printf("e2e: envtest stopped in %s\n", time.Since(start).Round(time.Millisecond))
	})
}

// stopOnSignalOrDeadline tears the control plane down when the test binary
// is about to die without running deferred code: on SIGINT/SIGTERM, and just
// before `go test -timeout` panics. envtest starts etcd and kube-apiserver in
// their own process groups, so nothing else would stop them.
func stopOnSignalOrDeadline() (cancel func()) {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	var deadline <-chan time.Time
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	if f := flag.Lookup("test.timeout"); f != nil {
		if d, err := time.ParseDuration(f.Value.String()); err == nil && d > 0 {
			// Leave envtest's stop timeout plus some slack before the panic.
			const margin = 20 * time.Second
			timer.Reset(max(d-margin, d/2))
			deadline = timer.C
		}
	}
	done := make(chan struct{})
	go func() {
		select {
		case s := <-sigs:
			fmt.Fprintf(os.Stderr, "e2e: %v: stopping envtest\n", s)
			stopEnv()
			os.Exit(1)
		case <-deadline:
			fmt.Fprintln(os.Stderr, "e2e: test timeout is near: stopping envtest so no etcd/kube-apiserver is left behind")
			stopEnv()
		case <-done:
		}
	}()
	return func() { timer.Stop(); signal.Stop(sigs); close(done) }
}

func checkExecutable(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if fi.IsDir() || fi.Mode()&0o111 == 0 {
		return fmt.Errorf("%s is not an executable file", path)
	}
	return nil
}

// crdFiles lists the CRDs to install: Istio's, from the istio.io/api module
// at the version the main module's Go types use (so the schema checked is
// the one the generator was written against), then the intent CRDs.
func crdFiles(root string) ([]string, error) {
	cmd := exec.Command("go", "mod", "download", "-json", "istio.io/api")
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("locate istio.io/api: go mod download: %v: %s", err, stderr.String())
	}
	var mod struct{ Version, Dir, Error string }
	if err := json.Unmarshal(out, &mod); err != nil {
		return nil, fmt.Errorf("locate istio.io/api: %w", err)
	}
	if mod.Error != "" || mod.Dir == "" {
		return nil, fmt.Errorf("locate istio.io/api: %q", mod.Error)
	}
	istio := filepath.Join(mod.Dir, "kubernetes", "customresourcedefinitions.gen.yaml")
	if _, err := os.Stat(istio); err != nil {
		return nil, fmt.Errorf("istio.io/api %s has no CRD file: %w", mod.Version, err)
	}
	intents, err := filepath.Glob(filepath.Join(root, "deploy", "crds", "*.yaml"))
	if err != nil {
		return nil, err
	}
	sort.Strings(intents)
	return append([]string{istio}, intents...), nil
}

func ensureNamespace(ctx context.Context, name string) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	err := suite.client.Create(ctx, ns)
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	return nil
}
