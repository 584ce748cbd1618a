package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/intentc/intentc/compiler/diag"
	"github.com/intentc/intentc/compiler/intent"
)

// crRel is the name the admitted intent object gets in the compile.
const crRel = "admission-request.yaml"

// intentCR judges an intent custom resource being created or updated: it
// must compile together with the loaded intent. The intent directory wins
// over custom resources: an object the directory defines may be applied
// as a CR only unchanged (a GitOps mirror of the directory), since the
// webhook enforces the directory and would otherwise silently ignore the
// CR's version.
func (j *Judge) intentCR(ctx context.Context, in *Intent, req *Request) []Finding {
	data, err := crYAML(req.Object)
	if err != nil {
		return []Finding{j.finding(RuleIntentCR, "%s cannot be read: %v", req.key(), err)}
	}
	docs, _, ds := intent.ParseFile(crRel, data)
	if ds.HasErrors() || len(docs) != 1 {
		return []Finding{j.finding(RuleIntentCR, "%s does not decode: %s", req.key(), crDiags(ds))}
	}
	doc := docs[0]
	if own := in.docs[doc.Ref()]; own != nil {
		if sameSpec(own.Object, doc.Object) {
			return nil
		}
		return []Finding{j.finding(RuleIntentCR, "%s is defined by the intent directory at %s, which wins over custom resources, and differs from it",
			doc.Ref(), own.Pos)}
	}
	select {
	case j.compileSlots <- struct{}{}:
		defer func() { <-j.compileSlots }()
	case <-ctx.Done():
		return []Finding{j.finding(RuleIntentCR, "%s: no time left to compile it with the intent: %v", doc.Ref(), ctx.Err())}
	}
	_, diags, err := compileStaged(in.Dir, in.files, []srcFile{{Rel: crRel, Data: data}})
	if err != nil {
		return []Finding{j.finding(RuleIntentCR, "%s: cannot stage the compile: %v", doc.Ref(), err)}
	}
	if !diags.HasErrors() {
		return nil
	}
	return []Finding{j.finding(RuleIntentCR, "%s does not compile with the intent (digest %s): %s", doc.Ref(), in.Digest, crDiags(diags))}
}

// crYAML reduces a custom resource to an intent document: the API
// server's bookkeeping (status, uid, managedFields, timestamps, kubectl's
// last-applied copy) is not part of the intent language.
func crYAML(obj map[string]any) ([]byte, error) {
	md := asMap(obj["metadata"])
	meta := map[string]any{"name": md["name"]}
	if ns, ok := md["namespace"]; ok {
		meta["namespace"] = ns
	}
	if l := labelsAt(md, "labels"); len(l) > 0 {
		meta["labels"] = l
	}
	ann := labelsAt(md, "annotations")
	delete(ann, "kubectl.kubernetes.io/last-applied-configuration")
	if len(ann) > 0 {
		meta["annotations"] = ann
	}
	doc := map[string]any{"apiVersion": obj["apiVersion"], "kind": obj["kind"], "metadata": meta}
	if spec, ok := obj["spec"]; ok {
		doc["spec"] = spec
	}
	return yaml.Marshal(doc)
}

// sameSpec compares two decoded intent objects, ignoring metadata (labels
// a GitOps tool adds to the mirror are not intent).
func sameSpec(a, b any) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	if err1 != nil || err2 != nil {
		return false
	}
	var ma, mb map[string]any
	if json.Unmarshal(ja, &ma) != nil || json.Unmarshal(jb, &mb) != nil {
		return false
	}
	ja, _ = json.Marshal(ma["spec"])
	jb, _ = json.Marshal(mb["spec"])
	return bytes.Equal(ja, jb)
}

// crDiags lists the first error findings; positions in the admitted object
// are replaced by "the object" (its YAML is a re-serialisation, so its line
// numbers mean nothing to the user).
func crDiags(ds diag.List) string {
	var parts []string
	n := 0
	for _, d := range ds {
		if d.Severity != diag.Error {
			continue
		}
		n++
		if len(parts) == 3 {
			continue
		}
		where := d.Pos.String()
		if d.Pos.File == crRel {
			where = "the object"
		}
		parts = append(parts, fmt.Sprintf("%s: %s [%s]", where, d.Message, d.Code))
	}
	if n > len(parts) {
		parts = append(parts, fmt.Sprintf("and %d more", n-len(parts)))
	}
	if len(parts) == 0 {
		return "no intent document"
	}
	return strings.Join(parts, "; ")
}
