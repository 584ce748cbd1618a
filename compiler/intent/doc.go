// Package intent reads intent files: it finds a project (.intentc.yaml) and
// its intent directories, reads every YAML file in them, and decodes each
// document of intentc's kinds (Mesh, MeshCluster, MeshService,
// ExternalService, AccessPolicy) into its typed object, with the position
// of every field and key so that any later stage can report at
// file:line:col.
//
// Input: paths (files or directories; a directory holding intentc's output
// marker is never read) or one file's bytes (ParseFile, for lint and the
// webhook). Output: a Set of Documents in a stable order, the other YAML
// documents (for lint), and a sorted diagnostic list; a document with an
// error is returned with what could be decoded, so that one run reports
// every problem. Hostile input is bounded (file size, documents, depth,
// aliases) and never panics.
//
// YAML is read with internal/fastyaml, which builds yaml.v3's nodes several
// times faster, and with yaml.v3 for what it refuses (and for the wording
// of syntax errors); the tests hold both to the same result.
//
// Diagnostic codes: IC1001–IC1099 (reading and decoding the intent).
package intent
