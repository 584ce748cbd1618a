// Package kube emits the core Kubernetes objects: the routing plumbing and
// layer 2 of the security model (NetworkPolicy).
//
// Routing: a selector-less Service in each cluster where a service is called
// but not placed (so its name resolves there, with the intent's port names
// and appProtocol so Istio sees the right protocol), and a Namespace (with
// the sidecar injection label) for each managed namespace intentc writes
// into, unless the Mesh says namespaces are owned elsewhere.
//
// Layer 2 (docs/security.md), networking.k8s.io/v1 NetworkPolicies, only
// ever in managed namespaces:
//   - with defaultDeny, in every managed namespace: intentc-default-deny
//     (explicit policyTypes Ingress and Egress), intentc-baseline-dns
//     (kube-dns, or openshift-dns on 5353 on OpenShift, plus NodeLocal DNS
//     when declared), intentc-baseline-istiod (15012), and the declared
//     scrapers, telemetry and API server baselines;
//   - per allow AccessPolicy and cluster its destination is placed in, an
//     ingress policy on the destination's pods and target ports, from what
//     layer 2 there sees of each source: the caller's pods (namespace and
//     pod selector in one peer element), a flat-network cluster's pod
//     ranges, the east-west gateway pods across networks, a direct CIDR, the
//     ingress gateway pods, or OpenShift's router. Deny AccessPolicies
//     without HTTP conditions are subtracted where layer 2 sees the
//     difference (ipBlock except, NotIn); callers it sees only as a range or
//     as a gateway are left to layer 3;
//   - with defaultDeny, per allow AccessPolicy, an egress policy in each
//     caller namespace managed in the caller's cluster: to the destination's
//     pods, its flat-network clusters' pod ranges, the remote east-west
//     gateway, or an ExternalService's CIDRs.
//
// Input: an *ir.Model without errors. Output: []ir.Object with typed
// k8s.io/api bodies.
//
// Diagnostic codes: IC3200–IC3299. IC3201 (a deny layer 2 could see but no
// NetworkPolicy can express), IC3202 (egress opened to any address because
// the destination is a host name).
package kube
