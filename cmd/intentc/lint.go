package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/intentc/intentc/compiler"
	"github.com/intentc/intentc/compiler/diag"
	"github.com/intentc/intentc/compiler/intent"
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
}

func newLintCmd() *cobra.Command {
	var f lintFlags
	cmd := &cobra.Command{
		Use:   "lint [PATH...]",
		Short: "Check the intent, what it compiles to and hand-written manifests with OPA policies",
		Long: `Lint compiles the intent found under the given files and directories and
checks every object it generates with the built-in Rego rules (and your own,
with --policy); findings are reported at the intent that produced the object.
The other YAML and JSON documents found there (Kubernetes and Istio manifests,
Neutron security-group JSON, Heat templates) are checked as hand-written
manifests, at their own file:line:col, against the mesh the intent describes
(or the one --data gives as intentc.mesh).

Without PATH, the intent directories and policy directories come from the
nearest .intentc.yaml; with PATH, a project file still adds its intent (so a
pre-commit run on a few staged files sees the whole mesh) and its policies.

Your policies are written as for conftest: deny, violation and warn rules (and
deny_*, violation_*, warn_*), exception[rules], package main unless
--namespace or --all-namespaces, Rego v0 or v1. See docs/policies.md.

Findings print as file:line:col: severity: message [code].

` + exitCodesHelp,
		Example: `  intentc lint examples/cross-cloud
  intentc lint
  intentc lint --policy policy/ --data mesh.yaml manifests/
  intentc lint --policy combine/ --combine out/`,
		RunE: func(c *cobra.Command, args []string) error {
			if f.format != "text" && f.format != "json" {
				fmt.Fprintf(c.ErrOrStderr(), "intentc: --format must be text or json, not %q\n", f.format)
				return exitError{exitUsage}
			}
			switch f.regoVersion {
			case "auto", "v0", "v1":
			default:
				fmt.Fprintf(c.ErrOrStderr(), "intentc: --rego-version must be auto, v0 or v1, not %q\n", f.regoVersion)
				return exitError{exitUsage}
			}
			return runLint(c, args, f)
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVarP(&f.policies, "policy", "p", nil, "directory of Rego policies (repeatable)")
	fl.StringArrayVarP(&f.data, "data", "d", nil, "JSON or YAML data file or directory, loaded under data (repeatable)")
	fl.StringArrayVarP(&f.namespaces, "namespace", "n", nil, "package whose rules run (repeatable; default main)")
	fl.BoolVar(&f.allNamespaces, "all-namespaces", false, "run the rules of every package of the policies")
	fl.BoolVar(&f.combine, "combine", false, "run your rules once over everything, with conftest's --combine input")
	fl.StringVar(&f.regoVersion, "rego-version", "auto", "Rego version of your policies: auto, v0 or v1")
	fl.StringVar(&f.format, "format", "text", "findings format: text or json")
	_ = cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions([]string{"text", "json"}, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("rego-version", cobra.FixedCompletions([]string{"auto", "v0", "v1"}, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.MarkFlagDirname("policy")
	return cmd
}

func runLint(c *cobra.Command, args []string, f lintFlags) error {
	stdout, stderr := c.OutOrStdout(), c.ErrOrStderr()
	var diags diag.List
	wd, _ := os.Getwd()
	proj, ds := intent.FindProject(wd)
	diags.Append(ds)
	if ds.HasErrors() {
		return lintReport(stdout, stderr, f.format, diags)
	}
	paths, intentPaths, policyDirs := args, args, f.policies
	if proj != nil {
		intentPaths = append(proj.IntentPaths(), args...)
		for _, p := range proj.Policies {
			policyDirs = append(policyDirs, filepath.Join(proj.Dir, p))
		}
		if len(args) == 0 {
			paths = proj.IntentPaths()
		}
	}
	if len(paths) == 0 {
		fmt.Fprintf(stderr, "intentc: no PATH given and no %s found in this directory or above\n", intent.ProjectFileName)
		return exitError{exitUsage}
	}

	version := f.regoVersion
	if version == "auto" {
		version = ""
	}
	engine, ds := lint.New(lint.Options{
		PolicyDirs: policyDirs, DataFiles: f.data,
		Namespaces: f.namespaces, AllNamespaces: f.allNamespaces, Combine: f.combine,
		RegoVersion: version,
	})
	diags.Append(ds)
	if engine == nil {
		return lintReport(stdout, stderr, f.format, diags)
	}
	ctx := c.Context()
	res, ds := lint.Compile(ctx, compiler.Options{Paths: intentPaths}, engine)
	intentOK := true
	for _, d := range ds {
		switch {
		case d.Code == diag.CodeNoIntent, d.Code == diag.CodeNotIntent:
			// lint also takes manifests alone, and checks the documents
			// compile ignores.
			intentOK = false
		case d.Severity == diag.Error && !strings.HasPrefix(string(d.Code), "IC4"):
			intentOK = false
			diags = append(diags, d)
		default:
			diags = append(diags, d)
		}
	}
	if !intentOK {
		// No intent, or one that does not compile: the manifests are
		// judged against --data's mesh rather than a partial one.
		res = nil
	}
	diags.Append(engine.CheckManifests(ctx, res, paths))
	return lintReport(stdout, stderr, f.format, diags.Sorted())
}

// lintReport prints the findings and turns them into the exit code.
func lintReport(stdout, stderr interface{ Write([]byte) (int, error) }, format string, diags diag.List) error {
	if format == "json" {
		if diags == nil {
			diags = diag.List{}
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(struct {
			Diagnostics diag.List `json:"diagnostics"`
		}{diags})
	} else {
		for _, d := range diags {
			fmt.Fprintln(stderr, d.String())
		}
		if len(diags) > 0 {
			fmt.Fprintf(stderr, "%d error(s), %d warning(s)\n", diags.Count(diag.Error), diags.Count(diag.Warning))
		}
	}
	switch {
	case !diags.HasErrors():
		return nil
	case onlyIOErrors(diags) || slices.ContainsFunc(diags, func(d diag.Diagnostic) bool { return d.Code == diag.CodeProjectFile }):
		return exitError{exitUsage}
	}
	return exitError{exitFindings}
}
