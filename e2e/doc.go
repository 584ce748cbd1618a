// Package e2e checks that what intentc generates is accepted by the real
// authorities on it, not by our own reading of their rules.
//
// Input: every example (examples/*/) and every golden compile case
// (testdata/compile/*/in/) whose compile has no errors, compiled with
// compiler.Compile; the intent documents (apiVersion intentc.dev/v1alpha1) of
// those inputs; and the hand-written fixtures under testdata/ (a sample
// output tree that must pass, and negative controls that must be rejected).
//
// Output: test results only. Each generated object is server-side applied
// (dry run, strict field validation, forced ownership) to a real
// kube-apiserver started with envtest, holding the Istio CRDs from the
// istio.io/api module and the intent CRDs from deploy/crds; each cluster's
// output folder is run through `istioctl analyze --use-kube=false -A`. A
// rejection names the API server's or istioctl's message, the file and the
// intent object behind it (annotation intentc.dev/source).
//
// The package produces no diagnostics and has no diagnostic codes: its
// findings are test failures, and the messages in them come from
// kube-apiserver and istioctl.
//
// The tests skip when INTENTC_E2E is unset, so a plain `go test ./...` stays
// fast. With INTENTC_E2E=1 they need the environment printed by
// hack/e2e-env.sh (KUBEBUILDER_ASSETS, INTENTC_ISTIOCTL) and fail, not skip,
// when it is missing. `make e2e` does both.
package e2e
