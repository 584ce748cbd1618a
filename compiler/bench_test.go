package compiler

import (
	"path/filepath"
	"testing"

	"github.com/intentc/intentc/bench/fleet"
	"github.com/intentc/intentc/compiler/diag"
)

// fleetDir writes bench/fleet's intent of n services over c clusters
// (seeded: the same arguments always write the same bytes) into dir.
func fleetDir(tb testing.TB, dir string, n, c int) string {
	tb.Helper()
	if _, err := fleet.Write(dir, fleet.Options{Services: n, Clusters: c}); err != nil {
		tb.Fatal(err)
	}
	return dir
}

// countOutput returns how many generated objects (every file but the
// kustomizations) and files a compile produced.
func countOutput(files []File) (objects, total int) {
	for _, f := range files {
		if filepath.Base(f.Path) != "kustomization.yaml" {
			objects++
		}
	}
	return objects, len(files)
}

// TestFleetCompiles keeps the benchmark honest: the fleet must compile
// with no diagnostic at all (a benchmark of error paths would measure
// nothing). bench/fleet's own tests hold it to its determinism.
func TestFleetCompiles(t *testing.T) {
	res, diags := Compile(Options{Paths: []string{fleetDir(t, t.TempDir(), 300, 3)}})
	for _, d := range diags {
		if d.Severity != diag.Info {
			t.Fatalf("the fleet has diagnostics:\n%s", diags.Error())
		}
	}
	if objects, _ := countOutput(res.Files); objects == 0 {
		t.Fatal("the fleet compiled to nothing")
	}
}

func benchCompile(b *testing.B, paths []string) {
	b.Helper()
	res, diags := Compile(Options{Paths: paths})
	if diags.HasErrors() {
		b.Fatalf("intent does not compile:\n%s", diags.Error())
	}
	objects, files := countOutput(res.Files)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		res, _ = Compile(Options{Paths: paths})
	}
	b.StopTimer()
	if len(res.Files) != files {
		b.Fatalf("output changed between runs: %d files, then %d", files, len(res.Files))
	}
	b.ReportMetric(float64(objects), "objects/op")
	b.ReportMetric(float64(files), "files/op")
}

// BenchmarkCompileExample compiles the bundled example end to end (load,
// parse, resolve, emit, render; nothing is written).
func BenchmarkCompileExample(b *testing.B) {
	benchCompile(b, []string{filepath.Join("..", "examples", "cross-cloud")})
}

// BenchmarkCompile1000 compiles a fleet of 1000 services over 3 clusters
// end to end (bench's BenchmarkStages times it stage by stage).
func BenchmarkCompile1000(b *testing.B) {
	benchCompile(b, []string{fleetDir(b, b.TempDir(), 1000, 3)})
}
