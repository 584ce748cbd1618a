// Package kube emits the core Kubernetes objects routing needs: a
// selector-less Service in each cluster where a service is called but not
// placed (so its name resolves there, with the intent's port names and
// appProtocol so Istio sees the right protocol), and a Namespace (with the
// sidecar injection label) for each managed namespace intentc writes into,
// unless the Mesh says namespaces are owned elsewhere. NetworkPolicies come
// with the security layers.
//
// Input: an *ir.Model without errors. Output: []ir.Object with typed
// k8s.io/api bodies.
//
// Diagnostic codes: IC3200–IC3299 (none are raised yet).
package kube
