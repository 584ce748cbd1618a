package verify

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// selector is a Kubernetes label selector (metav1.LabelSelector).
type selector struct {
	MatchLabels      map[string]string `yaml:"matchLabels" json:"matchLabels,omitempty"`
	MatchExpressions []labelReq        `yaml:"matchExpressions" json:"matchExpressions,omitempty"`
}

type labelReq struct {
	Key      string   `yaml:"key" json:"key"`
	Operator string   `yaml:"operator" json:"operator"`
	Values   []string `yaml:"values" json:"values,omitempty"`
}

// matches applies the selector to labels. An empty selector selects
// everything; an unknown operator selects nothing (and valid reports it).
func (s *selector) matches(labels map[string]string) bool {
	if s == nil {
		return true
	}
	for k, v := range s.MatchLabels {
		if got, ok := labels[k]; !ok || got != v {
			return false
		}
	}
	for _, r := range s.MatchExpressions {
		v, ok := labels[r.Key]
		switch r.Operator {
		case "In":
			if !ok || !slices.Contains(r.Values, v) {
				return false
			}
		case "NotIn":
			if ok && slices.Contains(r.Values, v) {
				return false
			}
		case "Exists":
			if !ok {
				return false
			}
		case "DoesNotExist":
			if ok {
				return false
			}
		default:
			return false
		}
	}
	return true
}

func (s *selector) isEmpty() bool {
	return s == nil || (len(s.MatchLabels) == 0 && len(s.MatchExpressions) == 0)
}

// valid reports a selector the API server would reject.
func (s *selector) valid() error {
	if s == nil {
		return nil
	}
	for _, r := range s.MatchExpressions {
		switch r.Operator {
		case "In", "NotIn":
			if len(r.Values) == 0 {
				return fmt.Errorf("matchExpressions %q %s needs values", r.Key, r.Operator)
			}
		case "Exists", "DoesNotExist":
			if len(r.Values) != 0 {
				return fmt.Errorf("matchExpressions %q %s takes no values", r.Key, r.Operator)
			}
		default:
			return fmt.Errorf("%q is not a valid label selector operator", r.Operator)
		}
	}
	return nil
}

func (s *selector) String() string {
	if s.isEmpty() {
		return "{}"
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(s.MatchLabels)) {
		parts = append(parts, k+"="+s.MatchLabels[k])
	}
	for _, r := range s.MatchExpressions {
		switch r.Operator {
		case "Exists":
			parts = append(parts, r.Key)
		case "DoesNotExist":
			parts = append(parts, "!"+r.Key)
		default:
			parts = append(parts, fmt.Sprintf("%s %s (%s)", r.Key, strings.ToLower(r.Operator), strings.Join(r.Values, ",")))
		}
	}
	return strings.Join(parts, ",")
}

func matchLabels(want, labels map[string]string) bool {
	for k, v := range want {
		if got, ok := labels[k]; !ok || got != v {
			return false
		}
	}
	return true
}

func labelString(l map[string]string) string {
	if len(l) == 0 {
		return "{}"
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(l)) {
		parts = append(parts, k+"="+l[k])
	}
	return strings.Join(parts, ",")
}
