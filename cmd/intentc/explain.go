package main

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/intentc/intentc/compiler"
	"github.com/intentc/intentc/compiler/diag"
	"github.com/intentc/intentc/compiler/intent"
	"github.com/intentc/intentc/compiler/ir"
	"github.com/intentc/intentc/compiler/manifest"
	"github.com/intentc/intentc/compiler/resolve"
	"github.com/intentc/intentc/verify"
)

type explainFlags struct {
	from, to      string
	method, path  string
	host          string
	headers       []string
	fromCluster   string
	fromLabels    string
	fromSA        string
	via, network  string
	tls           bool
	portInventory string
	format        string
}

func newExplainCmd() *cobra.Command {
	var f explainFlags
	cmd := &cobra.Command{
		Use:   "explain --from SRC --to DST[:PORT] [PATH...]",
		Short: "Say whether a caller can reach a service, layer by layer, and which rule decides",
		Long: `Explain judges one connection through the four security layers — OpenStack
security groups, NetworkPolicy, AuthorizationPolicy, mTLS — and routing: per
layer, allowed or denied and by which object and rule (and which intent
object produced it), and the clusters the request can land in, with their
shares and whether failover applies.

Given only intent files, explain compiles them and judges the result. Given
manifests (generated or hand-written: YAML, and Neutron security-group
JSON), it judges them as they are and reads only the inventory (Mesh,
MeshCluster, MeshService, ExternalService) from the intent documents among
the paths; a manifest under clusters/<name>/ applies to that cluster, any
other to every cluster. Without PATH, the intent directories come from the
nearest .intentc.yaml.

SRC is namespace/name (a MeshService, or a workload whose service account is
name, with pod labels app=name unless --from-labels says otherwise),
namespace/* (any workload of the namespace), an address or CIDR (seen by
address; --via ingressGateway enters through an ingress gateway), or
node:<cluster> (the destination pod's own node). DST is namespace/name of a
MeshService or ExternalService, with a port number or name (every port
without).

Layer 1 is judged for intentc's security group alone, and says so, unless
--port-inventory gives the union of groups per node port (from intentc
openstack plan).

Exit codes:
  0  the connection is allowed on every path
  1  it is denied (or cannot be judged) on some path, or the intent has errors
  2  usage or I/O error`,
		Example: `  intentc explain --from web/frontend --to prod/inventory:8080 examples/cross-cloud
  intentc explain --from web/frontend --to prod/inventory:http --method GET --path /api/items examples/cross-cloud
  intentc explain --from batch/legacy-export --from-cluster openstack-prod --to prod/inventory:8080 examples/cross-cloud
  intentc explain --from 192.168.50.7 --to prod/inventory:9080 examples/cross-cloud out/
  intentc explain --from web/frontend --to prod/inventory:8080 --format json examples/cross-cloud`,
		RunE: func(c *cobra.Command, args []string) error {
			if f.format != "text" && f.format != "json" {
				fmt.Fprintf(c.ErrOrStderr(), "intentc: --format must be text or json, not %q\n", f.format)
				return exitError{exitUsage}
			}
			if f.from == "" || f.to == "" {
				fmt.Fprintf(c.ErrOrStderr(), "intentc: explain needs --from and --to\n\n%s", c.UsageString())
				return exitError{exitUsage}
			}
			return runExplain(c, args, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.from, "from", "", "the caller: namespace/name, namespace/*, an address or CIDR, or node:<cluster>")
	fl.StringVar(&f.to, "to", "", "the destination: namespace/name[:port]")
	fl.StringVar(&f.method, "method", "", "HTTP method of the request (HTTP ports)")
	fl.StringVar(&f.path, "path", "", "HTTP path of the request (HTTP ports)")
	fl.StringVar(&f.host, "host", "", "Host of the request (default: the service's host; for --via ingressGateway, the host the gateway serves)")
	fl.StringArrayVar(&f.headers, "header", nil, "request header name=value (repeatable; routes match on them)")
	fl.StringVar(&f.fromCluster, "from-cluster", "", "the cluster the caller runs in (default: every cluster it may run in)")
	fl.StringVar(&f.fromLabels, "from-labels", "", "the caller's pod labels, k=v[,k=v...]")
	fl.StringVar(&f.fromSA, "from-sa", "", "the caller's service account (default: the name in --from)")
	fl.StringVar(&f.via, "via", "", "for an address: direct (default) or ingressGateway")
	fl.StringVar(&f.network, "network", "", "for an address: the Istio network it lives on")
	fl.BoolVar(&f.tls, "mtls", false, "for an address: the peer speaks Istio mTLS (a VM with a sidecar); default plaintext")
	fl.StringVar(&f.portInventory, "port-inventory", "", "JSON or YAML union of security groups per node port (intentc openstack plan)")
	fl.StringVar(&f.format, "format", "text", "output format: text or json")
	_ = cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions([]string{"text", "json"}, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("via", cobra.FixedCompletions([]string{"direct", "ingressGateway"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// verifyInput is what explain and graph judge: the analyzer over the
// manifests, the inventory, and whether the manifests were compiled from
// the intent given (then the intent's own verdicts are known too).
type verifyInput struct {
	analyzer *verify.Analyzer
	model    *ir.Model
	compiled bool
}

// loadForVerify reads PATHs: intent only → compile and judge the output;
// with manifests → judge them, with the inventory from the intent
// documents. It reports findings itself; a non-nil error is the exit code.
func loadForVerify(c *cobra.Command, args []string, portInventory, format string) (*verifyInput, error) {
	stdout, stderr := c.OutOrStdout(), c.ErrOrStderr()
	paths := args
	if len(paths) == 0 {
		wd, _ := os.Getwd()
		proj, ds := intent.FindProject(wd)
		if ds.HasErrors() {
			report(stdout, stderr, format, jsonReport{Diagnostics: ds})
			return nil, exitError{exitUsage}
		}
		if proj == nil {
			fmt.Fprintf(stderr, "intentc: no PATH given and no %s found in this directory or above\n", intent.ProjectFileName)
			return nil, exitError{exitUsage}
		}
		paths = proj.IntentPaths()
	}
	var opts verify.Options
	if portInventory != "" {
		inv, err := readPortInventory(portInventory)
		if err != nil {
			fmt.Fprintf(stderr, "intentc: --port-inventory: %v\n", err)
			return nil, exitError{exitUsage}
		}
		opts.Ports = inv
	}
	files, err := readManifests(paths)
	if err != nil {
		fmt.Fprintf(stderr, "intentc: %v\n", err)
		return nil, exitError{exitUsage}
	}
	in := &verifyInput{}
	var diags diag.List
	if len(files) == 0 {
		res, ds := compiler.Compile(compiler.Options{Paths: paths})
		if ds.HasErrors() {
			printDiags(stderr, ds)
			if onlyIOErrors(ds) {
				return nil, exitError{exitUsage}
			}
			return nil, exitError{exitFindings}
		}
		in.model, in.compiled = res.Model, true
		files = res.Files
	} else {
		set, ds := intent.Load(paths)
		diags.Append(ds)
		inv := &intent.Set{Files: set.Files}
		for _, d := range set.Docs {
			switch d.Kind {
			case intent.KindMesh, intent.KindMeshCluster, intent.KindMeshService, intent.KindExternalService:
				inv.Docs = append(inv.Docs, d)
			}
		}
		if !slices.ContainsFunc(inv.Docs, func(d *intent.Document) bool { return d.Kind == intent.KindMeshCluster }) {
			printDiags(stderr, diags)
			fmt.Fprintln(stderr, "intentc: manifests need an inventory: give the intent documents (MeshCluster, MeshService) among the PATHs too")
			return nil, exitError{exitUsage}
		}
		model, ds := resolve.Resolve(inv)
		diags.Append(ds)
		if model == nil {
			printDiags(stderr, diags)
			return nil, exitError{exitFindings}
		}
		in.model = model
	}
	a, ds := verify.New(in.model, files, opts)
	diags.Append(ds)
	// Warnings about the inputs go to stderr; they do not stop the answer.
	printDiags(stderr, diags.Sorted())
	in.analyzer = a
	return in, nil
}

func printDiags(w io.Writer, l diag.List) {
	for _, d := range l {
		fmt.Fprintln(w, d.String())
	}
}

// readManifests returns the non-intent documents (Kubernetes objects,
// Neutron security-group JSON) under the paths, including directories
// intentc generated. Intent-only paths give none.
func readManifests(paths []string) ([]manifest.File, error) {
	var out []manifest.File
	add := func(p string) error {
		ext := filepath.Ext(p)
		if ext != ".yaml" && ext != ".yml" && ext != ".json" {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if isManifest(data) {
			out = append(out, manifest.File{Path: filepath.ToSlash(p), Data: data})
		}
		return nil
	}
	for _, root := range paths {
		st, err := os.Stat(root)
		if err != nil {
			return nil, fmt.Errorf("cannot read %s: %v", root, err)
		}
		if !st.IsDir() {
			if err := add(root); err != nil {
				return nil, err
			}
			continue
		}
		err = filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if strings.HasPrefix(e.Name(), ".") && p != root {
				if e.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if e.IsDir() {
				return nil
			}
			return add(p)
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// isManifest reports whether a file holds a document that is not an intent
// document: a Kubernetes object of another apiVersion, or Neutron JSON.
func isManifest(data []byte) bool {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc struct {
			APIVersion     string `yaml:"apiVersion"`
			Kind           string `yaml:"kind"`
			SecurityGroups any    `yaml:"security_groups"`
		}
		if err := dec.Decode(&doc); err != nil {
			return false
		}
		if doc.SecurityGroups != nil {
			return true
		}
		if doc.Kind != "" && doc.Kind != "Kustomization" && !strings.HasPrefix(doc.APIVersion, "intentc.dev/") {
			return true
		}
	}
}

func readPortInventory(path string) (*verify.PortInventory, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var inv verify.PortInventory
	if err := yaml.Unmarshal(data, &inv); err != nil {
		return nil, err
	}
	if len(inv.Ports) == 0 {
		return nil, fmt.Errorf("%s lists no ports", path)
	}
	return &inv, nil
}

func parseLabels(s string) (map[string]string, error) {
	if s == "" {
		return nil, nil
	}
	out := map[string]string{}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("%q is not key=value", kv)
		}
		out[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return out, nil
}

func runExplain(c *cobra.Command, args []string, f explainFlags) error {
	stdout, stderr := c.OutOrStdout(), c.ErrOrStderr()
	labels, err := parseLabels(f.fromLabels)
	if err != nil {
		fmt.Fprintf(stderr, "intentc: --from-labels: %v\n", err)
		return exitError{exitUsage}
	}
	headers := map[string]string{}
	for _, h := range f.headers {
		k, v, ok := strings.Cut(h, "=")
		if !ok || k == "" {
			fmt.Fprintf(stderr, "intentc: --header %q is not name=value\n", h)
			return exitError{exitUsage}
		}
		headers[k] = v
	}
	in, err := loadForVerify(c, args, f.portInventory, f.format)
	if err != nil {
		return err
	}
	opts := verify.SourceOptions{Cluster: f.fromCluster, Labels: labels, ServiceAccount: f.fromSA, Via: f.via, Network: f.network, Host: f.host}
	if f.tls {
		plain := false
		opts.Plaintext = &plain
	}
	sources, err := verify.ParseSource(in.model, f.from, opts)
	if err != nil {
		fmt.Fprintf(stderr, "intentc: --from: %v\n", err)
		return exitError{exitUsage}
	}
	targets, err := verify.ParseTarget(in.model, f.to)
	if err != nil {
		fmt.Fprintf(stderr, "intentc: --to: %v\n", err)
		return exitError{exitUsage}
	}
	req := verify.Request{Method: f.method, Path: f.path, Headers: headers}
	if f.via != "ingressGateway" {
		req.Host = f.host
	}
	if req.Method != "" && req.Path == "" {
		req.Path = "/"
	}
	if req.Path != "" && req.Method == "" {
		req.Method = "GET"
	}
	x := in.analyzer.Explain(f.from, sources, targets, req, in.compiled)
	if f.format == "json" {
		err = x.WriteJSON(stdout)
	} else {
		err = x.WriteText(stdout)
	}
	if err != nil {
		fmt.Fprintf(stderr, "intentc: %v\n", err)
		return exitError{exitUsage}
	}
	if x.Verdict != verify.Allowed {
		return exitError{exitFindings}
	}
	return nil
}
