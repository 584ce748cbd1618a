// Package testflags registers the flags every test binary of the module
// accepts, so that `go test ./... -update` works in every package: the go
// command passes the flag to all test binaries, and one that does not define
// it fails with "flag provided but not defined".
//
// Input: the test binary's command line. Output: Update. Diagnostic codes:
// none.
package testflags

import "flag"

// Update asks golden-file tests to rewrite their golden files.
var Update = flag.Bool("update", false, "rewrite golden files (review the diff before committing)")
