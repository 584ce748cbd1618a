package report

import (
	"bufio"
	"fmt"
	"io"

	"github.com/intentc/intentc/compiler/diag"
)

// ANSI SGR sequences. Bold positions and coloured severities are what
// compilers (gcc, clang, rustc) print, so the eye finds the same things.
const (
	bold    = "\x1b[1m"
	dim     = "\x1b[2m"
	red     = "\x1b[1;31m"
	yellow  = "\x1b[1;33m"
	cyan    = "\x1b[1;36m"
	resetSG = "\x1b[0m"
)

// writeText prints file:line:col: severity: message [code], related
// positions indented below, and a summary line.
func writeText(w io.Writer, diags diag.List, opts Options) error {
	bw := bufio.NewWriter(w)
	paint := func(style, s string) string {
		if !opts.Color {
			return s
		}
		return style + s + resetSG
	}
	for _, d := range diags {
		sev := d.Severity.String()
		switch d.Severity {
		case diag.Error:
			sev = paint(red, sev)
		case diag.Warning:
			sev = paint(yellow, sev)
		default:
			sev = paint(cyan, sev)
		}
		fmt.Fprintf(bw, "%s: %s: %s %s\n", paint(bold, d.Pos.String()), sev, d.Message, paint(dim, "["+string(d.Code)+"]"))
		for _, r := range d.Related {
			fmt.Fprintf(bw, "\t%s: %s\n", paint(bold, r.Pos.String()), r.Message)
		}
	}
	if len(diags) > 0 {
		fmt.Fprintf(bw, "%d error(s), %d warning(s)\n", diags.Count(diag.Error), diags.Count(diag.Warning))
	}
	return bw.Flush()
}
