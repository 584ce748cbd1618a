package webhook

import (
	"fmt"
	"slices"
	"strings"

	"github.com/intentc/intentc/compiler/diag"
)

// Action is what a rule's finding does to the request.
type Action string

// Actions, named after Gatekeeper's enforcement actions.
const (
	Deny   Action = "deny"   // refuse the request
	Warn   Action = "warn"   // admit, with an AdmissionResponse warning
	DryRun Action = "dryrun" // admit; only log and count
)

// ParseAction reads deny, warn or dryrun.
func ParseAction(s string) (Action, error) {
	switch a := Action(strings.ToLower(strings.TrimSpace(s))); a {
	case Deny, Warn, DryRun:
		return a, nil
	}
	return "", fmt.Errorf("action %q is not deny, warn or dryrun", s)
}

// Rule is one admission rule of the webhook. Its findings carry Code; Fix
// is the one-line remedy appended to a denial.
type Rule struct {
	Name  string
	Code  diag.Code
	Title string
	Fix   string
}

// The rules, in code order. Names are what --rule-action takes.
var (
	RuleDrift = &Rule{"drift", diag.CodeAdmissionDrift, "managed object differs from the intent",
		"change the intent in git and let the sync apply it, or revert the edit"}
	RuleManagedDelete = &Rule{"managed-delete", diag.CodeAdmissionManagedDelete, "managed object deleted",
		"remove it from the intent in git; intentc stops generating it and the sync may prune it"}
	RuleUnknownManaged = &Rule{"unknown-managed", diag.CodeAdmissionUnknownManaged, "object claims to be intentc's but the intent does not generate it",
		"apply objects from `intentc compile` output only, or drop the app.kubernetes.io/managed-by=intentc label"}
	RuleIntentCR = &Rule{"intent-cr", diag.CodeAdmissionIntentCR, "intent object does not compile with the loaded intent",
		"fix the intent object (the diagnostics say where) or change the intent directory in git"}
	RuleTooLarge = &Rule{"too-large", diag.CodeAdmissionTooLarge, "request too large to judge",
		"split the object, or raise --max-request-bytes"}
	RuleSecondVirtualService = &Rule{"second-virtualservice", diag.CodeAdmissionSecondVS, "second VirtualService for a managed host",
		"route the host through its MeshService's routes in the intent instead"}
	RuleShadowingDestinationRule = &Rule{"shadowing-destinationrule", diag.CodeAdmissionShadowDR, "DestinationRule shadows a managed one",
		"set traffic policy in the intent's MeshService (resilience) instead of a client-side DestinationRule"}
	RuleAuthzWidening = &Rule{"authz-widening", diag.CodeAdmissionAuthzWidening, "AuthorizationPolicy allows callers the intent does not",
		"add an AccessPolicy to the intent; intentc generates the AuthorizationPolicy"}
	RulePeerAuthnWeakening = &Rule{"peerauthn-weakening", diag.CodeAdmissionPeerAuthnWeak, "PeerAuthentication weakens mTLS",
		"declare the port `mtls: permissive` in the intent's MeshService if plaintext callers are really needed"}
	RuleExtraNetworkPolicy = &Rule{"extra-networkpolicy", diag.CodeAdmissionExtraNetpol, "extra NetworkPolicy widens a managed namespace",
		"add an AccessPolicy to the intent (NetworkPolicies add up, so any extra allow widens layer 2)"}
	RuleServiceEntryHijack = &Rule{"serviceentry-hijack", diag.CodeAdmissionServiceEntry, "ServiceEntry claims a managed host",
		"use a host the intent does not manage, or describe the service in the intent"}
	RuleWorkloadEntryInjection = &Rule{"workloadentry-injection", diag.CodeAdmissionWorkloadEntry, "WorkloadEntry injects endpoints into a managed service",
		"place the workload in the intent, or give it labels no MeshService selects"}
	RuleEnvoyFilter = &Rule{"envoyfilter", diag.CodeAdmissionEnvoyFilter, "EnvoyFilter changes a managed workload's proxy",
		"select only unmanaged workloads (workloadSelector), or express the change in the intent"}
	RuleSidecar = &Rule{"sidecar", diag.CodeAdmissionSidecar, "Sidecar rewrites a managed workload's listeners",
		"select only unmanaged workloads (workloadSelector), or drop ingress/egress/outboundTrafficPolicy"}
	RuleServiceProtocol = &Rule{"service-protocol", diag.CodeAdmissionServiceProtocol, "Service port protocol contradicts the intent",
		"name the port <protocol>[-suffix] or set appProtocol to the intent's protocol"}
)

// Rules lists every rule, in code order.
var Rules = []*Rule{
	RuleDrift, RuleManagedDelete, RuleUnknownManaged, RuleIntentCR, RuleTooLarge,
	RuleSecondVirtualService, RuleShadowingDestinationRule, RuleAuthzWidening, RulePeerAuthnWeakening,
	RuleExtraNetworkPolicy, RuleServiceEntryHijack, RuleWorkloadEntryInjection, RuleEnvoyFilter,
	RuleSidecar, RuleServiceProtocol,
}

// Actions maps rules to actions. Keys are rule names, diagnostic codes
// (IC43xx for the webhook's rules, IC40xx–IC42xx for the policy rules) or "*"
// (the default for every rule not named; deny when absent).
type Actions map[string]Action

// ParseActions reads RULE=ACTION pairs (--rule-action). A rule must be one
// of the webhook's rule names, a diagnostic code, or "*".
func ParseActions(pairs []string) (Actions, error) {
	a := Actions{}
	for _, p := range pairs {
		k, v, ok := strings.Cut(p, "=")
		if !ok {
			return nil, fmt.Errorf("rule action %q is not RULE=ACTION", p)
		}
		k = strings.TrimSpace(k)
		act, err := ParseAction(v)
		if err != nil {
			return nil, fmt.Errorf("rule action %q: %w", p, err)
		}
		if !knownRuleKey(k) {
			return nil, fmt.Errorf("rule action %q: unknown rule %q (rules: %s, a diagnostic code such as IC4002, or *)", p, k, strings.Join(ruleNames(), ", "))
		}
		a[k] = act
	}
	return a, nil
}

func knownRuleKey(k string) bool {
	if k == "*" {
		return true
	}
	if slices.ContainsFunc(Rules, func(r *Rule) bool { return r.Name == k }) {
		return true
	}
	_, ok := diag.Code(k).Info()
	return ok
}

func ruleNames() []string {
	out := make([]string, len(Rules))
	for i, r := range Rules {
		out[i] = r.Name
	}
	return out
}

// For returns the action for a finding with the given rule name and code:
// the name's entry, else the code's, else "*", else deny.
func (a Actions) For(name string, code diag.Code) Action {
	if act, ok := a[name]; ok && name != "" {
		return act
	}
	if act, ok := a[string(code)]; ok {
		return act
	}
	if act, ok := a["*"]; ok {
		return act
	}
	return Deny
}
