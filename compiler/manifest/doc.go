// Package manifest turns the backends' objects into the output tree: it adds
// the labels and annotations every generated object carries, puts objects in
// canonical order and paths, serialises them byte for byte deterministically,
// writes one kustomization.yaml per cluster, and writes or checks an output
// directory atomically.
//
// Input: []ir.Object from compiler/istio and compiler/kube, plus the intent
// digest. Output: []File (slash-separated paths relative to the output root;
// each object's YAML and the same object as JSON, or with RenderJSON the JSON
// alone) and, through Write, a directory on disk.
//
// Diagnostic codes: IC3001–IC3099 (emission and output).
package manifest
