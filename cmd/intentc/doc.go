// Command intentc compiles multi-cluster traffic intent into Istio,
// Kubernetes and OpenStack manifests.
//
// Input: intent files and directories (or those named by .intentc.yaml).
// Output: the manifest tree (compile), findings (text on stderr; lint's json,
// sarif and github formats on stdout), and an exit code:
// 0 ok, 1 findings or stale output, 2 usage or I/O error.
//
// Diagnostic codes: prints those of the compiler; raises none of its own.
package main
