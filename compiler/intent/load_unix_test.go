//go:build unix

package intent

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/intentc/intentc/compiler/diag"
)

// A FIFO that never ends is the sharpest test of "reported without being read
// whole": a loader that reads to EOF never returns. (A FIFO's size is 0, so
// only the bounded read can catch it.)
func TestLoadEndlessFIFO(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "endless.yaml")
	if err := syscall.Mkfifo(path, 0o644); err != nil {
		t.Fatalf("mkfifo: %v", err)
	}
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		// Opening for writing blocks until Load opens it for reading.
		w, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			return
		}
		defer w.Close()
		chunk := []byte("# an endless comment line, repeated forever\n")
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := w.Write(chunk); err != nil {
				return // the reader closed its end: EPIPE
			}
		}
	}()
	var diags diag.List
	within(t, deadline, func() { _, diags = Load([]string{dir}) })
	if len(diags) != 1 || diags[0].Code != diag.CodeFileTooLarge || diags[0].Pos != (diag.Pos{File: path}) {
		t.Errorf("want one IC1008 for %s, got %v", path, diags)
	}
}
