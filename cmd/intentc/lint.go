package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/intentc/intentc/compiler"
	"github.com/intentc/intentc/compiler/diag"
	"github.com/intentc/intentc/compiler/intent"
	rep "github.com/intentc/intentc/internal/report"
	"github.com/intentc/intentc/lint"
)

type lintFlags struct {
	policies      []string
	data          []string
	namespaces    []string
	allNamespaces bool
	combine       bool
	regoVersion   string
	format        string
	failOn        string
	color         string
}

func newLintCmd() *cobra.Command {
	var f lintFlags
	cmd := &cobra.Command{
		Use:   "lint [PATH...]",
		Short: "Check the intent, what it compiles to and hand-written manifests with OPA policies",
		Long: `Lint checks intent files and Kubernetes, Istio and OpenStack manifests with
the built-in Rego rules (and your own, with --policy), and reports findings
only for the files and directories given: what a pre-commit hook passes.

For each PATH, the intent root is the nearest .intentc.yaml above it. Its
whole intent is loaded and compiled (nothing is written), so a run on a few
staged files still resolves references across files; every generated object
is checked, and findings are reported at the intent that produced it.
Without a project file, the intent documents among the PATHs are the whole
intent. Without PATH, the project of the current directory is linted whole.

Other YAML and JSON documents among the PATHs (hand-written manifests, or a
generated tree such as out/ with its security-group JSON and Heat templates)
are checked with the same per-object and bundle rules, at their own
file:line:col, against the mesh the intent describes (or --data's
intentc.mesh). A bundle rule sees the rest of a file's bundle (its
clusters/<name>/ directory, or its own directory) without reporting on it.
An apiVersion that looks like intentc's but is misspelt is an error.

Your policies are written as for conftest: deny, violation and warn rules (and
deny_*, violation_*, warn_*), exception[rules], package main unless
--namespace or --all-namespaces, Rego v0 or v1. See docs/policies.md.

Formats (--format): text (file:line:col: severity: message [code], on
stderr, coloured on a terminal), json (a stable document, see docs/ci.md),
sarif (SARIF 2.1.0 for code scanning) and github (workflow commands that
annotate the pull request); all but text go to stdout. --fail-on sets which
findings fail the run: error (default), warning, or never.

` + exitCodesHelp,
		Example: `  intentc lint examples/cross-cloud
  intentc lint                                   # the project of the current directory
  intentc lint intents/inventory.yaml            # what pre-commit runs: the whole intent, findings in this file
  intentc lint --format sarif --fail-on never > intentc.sarif
  intentc lint --policy policy/ --data mesh.yaml manifests/
  intentc lint --policy combine/ --combine out/`,
		RunE: func(c *cobra.Command, args []string) error {
			if _, err := rep.ParseFormat(f.format); err != nil {
				fmt.Fprintf(c.ErrOrStderr(), "intentc: %v\n", err)
				return exitError{exitUsage}
			}
			switch f.regoVersion {
			case "auto", "v0", "v1":
			default:
				fmt.Fprintf(c.ErrOrStderr(), "intentc: --rego-version must be auto, v0 or v1, not %q\n", f.regoVersion)
				return exitError{exitUsage}
			}
			switch f.failOn {
			case "error", "warning", "never":
			default:
				fmt.Fprintf(c.ErrOrStderr(), "intentc: --fail-on must be error, warning or never, not %q\n", f.failOn)
				return exitError{exitUsage}
			}
			switch f.color {
			case "auto", "always", "never":
			default:
				fmt.Fprintf(c.ErrOrStderr(), "intentc: --color must be auto, always or never, not %q\n", f.color)
				return exitError{exitUsage}
			}
			return runLint(c, args, f)
		},
	}
	formats := make([]string, len(rep.Formats))
	for i, x := range rep.Formats {
		formats[i] = string(x)
	}
	fl := cmd.Flags()
	fl.StringArrayVarP(&f.policies, "policy", "p", nil, "directory of Rego policies (repeatable)")
	fl.StringArrayVarP(&f.data, "data", "d", nil, "JSON or YAML data file or directory, loaded under data (repeatable)")
	fl.StringArrayVarP(&f.namespaces, "namespace", "n", nil, "package whose rules run (repeatable; default main)")
	fl.BoolVar(&f.allNamespaces, "all-namespaces", false, "run the rules of every package of the policies")
	fl.BoolVar(&f.combine, "combine", false, "run your rules once over everything, with conftest's --combine input")
	fl.StringVar(&f.regoVersion, "rego-version", "auto", "Rego version of your policies: auto, v0 or v1")
	fl.StringVar(&f.format, "format", "text", "findings format: "+strings.Join(formats, ", "))
	fl.StringVar(&f.failOn, "fail-on", "error", "lowest severity that fails the run (exit 1): error, warning or never")
	fl.StringVar(&f.color, "color", "auto", "colour the text format: auto (on a terminal, unless NO_COLOR is set), always or never")
	_ = cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions(formats, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("fail-on", cobra.FixedCompletions([]string{"error", "warning", "never"}, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("color", cobra.FixedCompletions([]string{"auto", "always", "never"}, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("rego-version", cobra.FixedCompletions([]string{"auto", "v0", "v1"}, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.MarkFlagDirname("policy")
	return cmd
}

// engineResult is a lint.New that runs in the background.
type engineResult struct {
	done   chan struct{}
	engine *lint.Engine
	diags  diag.List
	// user: the engine loads the user's policies or data, whose problems
	// are reported whether or not a check needed it.
	user   bool
	waited bool
}

func (r *engineResult) wait() (*lint.Engine, diag.List) {
	<-r.done
	r.waited = true
	return r.engine, r.diags
}

// largeOutput is the number of generated files above which a lint run
// collects garbage at Go's default pace again: a few thousand objects are
// checked in well under a second either way.
const largeOutput = 5000

// largeIntent is the size of intent sources above which a lint run keeps
// Go's default pace from the start: their compile alone makes more than
// largeOutput files (bench/fleet's 1,000 services are 1 MB of intent and
// 19,000 files), and four times the garbage collector's headroom while
// compiling them cost a fifth more peak memory (320 against 260 MB at
// 1,000 services, 3.1 against 2.5 GB at 10,000 over 20 clusters) to save
// at most a few percent of the time.
const largeIntent = 256 << 10

// intentBytes is the size of the YAML files under paths, up to limit.
func intentBytes(paths []string, limit int64) int64 {
	var n int64
	for _, p := range paths {
		_ = filepath.WalkDir(p, func(path string, d os.DirEntry, err error) error {
			if err != nil || n > limit {
				return filepath.SkipAll
			}
			if ext := filepath.Ext(path); !d.IsDir() && (ext == ".yaml" || ext == ".yml") {
				if info, err := d.Info(); err == nil {
					n += info.Size()
				}
			}
			return nil
		})
	}
	return n
}

func runLint(c *cobra.Command, args []string, f lintFlags) error {
	stdout, stderr := c.OutOrStdout(), c.ErrOrStderr()
	// A lint run is a short process that allocates most of what it uses
	// while compiling the policies: collecting four times less often cut
	// the example's run by a fifth (docs/pre-commit.md) for 9% more peak
	// memory. On a large intent the checks' own heap dominates, and four
	// times that was 5.2 GB at 10,000 services (docs/performance.md): the
	// default stays for a large intent (largeIntent) and comes back once
	// the output is known to be large. GOGC, when set, wins.
	scopes, diags := lint.Scopes(args)
	var intentPaths []string
	for _, s := range scopes {
		intentPaths = append(intentPaths, s.Intent...)
	}
	tuneGC := os.Getenv("GOGC") == "" && intentBytes(intentPaths, largeIntent) <= largeIntent
	if tuneGC {
		defer debug.SetGCPercent(debug.SetGCPercent(400))
	}
	if len(args) == 0 && len(scopes) == 0 && !diags.HasErrors() {
		fmt.Fprintf(stderr, "intentc: no PATH given and no %s found in this directory or above\n", intent.ProjectFileName)
		return exitError{exitUsage}
	}

	regoVersion := f.regoVersion
	if regoVersion == "auto" {
		regoVersion = ""
	}
	// Compiling the policies is most of a small run's cost
	// (docs/pre-commit.md has the numbers): start it now, once per
	// distinct set of policy directories, and compile the intent
	// meanwhile on the other core.
	engines := map[string]*engineResult{}
	engineFor := func(s *lint.Scope) *engineResult {
		dirs := append(slices.Clone(f.policies), s.Policies...)
		key := strings.Join(dirs, "\x00")
		if r, ok := engines[key]; ok {
			return r
		}
		r := &engineResult{done: make(chan struct{}), user: len(dirs) > 0 || len(f.data) > 0}
		engines[key] = r
		go func() {
			defer close(r.done)
			r.engine, r.diags = lint.New(lint.Options{
				PolicyDirs: dirs, DataFiles: f.data,
				Namespaces: f.namespaces, AllNamespaces: f.allNamespaces, Combine: f.combine,
				RegoVersion: regoVersion,
			})
		}()
		return r
	}
	for _, s := range scopes {
		engineFor(s)
	}

	ctx := c.Context()
	for _, s := range scopes {
		var res *compiler.Result
		var compiled diag.List
		if len(s.Intent) > 0 {
			// lint writes nothing: the checks read the JSON alone.
			res, compiled = compiler.Compile(compiler.Options{Paths: s.Intent, Parsed: s.Parsed, JSONOnly: true})
			if tuneGC && len(res.Files) > largeOutput {
				debug.SetGCPercent(100)
			}
		}
		checkCompiled := res != nil && !compiled.HasErrors() && s.CoversIntent(res)
		manifestFiles := s.ManifestsFor(res)
		if !checkCompiled && len(manifestFiles) == 0 {
			// Nothing for the policies (an intent file that does not
			// compile, say): report without waiting for them.
			diags.Append(s.Report(res, compiled, nil))
			continue
		}
		engine, _ := engineFor(s).wait()
		if engine == nil {
			diags.Append(s.Report(res, compiled, nil))
			continue
		}
		if checkCompiled {
			compiled = append(compiled, engine.CheckCompiled(ctx, res)...)
		}
		// Manifests are judged against the mesh of an intent that
		// compiles; with none, or a broken one, against --data's.
		mesh := res
		if res == nil || res.Model == nil || slices.ContainsFunc(compiled, func(d diag.Diagnostic) bool {
			return d.Severity == diag.Error && !strings.HasPrefix(string(d.Code), "IC4")
		}) {
			mesh = nil
		}
		var manifests diag.List
		if len(manifestFiles) > 0 {
			manifests = engine.CheckManifests(ctx, mesh, manifestFiles)
		}
		diags.Append(s.Report(res, compiled, manifests))
	}
	// Problems with the policies or data, once per engine. A run that
	// needed no check and loads only the built-in rules (tested, so they
	// compile) does not wait for them.
	for _, r := range engines {
		if r.user || r.waited {
			_, eds := r.wait()
			diags.Append(eds)
		}
	}
	diags = diags.Sorted()

	format, _ := rep.ParseFormat(f.format)
	out := stdout
	if format == rep.Text {
		out = stderr
	}
	opts := rep.Options{
		Color:       colorFor(f.color, stderr),
		ToolVersion: version,
		Fallback:    fallbackFile(scopes),
	}
	if err := rep.Write(out, format, diags, opts); err != nil {
		fmt.Fprintf(stderr, "intentc: cannot write the report: %v\n", err)
		return exitError{exitUsage}
	}
	return lintExit(diags, f.failOn)
}

// lintExit turns the findings into the exit code: 2 when the input could
// not be read at all (only read errors, or a broken project file), 1 when
// a finding is at or above --fail-on, else 0.
func lintExit(diags diag.List, failOn string) error {
	if diags.HasErrors() && (onlyIOErrors(diags) || slices.ContainsFunc(diags, func(d diag.Diagnostic) bool { return d.Code == diag.CodeProjectFile })) {
		return exitError{exitUsage}
	}
	switch {
	case failOn == "never":
		return nil
	case diags.HasErrors(), failOn == "warning" && diags.Count(diag.Warning) > 0:
		return exitError{exitFindings}
	}
	return nil
}

// fallbackFile is where a SARIF result about the intent as a whole (no
// position) is anchored, since code scanning rejects an upload with a
// result that names no file: the project file, else the first file linted.
func fallbackFile(scopes []*lint.Scope) string {
	for _, s := range scopes {
		if s.Project != nil {
			return filepath.Join(s.Project.Dir, intent.ProjectFileName) // Dir is relative to the working directory
		}
	}
	for _, s := range scopes {
		for _, f := range append(slices.Clone(s.Intent), s.Manifests...) {
			if st, err := os.Stat(f); err == nil && !st.IsDir() {
				return f
			}
		}
	}
	return ""
}

// colorFor decides whether the text format is coloured: --color always or
// never, or (auto) when stderr is a terminal and neither NO_COLOR
// (no-color.org) nor TERM=dumb says otherwise.
func colorFor(mode string, w io.Writer) bool {
	switch mode {
	case "always":
		return true
	case "never":
		return false
	}
	if os.Getenv("NO_COLOR") != "" || os.Getenv("TERM") == "dumb" {
		return false
	}
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
