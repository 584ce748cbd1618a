package policies

import "embed"

// FS holds every policy file, tests included (the tests run from it too, so
// what is tested is byte for byte what ships).
//
//go:embed lib/*.rego object/*.rego bundle/*.rego
var FS embed.FS
