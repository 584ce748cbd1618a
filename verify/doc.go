// Package verify reads manifests back — intentc's output or hand-written
// ones — and judges connections through the four security layers and
// routing, independently of the backends that wrote them: it is a second
// implementation of each platform's documented semantics, so that it can
// disagree with them.
//
//   - layer 1, OpenStack security groups (Neutron JSON): stateful,
//     allow-only, the union of the rules of every group on a port; judged
//     for intentc's group alone unless a port inventory gives every group
//     on the nodes' ports;
//   - layer 2, Kubernetes NetworkPolicy: a pod is isolated in a direction
//     only when a policy selects it, then the union of the rules of every
//     such policy admits; egress and ingress must both admit; traffic from
//     the pod's own node is always allowed;
//   - layer 3, Istio AuthorizationPolicy: CUSTOM, then DENY, then ALLOW; a
//     workload no ALLOW policy selects allows what no DENY stops; policies
//     in the mesh root namespace apply mesh-wide; istio.io/dry-run policies
//     do not enforce; HTTP-only fields void an ALLOW rule on TCP and are
//     dropped from a DENY rule;
//   - layer 4, PeerAuthentication (workload over namespace over mesh,
//     port-level over its policy, UNSET inheriting) and the client's
//     DestinationRule TLS (its own namespace's, then the service's, then
//     the root namespace's);
//   - routing: the VirtualService and DestinationRule subsets a caller's
//     cluster sees, down to the clusters requests land in, their shares,
//     and whether failover applies.
//
// Objects of engines it does not model (AdminNetworkPolicy, Calico,
// Cilium, EnvoyFilter) make the verdicts they could change unknown, never
// allowed.
//
// It imports the intent's resolved model (compiler/ir) for the inventory —
// clusters, networks, address ranges, gateways, services and their
// selectors and ports — and never a backend (internal/archtest enforces it).
//
// Input: an *ir.Model and []manifest.File (YAML or JSON bytes with their
// paths; clusters/<name>/ in a path scopes a file to that cluster).
// Output: New returns an Analyzer (Explain, Graph); Prove returns the
// findings of the cross-layer proof of a compile's output against its
// intent.
//
// Diagnostic codes: IC5001–IC5099 (cross-layer proof and manifests read
// back).
package verify
