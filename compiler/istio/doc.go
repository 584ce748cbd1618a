// Package istio emits the Istio routing objects of the multi-primary model:
// a DestinationRule per service in every cluster where it is placed or
// called (subsets keyed on topology.istio.io/cluster), a VirtualService where
// it is called, and, in each cluster that receives cross-network traffic, the
// cross-network-gateway Gateway plus a kustomize patch for the east-west
// gateway Service. It never writes a policy object into a never-managed
// namespace; the gateway plumbing there is routing, not policy.
//
// Input: an *ir.Model without errors. Output: []ir.Object with typed
// istio.io/client-go (and core/v1 for the patch) bodies.
//
// Diagnostic codes: IC3100–IC3199 (none are raised yet: every check the
// routing backend depends on is made in compiler/resolve).
package istio
