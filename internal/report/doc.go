// Package report prints findings in the formats CI systems and people read:
// text for a terminal, a stable JSON document, SARIF 2.1.0 for code
// scanning, and GitHub Actions workflow commands for inline annotations.
//
// Input: a sorted diag.List (positions relative to the working directory)
// and Options. Output: bytes on an io.Writer, a pure function of the input
// (no clock, no absolute path, no map order). SARIF rules take their title,
// help text and example from the code table (diag.Table).
//
// Diagnostic codes: none of its own; it prints every code.
package report
