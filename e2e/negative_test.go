package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// readFixture loads a negative-control file as if it were generated output
// of cluster "negative".
func readFixture(t *testing.T, rel string) outFile {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "negative", rel))
	if err != nil {
		t.Fatal(err)
	}
	return outFile{Path: "clusters/negative/" + rel, Data: data}
}

// TestNegativeAPIServer proves the API server check can fail: each fixture
// goes through the same apply path as compiler output and must be rejected
// with the expected message, naming the file and the intent source.
func TestNegativeAPIServer(t *testing.T) {
	requireEnv(t)
	cases := []struct {
		file, source, want string
	}{
		// Schema type check. Under SSA the typed patch fails first.
		{"apiserver/wrong-type.yaml", "MeshService/e2e-negative/wrong-type",
			".spec.http[0].route[0].weight: expected numeric"},
		// Unknown field: refused by SSA, not pruned.
		{"apiserver/unknown-field.yaml", "MeshService/e2e-negative/unknown-field",
			".spec.http[0].route[0].wieght: field not declared in schema"},
		// CEL rule of the Istio CRD.
		{"apiserver/cel-timeout.yaml", "MeshService/e2e-negative/cel-timeout",
			"must be a valid duration greater than 1ms"},
	}
	ns := readFixture(t, "apiserver/namespace.yaml")
	for _, c := range cases {
		t.Run(filepath.Base(c.file), func(t *testing.T) {
			out := splitOutput([]outFile{ns, readFixture(t, c.file)})
			if len(out.Problems) > 0 {
				t.Fatalf("fixture does not load: %v", out.Problems)
			}
			failures := applyOutput(context.Background(), out.Objects)
			if len(failures) != 1 {
				t.Fatalf("want exactly one rejection (of %s), got %d:\n%s", c.file, len(failures), strings.Join(failures, "\n"))
			}
			for _, want := range []string{c.want, "clusters/negative/" + c.file, c.source} {
				if !strings.Contains(failures[0], want) {
					t.Errorf("rejection lacks %q:\n%s", want, failures[0])
				}
			}
			t.Logf("rejected as expected:\n%s", failures[0])
		})
	}
}

// TestNegativeIstioctl proves the istioctl check can fail on objects the API
// server accepts (it is no authority on Istio semantics), and that an
// allow-list entry does suppress exactly the finding it names.
func TestNegativeIstioctl(t *testing.T) {
	requireEnv(t)
	cases := []struct {
		file, code, source string
		suppress           string // an entry that must silence the finding
	}{
		{"istioctl/missing-subset.yaml", "IST0101", "MeshService/e2e-negative/ratings",
			"IST0101=VirtualService e2e-negative/ratings # negative control"},
		{"istioctl/duplicate-host.yaml", "IST0109", "MeshService/e2e-negative/details",
			"IST0109=VirtualService e2e-negative/details-* # negative control"},
	}
	ctx := context.Background()
	ns := readFixture(t, "apiserver/namespace.yaml")
	for _, c := range cases {
		t.Run(filepath.Base(c.file), func(t *testing.T) {
			out := splitOutput([]outFile{ns, readFixture(t, c.file)})
			if len(out.Problems) > 0 {
				t.Fatalf("fixture does not load: %v", out.Problems)
			}
			if failures := applyOutput(ctx, out.Objects); len(failures) > 0 {
				t.Fatalf("the API server should accept this fixture:\n%s", strings.Join(failures, "\n"))
			}

			msgs, err := istioAnalyze(ctx, out.Clusters["negative"], nil)
			if err != nil {
				t.Fatal(err)
			}
			failures := analysisFailures(msgs, out.Objects)
			var hit string
			for _, f := range failures {
				if strings.Contains(f, "["+c.code+"]") {
					hit = f
					break
				}
			}
			if hit == "" {
				t.Fatalf("istioctl did not report %s; failing findings:\n%s", c.code, strings.Join(failures, "\n"))
			}
			for _, want := range []string{"clusters/negative/" + c.file, c.source} {
				if !strings.Contains(hit, want) {
					t.Errorf("finding lacks %q:\n%s", want, hit)
				}
			}
			t.Logf("reported as expected:\n%s", hit)

			entries, errs := parseSuppressions(strings.NewReader(c.suppress))
			if len(errs) > 0 || len(entries) != 1 {
				t.Fatalf("suppression %q: %v", c.suppress, errs)
			}
			msgs, err = istioAnalyze(ctx, out.Clusters["negative"], []string{entries[0].flag()})
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range msgs {
				if m.Code == c.code {
					t.Errorf("--suppress %q did not silence %s: %s %s", entries[0].flag(), c.code, m.Origin, m.Message)
				}
			}
		})
	}
}
