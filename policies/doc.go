// Package policies holds intentc's built-in Rego rules, embedded in the
// binary, and reads their METADATA.
//
// Layout: object/<rule>.rego are judged once per generated or hand-written
// object (input = the object); bundle/<rule>.rego once per cluster (input =
// {"cluster": name, "objects": [{"path", "cluster", "object"}]}); lib/ holds
// shared helpers. Each rule file is one package, intentc.<scope>.<rule>,
// whose deny set holds findings {"msg", "path"?, "object"?, "sources"?}: path
// is the field the finding is about (a list of keys and indexes into the
// object), object the index of the bundle object it is about, sources the
// intent objects ("Kind/namespace/name") to blame when no object is (say, a
// missing one). Each rule has a _test.rego beside it with cases that fire
// (test_fires_*) and cases that do not (test_quiet_*).
//
// Each rule's package METADATA carries, under custom: code (IC4xxx),
// severity, handwritten_severity (when it differs on hand-written
// manifests), layer, scope (object or bundle), kinds (the kinds it judges,
// "neutron" and "heat" for security-group documents: the runner gives it
// nothing else) and blame (the intent kinds, and fields, a finding on
// generated output is reported at, in order of preference).
//
// The rules read the mesh's settings from data.intentc.mesh (see
// docs/policies.md); without it they apply the defaults of the design.
//
// Input: none (the files are embedded). Output: the parsed modules and each
// rule's metadata (code, title, severities, layer, scope, blame), and
// docs/policies.md, generated from that metadata.
//
// Diagnostic codes: the rules' own, IC4001–IC4099 (listed in
// compiler/diag/codes.go and checked against the METADATA by this package's
// tests).
package policies
