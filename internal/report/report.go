package report

import (
	"fmt"
	"io"
	"slices"

	"github.com/intentc/intentc/compiler/diag"
)

// Format is an output format of --format.
type Format string

// The formats.
const (
	Text   Format = "text"
	JSON   Format = "json"
	SARIF  Format = "sarif"
	GitHub Format = "github"
)

// Formats lists every format, for flag help and completion.
var Formats = []Format{Text, JSON, SARIF, GitHub}

// ParseFormat checks a --format value.
func ParseFormat(s string) (Format, error) {
	if slices.Contains(Formats, Format(s)) {
		return Format(s), nil
	}
	return "", fmt.Errorf("--format must be text, json, sarif or github, not %q", s)
}

// Options tune the output.
type Options struct {
	// Color adds ANSI colours to the text format (the caller decides:
	// only on a terminal, and never with NO_COLOR).
	Color bool
	// ToolVersion is intentc's version, named in SARIF's tool.driver.
	ToolVersion string
	// Fallback is the file a SARIF result without a file is reported at:
	// GitHub code scanning rejects a whole upload when one result has no
	// artifact location, so a finding about the intent as a whole (no
	// position) is anchored at the project file or the first input.
	Fallback string
}

// Write prints diags in format f. The text format ends with a summary line
// when there are findings; the others print one document (JSON, SARIF) or
// one command per finding (GitHub).
func Write(w io.Writer, f Format, diags diag.List, opts Options) error {
	switch f {
	case Text, "":
		return writeText(w, diags, opts)
	case JSON:
		return writeJSON(w, diags)
	case SARIF:
		return writeSARIF(w, diags, opts)
	case GitHub:
		return writeGitHub(w, diags)
	}
	return fmt.Errorf("unknown format %q", f)
}

// Summary counts the findings by severity.
type Summary struct {
	Errors   int `json:"errors"`
	Warnings int `json:"warnings"`
	Infos    int `json:"infos"`
}

// Summarize counts diags.
func Summarize(diags diag.List) Summary {
	return Summary{Errors: diags.Count(diag.Error), Warnings: diags.Count(diag.Warning), Infos: diags.Count(diag.Info)}
}
