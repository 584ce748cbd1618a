// Package istio emits the Istio objects of the multi-primary model.
//
// Routing (Emit): a DestinationRule per service in every cluster where it is
// placed or called (subsets keyed on topology.istio.io/cluster), a
// VirtualService where it is called, and, in each cluster that receives
// cross-network traffic, the cross-network-gateway Gateway plus a kustomize
// patch for the east-west gateway Service.
//
// Security (EmitSecurity), layers 4 and 3 of docs/security.md:
//   - PeerAuthentication "default" in every managed namespace of every
//     cluster (STRICT, or PERMISSIVE when the Mesh says so), and
//     "<service>-permissive" with the service's selector and portLevelMtls
//     on the target ports a service declares mtls: permissive;
//   - with defaultDeny, AuthorizationPolicy "allow-nothing" (spec: {}) and
//     the scrapers' baseline "intentc-baseline-scrapers" per managed
//     namespace;
//   - one ALLOW or DENY per AccessPolicy in each cluster where its
//     destination service is placed, selecting the service's pods: one from
//     entry per source that can reach that cluster (principals per trust
//     domain, ipBlocks for via: direct ranges on the cluster's network),
//     target ports as strings, methods and paths; never a rule with an empty
//     from, which would match anyone;
//   - "intentc-ingress-source-ranges", a DENY on the ingress gateway (in
//     Mesh.spec.ingressGateway.namespace) in each cluster whose gateway
//     receives via: ingressGateway sources narrower than the internet,
//     keeping them to their ranges per host;
//   - a MESH_EXTERNAL ServiceEntry for each ExternalService an allow policy
//     names, in its namespace, in each cluster where a caller runs, exported
//     to the callers' namespaces.
//
// No policy object is written into a never-managed namespace; the gateway
// plumbing there is routing, not policy, and the ingress gateway's namespace
// is one the resolver has checked may be written.
//
// Input: an *ir.Model without errors. Output: []ir.Object with typed
// istio.io/client-go (and core/v1 for the patch) bodies, and a diag.List.
//
// Diagnostic codes: IC3100–IC3199 are this package's (none are raised yet).
// EmitSecurity also reports, pending checks in compiler/resolve: IC2014 for
// an ExternalService a policy uses that sits in a never-managed namespace,
// and IC2039 for ingress gateway restrictions the gateway cannot enforce (a
// wildcard host; two policies admitting different ranges on one host).
package istio
