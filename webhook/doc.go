// Package webhook is intentc's validating admission webhook (`intentc
// serve`): it guards, on every write to a cluster, the intent that intentc
// compiles for that cluster.
//
// Input: an intent directory (a mounted ConfigMap or a git-sync volume, with
// an optional .intentc-next-digest file declaring the next intent's digest)
// and the name of the cluster the webhook runs in, compiled with
// compiler.Compile and recompiled when the files change (the last good
// compile is kept when a new one fails); then AdmissionReview requests
// (admission.k8s.io/v1) for CREATE, UPDATE and DELETE.
//
// Output: one AdmissionResponse per request — allowed, or denied with the
// rule that fired, why, and how to fix it — plus warnings, Prometheus
// metrics and JSON logs. Decisions are a pure function of the compiled
// intent, the rule actions and the request (see Admit); the server around
// them (Server) adds TLS with certificate reload, health endpoints, limits,
// timeouts, panic recovery and graceful drain.
//
// What is judged:
//   - drift: an object the intent generates for the cluster (or one that
//     carries intentc's managed-by label) must equal, after normalisation,
//     what the intent compiles to; deleting one is denied. Objects carrying
//     the declared next intent's digest are admitted (the GitOps window).
//   - contradictions: unmanaged objects that change what the intent says
//     about a managed host, workload or namespace.
//   - intent CRs (intentc.dev/v1alpha1), compiled together with the loaded
//     intent.
//   - the per-object OPA rules (built-in and --policy), through Checker.
//
// Every rule has an action, deny, warn or dryrun (as Gatekeeper's
// enforcement actions): deny refuses the request, warn admits it with an
// AdmissionResponse warning, dryrun admits it and only logs and counts.
//
// Diagnostic codes: IC4301–IC4399 (admission decisions) and IC4401–IC4499
// (loading the intent for a cluster). Findings of the per-object policies
// keep their IC40xx–IC42xx codes; a failed intent CR reports the compiler's codes.
package webhook
