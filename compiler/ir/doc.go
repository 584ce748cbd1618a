// Package ir is the resolved model of an intent: what compiler/resolve
// produces and every backend (compiler/istio, compiler/kube, later
// compiler/openstack) reads. References are pointers, defaults are applied,
// weights are normalised to integer percentages, and every node keeps the
// source position of the intent that produced it.
//
// Input: built by compiler/resolve. Output: read by the backends; Object is
// the envelope the backends emit and compiler/manifest serialises.
//
// Diagnostic codes: none (ir is data only).
package ir
