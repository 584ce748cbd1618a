package diag

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Severity orders findings; Error fails a compile.
type Severity int

const (
	Error Severity = iota
	Warning
	Info
)

func (s Severity) String() string {
	switch s {
	case Error:
		return "error"
	case Warning:
		return "warning"
	default:
		return "info"
	}
}

// MarshalText keeps JSON output readable and stable.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Pos is a 1-based source position. A zero Line means "the whole file" and a
// zero File means "no source" (for example a finding about the mesh as a whole).
type Pos struct {
	File string `json:"file,omitempty"`
	Line int    `json:"line,omitempty"`
	Col  int    `json:"col,omitempty"`
}

func (p Pos) String() string {
	switch {
	case p.File == "":
		return "<intent>"
	case p.Line == 0:
		return p.File
	default:
		return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
	}
}

// IsValid reports whether the position names a file.
func (p Pos) IsValid() bool { return p.File != "" }

func comparePos(a, b Pos) int {
	return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line), cmp.Compare(a.Col, b.Col))
}

// Related points at a second place that explains the finding
// ("first declared here").
type Related struct {
	Pos     Pos    `json:"pos"`
	Message string `json:"message"`
}

// Diagnostic is one finding.
type Diagnostic struct {
	Code     Code      `json:"code"`
	Severity Severity  `json:"severity"`
	Pos      Pos       `json:"pos"`
	Message  string    `json:"message"`
	Related  []Related `json:"related,omitempty"`
}

func (d Diagnostic) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s: %s [%s]", d.Pos, d.Severity, d.Message, d.Code)
	for _, r := range d.Related {
		fmt.Fprintf(&b, "\n\t%s: %s", r.Pos, r.Message)
	}
	return b.String()
}

// List collects findings. The zero value is ready to use.
type List []Diagnostic

// Add records a finding with the severity the code table gives it.
func (l *List) Add(code Code, pos Pos, format string, args ...any) *Diagnostic {
	*l = append(*l, Diagnostic{Code: code, Severity: code.Severity(), Pos: pos, Message: fmt.Sprintf(format, args...)})
	return &(*l)[len(*l)-1]
}

// Append adds other lists' findings.
func (l *List) Append(others ...List) {
	for _, o := range others {
		*l = append(*l, o...)
	}
}

// WithRelated attaches a related position and returns d for chaining.
func (d *Diagnostic) WithRelated(pos Pos, format string, args ...any) *Diagnostic {
	d.Related = append(d.Related, Related{Pos: pos, Message: fmt.Sprintf(format, args...)})
	return d
}

// HasErrors reports whether any finding is an error.
func (l List) HasErrors() bool {
	return slices.ContainsFunc(l, func(d Diagnostic) bool { return d.Severity == Error })
}

// Count returns how many findings have severity s.
func (l List) Count(s Severity) int {
	n := 0
	for _, d := range l {
		if d.Severity == s {
			n++
		}
	}
	return n
}

func compare(a, b Diagnostic) int {
	return cmp.Or(comparePos(a.Pos, b.Pos), cmp.Compare(a.Code, b.Code), cmp.Compare(a.Message, b.Message))
}

// Sorted returns the findings ordered by position, code and message, with
// exact duplicates (the same finding reached through two paths) removed.
func (l List) Sorted() List {
	out := slices.Clone(l)
	slices.SortStableFunc(out, compare)
	return slices.CompactFunc(out, func(a, b Diagnostic) bool {
		return compare(a, b) == 0 && a.Severity == b.Severity
	})
}

// Error makes a list usable as an error value; it prints every finding.
func (l List) Error() string {
	parts := make([]string, len(l))
	for i, d := range l {
		parts[i] = d.String()
	}
	return strings.Join(parts, "\n")
}
