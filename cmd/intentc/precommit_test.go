package main

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestPreCommitHooks runs hack/precommit-test.sh: the hooks of
// .pre-commit-hooks.yaml installed as pre-commit installs a language:
// golang hook (go install ./... of this repository) and run on the staged
// files of a scratch git repository, as pre-commit runs them. It is how
// `go test ./...` (and so `make test`) covers the hooks; `make precommit`
// runs the script alone.
func TestPreCommitHooks(t *testing.T) {
	for _, tool := range []string{"bash", "git", "go"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("the pre-commit hook test needs %s on PATH: %v", tool, err)
		}
	}
	root, err := filepath.Abs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", filepath.Join(root, "hack", "precommit-test.sh"))
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("hack/precommit-test.sh: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), " passed, 0 failed") {
		t.Fatalf("hack/precommit-test.sh printed no summary:\n%s", out)
	}
	t.Logf("%s", out)
}
