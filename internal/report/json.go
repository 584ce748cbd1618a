package report

import (
	"encoding/json"
	"io"

	"github.com/intentc/intentc/compiler/diag"
)

// JSONVersion is the version of the JSON document. It changes only when a
// field is removed or changes meaning; adding a field keeps it.
const JSONVersion = 1

// JSONReport is the --format json document (documented in docs/ci.md):
//
//	{"version": 1,
//	 "diagnostics": [{"code", "severity", "pos": {"file", "line", "col"}, "message",
//	                  "related": [{"pos", "message"}]}],
//	 "summary": {"errors", "warnings", "infos"}}
//
// diagnostics is sorted by file, line, column, code and message, and is []
// (never null) when there are none; pos.file is relative to the working
// directory (absent for a finding about the intent as a whole); line and
// col are 1-based (absent: the whole file); col counts characters.
type JSONReport struct {
	Version     int       `json:"version"`
	Diagnostics diag.List `json:"diagnostics"`
	Summary     Summary   `json:"summary"`
}

func writeJSON(w io.Writer, diags diag.List) error {
	if diags == nil {
		diags = diag.List{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(JSONReport{Version: JSONVersion, Diagnostics: diags, Summary: Summarize(diags)})
}
