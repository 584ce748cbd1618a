// Command fleetgen writes a generated intent fleet (package bench/fleet)
// into a directory, for hack/bench.sh and for trying intentc at scale:
//
//	go run ./bench/fleetgen -n 10000 -c 3 -o /tmp/fleet [-mesh mesh.json]
//
// With -mesh it also compiles the fleet and writes the mesh data the
// built-in rules read (lint.MeshData, as data.intentc.mesh), for running
// the same rules with conftest (-d mesh.json).
//
// Input: flags. Output: the fleet's files in -o (and the mesh file), and
// on stdout how many files, services and policies it wrote. Diagnostic
// codes: none (a fleet that does not compile is an error, exit 1).
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"

	"github.com/intentc/intentc/bench/fleet"
	"github.com/intentc/intentc/compiler"
	"github.com/intentc/intentc/lint"
)

func main() {
	var o fleet.Options
	n := flag.Int("n", 1000, "services")
	c := flag.Int("c", 3, "clusters")
	k := flag.Int("k", 2, "access policies per service")
	seed := flag.Uint64("seed", 1, "random seed")
	out := flag.String("o", "", "output directory (required)")
	mesh := flag.String("mesh", "", "also write the fleet's mesh data (data.intentc.mesh) to this JSON file")
	flag.Parse()
	if *out == "" || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: fleetgen -o DIR [-n services] [-c clusters] [-k policies] [-seed n]")
		os.Exit(2)
	}
	o.Services, o.Clusters, o.Policies, o.Seed = *n, *c, *k, *seed
	paths, err := fleet.Write(*out, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fleetgen:", err)
		os.Exit(2)
	}
	policies := 0
	for _, f := range fleet.Generate(o) {
		policies += bytes.Count(f.Data, []byte("\nkind: AccessPolicy\n"))
	}
	fmt.Printf("%d files, %d services, %d clusters, %d access policies in %s\n", len(paths), o.Services, o.Clusters, policies, *out)
	if *mesh != "" {
		res, diags := compiler.Compile(compiler.Options{Paths: []string{*out}})
		if diags.HasErrors() {
			fmt.Fprintf(os.Stderr, "fleetgen: the fleet does not compile:\n%s\n", diags.Error())
			os.Exit(1)
		}
		data, err := json.Marshal(map[string]any{"intentc": map[string]any{"mesh": lint.MeshData(res.Model)}})
		if err == nil {
			err = os.WriteFile(*mesh, data, 0o644)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "fleetgen:", err)
			os.Exit(2)
		}
	}
}
