package neutron

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/attributestags"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/security/groups"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/security/rules"
)

// Operations apply performs, as named to fault hooks and progress.
const (
	OpCreateGroup   = "create-group"
	OpTagGroup      = "tag-group"
	OpDescribeGroup = "describe-group"
	OpCreateRules   = "create-rules" // one bulk request
	OpCreateRule    = "create-rule"
	OpDeleteRule    = "delete-rule"
)

// Step is one write apply is about to make or has made.
type Step struct {
	Op    string
	Group string
	// Rules is the rule (create-rule, delete-rule) or rules (create-rules).
	Rules []*Rule
	// After is false before the request is sent, true once it succeeded.
	After bool
}

// ApplyOptions tune apply.
type ApplyOptions struct {
	// Fault, when set, is called before and after every write; an error it
	// returns stops apply right there, as a killed process would. Tests use
	// it to check that a rerun converges from every such point.
	Fault func(Step) error
	// Progress, when set, is told of every write that succeeded.
	Progress func(Step)
	// NoBulk creates rules one request each (bulk create is the default,
	// one request per group and BulkSize rules).
	NoBulk   bool
	BulkSize int
	// ReplaceStale deletes and recreates rules whose description is stale
	// (Neutron cannot update a rule): a gap of one request for each.
	ReplaceStale bool
}

// Summary is what apply did.
type Summary struct {
	GroupsCreated, GroupsTagged, GroupsUpdated int
	RulesCreated                               int
	// RulesPresent were already there when created (409 SecurityGroupRuleExists).
	RulesPresent int
	RulesDeleted int
	// RulesGone were already gone when deleted (404).
	RulesGone     int
	RulesStale    int
	Requests      int
	Failed        []error
	DeleteSkipped bool
	Duration      time.Duration
}

// ErrPlanBlocked is returned for a plan with error findings.
var ErrPlanBlocked = errors.New("the plan has errors; nothing was changed")

// Apply carries out a plan computed from a fresh Observe: groups first
// (created, then tagged), then every rule to add (bulk per group, falling
// back to one request per rule), and only when all of them exist the rules
// to remove — make before break, so a rule that replaces another is in
// force before the old one goes. Every step is idempotent against a rerun:
// a group created but not tagged is adopted by its name and marker, a rule
// created twice is a 409 that counts as present, a rule deleted twice a 404
// that counts as gone.
func Apply(ctx context.Context, c *Client, p *Plan, opts ApplyOptions) (*Summary, error) {
	start := time.Now()
	s := &Summary{}
	defer func() { s.Duration = time.Since(start) }()
	if p.Audit {
		return s, nil
	}
	if p.Findings.HasErrors() {
		return s, ErrPlanBlocked
	}
	if opts.BulkSize <= 0 {
		opts.BulkSize = 500
	}
	a := &applier{c: c, opts: opts, s: s}
	ids := map[string]string{} // group name → ID
	for _, gp := range p.Groups {
		if gp.Observed != nil {
			ids[gp.Name()] = gp.Observed.ID
		}
	}
	// 1. Groups.
	for _, gp := range p.Groups {
		name := gp.Name()
		if gp.Create {
			id, err := a.createGroup(ctx, gp.Desired)
			if err != nil {
				return s, err
			}
			ids[name] = id
			s.GroupsCreated++
		}
		if gp.Create || gp.Tag {
			if err := a.step(ctx, Step{Op: OpTagGroup, Group: name}, func() error {
				return apiError(fmt.Sprintf("tagging security group %s", name),
					attributestags.Add(ctx, c.Network, "security-groups", ids[name], TagManagedBy).ExtractErr())
			}); err != nil {
				return s, err
			}
			s.GroupsTagged++
		}
		if gp.Describe {
			desc := gp.Desired.Description
			if err := a.step(ctx, Step{Op: OpDescribeGroup, Group: name}, func() error {
				_, err := groups.Update(ctx, c.Network, ids[name], groups.UpdateOpts{Description: &desc}).Extract()
				return apiError(fmt.Sprintf("updating the description of security group %s", name), err)
			}); err != nil {
				return s, err
			}
			s.GroupsUpdated++
		}
	}
	// 2. Rules to add, every group, before any delete.
	for _, gp := range p.Groups {
		if len(gp.Add) == 0 {
			continue
		}
		if err := a.createRules(ctx, gp.Name(), ids, gp.Add); err != nil {
			return s, err
		}
	}
	if len(s.Failed) > 0 {
		// A replacement that failed must not lose the rule it replaces.
		s.DeleteSkipped = true
		return s, fmt.Errorf("%d rule(s) could not be created; no rule was deleted (make before break): %w", len(s.Failed), errors.Join(s.Failed...))
	}
	// 3. Stale descriptions, when asked: delete then create (a duplicate
	// cannot be created first).
	if opts.ReplaceStale {
		for _, gp := range p.Groups {
			for _, st := range gp.Stale {
				if err := a.deleteRule(ctx, gp.Name(), st.Observed); err != nil {
					return s, err
				}
				if err := a.createRules(ctx, gp.Name(), ids, []*Rule{st.Desired}); err != nil {
					return s, err
				}
				s.RulesStale++
			}
		}
		if len(s.Failed) > 0 {
			return s, fmt.Errorf("%d rule(s) could not be recreated: %w", len(s.Failed), errors.Join(s.Failed...))
		}
	}
	// 4. Rules to remove.
	for _, gp := range p.Groups {
		for _, rm := range gp.Remove {
			if err := a.deleteRule(ctx, gp.Name(), rm.Rule); err != nil {
				return s, err
			}
		}
	}
	return s, nil
}

type applier struct {
	c    *Client
	opts ApplyOptions
	s    *Summary
}

// step runs one write between the fault hook's before and after calls.
func (a *applier) step(ctx context.Context, st Step, write func() error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if a.opts.Fault != nil {
		if err := a.opts.Fault(st); err != nil {
			return err
		}
	}
	a.s.Requests++
	if err := write(); err != nil {
		return err
	}
	st.After = true
	if a.opts.Progress != nil {
		a.opts.Progress(st)
	}
	if a.opts.Fault != nil {
		if err := a.opts.Fault(st); err != nil {
			return err
		}
	}
	return nil
}

func (a *applier) createGroup(ctx context.Context, dg *DesiredGroup) (string, error) {
	var id string
	err := a.step(ctx, Step{Op: OpCreateGroup, Group: dg.Name}, func() error {
		g, err := groups.Create(ctx, a.c.Network, groups.CreateOpts{Name: dg.Name, Description: dg.Description}).Extract()
		if err != nil {
			return apiError(fmt.Sprintf("creating security group %s", dg.Name), err)
		}
		id = g.ID
		return nil
	})
	return id, err
}

// ruleBody is a POST body for one rule. It is built by hand rather than
// with rules.CreateOpts, whose omitempty ports cannot send ICMP type 0.
func ruleBody(groupID string, r *Rule, ids map[string]string) (map[string]any, error) {
	b := map[string]any{
		"security_group_id": groupID,
		"direction":         r.Direction,
		"ethertype":         r.Ethertype,
	}
	if r.Protocol != "" {
		b["protocol"] = r.Protocol
	}
	if r.PortMin != nil {
		b["port_range_min"] = *r.PortMin
	}
	if r.PortMax != nil {
		b["port_range_max"] = *r.PortMax
	}
	switch {
	case r.RemoteGroup != "":
		id, ok := ids[r.RemoteGroup]
		if !ok || id == "" {
			return nil, fmt.Errorf("rule %s: remote group %q has no ID (it was neither found nor created)", r, r.RemoteGroup)
		}
		b["remote_group_id"] = id
	case r.RemoteGroupID != "":
		b["remote_group_id"] = r.RemoteGroupID
	case r.RemoteIPPrefix != "":
		// Masked: Neutron stores the prefix as given, and an unmasked one
		// would be a second rule next to the masked one.
		p, err := parsePrefix(r.RemoteIPPrefix)
		if err != nil {
			return nil, err
		}
		b["remote_ip_prefix"] = netip.PrefixFrom(p.Addr(), p.Bits()).Masked().String()
	}
	if r.Description != "" {
		b["description"] = r.Description
	}
	return b, nil
}

// createRules creates a group's rules, BulkSize per request; a bulk request
// Neutron refuses as a whole (one duplicate or one bad rule fails it all)
// is retried one rule per request, so that the duplicates count as present
// and only the bad rules fail.
func (a *applier) createRules(ctx context.Context, group string, ids map[string]string, add []*Rule) error {
	groupID := ids[group]
	bodies := make([]map[string]any, len(add))
	for i, r := range add {
		b, err := ruleBody(groupID, r, ids)
		if err != nil {
			return err
		}
		bodies[i] = b
	}
	if a.opts.NoBulk || len(add) == 1 {
		return a.createSingles(ctx, group, add, bodies)
	}
	for lo := 0; lo < len(add); lo += a.opts.BulkSize {
		hi := min(lo+a.opts.BulkSize, len(add))
		chunk := add[lo:hi]
		err := a.step(ctx, Step{Op: OpCreateRules, Group: group, Rules: chunk}, func() error {
			_, err := a.c.Network.Post(ctx, a.c.Network.ServiceURL("security-group-rules"),
				map[string]any{"security_group_rules": bodies[lo:hi]}, nil, &gophercloud.RequestOpts{OkCodes: []int{201}})
			return apiError(fmt.Sprintf("creating %d rules in security group %s", len(chunk), group), err)
		})
		switch {
		case err == nil:
			a.s.RulesCreated += len(chunk)
		case errorType(err) == "OverQuota":
			return err
		case statusOf(err) == 409 || statusOf(err) == 400:
			if err := a.createSingles(ctx, group, chunk, bodies[lo:hi]); err != nil {
				return err
			}
		default:
			return err
		}
	}
	return nil
}

func (a *applier) createSingles(ctx context.Context, group string, add []*Rule, bodies []map[string]any) error {
	for i, r := range add {
		err := a.step(ctx, Step{Op: OpCreateRule, Group: group, Rules: []*Rule{r}}, func() error {
			_, err := a.c.Network.Post(ctx, a.c.Network.ServiceURL("security-group-rules"),
				map[string]any{"security_group_rule": bodies[i]}, nil, &gophercloud.RequestOpts{OkCodes: []int{201}})
			err = apiError(fmt.Sprintf("creating rule %s in security group %s", r, group), err)
			if errorType(err) == "SecurityGroupRuleExists" {
				a.s.RulesPresent++
				return nil
			}
			if err == nil {
				a.s.RulesCreated++
			}
			return err
		})
		switch {
		case err == nil:
		case errorType(err) == "OverQuota":
			return err
		case statusOf(err) >= 400 && statusOf(err) < 500 && statusOf(err) != 401 && statusOf(err) != 403:
			// Neutron refused this rule; try the others, then stop before deleting.
			a.s.Failed = append(a.s.Failed, err)
		default:
			return err
		}
	}
	return nil
}

func (a *applier) deleteRule(ctx context.Context, group string, r *Rule) error {
	return a.step(ctx, Step{Op: OpDeleteRule, Group: group, Rules: []*Rule{r}}, func() error {
		err := rules.Delete(ctx, a.c.Network, r.ID).ExtractErr()
		if gophercloud.ResponseCodeIs(err, 404) {
			a.s.RulesGone++
			return nil
		}
		if err != nil {
			return apiError(fmt.Sprintf("deleting rule %s (%s) from security group %s", r.ID, r, group), err)
		}
		a.s.RulesDeleted++
		return nil
	})
}
