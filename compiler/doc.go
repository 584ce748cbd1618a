// Package compiler runs the pipeline end to end: load and parse the intent
// (compiler/intent), resolve it (compiler/resolve), emit every backend's
// objects (compiler/istio, compiler/kube) and render them (compiler/manifest).
// Each stage reports what it finds and passes the rest on, so one run
// reports parse and semantic errors together; emission runs only on an
// error-free model.
//
// Input: intent files and directories. Output: the rendered files and the
// sorted diagnostics of every stage.
//
// Diagnostic codes: none of its own; it returns those of the stages
// (IC1xxx–IC3xxx).
package compiler
