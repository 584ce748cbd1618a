// Package diag is the diagnostic vocabulary shared by every stage of the
// compiler.
//
// Input: positions (file, line, column) and codes reported by the stages.
// Output: a sorted, de-duplicated List that the CLI prints as
// "file:line:col: severity: message [CODE]".
//
// Diagnostic codes: diag owns the single table of every code (codes.go); the
// ranges are IC1xxx parse, IC2xxx semantic, IC3xxx emit, IC4xxx policy and
// IC5xxx cross-layer. docs/diagnostics.md is generated from that table.
// Codes are never renumbered or reused.
package diag
