package neutron

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/security/groups"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/ports"
)

// Observed is what the project holds: every group visible to the
// credentials with its rules, the project's ports, and its quota.
type Observed struct {
	Groups []*ObservedGroup
	Ports  []*Port
	Quota  Quota
	// Notes explain what could not be looked at (no Nova, no quota API).
	Notes []string
}

// ObservedGroup is a Neutron security group as listed.
type ObservedGroup struct {
	ID, Name, Description string
	ProjectID             string
	Tags                  []string
	CreatedAt             string
	Rules                 []*Rule
}

// Owned reports whether the group carries intentc's tag.
func (g *ObservedGroup) Tagged() bool { return slices.Contains(g.Tags, TagManagedBy) }

// Port is a Neutron port and what filters it.
type Port struct {
	ID, Name    string
	DeviceID    string
	DeviceOwner string
	// ServerName and ServerMetadata are the Nova server's, when Nova was asked.
	ServerName     string
	ServerMetadata map[string]string
	SecurityGroups []string // IDs
	// PortSecurity is false when port security is disabled: then no group
	// filters the port at all.
	PortSecurity bool
	FixedIPs     []string
}

// Quota is the project's limit and usage of groups and rules; -1 limits are
// unlimited, and Known is false when the quota API could not be read.
type Quota struct {
	Known                 bool
	GroupLimit, RuleLimit int
	GroupsUsed, RulesUsed int
}

// NodeSelector finds the node ports of a cluster beyond those that already
// carry one of intentc's groups.
type NodeSelector struct {
	// NamePrefix matches a port's name, or the name of the Nova server the
	// port belongs to when Nova is reachable.
	NamePrefix string
	// Metadata matches Nova server metadata (all pairs); it needs Nova.
	Metadata map[string]string
}

func (s NodeSelector) empty() bool { return s.NamePrefix == "" && len(s.Metadata) == 0 }

// apiRule decodes a rule with its ports as pointers: gophercloud's
// SecGroupRule turns a null port into 0, which would make ICMP type 0 and
// "any" the same.
type apiRule struct {
	ID                   string  `json:"id"`
	Direction            string  `json:"direction"`
	Ethertype            string  `json:"ethertype"`
	Protocol             *string `json:"protocol"`
	PortRangeMin         *int    `json:"port_range_min"`
	PortRangeMax         *int    `json:"port_range_max"`
	RemoteIPPrefix       *string `json:"remote_ip_prefix"`
	RemoteGroupID        *string `json:"remote_group_id"`
	RemoteAddressGroupID *string `json:"remote_address_group_id"`
	Description          *string `json:"description"`
	ProjectID            string  `json:"project_id"`
	SecurityGroupID      string  `json:"security_group_id"`
}

func (a apiRule) rule() *Rule {
	s := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	return &Rule{ID: a.ID, Direction: a.Direction, Ethertype: a.Ethertype, Protocol: s(a.Protocol),
		PortMin: a.PortRangeMin, PortMax: a.PortRangeMax, RemoteIPPrefix: s(a.RemoteIPPrefix),
		RemoteGroupID: s(a.RemoteGroupID), RemoteAddressGroupID: s(a.RemoteAddressGroupID),
		Description: s(a.Description), ProjectID: a.ProjectID}
}

type apiGroup struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	ProjectID   string    `json:"project_id"`
	Tags        []string  `json:"tags"`
	CreatedAt   string    `json:"created_at"`
	Rules       []apiRule `json:"security_group_rules"`
}

// Observe lists the project's groups (with their rules), its ports and its
// quota. One list call returns every group with its rules, so a no-op plan
// costs a few requests whatever the number of rules.
func Observe(ctx context.Context, c *Client, sel NodeSelector) (*Observed, error) {
	obs := &Observed{}
	pages, err := groups.List(c.Network, groups.ListOpts{ProjectID: c.ProjectID}).AllPages(ctx)
	if err != nil {
		return nil, apiError("listing security groups", err)
	}
	var gl struct {
		SecurityGroups []apiGroup `json:"security_groups"`
	}
	if err := pages.(groups.SecGroupPage).ExtractInto(&gl); err != nil {
		return nil, fmt.Errorf("listing security groups: %w", err)
	}
	for _, ag := range gl.SecurityGroups {
		g := &ObservedGroup{ID: ag.ID, Name: ag.Name, Description: ag.Description, ProjectID: ag.ProjectID,
			Tags: ag.Tags, CreatedAt: ag.CreatedAt}
		for _, ar := range ag.Rules {
			g.Rules = append(g.Rules, ar.rule())
		}
		slices.SortFunc(g.Rules, compareRules) // Neutron's order is not stable
		obs.Groups = append(obs.Groups, g)
	}
	slices.SortFunc(obs.Groups, func(a, b *ObservedGroup) int {
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.CreatedAt, b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	if err := observePorts(ctx, c, sel, obs); err != nil {
		return nil, err
	}
	obs.Quota, err = readQuota(ctx, c, obs)
	if err != nil {
		obs.Notes = append(obs.Notes, fmt.Sprintf("quota not checked: %v", err))
	}
	return obs, nil
}

func observePorts(ctx context.Context, c *Client, sel NodeSelector, obs *Observed) error {
	pages, err := ports.List(c.Network, ports.ListOpts{ProjectID: c.ProjectID}).AllPages(ctx)
	if err != nil {
		return apiError("listing ports", err)
	}
	var pl struct {
		Ports []struct {
			ID             string   `json:"id"`
			Name           string   `json:"name"`
			DeviceID       string   `json:"device_id"`
			DeviceOwner    string   `json:"device_owner"`
			SecurityGroups []string `json:"security_groups"`
			PortSecurity   *bool    `json:"port_security_enabled"`
			FixedIPs       []struct {
				IP string `json:"ip_address"`
			} `json:"fixed_ips"`
		} `json:"ports"`
	}
	if err := pages.(ports.PortPage).ExtractInto(&pl); err != nil {
		return fmt.Errorf("listing ports: %w", err)
	}
	for _, ap := range pl.Ports {
		p := &Port{ID: ap.ID, Name: ap.Name, DeviceID: ap.DeviceID, DeviceOwner: ap.DeviceOwner,
			SecurityGroups: slices.Sorted(slices.Values(ap.SecurityGroups)),
			// Absent means the port_security extension is off: groups apply.
			PortSecurity: ap.PortSecurity == nil || *ap.PortSecurity}
		for _, ip := range ap.FixedIPs {
			p.FixedIPs = append(p.FixedIPs, ip.IP)
		}
		obs.Ports = append(obs.Ports, p)
	}
	slices.SortFunc(obs.Ports, func(a, b *Port) int { return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.ID, b.ID)) })
	if sel.empty() {
		return nil
	}
	if c.Compute == nil {
		if len(sel.Metadata) > 0 {
			return fmt.Errorf("finding nodes by server metadata needs Nova, and %s has no compute endpoint: select node ports by name prefix instead", c.Describe)
		}
		obs.Notes = append(obs.Notes, "no Nova: the node name prefix is matched against port names")
		return nil
	}
	spages, err := servers.List(c.Compute, servers.ListOpts{}).AllPages(ctx)
	if err != nil {
		return apiError("listing servers (Nova)", err)
	}
	var sl []struct {
		ID       string            `json:"id"`
		Name     string            `json:"name"`
		Metadata map[string]string `json:"metadata"`
	}
	if err := servers.ExtractServersInto(spages, &sl); err != nil {
		return fmt.Errorf("listing servers (Nova): %w", err)
	}
	byID := map[string]int{}
	for i, s := range sl {
		byID[s.ID] = i
	}
	for _, p := range obs.Ports {
		if i, ok := byID[p.DeviceID]; ok {
			p.ServerName, p.ServerMetadata = sl[i].Name, sl[i].Metadata
		}
	}
	return nil
}

// matchesNode reports whether the selector names the port.
func matchesNode(p *Port, sel NodeSelector) bool {
	if sel.empty() {
		return false
	}
	if sel.NamePrefix != "" && !strings.HasPrefix(p.Name, sel.NamePrefix) &&
		(p.ServerName == "" || !strings.HasPrefix(p.ServerName, sel.NamePrefix)) {
		return false
	}
	for k, v := range sel.Metadata {
		if md, ok := p.ServerMetadata[k]; !ok || md != v {
			return false
		}
	}
	return true
}

// readQuota reads the project's limits and usage (the quota_details
// extension), falling back to the limits and counting what was listed.
func readQuota(ctx context.Context, c *Client, obs *Observed) (Quota, error) {
	type detail struct {
		Limit int `json:"limit"`
		Used  int `json:"used"`
	}
	var d struct {
		Quota struct {
			SecurityGroup     detail `json:"security_group"`
			SecurityGroupRule detail `json:"security_group_rule"`
		} `json:"quota"`
	}
	_, err := c.Network.Get(ctx, c.Network.ServiceURL("quotas", c.ProjectID, "details"), &d, nil)
	if err == nil {
		q := d.Quota
		return Quota{Known: true, GroupLimit: q.SecurityGroup.Limit, RuleLimit: q.SecurityGroupRule.Limit,
			GroupsUsed: q.SecurityGroup.Used, RulesUsed: q.SecurityGroupRule.Used}, nil
	}
	var l struct {
		Quota struct {
			SecurityGroup     int `json:"security_group"`
			SecurityGroupRule int `json:"security_group_rule"`
		} `json:"quota"`
	}
	if _, err2 := c.Network.Get(ctx, c.Network.ServiceURL("quotas", c.ProjectID), &l, nil); err2 != nil {
		return Quota{}, apiError("reading the project's quota", err2)
	}
	q := Quota{Known: true, GroupLimit: l.Quota.SecurityGroup, RuleLimit: l.Quota.SecurityGroupRule}
	for _, g := range obs.Groups {
		if g.ProjectID == c.ProjectID {
			q.GroupsUsed++
			q.RulesUsed += len(g.Rules)
		}
	}
	return q, nil
}
