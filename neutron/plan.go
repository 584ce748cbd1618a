package neutron

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/intentc/intentc/compiler/diag"
)

// Plan is what apply would do to one project, and what plan reports about
// it. It is computed from a Desired document and an Observed project and
// holds the IDs apply needs.
type Plan struct {
	Source         string
	Cloud, Project string
	ProjectID      string
	Audit          bool
	Groups         []*GroupPlan
	// Orphans are intentc's groups in the project that the document does
	// not name: reported, never deleted (another intent may own them, and a
	// group in use by ports cannot be deleted anyway).
	Orphans []*ObservedGroup
	Nodes   []*NodeReport
	Quota   Quota
	// Findings are warnings and errors; an error blocks apply.
	Findings diag.List
	Notes    []string
}

// GroupPlan is one desired group: created, adopted or updated, and its rules.
type GroupPlan struct {
	Desired *DesiredGroup
	// Observed is nil when the group is to be created.
	Observed *ObservedGroup
	Create   bool
	// Tag: the group exists with intentc's marker but without its tag (a run
	// was stopped between creating and tagging it): adopt it.
	Tag bool
	// Describe: the group's description is to be updated.
	Describe bool
	Add      []*Rule
	Remove   []*Removal
	// Stale rules are equal to a desired rule but for their description,
	// which Neutron cannot update in place (PUT on a rule is a 500): they are
	// kept unless apply is asked to replace them.
	Stale []*StaleRule
	// Unchanged counts rules already as desired.
	Unchanged int
	// Duplicates are other groups of the same name with intentc's marker.
	Duplicates []*ObservedGroup
	// Audit only: expected rules the group lacks, and rules it has beyond
	// the expectation.
	Missing, Extra []*Rule
}

// Removal is an observed rule apply deletes, and why.
type Removal struct {
	Rule   *Rule
	Reason string
	// Drift: the rule is not intentc's (no provenance): someone added it by hand.
	Drift bool
}

// StaleRule pairs an observed rule with the desired one it equals.
type StaleRule struct{ Observed, Desired *Rule }

// Name is the group's name.
func (g *GroupPlan) Name() string { return g.Desired.Name }

// ID is the observed group's ID ("" before it is created).
func (g *GroupPlan) ID() string {
	if g.Observed == nil {
		return ""
	}
	return g.Observed.ID
}

// Changes counts the writes the group needs (stale descriptions are not
// writes unless asked for).
func (g *GroupPlan) Changes() int {
	n := len(g.Add) + len(g.Remove)
	if g.Create || g.Tag || g.Describe {
		n++
	}
	return n
}

// HasChanges reports whether apply would write anything. Stale
// descriptions do not count: the rules are right, and rewriting them would
// open a gap.
func (p *Plan) HasChanges() bool {
	for _, g := range p.Groups {
		if g.Changes() > 0 {
			return true
		}
	}
	return false
}

// Counts sums the plan.
type Counts struct {
	GroupsCreate, GroupsAdopt, GroupsUpdate  int
	RulesAdd, RulesRemove, RulesDrift, Stale int
	Unchanged                                int
}

// Counts sums the plan's changes.
func (p *Plan) Counts() Counts {
	var c Counts
	for _, g := range p.Groups {
		if g.Create {
			c.GroupsCreate++
		}
		if g.Tag {
			c.GroupsAdopt++
		}
		if g.Describe {
			c.GroupsUpdate++
		}
		c.RulesAdd += len(g.Add)
		c.RulesRemove += len(g.Remove)
		for _, r := range g.Remove {
			if r.Drift {
				c.RulesDrift++
			}
		}
		c.Stale += len(g.Stale)
		c.Unchanged += g.Unchanged
	}
	return c
}

// defaultEgress are the rules Neutron gives every new group. intentc's
// groups keep them (the compiled rules are ingress only because these
// already allow all egress), so they are part of every owned group's
// desired set.
func defaultEgress() []*Rule {
	return []*Rule{
		{Direction: "egress", Ethertype: "IPv4"},
		{Direction: "egress", Ethertype: "IPv6"},
	}
}

// ComputePlan compares a document with what the project holds.
func ComputePlan(d *Desired, obs *Observed, projectID string, sel NodeSelector) *Plan {
	p := &Plan{Source: d.Source, Cloud: d.Cloud, Project: d.Project, ProjectID: projectID, Audit: d.Audit,
		Quota: obs.Quota, Notes: slices.Clone(obs.Notes)}
	pos := diag.Pos{File: d.Source}
	byName := map[string][]*ObservedGroup{}
	for _, g := range obs.Groups {
		if projectID != "" && g.ProjectID != "" && g.ProjectID != projectID {
			continue // an admin sees every project's groups
		}
		byName[g.Name] = append(byName[g.Name], g)
	}
	// Pick each desired group's observed counterpart first: rules refer to
	// groups of the document by name, and observed rules by ID.
	nameOfID := map[string]string{}
	for _, dg := range d.Groups {
		gp := &GroupPlan{Desired: dg}
		p.Groups = append(p.Groups, gp)
		cands := byName[dg.Name]
		if d.Audit {
			if len(cands) == 0 {
				p.Findings.Add(diag.CodeSGAuditMissing, pos,
					"audited security group %q does not exist in project %s/%s", dg.Name, d.Cloud, d.Project)
				continue
			}
			if len(cands) > 1 {
				p.Notes = append(p.Notes, fmt.Sprintf("%d groups are named %q; audited: %s (the oldest)", len(cands), dg.Name, cands[0].ID))
			}
			gp.Observed = cands[0]
			nameOfID[gp.Observed.ID] = dg.Name
			continue
		}
		var owned []*ObservedGroup
		for _, g := range cands {
			if g.Tagged() || strings.HasPrefix(g.Description, OwnerMarker) {
				owned = append(owned, g)
			}
		}
		if len(owned) == 0 {
			if len(cands) > 0 {
				p.Findings.Add(diag.CodeSGNameTaken, pos,
					"security group %q (%s) exists in project %s/%s but is not intentc's (no %s tag, description not starting with %q): intentc will not write it; adopt it (docs/openstack.md) or choose another openstack.securityGroups.name",
					dg.Name, cands[0].ID, d.Cloud, d.Project, TagManagedBy, OwnerMarker)
				continue
			}
			gp.Create = true
			// Neutron adds its default egress rules itself.
			gp.Add = slices.Clone(dg.Rules)
			slices.SortFunc(gp.Add, compareRules)
			continue
		}
		// Tagged first, then the oldest: the same pick on every run.
		slices.SortStableFunc(owned, func(a, b *ObservedGroup) int {
			return cmp.Or(-cmpBool(a.Tagged(), b.Tagged()), cmp.Compare(a.CreatedAt, b.CreatedAt), cmp.Compare(a.ID, b.ID))
		})
		gp.Observed, gp.Duplicates = owned[0], owned[1:]
		gp.Tag = !gp.Observed.Tagged()
		gp.Describe = gp.Observed.Description != dg.Description
		nameOfID[gp.Observed.ID] = dg.Name
		for _, dup := range gp.Duplicates {
			p.Findings.Add(diag.CodeSGDuplicateOwned, pos,
				"security group %q: %s also carries intentc's marker; intentc manages %s and leaves %s alone: delete it if no port uses it",
				dg.Name, dup.ID, gp.Observed.ID, dup.ID)
		}
	}
	for _, gp := range p.Groups {
		if gp.Observed == nil {
			continue
		}
		diffRules(gp, nameOfID, d.Audit)
	}
	if !d.Audit {
		desiredNames := map[string]bool{}
		for _, dg := range d.Groups {
			desiredNames[dg.Name] = true
		}
		for _, g := range obs.Groups {
			if g.Tagged() && !desiredNames[g.Name] && (projectID == "" || g.ProjectID == projectID) {
				p.Orphans = append(p.Orphans, g)
				p.Findings.Add(diag.CodeSGOrphan, pos,
					"security group %q (%s) carries %s but is not in this intent: left as it is (delete it, or remove the tag to release it)",
					g.Name, g.ID, TagManagedBy)
			}
		}
		for _, gp := range p.Groups {
			for _, s := range gp.Stale {
				p.Findings.Add(diag.CodeSGStaleDescription, pos,
					"security group %q, rule %s: provenance changed (Neutron cannot update a rule's description; apply --replace-stale replaces the rule, with a gap of one request)",
					gp.Name(), s.Desired)
			}
		}
		checkQuota(p, pos)
	}
	p.Nodes = nodeReports(p, obs, sel, nameOfID, pos)
	p.Findings = p.Findings.Sorted()
	return p
}

func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}

// diffRules compares a group's rules by Key: present, to add, to remove
// (several observed rules with one Key keep the best-spelled one).
func diffRules(gp *GroupPlan, nameOfID map[string]string, audit bool) {
	want := map[string]*Rule{}
	var order []*Rule
	rules := gp.Desired.Rules
	if !audit {
		rules = append(slices.Clone(rules), defaultEgress()...)
	}
	for _, r := range rules {
		want[r.Key()] = r
		order = append(order, r)
	}
	have := map[string][]*Rule{}
	for _, r := range gp.Observed.Rules {
		r = withGroupNames(r, nameOfID)
		have[r.Key()] = append(have[r.Key()], r)
	}
	for _, dr := range order {
		obs := have[dr.Key()]
		if len(obs) == 0 {
			if audit {
				if dr.Direction == "ingress" {
					gp.Missing = append(gp.Missing, dr)
				}
			} else {
				gp.Add = append(gp.Add, dr)
			}
			continue
		}
		// Keep the rule spelled as intentc writes it and carrying the
		// desired description; delete the equivalent others.
		slices.SortStableFunc(obs, func(a, b *Rule) int {
			return cmp.Or(-cmpBool(a.Canonical(), b.Canonical()),
				-cmpBool(a.Description == dr.Description, b.Description == dr.Description),
				cmp.Compare(a.ID, b.ID))
		})
		keep := obs[0]
		if audit {
			continue
		}
		if keep.Description != dr.Description {
			gp.Stale = append(gp.Stale, &StaleRule{Observed: keep, Desired: dr})
		} else {
			gp.Unchanged++
		}
		for _, extra := range obs[1:] {
			gp.Remove = append(gp.Remove, &Removal{Rule: extra, Reason: "the same rule as " + keep.ID + " (another spelling)"})
		}
	}
	for _, r := range gp.Observed.Rules {
		r = withGroupNames(r, nameOfID)
		if _, ok := want[r.Key()]; ok {
			continue
		}
		if audit {
			// The intent speaks of ingress only; egress is the owner's.
			if r.Direction == "ingress" {
				gp.Extra = append(gp.Extra, r)
			}
			continue
		}
		if strings.HasPrefix(r.Description, OwnerMarker) {
			gp.Remove = append(gp.Remove, &Removal{Rule: r, Reason: "no longer in the intent"})
		} else {
			gp.Remove = append(gp.Remove, &Removal{Rule: r, Reason: "drift: added outside intentc", Drift: true})
		}
	}
	slices.SortFunc(gp.Add, compareRules)
	slices.SortFunc(gp.Remove, func(a, b *Removal) int { return compareRules(a.Rule, b.Rule) })
	slices.SortFunc(gp.Missing, compareRules)
	slices.SortFunc(gp.Extra, compareRules)
}

// withGroupNames names a remote group of the document by its name, so that
// an observed rule's Key equals the desired rule's.
func withGroupNames(r *Rule, nameOfID map[string]string) *Rule {
	if name, ok := nameOfID[r.RemoteGroupID]; ok && r.RemoteGroupID != "" {
		c := *r
		c.RemoteGroup, c.RemoteGroupID = name, ""
		return &c
	}
	return r
}

// checkQuota refuses a plan that cannot fit: rules are created before any
// is deleted (make before break), so the peak is today's use plus every
// create, Neutron's two default egress rules of each new group included.
func checkQuota(p *Plan, pos diag.Pos) {
	q := p.Quota
	if !q.Known {
		return
	}
	newGroups, newRules := 0, 0
	for _, g := range p.Groups {
		if g.Create {
			newGroups++
			newRules += 2
		}
		newRules += len(g.Add)
	}
	if q.GroupLimit >= 0 && newGroups > 0 && q.GroupsUsed+newGroups > q.GroupLimit {
		p.Findings.Add(diag.CodeSGQuota, pos,
			"project %s/%s: %d new security group(s) would exceed the quota (%d of %d used); raise quota security_group or free some first — nothing was changed",
			p.Cloud, p.Project, newGroups, q.GroupsUsed, q.GroupLimit)
	}
	if q.RuleLimit >= 0 && newRules > 0 && q.RulesUsed+newRules > q.RuleLimit {
		p.Findings.Add(diag.CodeSGQuota, pos,
			"project %s/%s: the plan creates %d rule(s) before deleting any (make before break), which would exceed the quota (%d of %d used); raise quota security_group_rule to at least %d — nothing was changed",
			p.Cloud, p.Project, newRules, q.RulesUsed, q.RuleLimit, q.RulesUsed+newRules)
	}
}
