// Package crdgen generates the CustomResourceDefinitions of the intent kinds,
// so that the same objects intentc compiles from git can be applied to a
// cluster (DESIGN §5) and the admission webhook can check them there.
//
// Input: the Go types of compiler/intent (their structure by reflection,
// their doc comments by parsing compiler/intent/types.go). Output:
// deploy/crds/intentc.dev_<plural>.yaml, one apiextensions.k8s.io/v1 CRD per
// kind, byte-for-byte deterministic; `go test ./internal/crdgen -update`
// rewrites them and the tests fail while they are stale. The schemas prune
// nothing silently: no field preserves unknown fields, matching the language,
// where an unknown field is an error.
//
// The tests also hold docs/language.md to the same types, so the language
// reference cannot fall behind a new field.
//
// Diagnostic codes: none (crdgen runs at development time, not in intentc).
package crdgen
