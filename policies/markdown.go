package policies

import (
	"fmt"
	"strings"
)

// Markdown renders docs/policies.md from the rules' METADATA.
func Markdown(rules []Rule) string {
	var b strings.Builder
	b.WriteString("# Policies\n\n")
	b.WriteString("<!-- Generated from the METADATA of policies/*/*.rego by `go test ./policies -update`. Do not edit. -->\n\n")
	b.WriteString(intro)
	b.WriteString("\n| code | rule | scope | kinds | layer | generated | hand-written | title |\n|---|---|---|---|---|---|---|---|\n")
	for _, r := range rules {
		fmt.Fprintf(&b, "| [%s](#%s) | `%s` | %s | %s | %s | %s | %s | %s |\n", r.Code, strings.ToLower(string(r.Code)), r.Name, r.Scope, strings.Join(r.Kinds, ", "), r.Layer, r.Severity, r.Handwritten, r.Title)
	}
	for _, r := range rules {
		fmt.Fprintf(&b, "\n## %s\n\n**%s** — `%s` (%s scope, layer %s; %s", r.Code, r.Title, r.File, r.Scope, r.Layer, r.Severity)
		if r.Handwritten != r.Severity {
			fmt.Fprintf(&b, ", %s on hand-written manifests", r.Handwritten)
		}
		b.WriteString(").\n\n")
		b.WriteString(strings.Join(strings.Fields(r.Description), " "))
		b.WriteString("\n")
		if len(r.Blame) > 0 {
			var parts []string
			for _, bl := range r.Blame {
				if bl.Field != "" {
					parts = append(parts, fmt.Sprintf("`%s` (`%s`)", bl.Kind, bl.Field))
				} else {
					parts = append(parts, fmt.Sprintf("`%s`", bl.Kind))
				}
			}
			fmt.Fprintf(&b, "\nReported at: %s.\n", strings.Join(parts, ", then "))
		}
	}
	b.WriteString(userPolicies)
	return b.String()
}

const intro = "Every object intentc generates, and every hand-written manifest `intentc lint` reads, is checked by the\n" +
	"built-in Rego rules below (DESIGN §4). **Object** rules see one object (`input` is the manifest, the\n" +
	"Neutron JSON document or the Heat template); **bundle** rules see one cluster at a time (`input` is\n" +
	"`{\"cluster\": name, \"objects\": [{\"path\", \"cluster\", \"object\"}]}`, and `by_kind`, each kind's\n" +
	"`[index, object]` pairs in that order, and `by_namespace`, the same per kind and namespace, which the rules would\n" +
	"otherwise group themselves). A finding on a generated object is\n" +
	"reported at the intent that produced it (the `intentc.dev/source` annotation, or the provenance in a\n" +
	"security-group rule's `description`), with the rule's severity; on a hand-written manifest, at the\n" +
	"field in that file, with the hand-written severity. An object labelled\n" +
	"`app.kubernetes.io/managed-by: intentc` (or a security group tagged `managed-by:intentc`, or a file\n" +
	"listed in an output directory's `.intentc-generated`) is judged as generated output wherever it is\n" +
	"read from. An error-severity finding fails the compile. A rule sees only the kinds its METADATA lists\n" +
	"(`neutron` is a Neutron security-group JSON document, `heat` a Heat template).\n\n" +
	"The rules read the mesh from `data.intentc.mesh`; `intentc compile` and `intentc lint` fill it from the\n" +
	"intent, and `--data FILE` can supply it for manifests linted without one:\n\n" +
	"| field | meaning | default |\n|---|---|---|\n" +
	"| `mtls` | `strict` or `permissive` | `strict` |\n" +
	"| `defaultDeny` | every managed namespace must have default deny at layers 2 and 3 | `false` |\n" +
	"| `rootNamespace` | the mesh root namespace | `istio-system` |\n" +
	"| `neverManaged` | namespaces where no policy object may be (`prefix-*` allowed) | the design's list |\n" +
	"| `managedNamespaces` | `{cluster: {namespace: [intent refs]}}` (or a list of namespaces for every cluster) | none |\n" +
	"| `tcpPorts` | `{namespace: [{service, selector, ports}]}`: target ports without L7 (tcp, tls) | none |\n" +
	"| `permissivePorts` | `{namespace: [{service, selector, ports}]}`: target ports declared `mtls: permissive` | none |\n" +
	"| `source` | the Mesh document (`Mesh/<name>`), to blame for mesh-wide findings | none |\n"

const userPolicies = `
## Your own policies

` + "`--policy DIR`" + ` (repeatable, and the project file's ` + "`policies:`" + `) adds rule directories written as
conftest users write them: ` + "`deny`" + `, ` + "`violation`" + ` and ` + "`warn`" + ` rules, with or without a
` + "`_name`" + ` suffix, returning strings or objects with ` + "`msg`" + `; ` + "`exception[rules]`" + ` with the rule names
without the prefix (the empty string matches the unsuffixed rules); ` + "`package main`" + ` by default, or
` + "`--namespace NS`" + ` (repeatable) and ` + "`--all-namespaces`" + `; Rego v1, or v0 (each file is tried as v1 and
read as v0 when that fails; ` + "`--rego-version v0|v1`" + ` forces one); ` + "`--data FILE`" + ` (JSON or YAML) is
loaded under ` + "`data`" + `. ` + "`deny`/`violation`" + ` findings are IC4201 errors, ` + "`warn`" + ` findings IC4202
warnings; a syntax or type error in a policy is IC4101 at its file:line:col.

A rule runs once per object (` + "`input`" + ` is the manifest), or, with ` + "`--combine`" + `, once over everything
checked together, with conftest's ` + "`--combine`" + ` input: ` + "`[{\"path\": file, \"contents\": document}]`" + `, one
entry per document, sorted by path (on ` + "`intentc compile`" + ` output: every generated object of every
cluster and project). The METADATA of a rule or its package can choose for one rule with
` + "`custom: {scope: object}`" + ` or ` + "`custom: {scope: bundle}`" + `. The mesh is in ` + "`data.intentc.mesh`" + `
for them too.
`
