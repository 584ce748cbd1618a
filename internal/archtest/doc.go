// Package archtest holds the test that keeps intentc's import graph pointing
// down the pipeline (DESIGN §5): files → compiler/intent → compiler/resolve →
// compiler/ir → backends (compiler/istio, compiler/kube, …) →
// compiler/manifest, with the compiler driver and the CLI on top. Backends
// never import each other, and verify/ never imports a backend, so it can
// disagree with them.
//
// Input: the module's packages as `go list -json ./...` reports them. Output:
// test failures only. The table in archtest_test.go is the single source of
// truth: every package of the module must appear in it, so a new package
// cannot slip in without someone deciding what it may import.
//
// Diagnostic codes: none (a development-time test, not part of intentc).
package archtest
