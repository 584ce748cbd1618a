// Package lint checks objects with OPA: the built-in Rego rules of package
// policies and the user's own, written as for conftest.
//
// Input: a compiler.Result (CheckCompiled: its YAML objects under clusters/,
// kustomizations excepted, and its openstack/ JSON documents and Heat
// templates), or files and directories of hand-written manifests
// (CheckFiles, CheckManifests: YAML and JSON documents, intent documents
// skipped); lint.Compile is compiler.Compile followed by CheckCompiled.
// Scopes turns the paths of `intentc lint` into what to compile and check
// per intent root (the nearest .intentc.yaml), and Scope.Report keeps the
// findings in the files given.
//
// Output: a sorted diag.List. A finding on generated output is reported at
// the intent object that produced it (the intentc.dev/source annotation,
// or the provenance in a security-group rule's description, mapped to
// Result.Set's documents; the rule's METADATA blame list picks among
// several and names the field), falling back to the output file; a
// finding on a hand-written file at the field in that file (yaml.v3 node
// positions). Severity: the rule's, or its hand-written severity on objects
// intentc did not generate (not labelled app.kubernetes.io/managed-by:
// intentc, not tagged managed-by:intentc, not listed in an output
// directory's .intentc-generated).
//
// How it runs: New parses and compiles every policy and prepares each query
// once per process (rego.PrepareForEval): one per object kind that some
// built-in rule judges (dispatch by the rules' METADATA kinds), each also
// carrying the user per-object rules; one for the bundle rules; one for the
// user rules run over conftest's --combine input. All cores share them. A
// check converts each document to a Rego value once (ast.Value from the
// compiler's JSON, or from the YAML nodes; the same value is the object's
// input, an element of its cluster's bundle and of the combined input):
// copies of an object share one value, and small objects and lists that
// repeat (labels, selectors, ports) share their terms. Its keys are the
// compiled policies' own string terms (keyterms.go), so that OPA's key
// look-ups end at a pointer comparison. It evaluates with
// rego.EvalParsedInput on GOMAXPROCS workers, each with its own store
// transaction, with a flat cache of rule results (evalcache.go) and no
// metrics; the values of rules and function calls that read no input (a
// static analysis of the compiled policies) are kept from one evaluation
// to the next until the data changes (sharedcache.go), which is why the
// hot helpers return false rather than fail; an object written more than
// once is evaluated once (without user rules). Clusters are checked one after the other — a cluster's
// files converted, then its bundle evaluated alongside its objects, then
// its values let go (a value shared by copies in several clusters is held
// until the last copy is read) — so that one cluster's values are alive at
// a time; with user rules over the combined input, every file is
// converted first and everything evaluated at once. The store returns
// the data as Rego values (no conversion per read). Results are gathered
// by index and sorted, so the output does not depend on scheduling. The
// mesh the rules read (data.intentc.mesh) comes from the compiled intent
// (MeshData) or the data files; checks take turns on an Engine because
// they set it.
//
// What a check costs is mostly OPA's evaluation, about a microsecond per
// expression and more per rule or function call: the hot rules
// (policies/object, policies/lib) keep calls out of their inner loops, and
// the bundle rules index a cluster once (by kind, host and namespace) with
// OPA's comprehension indexing, so that a check stays linear in the size
// of the output.
//
// Diagnostic codes: IC4001–IC4099 (the built-in rules, listed in
// docs/policies.md), IC4101 invalid policy, IC4102 invalid policy data,
// IC4103 evaluation failure, IC4201 user deny/violation, IC4202 user warn;
// and IC1001 and IC1012 for hand-written files that cannot be read.
package lint
