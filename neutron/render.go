package neutron

import (
	"fmt"
	"io"
	"strings"
)

// Render writes the plan as people read it, in the spirit of terraform
// plan: per group, "+" for what will be created, "-" for what will be
// deleted, "~" for what differs but is kept or updated in place; then the
// node ports and a summary line. Output is deterministic.
func (p *Plan) Render(w io.Writer) {
	where := fmt.Sprintf("%s/%s", p.Cloud, p.Project)
	if p.ProjectID != "" && p.ProjectID != p.Project {
		where += fmt.Sprintf(" (project ID %s)", p.ProjectID)
	}
	mode := "security groups"
	if p.Audit {
		mode = "audited security groups (read only)"
	}
	fmt.Fprintf(w, "%s in %s, from %s\n", mode, where, p.Source)
	for _, g := range p.Groups {
		fmt.Fprintln(w)
		p.renderGroup(w, g)
	}
	for _, o := range p.Orphans {
		fmt.Fprintf(w, "\n  group %s (%s): intentc's, not in this intent; left as it is\n", o.Name, o.ID)
	}
	if len(p.Nodes) > 0 {
		fmt.Fprintf(w, "\nnode ports (%d): groups attached and their effective ingress union\n", len(p.Nodes))
		for _, n := range p.Nodes {
			renderNode(w, n)
		}
	}
	for _, note := range p.Notes {
		fmt.Fprintf(w, "\nnote: %s\n", note)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, p.SummaryLine())
}

func (p *Plan) renderGroup(w io.Writer, g *GroupPlan) {
	switch {
	case p.Audit && g.Observed == nil:
		fmt.Fprintf(w, "! group %s: not found\n", g.Name())
		return
	case p.Audit:
		fmt.Fprintf(w, "  group %s (%s, audited)\n", g.Name(), g.Observed.ID)
		for _, r := range g.Missing {
			fmt.Fprintf(w, "    ! missing  %s%s\n", r, comment(r.Description))
		}
		for _, r := range g.Extra {
			fmt.Fprintf(w, "    ? extra    %s%s\n", r, comment(r.Description))
		}
		if len(g.Missing) == 0 && len(g.Extra) == 0 {
			fmt.Fprintf(w, "    every expected rule is present, and no other\n")
		}
		return
	case g.Create:
		fmt.Fprintf(w, "+ group %s (create, tag %s)%s\n", g.Name(), TagManagedBy, comment(g.Desired.Description))
	case g.Observed == nil:
		fmt.Fprintf(w, "! group %s: not intentc's, left alone\n", g.Name())
		return
	default:
		var what []string
		if g.Tag {
			what = append(what, "adopt: tag "+TagManagedBy)
		}
		if g.Describe {
			what = append(what, fmt.Sprintf("description %q -> %q", g.Observed.Description, g.Desired.Description))
		}
		mark := "~"
		if len(what) == 0 {
			mark = " "
			what = append(what, "exists")
		}
		fmt.Fprintf(w, "%s group %s (%s; %s)\n", mark, g.Name(), g.Observed.ID, strings.Join(what, "; "))
	}
	for _, r := range g.Add {
		fmt.Fprintf(w, "    + %s%s\n", r, comment(r.Description))
	}
	for _, s := range g.Stale {
		fmt.Fprintf(w, "    ~ %s (provenance %q -> %q; kept)\n", s.Desired, s.Observed.Description, s.Desired.Description)
	}
	for _, rm := range g.Remove {
		fmt.Fprintf(w, "    - %s (%s)%s\n", rm.Rule, rm.Reason, comment(rm.Rule.Description))
	}
	if g.Unchanged > 0 {
		fmt.Fprintf(w, "      %d rule(s) unchanged\n", g.Unchanged)
	}
}

func renderNode(w io.Writer, n *NodeReport) {
	var gs []string
	for _, g := range n.Groups {
		s := g.Name
		if g.Intentc {
			s += " (intentc)"
		}
		gs = append(gs, s)
	}
	if len(gs) == 0 {
		gs = append(gs, "none")
	}
	fmt.Fprintf(w, "  port %s: groups %s\n", portLabel(n.Port), strings.Join(gs, ", "))
	for _, u := range n.Union {
		flag := " "
		for _, x := range n.Wider {
			if x == u {
				flag = "!"
			}
		}
		fmt.Fprintf(w, "    %s %s  [%s]\n", flag, u.Rule, strings.Join(u.Groups, ", "))
	}
	for _, warn := range n.Warnings {
		fmt.Fprintf(w, "    warning: %s\n", warn)
	}
}

func comment(desc string) string {
	if desc == "" {
		return ""
	}
	const max = 100
	if len(desc) > max {
		desc = desc[:max] + "…"
	}
	return "  # " + desc
}

// SummaryLine is the plan's last line.
func (p *Plan) SummaryLine() string {
	where := p.Cloud + "/" + p.Project
	if p.Audit {
		missing, extra := 0, 0
		for _, g := range p.Groups {
			missing += len(g.Missing)
			extra += len(g.Extra)
		}
		return fmt.Sprintf("Audit %s: %d expected rule(s) missing, %d other rule(s); nothing is ever changed in audit mode.", where, missing, extra)
	}
	c := p.Counts()
	if !p.HasChanges() {
		s := fmt.Sprintf("No changes in %s: the security groups match the intent (%d rule(s)).", where, c.Unchanged+c.Stale)
		if c.Stale > 0 {
			s += fmt.Sprintf(" %d rule(s) have a stale description.", c.Stale)
		}
		return s
	}
	s := fmt.Sprintf("Plan for %s: %d group(s) to create, %d to adopt, %d to update; %d rule(s) to add, %d to remove",
		where, c.GroupsCreate, c.GroupsAdopt, c.GroupsUpdate, c.RulesAdd, c.RulesRemove)
	if c.RulesDrift > 0 {
		s += fmt.Sprintf(" (%d drift)", c.RulesDrift)
	}
	s += fmt.Sprintf(", %d unchanged.", c.Unchanged)
	return s
}

// String is the apply summary's one line.
func (s *Summary) String() string {
	out := fmt.Sprintf("%d group(s) created, %d tagged, %d updated; %d rule(s) created, %d already present, %d deleted, %d already gone",
		s.GroupsCreated, s.GroupsTagged, s.GroupsUpdated, s.RulesCreated, s.RulesPresent, s.RulesDeleted, s.RulesGone)
	if s.RulesStale > 0 {
		out += fmt.Sprintf(", %d replaced for their description", s.RulesStale)
	}
	if len(s.Failed) > 0 {
		out += fmt.Sprintf("; %d rule(s) refused by Neutron", len(s.Failed))
	}
	return out + fmt.Sprintf(" (%d request(s), %s)", s.Requests, s.Duration.Round(10*1e6))
}
