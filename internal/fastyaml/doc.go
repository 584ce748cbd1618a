// Package fastyaml reads the YAML that intentc writes, and most intent and
// manifests written by hand, into yaml.v3's node trees several times faster
// than yaml.v3 does, and refuses the rest so that the caller reads it with
// yaml.v3.
//
// Input: a file's bytes. Output: the root mapping of each document, as
// yaml.v3 would build it (kind, tag, style, value, line and column of
// every node; no comments), and the number of empty documents; or
// ErrFallback. The tests hold it to yaml.v3 on every golden output, every
// intent file of the repository and a generated fleet, and FuzzParse on
// any input it accepts.
//
// Who uses it: compiler/intent for the intent files (yaml.v3 was a fifth
// of a large compile), lint for hand-written manifests, verify for the
// manifests the proof reads back.
//
// Diagnostic codes: none; a refusal is not an error, and yaml.v3 reports
// what is wrong with a file.
package fastyaml
