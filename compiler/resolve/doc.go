// Package resolve turns decoded intent documents into the resolved model:
// it checks names and references across documents, applies defaults,
// normalises placement weights to integer percentages (largest remainder,
// ties broken by cluster name) and derives the call graph (which clusters
// call each service).
//
// Input: an *intent.Set (compiler/intent). Output: an *ir.Model plus a
// sorted diagnostic list. A node with an error is dropped and the rest goes
// on, so one run reports every problem.
//
// Diagnostic codes: IC2001–IC2099 (semantic).
package resolve
