package webhook

import (
	"context"
	"encoding/json"

	"github.com/intentc/intentc/compiler"
	"github.com/intentc/intentc/compiler/diag"
	"github.com/intentc/intentc/lint"
)

// objectName is the file name policy findings on an admitted object carry;
// the webhook drops such positions (the object is no file of the user's).
const objectName = "admission-request.json"

// LintChecker runs the lint engine's per-object rules (built-in and
// --policy; no bundle rules, which need more than one object) on admitted
// objects, judged against the compiled intent's mesh.
type LintChecker struct {
	Engine *lint.Engine
}

// NewLintChecker returns a checker over e.
func NewLintChecker(e *lint.Engine) *LintChecker { return &LintChecker{Engine: e} }

// CheckObject implements Checker.
func (c *LintChecker) CheckObject(ctx context.Context, object []byte, res *compiler.Result) diag.List {
	data := stripBookkeeping(object)
	out := c.Engine.CheckObject(ctx, res, objectName, data)
	for i := range out {
		if out[i].Pos.File == objectName {
			out[i].Pos = diag.Pos{}
		}
	}
	return out
}

// stripBookkeeping drops metadata.managedFields, which no rule judges and
// which can outweigh the object itself; the object is passed unchanged
// when it has none.
func stripBookkeeping(object []byte) []byte {
	var m map[string]json.RawMessage
	if json.Unmarshal(object, &m) != nil {
		return object
	}
	var md map[string]json.RawMessage
	if json.Unmarshal(m["metadata"], &md) != nil {
		return object
	}
	if _, ok := md["managedFields"]; !ok {
		return object
	}
	delete(md, "managedFields")
	b, err := json.Marshal(md)
	if err != nil {
		return object
	}
	m["metadata"] = b
	out, err := json.Marshal(m)
	if err != nil {
		return object
	}
	return out
}
