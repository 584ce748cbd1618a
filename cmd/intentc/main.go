package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/KimMachineGun/automemlimit/memlimit"
	"github.com/spf13/cobra"
)

// Exit codes, documented in --help and the README.
const (
	exitOK       = 0
	exitFindings = 1
	exitUsage    = 2
)

// exitError carries an exit code through cobra; its message (if any) has
// already been printed.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

func main() {
	setMemoryLimit(os.Stderr)
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// setMemoryLimit gives the Go runtime a soft memory limit of 90% of the
// cgroup's (a CI job's container, a pod), which it does not read on its
// own: without one the heap of a large compile grows to twice what is
// live before it is collected, past a limit the compile would fit in, and
// the kernel kills the process (docs/performance.md, "Memory limits").
// GOMEMLIMIT, when set, wins; AUTOMEMLIMIT sets another ratio, or "off".
func setMemoryLimit(stderr io.Writer) {
	if _, err := memlimit.Set(); err != nil && os.Getenv("AUTOMEMLIMIT") != "" {
		fmt.Fprintf(stderr, "intentc: AUTOMEMLIMIT: %v\n", err)
	}
}

func run(args []string, stdout, stderr io.Writer) int {
	root := newRootCmd(stdout, stderr)
	var prof profiler
	prof.register(root)
	root.SetArgs(args)
	err := root.Execute()
	if perr := prof.stop(); perr != nil && err == nil {
		err = perr
	}
	var ee exitError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ee):
		return ee.code
	default:
		fmt.Fprintf(stderr, "intentc: %v\n", err)
		return exitUsage
	}
}

const exitCodesHelp = `Exit codes:
  0  success
  1  error findings (or, with --check, stale output)
  2  usage or I/O error`

func newRootCmd(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "intentc",
		Short: "Compile multi-cluster traffic intent into Istio, Kubernetes and OpenStack manifests",
		Long: `intentc compiles a small intent language (where each service runs, how its
traffic is split across clusters, who may call it) into deterministic
manifests per cluster.

` + exitCodesHelp,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		fmt.Fprintf(stderr, "intentc: %v\n\n%s", err, c.UsageString())
		return exitError{exitUsage}
	})
	root.AddCommand(newCompileCmd(), newLintCmd(), newOpenstackCmd(), newServeCmd(), newVersionCmd(), newExplainCmd(), newGraphCmd())
	return root
}
