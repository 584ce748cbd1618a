package main

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/intentc/intentc/compiler"
	"github.com/intentc/intentc/compiler/diag"
	"github.com/intentc/intentc/compiler/intent"
	"github.com/intentc/intentc/neutron"
)

const openstackExitHelp = `Exit codes:
  0  success
  1  error findings (intent errors, a group name taken, the quota), or apply cancelled
  2  usage error, or no credentials / Neutron unreachable or refusing a request
With plan --detailed-exitcode (as terraform plan -detailed-exitcode):
  0  no changes
  1  any error, usage errors included
  2  changes to apply`

const openstackSources = `PATH is intent files and directories (compiled first, nothing is written),
an output tree of intentc compile (out/, whose openstack/<cloud>/<project>/
security-groups.json files are read), or such JSON files themselves. Without
PATH, the intent of the nearest .intentc.yaml.

Credentials are never given on the command line. Per document, in order:
INTENTC_NEUTRON_ENDPOINT (a keystone-less Neutron, for tests: X-Project-Id
from INTENTC_NEUTRON_PROJECT_ID or the document's project, X-User-Id from
INTENTC_NEUTRON_USER_ID, X-Roles from INTENTC_NEUTRON_ROLES, default member);
the clouds.yaml entry named by OS_CLOUD, or else named as the document's
cloud (searched as the OpenStack client does: OS_CLIENT_CONFIG_FILE, ./,
~/.config/openstack/, /etc/openstack/); the OS_* variables. The token must be
scoped to the document's project. See docs/openstack.md.`

type openstackFlags struct {
	detailed     bool
	nodes        string
	nodeMetadata []string
	dryRun       bool
	yes          bool
	noBulk       bool
	replaceStale bool
	timeout      time.Duration
}

func newOpenstackCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "openstack",
		Short: "Plan and apply intentc's OpenStack security groups in Neutron",
		Long: `OpenStack security groups (layer 1) have no GitOps path, so intentc applies
them itself: plan shows exactly what would change, apply makes those changes,
touching only the groups intentc owns and converging after any interruption.

` + openstackSources,
	}
	cmd.AddCommand(newOpenstackPlanCmd(), newOpenstackApplyCmd())
	return cmd
}

func addNodeFlags(fs *pflag.FlagSet, f *openstackFlags) {
	fs.StringVar(&f.nodes, "nodes", "", "also report the ports whose name (or whose Nova server's name) starts with this prefix as node ports")
	fs.StringArrayVar(&f.nodeMetadata, "nodes-metadata", nil, "also report the ports of the Nova servers with this metadata KEY=VALUE as node ports (repeatable; needs Nova)")
	fs.DurationVar(&f.timeout, "timeout", 30*time.Minute, "give up after this long")
}

func newOpenstackPlanCmd() *cobra.Command {
	var f openstackFlags
	cmd := &cobra.Command{
		Use:   "plan [PATH...]",
		Short: "Show what apply would change in Neutron, and what filters the node ports",
		Long: `Plan compares the security groups the intent compiles to with what each
OpenStack project holds and prints, per group, the rules to add (+), to remove
(-, foreign rules inside intentc's groups as drift) and that differ but are
kept (~), then per node port every group attached and their effective union
(Neutron applies the union, so a wider group there makes layer 1 meaningless),
and a summary line. Nothing is written.

Node ports are the ports carrying one of intentc's groups, plus those --nodes
or --nodes-metadata name. Audit documents (securityGroups.mode: audit) are
compared and reported, never changed.

` + openstackSources + `

` + openstackExitHelp,
		Example: `  intentc openstack plan examples/cross-cloud
  intentc openstack plan out/ --detailed-exitcode
  OS_CLOUD=dc1 intentc openstack plan --nodes k8s-prod-`,
		// Parsed by hand: under --detailed-exitcode a flag error must exit 1,
		// and cobra reports flag errors before any flag is known.
		DisableFlagParsing: true,
		RunE: func(c *cobra.Command, args []string) error {
			detailed := slices.ContainsFunc(args, func(a string) bool {
				return a == "--detailed-exitcode" || a == "-detailed-exitcode" || a == "--detailed-exitcode=true"
			})
			usage := exitUsage
			if detailed {
				usage = 1
			}
			for i, a := range args {
				if a == "-detailed-exitcode" { // terraform's spelling
					args[i] = "--detailed-exitcode"
				}
			}
			if err := c.Flags().Parse(args); err != nil {
				if errors.Is(err, pflag.ErrHelp) {
					_ = c.Help()
					return nil
				}
				fmt.Fprintf(c.ErrOrStderr(), "intentc: %v\n\n%s", err, c.UsageString())
				return exitError{usage}
			}
			if help, _ := c.Flags().GetBool("help"); help {
				_ = c.Help()
				return nil
			}
			f.detailed = detailed && f.detailed
			return runOpenstack(c, c.Flags().Args(), f, false)
		},
	}
	cmd.Flags().BoolVar(&f.detailed, "detailed-exitcode", false, "exit 0 with no changes, 1 on any error, 2 with changes (as terraform)")
	addNodeFlags(cmd.Flags(), &f)
	return cmd
}

func newOpenstackApplyCmd() *cobra.Command {
	var f openstackFlags
	cmd := &cobra.Command{
		Use:   "apply [PATH...]",
		Short: "Create and update intentc's security groups in Neutron",
		Long: `Apply computes the plan (as intentc openstack plan prints it), asks for
confirmation unless --yes, and carries it out: groups first (created, then
tagged managed-by:intentc), every new rule (one bulk request per group,
falling back to one request per rule), and only then the rules to remove
(make before break). A rule Neutron already has counts as present; a rule
already gone counts as deleted. When any rule cannot be created, no rule is
deleted. Rerunning after an interruption converges, with no duplicate and no
gap. Groups intentc does not own are never written.

` + openstackSources + `

` + openstackExitHelp,
		Example: `  intentc openstack apply examples/cross-cloud --dry-run
  intentc openstack apply out/ --yes`,
		Args: cobra.ArbitraryArgs,
		RunE: func(c *cobra.Command, args []string) error { return runOpenstack(c, args, f, true) },
	}
	cmd.Flags().BoolVar(&f.dryRun, "dry-run", false, "print the plan and change nothing")
	cmd.Flags().BoolVarP(&f.yes, "yes", "y", false, "apply without asking for confirmation")
	cmd.Flags().BoolVar(&f.noBulk, "no-bulk", false, "create rules one request each instead of one bulk request per group")
	cmd.Flags().BoolVar(&f.replaceStale, "replace-stale", false, "recreate rules whose description (provenance) is stale; Neutron cannot update a rule, so each is briefly absent")
	addNodeFlags(cmd.Flags(), &f)
	return cmd
}

// osResult accumulates one run's outcome into an exit code.
type osResult struct {
	detailed            bool
	findings, ioErr     bool
	changes, usageError bool
}

func (r osResult) code() int {
	if r.detailed {
		switch {
		case r.findings || r.ioErr || r.usageError:
			return 1
		case r.changes:
			return 2
		}
		return 0
	}
	switch {
	case r.usageError || r.ioErr:
		return exitUsage
	case r.findings:
		return exitFindings
	}
	return exitOK
}

func exitFor(r osResult) error {
	if c := r.code(); c != 0 {
		return exitError{c}
	}
	return nil
}

func runOpenstack(c *cobra.Command, args []string, f openstackFlags, isApply bool) error {
	stdout, stderr := c.OutOrStdout(), c.ErrOrStderr()
	res := osResult{detailed: f.detailed}
	sel := neutron.NodeSelector{NamePrefix: f.nodes}
	for _, kv := range f.nodeMetadata {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			fmt.Fprintf(stderr, "intentc: --nodes-metadata wants KEY=VALUE, not %q\n", kv)
			res.usageError = true
			return exitFor(res)
		}
		if sel.Metadata == nil {
			sel.Metadata = map[string]string{}
		}
		sel.Metadata[k] = v
	}
	docs, ds, usageErr := loadSecurityGroupDocs(args)
	for _, d := range ds {
		if d.Severity == diag.Error {
			fmt.Fprintln(stderr, d.String())
		}
	}
	if usageErr != nil {
		fmt.Fprintf(stderr, "intentc: %v\n", usageErr)
		res.usageError = true
		return exitFor(res)
	}
	if ds.HasErrors() {
		fmt.Fprintf(stderr, "%d error(s); nothing planned\n", ds.Count(diag.Error))
		res.findings = true
		return exitFor(res)
	}
	if len(docs) == 0 {
		fmt.Fprintln(stdout, "No OpenStack security groups in the intent (no platform: openstack cluster with spec.openstack): nothing to do.")
		return nil
	}

	ctx, cancel := context.WithTimeout(context.Background(), f.timeout)
	defer cancel()
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	type target struct {
		client *neutron.Client
		plan   *neutron.Plan
	}
	var targets []target
	for i, d := range docs {
		if i > 0 {
			fmt.Fprintln(stdout)
		}
		client, err := neutron.ClientFromEnvironment(ctx, d.Cloud, d.Project)
		if err != nil {
			fmt.Fprintf(stderr, "intentc: %s/%s: %v\n", d.Cloud, d.Project, err)
			res.ioErr = true
			continue
		}
		obs, err := neutron.Observe(ctx, client, sel)
		if err != nil {
			fmt.Fprintf(stderr, "intentc: %s/%s (%s): %v\n", d.Cloud, d.Project, client.Describe, err)
			res.ioErr = true
			continue
		}
		p := neutron.ComputePlan(d, obs, client.ProjectID, sel)
		p.Render(stdout)
		for _, fd := range p.Findings {
			fmt.Fprintln(stderr, fd.String())
		}
		if p.Findings.HasErrors() {
			res.findings = true
		}
		if p.HasChanges() || (f.replaceStale && p.Counts().Stale > 0) {
			res.changes = true
		}
		targets = append(targets, target{client, p})
	}
	if !isApply || res.findings || res.ioErr {
		if isApply && (res.findings || res.ioErr) {
			fmt.Fprintln(stderr, "Nothing was applied: fix the errors above first.")
		}
		return exitFor(res)
	}
	if !res.changes {
		fmt.Fprintln(stdout, "\nNo changes. Nothing to apply.")
		return nil
	}
	if f.dryRun {
		fmt.Fprintln(stdout, "\nDry run: nothing was applied.")
		return nil
	}
	if !f.yes {
		fmt.Fprint(stderr, "\nApply these changes? Only 'yes' will be accepted: ")
		line, _ := bufio.NewReader(c.InOrStdin()).ReadString('\n')
		if strings.TrimSpace(line) != "yes" {
			fmt.Fprintln(stderr, "\nApply cancelled: nothing was changed.")
			res.findings = true
			return exitFor(res)
		}
	}
	tty := isTerminal(stderr)
	for _, t := range targets {
		if !t.plan.HasChanges() && !(f.replaceStale && t.plan.Counts().Stale > 0) {
			continue
		}
		where := t.plan.Cloud + "/" + t.plan.Project
		opts := neutron.ApplyOptions{NoBulk: f.noBulk, ReplaceStale: f.replaceStale}
		if tty {
			opts.Progress = progressPrinter(stderr, where, t.plan)
		}
		s, err := neutron.Apply(ctx, t.client, t.plan, opts)
		if tty {
			fmt.Fprintln(stderr)
		}
		fmt.Fprintf(stdout, "\nApplied %s: %s\n", where, s)
		if err != nil {
			fmt.Fprintf(stderr, "intentc: apply %s: %v\n", where, err)
			fmt.Fprintln(stderr, "A rerun converges from here: every step is safe to repeat.")
			res.ioErr = true
		}
	}
	if res.ioErr {
		return exitFor(res)
	}
	fmt.Fprintln(stdout, "\nApply complete.")
	return nil
}

// progressPrinter rewrites one status line on the terminal.
func progressPrinter(w io.Writer, where string, p *neutron.Plan) func(neutron.Step) {
	total := 0
	for _, g := range p.Groups {
		total += len(g.Add) + len(g.Remove)
		for _, write := range []bool{g.Create, g.Create || g.Tag, g.Describe} {
			if write {
				total++
			}
		}
	}
	done := 0
	return func(s neutron.Step) {
		n := 1
		if s.Op == neutron.OpCreateRules {
			n = len(s.Rules)
		}
		done += n
		fmt.Fprintf(w, "\r%s: %d/%d change(s) (%s %s)\033[K", where, min(done, total), total, s.Op, s.Group)
	}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// loadSecurityGroupDocs reads the documents to plan: compiled from intent
// paths, or read from an output tree or JSON files. The returned error is a
// usage error (a path that cannot be read).
func loadSecurityGroupDocs(args []string) ([]*neutron.Desired, diag.List, error) {
	var diags diag.List
	var intentPaths []string
	var docs []*neutron.Desired
	if len(args) == 0 {
		wd, _ := os.Getwd()
		proj, ds := intent.FindProject(wd)
		if ds.HasErrors() {
			return nil, ds, nil
		}
		if proj == nil {
			return nil, nil, fmt.Errorf("no PATH given and no %s found in this directory or above", intent.ProjectFileName)
		}
		intentPaths = proj.IntentPaths()
	}
	readDoc := func(path, rel string) {
		ok, audit := neutron.IsDocumentPath(rel)
		if !ok {
			return
		}
		data, err := os.ReadFile(path)
		if err != nil {
			diags.Add(diag.CodeReadFile, diag.Pos{File: path}, "%v", err)
			return
		}
		d, ds := neutron.ParseDocument(path, data, audit)
		diags.Append(ds)
		if d != nil {
			docs = append(docs, d)
		}
	}
	for _, a := range args {
		st, err := os.Stat(a)
		if err != nil {
			return nil, nil, err
		}
		switch {
		case !st.IsDir() && strings.HasSuffix(a, ".json"):
			if ok, _ := neutron.IsDocumentPath(a); !ok {
				return nil, nil, fmt.Errorf("%s: not a security-groups.json or security-groups.audit.json", a)
			}
			readDoc(a, a)
		case st.IsDir() && isOutputTree(a):
			err := filepath.WalkDir(a, func(p string, e fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				if !e.IsDir() {
					readDoc(p, p)
				}
				return nil
			})
			if err != nil {
				return nil, nil, err
			}
		default:
			intentPaths = append(intentPaths, a)
		}
	}
	if len(intentPaths) > 0 {
		res, ds := compiler.Compile(compiler.Options{Paths: intentPaths})
		diags.Append(ds)
		if !ds.HasErrors() {
			for _, f := range res.Files {
				ok, audit := neutron.IsDocumentPath(f.Path)
				if !ok {
					continue
				}
				d, ds := neutron.ParseDocument(f.Path, f.Data, audit)
				diags.Append(ds)
				if d != nil {
					docs = append(docs, d)
				}
			}
		}
	}
	slices.SortFunc(docs, func(a, b *neutron.Desired) int {
		return cmp.Or(cmp.Compare(a.Cloud, b.Cloud), cmp.Compare(a.Project, b.Project), cmpBool(a.Audit, b.Audit), cmp.Compare(a.Source, b.Source))
	})
	for i := 1; i < len(docs); i++ {
		a, b := docs[i-1], docs[i]
		if a.Cloud == b.Cloud && a.Project == b.Project && a.Audit == b.Audit {
			diags.Add(diag.CodeSGDocument, diag.Pos{File: b.Source}, "a second document for %s/%s (the first is %s): give each project once", b.Cloud, b.Project, a.Source)
		}
	}
	return docs, diags.Sorted(), nil
}

func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}

// isOutputTree tells an intentc compile output directory (or a part of one)
// from an intent directory.
func isOutputTree(dir string) bool {
	for _, name := range []string{".intentc-generated", "openstack", "security-groups.json", "security-groups.audit.json"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			return true
		}
	}
	return false
}
