package webhook

import (
	"context"
	"fmt"
	"slices"
	"strings"

	admissionv1 "k8s.io/api/admission/v1"

	"github.com/intentc/intentc/compiler"
	"github.com/intentc/intentc/compiler/diag"
	"github.com/intentc/intentc/compiler/intent"
	"github.com/intentc/intentc/compiler/manifest"
)

// Checker runs the per-object policy rules (intentc's built-in Rego rules
// and the --policy directories) on one object, judged against the compiled
// intent. object is the object's JSON as the API server sent it. The
// webhook turns error findings into denials (or what --rule-action says
// for their code) and warnings into warnings.
type Checker interface {
	CheckObject(ctx context.Context, object []byte, intent *compiler.Result) diag.List
}

// namespaceController deletes everything in a namespace being deleted;
// refusing it would leave the namespace stuck in Terminating forever.
const namespaceController = "system:serviceaccount:kube-system:namespace-controller"

// Request is what the rules read from an AdmissionRequest.
type Request struct {
	UID       string
	Operation admissionv1.Operation
	Group     string
	Kind      string
	Namespace string
	Name      string
	User      string
	Object    map[string]any // nil for DELETE
	OldObject map[string]any // nil for CREATE
	ObjectRaw []byte
}

func (r *Request) key() objKey {
	ns := r.Namespace
	if r.Group == "" && r.Kind == "Namespace" {
		ns = "" // the API server may put a Namespace's own name there
	}
	return objKey{Group: r.Group, Kind: r.Kind, Namespace: ns, Name: r.Name}
}

// NewRequest decodes the objects of an AdmissionRequest.
func NewRequest(ar *admissionv1.AdmissionRequest) (*Request, error) {
	r := &Request{
		UID: string(ar.UID), Operation: ar.Operation,
		Group: ar.Kind.Group, Kind: ar.Kind.Kind,
		Namespace: ar.Namespace, Name: ar.Name, User: ar.UserInfo.Username,
		ObjectRaw: ar.Object.Raw,
	}
	var err error
	if len(ar.Object.Raw) > 0 {
		if r.Object, err = decodeJSON(ar.Object.Raw); err != nil {
			return nil, fmt.Errorf("request.object: %w", err)
		}
	}
	if len(ar.OldObject.Raw) > 0 {
		if r.OldObject, err = decodeJSON(ar.OldObject.Raw); err != nil {
			return nil, fmt.Errorf("request.oldObject: %w", err)
		}
	}
	if r.Name == "" && r.Object != nil { // generateName: the name is not chosen yet
		r.Name = str(r.Object, "metadata", "name")
	}
	return r, nil
}

// Finding is one rule's verdict on a request.
type Finding struct {
	Rule    string // the webhook's rule name, or the policy rule's code
	Code    diag.Code
	Action  Action
	Message string // what, why and how to fix it, in one or two lines
}

// Decision is the answer to one request.
type Decision struct {
	Allowed  bool
	Findings []Finding
	// Window is set when the object was admitted because it carries the
	// declared next intent's digest.
	Window bool
	// Class says which path judged the request: managed, unmanaged,
	// intent, or skipped.
	Class string
}

// Message is the denial message: every deny finding, one per line (the
// first few; the rest counted).
func (d *Decision) Message() string {
	var lines []string
	n := 0
	for _, f := range d.Findings {
		if f.Action != Deny {
			continue
		}
		n++
		if len(lines) < maxDiffs {
			lines = append(lines, f.Message)
		}
	}
	if n > len(lines) {
		lines = append(lines, fmt.Sprintf("(and %d more)", n-len(lines)))
	}
	return strings.Join(lines, "\n")
}

// Warnings are the warn findings, as AdmissionResponse warnings.
func (d *Decision) Warnings() []string {
	var out []string
	for _, f := range d.Findings {
		if f.Action == Warn {
			out = append(out, truncate(f.Message, 480))
		}
	}
	return out
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-3] + "..."
}

// Judge decides requests against an intent.
type Judge struct {
	Actions Actions
	Checker Checker // nil: no per-object policy rules
	// compileSlots bounds concurrent intent CR compiles: each is a whole
	// compile, and a burst of them must not starve the other requests.
	compileSlots chan struct{}
}

// NewJudge returns a judge with the given rule actions and policy checker.
func NewJudge(actions Actions, checker Checker) *Judge {
	return &Judge{Actions: actions, Checker: checker, compileSlots: make(chan struct{}, 2)}
}

func (j *Judge) finding(r *Rule, format string, args ...any) Finding {
	msg := fmt.Sprintf(format, args...)
	return Finding{
		Rule: r.Name, Code: r.Code, Action: j.Actions.For(r.Name, r.Code),
		Message: fmt.Sprintf("intentc %s %s: %s; fix: %s", r.Code, r.Name, msg, r.Fix),
	}
}

// Admit judges one request. It never panics on hostile input; the server
// still recovers in case it does.
func (j *Judge) Admit(ctx context.Context, in *Intent, req *Request) Decision {
	var d Decision
	switch {
	case req.Group == intent.Group:
		d.Class = "intent"
		if req.Operation == admissionv1.Create || req.Operation == admissionv1.Update {
			d.Findings = j.intentCR(ctx, in, req)
		}
	case req.Operation == admissionv1.Connect:
		d.Class = "skipped"
	case j.managed(in, req):
		d.Class = "managed"
		d.Findings, d.Window = j.managedObject(in, req)
	default:
		d.Class = "unmanaged"
		if req.Object != nil && req.Operation != admissionv1.Delete {
			d.Findings = j.contradictions(in, req)
		}
	}
	if j.Checker != nil && req.Object != nil && req.Group != intent.Group &&
		(req.Operation == admissionv1.Create || req.Operation == admissionv1.Update) {
		d.Findings = append(d.Findings, j.policies(ctx, in, req)...)
	}
	d.Allowed = !slices.ContainsFunc(d.Findings, func(f Finding) bool { return f.Action == Deny })
	return d
}

// managed reports whether the request is about an object intentc owns in
// this cluster: one the intent generates, or one carrying the managed-by
// label now or before the request.
func (j *Judge) managed(in *Intent, req *Request) bool {
	return in.generates(req.key()) != nil || isManaged(req.Object) || isManaged(req.OldObject)
}

func isManaged(obj map[string]any) bool {
	return obj != nil && str(obj, "metadata", "labels", manifest.LabelManagedBy) == manifest.ManagedByValue
}

func (j *Judge) managedObject(in *Intent, req *Request) ([]Finding, bool) {
	k := req.key()
	want := in.generates(k)
	if req.Operation == admissionv1.Delete {
		if want == nil || req.User == namespaceController {
			// Stale objects (the intent no longer generates them) may be
			// pruned; a terminating namespace must be able to empty.
			return nil, false
		}
		return []Finding{j.finding(RuleManagedDelete, "%s is generated by the intent (digest %s, from %s) for cluster %s",
			k, in.Digest, want.Source, in.Cluster)}, false
	}
	digest := str(req.Object, "metadata", "annotations", manifest.AnnotationDigest)
	if in.isNext(digest) && isManaged(req.Object) {
		return nil, true
	}
	if want == nil {
		if !isManaged(req.Object) {
			// The label was removed from an object the intent no longer
			// generates: it is the user's now.
			return nil, false
		}
		return []Finding{j.finding(RuleUnknownManaged, "%s is labelled %s=%s but the intent (digest %s%s) does not generate it for cluster %s",
			k, manifest.LabelManagedBy, manifest.ManagedByValue, in.Digest, nextNote(in), in.Cluster)}, false
	}
	diffs := Drift(k.Kind, want.Object, req.Object)
	if len(diffs) == 0 {
		return nil, false
	}
	if len(diffs) > maxDiffs {
		diffs = append(diffs[:maxDiffs], "...")
	}
	return []Finding{j.finding(RuleDrift, "%s differs from what the intent (digest %s, from %s) generates for cluster %s: %s",
		k, in.Digest, want.Source, in.Cluster, strings.Join(diffs, "; "))}, false
}

func nextNote(in *Intent) string {
	if len(in.Next) == 0 {
		return ", no next digest declared"
	}
	return ", next " + strings.Join(in.Next, ",")
}

// policies runs the per-object policy rules.
func (j *Judge) policies(ctx context.Context, in *Intent, req *Request) []Finding {
	var out []Finding
	for _, dg := range j.Checker.CheckObject(ctx, req.ObjectRaw, in.Result) {
		var act Action
		switch dg.Severity {
		case diag.Error:
			act = j.Actions.For("", dg.Code)
		case diag.Warning:
			act = Warn
			if a, ok := j.Actions[string(dg.Code)]; ok && a == DryRun {
				act = DryRun
			}
		default:
			continue
		}
		out = append(out, Finding{
			Rule: string(dg.Code), Code: dg.Code, Action: act,
			Message: fmt.Sprintf("intentc %s policy: %s", dg.Code, strings.TrimSpace(dg.Message)),
		})
	}
	return out
}
