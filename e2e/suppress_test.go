package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSuppressFile checks the committed istioctl allow-list. It needs no
// environment, so it runs in every `go test ./...`.
func TestSuppressFile(t *testing.T) {
	f, err := os.Open(filepath.Join("..", suppressFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	entries, errs := parseSuppressions(f)
	for _, err := range errs {
		t.Error(err)
	}
	for _, e := range entries {
		t.Logf("suppressed: %s (%s)", e.flag(), e.Reason)
	}
}

// TestSuppressParser is the negative control of TestSuppressFile: each bad
// line must be refused, each good one accepted.
func TestSuppressParser(t *testing.T) {
	bad := map[string]string{
		"no reason":          "IST0101=VirtualService prod/inventory",
		"empty reason":       "IST0101=VirtualService prod/inventory #   ",
		"bare code":          "IST0101 # silence it",
		"code with =":        "IST0101= # silence it",
		"wildcard target":    "IST0101=* # silence it",
		"kind only":          "IST0101=VirtualService # silence it",
		"wildcard kind":      "IST0101=* prod/inventory # silence it",
		"wildcard resource":  "IST0101=VirtualService * # silence it",
		"wildcard ns+name":   "IST0101=VirtualService */* # silence it",
		"wildcard namespace": "IST0101=VirtualService */inventory # silence it",
		"wildcard name":      "IST0101=VirtualService prod/* # silence it",
		"only wildcards":     "IST0101=VirtualService prod/*?* # silence it",
		"no namespace":       "IST0101=VirtualService inventory # silence it",
		"bad code":           "IST101=VirtualService prod/inventory # silence it",
		"not a code":         "VirtualService prod/inventory # silence it",
		"extra field":        "IST0101=VirtualService prod/inventory extra # silence it",
		"name.namespace":     "IST0101=VirtualService inventory.prod # the --help form does not match files",
	}
	for name, line := range bad {
		entries, errs := parseSuppressions(strings.NewReader(line))
		if len(errs) == 0 {
			t.Errorf("%s: %q accepted as %+v", name, line, entries)
		}
	}

	good := strings.Join([]string{
		"# comments and blank lines are ignored",
		"",
		"IST0109=VirtualService prod/details-* # two routes on purpose: see docs",
		"IST0101=DestinationRule istio-system/public # subset created by the platform",
	}, "\n")
	entries, errs := parseSuppressions(strings.NewReader(good))
	if len(errs) > 0 || len(entries) != 2 {
		t.Fatalf("good entries refused: %v (got %d entries)", errs, len(entries))
	}
	if got, want := entries[0].flag(), "IST0109=VirtualService prod/details-*"; got != want {
		t.Errorf("flag = %q, want %q", got, want)
	}

	dup := "IST0109=VirtualService prod/a # x\nIST0109=VirtualService prod/a # y"
	if _, errs := parseSuppressions(strings.NewReader(dup)); len(errs) != 1 {
		t.Errorf("duplicate entry: want 1 error, got %v", errs)
	}
}
