package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"time"

	"github.com/spf13/cobra"
)

// profiler holds the hidden --cpuprofile and --memprofile flags: the
// performance work (docs/performance.md) is led by profiles of the whole
// process as users run it, not only of benchmarks.
type profiler struct {
	cpu, mem string
	cpuFile  *os.File
	timings  bool
	stderr   io.Writer
	last     time.Time
}

type profilerKey struct{}

// stage reports, with the hidden --timings flag, the wall time of the
// stage that ends now, on stderr.
func stage(ctx context.Context, name string) {
	p, _ := ctx.Value(profilerKey{}).(*profiler)
	if p == nil || !p.timings {
		return
	}
	now := time.Now()
	fmt.Fprintf(p.stderr, "intentc: %-11s %8.3f s\n", name, now.Sub(p.last).Seconds())
	p.last = now
}

func (p *profiler) register(root *cobra.Command) {
	f := root.PersistentFlags()
	f.StringVar(&p.cpu, "cpuprofile", "", "write a CPU profile (pprof) of the run to this file")
	f.StringVar(&p.mem, "memprofile", "", "write an allocation profile (pprof) at the end of the run to this file")
	f.BoolVar(&p.timings, "timings", false, "print how long each stage of the run takes on stderr")
	_ = f.MarkHidden("cpuprofile")
	_ = f.MarkHidden("memprofile")
	_ = f.MarkHidden("timings")
	p.last = time.Now()
	root.PersistentPreRunE = func(c *cobra.Command, _ []string) error {
		p.stderr = c.ErrOrStderr()
		c.SetContext(context.WithValue(c.Context(), profilerKey{}, p))
		if p.cpu == "" {
			return nil
		}
		f, err := os.Create(p.cpu)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return err
		}
		p.cpuFile = f
		return nil
	}
}

// stop ends the profiles whatever the command's outcome: a run with
// findings (exit 1) is worth profiling too.
func (p *profiler) stop() error {
	if p.cpuFile != nil {
		pprof.StopCPUProfile()
		if err := p.cpuFile.Close(); err != nil {
			return err
		}
		p.cpuFile = nil
	}
	if p.mem != "" {
		f, err := os.Create(p.mem)
		if err != nil {
			return err
		}
		runtime.GC() // the heap as of the end of the run, not the last GC
		if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
			f.Close()
			return fmt.Errorf("memprofile: %w", err)
		}
		return f.Close()
	}
	return nil
}
