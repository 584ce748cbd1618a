package diag

import (
	"fmt"
	"strings"
)

// Markdown renders the code table as docs/diagnostics.md.
func Markdown() string {
	var b strings.Builder
	b.WriteString("# Diagnostics\n\n")
	b.WriteString("<!-- Generated from compiler/diag/codes.go by `go test ./compiler/diag -update`. Do not edit. -->\n\n")
	b.WriteString("Every finding intentc reports has a stable code. Ranges: IC1xxx parse, IC2xxx semantic, IC3xxx emit, IC4xxx policy, IC5xxx cross-layer.\n")
	b.WriteString("Findings print as `file:line:col: severity: message [CODE]`. Codes are never renumbered or reused.\n\n")
	b.WriteString("| code | severity | title |\n|---|---|---|\n")
	for _, c := range Table {
		fmt.Fprintf(&b, "| [%s](#%s) | %s | %s |\n", c.Code, strings.ToLower(string(c.Code)), c.Severity, c.Title)
	}
	for _, c := range Table {
		fmt.Fprintf(&b, "\n## %s\n\n**%s** (%s). %s\n\n```yaml\n%s\n```\n", c.Code, c.Title, c.Severity, c.Doc, c.Example)
	}
	return b.String()
}
