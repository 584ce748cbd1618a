package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

type graphFlags struct {
	format        string
	portInventory string
}

func newGraphCmd() *cobra.Command {
	var f graphFlags
	cmd := &cobra.Command{
		Use:   "graph [PATH...]",
		Short: "Draw the service graph the manifests allow, as Graphviz DOT or Mermaid",
		Long: `Graph draws the services grouped by the clusters they run in, the callers the
policies name, an edge for every connection all four security layers let
through (with its ports, and the requests layer 3 admits when it admits only
some), and on it the share of the caller's requests routing sends to that
cluster. An edge some layer cannot judge is dashed.

PATHs are read as by intentc explain: intent alone is compiled and its output
judged; manifests are judged as they are, with the inventory from the intent
documents among the PATHs.

  intentc graph examples/cross-cloud | dot -Tsvg > graph.svg

` + exitCodesHelp,
		Example: `  intentc graph examples/cross-cloud > graph.dot
  intentc graph --format mermaid examples/cross-cloud out/`,
		RunE: func(c *cobra.Command, args []string) error {
			if f.format != "dot" && f.format != "mermaid" {
				fmt.Fprintf(c.ErrOrStderr(), "intentc: --format must be dot or mermaid, not %q\n", f.format)
				return exitError{exitUsage}
			}
			in, err := loadForVerify(c, args, f.portInventory, "text")
			if err != nil {
				return err
			}
			g := in.analyzer.Graph()
			if f.format == "mermaid" {
				err = g.WriteMermaid(c.OutOrStdout())
			} else {
				err = g.WriteDOT(c.OutOrStdout())
			}
			if err != nil {
				fmt.Fprintf(c.ErrOrStderr(), "intentc: %v\n", err)
				return exitError{exitUsage}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&f.format, "format", "dot", "output format: dot or mermaid")
	cmd.Flags().StringVar(&f.portInventory, "port-inventory", "", "JSON or YAML union of security groups per node port (intentc openstack plan)")
	_ = cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions([]string{"dot", "mermaid"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}
