package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"

	"github.com/spf13/cobra"

	"github.com/intentc/intentc/compiler"
	"github.com/intentc/intentc/compiler/diag"
	"github.com/intentc/intentc/compiler/intent"
	"github.com/intentc/intentc/compiler/manifest"
	"github.com/intentc/intentc/lint"
	"github.com/intentc/intentc/verify"
)

type compileFlags struct {
	out      string
	check    bool
	format   string
	policies []string
	data     []string
	prove    bool
}

// proofAfterFiles is the output size from which intentc compile proves
// after the checks instead of beside them. Measured on 2 cores
// (docs/performance.md, 10): for 1,000 services over 3 clusters (19,183
// files) beside them is 5–10% faster, at 390–410 MB of peak RSS instead of
// 280–300; for 10,000 services over 3 and 20 clusters (190,816 and 287,568
// files) both orders take the same time within the noise, and after the
// checks peaks at 2.5–3.3 GB instead of 3.9–4.0, and 3.7 instead of 4.4.
var proofAfterFiles = 50_000

func newCompileCmd() *cobra.Command {
	var f compileFlags
	cmd := &cobra.Command{
		Use:   "compile [PATH...]",
		Short: "Compile the intent into manifests per cluster",
		Long: `Compile loads every intent document under the given files and directories,
checks it, and writes the manifests to the output directory:

  DIR/clusters/<cluster>/kustomization.yaml
  DIR/clusters/<cluster>/<namespace>/<kind>-<name>.yaml

Without PATH, the intent directories and output directory come from the
nearest .intentc.yaml (searched from the current directory upwards). Every
generated object is checked with the built-in OPA rules (and the project's and
--policy's own), and the output is read back and proven to agree with the
intent layer by layer (the cross-layer proof, docs/explain.md; --prove=false
skips it, for a fleet so large that it is proven in a job of its own). An
error finding fails the compile. Output is written atomically: on any error
nothing is written. Files a previous run generated and no longer wanted are
removed; files intentc did not write are never touched.

With --check nothing is written: the command exits 1 and lists the
differences when DIR is not what the intent compiles to.

` + exitCodesHelp,
		Example: `  intentc compile examples/cross-cloud -o out
  intentc compile --check
  intentc compile intents/ -o out --format json`,
		ValidArgsFunction: func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
			return []string{"yaml", "yml"}, cobra.ShellCompDirectiveFilterFileExt
		},
		RunE: func(c *cobra.Command, args []string) error {
			if f.format != "text" && f.format != "json" {
				fmt.Fprintf(c.ErrOrStderr(), "intentc: --format must be text or json, not %q\n", f.format)
				return exitError{exitUsage}
			}
			return runCompile(c, args, f)
		},
	}
	cmd.Flags().StringVarP(&f.out, "output", "o", "", "output directory (default: the project's output, or ./out)")
	cmd.Flags().BoolVar(&f.check, "check", false, "write nothing; exit 1 if the output directory is stale")
	cmd.Flags().StringVar(&f.format, "format", "text", "findings format: text or json")
	cmd.Flags().StringArrayVar(&f.policies, "policy", nil, "extra Rego policy directory, conftest-style (repeatable; adds to the project's policies)")
	cmd.Flags().StringArrayVar(&f.data, "data", nil, "JSON or YAML data file for the policies (repeatable)")
	cmd.Flags().BoolVar(&f.prove, "prove", true, "prove the output against the intent across the four security layers")
	_ = cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions([]string{"text", "json"}, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.MarkFlagDirname("output")
	return cmd
}

// jsonReport is the stable --format json schema (documented in the README).
type jsonReport struct {
	Diagnostics diag.List         `json:"diagnostics"`
	Output      string            `json:"output,omitempty"`
	Files       []string          `json:"files,omitempty"`
	Changes     []manifest.Change `json:"changes,omitempty"`
	Stale       bool              `json:"stale,omitempty"`

	checked bool
}

func runCompile(c *cobra.Command, args []string, f compileFlags) error {
	stdout, stderr := c.OutOrStdout(), c.ErrOrStderr()
	paths, out, policyDirs := args, f.out, f.policies
	if len(paths) == 0 {
		wd, _ := os.Getwd()
		proj, ds := intent.FindProject(wd)
		if ds.HasErrors() {
			report(stdout, stderr, f.format, jsonReport{Diagnostics: ds})
			return exitError{exitUsage}
		}
		if proj == nil {
			fmt.Fprintf(stderr, "intentc: no PATH given and no %s found in this directory or above\n", intent.ProjectFileName)
			return exitError{exitUsage}
		}
		paths = proj.IntentPaths()
		if out == "" {
			out = proj.OutputPath()
		}
		for _, d := range proj.Policies {
			policyDirs = append(policyDirs, filepath.Join(proj.Dir, d))
		}
	}
	if out == "" {
		out = "out"
	}
	engine, diags := lint.New(lint.Options{PolicyDirs: policyDirs, DataFiles: f.data})
	if engine == nil {
		report(stdout, stderr, f.format, jsonReport{Diagnostics: diags})
		return exitError{exitUsage}
	}
	stage(c.Context(), "policies")
	var (
		staged   *manifest.Staged
		stageErr error
	)
	defer func() {
		if staged != nil {
			staged.Discard() // a no-op once committed
		}
	}()
	res, ds := compiler.Compile(compiler.Options{Paths: paths})
	diags = append(diags, ds...)
	stage(c.Context(), "compile")
	if !diags.HasErrors() {
		// The OPA checks and the cross-layer proof read the same output
		// and are independent. The proof reads the generated manifests
		// back, with verify's own model of each platform, so a backend
		// bug cannot hide behind its own assumptions; its findings count
		// only when the checks pass. On a small output they run side by
		// side, each filling the cores the other leaves idle; on a large
		// one the proof runs after the checks: as fast (the checks fill
		// the cores), with far less memory (the checks' values are gone
		// before the proof's model is built), and not at all when the
		// checks fail (proofAfterFiles).
		after := len(res.Files) >= proofAfterFiles
		var proof diag.List
		var wg sync.WaitGroup
		if f.prove && !after {
			wg.Go(func() { proof = verify.Prove(res.Model, res.Files) })
		}
		if !f.check {
			// The output is written beside out meanwhile, and put in
			// place only if the checks pass: creating a large output's
			// files takes seconds, which then overlap the checks.
			wg.Go(func() {
				staged, stageErr = manifest.Stage(out, res.Files)
				if stageErr == nil && !f.prove {
					// Written, and read by nothing else: the checks
					// read the objects' JSON (lint.CheckCompiled). On a
					// large output the YAML is a third of what the
					// compile leaves alive.
					for i := range res.Files {
						if res.Files[i].JSON != nil {
							res.Files[i].Data = nil
						}
					}
				}
			})
		}
		diags = append(diags, engine.CheckCompiled(c.Context(), res)...)
		if f.prove && after && !diags.HasErrors() {
			// The checks were the last to read the files' JSON: the
			// proof starts without it (150 MB at 10,000 services).
			// Staging, which copies the files, is done long before the
			// checks are; waiting for it keeps it from reading them
			// while they change.
			wg.Wait()
			for i := range res.Files {
				res.Files[i].JSON = nil
			}
			// The collector's goal is still twice the checks' live heap,
			// most of it garbage now: collected here, the proof's
			// reading starts from what is alive, and a large compile's
			// heap does not reach past what the checks took.
			runtime.GC()
			proof = verify.Prove(res.Model, res.Files)
		}
		wg.Wait()
		if !diags.HasErrors() {
			diags = append(diags, proof...)
		}
		if diags.HasErrors() {
			res.Files = nil
		}
		if f.prove {
			stage(c.Context(), "check+prove")
		} else {
			stage(c.Context(), "check")
		}
	}
	diags = diags.Sorted()
	rep := jsonReport{Diagnostics: diags, Output: out}
	if diags.HasErrors() {
		report(stdout, stderr, f.format, rep)
		if onlyIOErrors(diags) {
			return exitError{exitUsage}
		}
		return exitError{exitFindings}
	}
	for _, file := range res.Files {
		rep.Files = append(rep.Files, file.Path)
	}
	if f.check {
		changes, err := manifest.Check(out, res.Files)
		if err != nil {
			fmt.Fprintf(stderr, "intentc: %v\n", err)
			return exitError{exitUsage}
		}
		rep.Changes, rep.Stale, rep.checked = changes, len(changes) > 0, true
		report(stdout, stderr, f.format, rep)
		if rep.Stale {
			return exitError{exitFindings}
		}
		return nil
	}
	if stageErr == nil {
		stageErr = staged.Commit()
	}
	if stageErr != nil {
		fmt.Fprintf(stderr, "intentc: cannot write %s: %v (nothing was changed)\n", out, stageErr)
		return exitError{exitUsage}
	}
	stage(c.Context(), "write")
	report(stdout, stderr, f.format, rep)
	return nil
}

func onlyIOErrors(l diag.List) bool {
	for _, d := range l {
		if d.Severity == diag.Error && d.Code != diag.CodeReadFile {
			return false
		}
	}
	return true
}

func report(stdout, stderr io.Writer, format string, rep jsonReport) {
	if format == "json" {
		if rep.Diagnostics == nil {
			rep.Diagnostics = diag.List{}
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(rep)
		return
	}
	for _, d := range rep.Diagnostics {
		fmt.Fprintln(stderr, d.String())
	}
	if n := rep.Diagnostics.Count(diag.Error); n > 0 {
		fmt.Fprintf(stderr, "%d error(s), %d warning(s); nothing written\n", n, rep.Diagnostics.Count(diag.Warning))
		return
	}
	switch {
	case rep.Stale:
		fmt.Fprintf(stdout, "%s is stale (%d difference(s)); run intentc compile:\n", rep.Output, len(rep.Changes))
		for _, ch := range rep.Changes {
			fmt.Fprintf(stdout, "  %-8s %s\n", ch.What, ch.Path)
		}
	case rep.checked:
		fmt.Fprintf(stdout, "%s is up to date (%d files)\n", rep.Output, len(rep.Files))
	default:
		fmt.Fprintf(stdout, "wrote %d files to %s\n", len(rep.Files), rep.Output)
	}
}
