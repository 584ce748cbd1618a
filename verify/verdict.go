package verify

// Verdict is one layer's answer for one connection.
type Verdict string

// Verdicts. Unknown is never read as allowed: it means an object of an
// engine verify does not model, or a fact it lacks, could decide.
const (
	Allowed       Verdict = "allowed"
	Denied        Verdict = "denied"
	Unknown       Verdict = "unknown"
	NotApplicable Verdict = "not applicable"
)

// Decision is what decided a verdict: an object and the rule in it (Rule
// -1 when the object decides as a whole, as a default-deny does), or no
// object when a platform default decided.
type Decision struct {
	Object    *ObjRef `json:"object,omitempty"`
	Rule      int     `json:"rule"`
	RuleLine  int     `json:"ruleLine,omitempty"`
	Direction string  `json:"direction,omitempty"`
	Effect    string  `json:"effect"`
	Text      string  `json:"text"`

	op *apRule // the AuthorizationPolicy rule, for summaries
}

// LayerResult is one layer's verdict for one connection in one cluster.
type LayerResult struct {
	Layer     int        `json:"layer"`
	Verdict   Verdict    `json:"verdict"`
	Decisions []Decision `json:"decisions,omitempty"`
	Note      string     `json:"note,omitempty"`
}

// and combines two verdicts of consecutive checkpoints: a denial anywhere
// denies, an unknown anywhere (without a denial) is unknown.
func and(a, b Verdict) Verdict {
	switch {
	case a == Denied || b == Denied:
		return Denied
	case a == Unknown || b == Unknown:
		return Unknown
	case a == NotApplicable:
		return b
	case b == NotApplicable:
		return a
	}
	return Allowed
}
