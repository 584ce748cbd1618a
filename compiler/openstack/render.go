package openstack

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"

	"go.yaml.in/yaml/v3"
)

// The JSON form. Fields are declared in key order so the output is also
// canonical (sorted-key) JSON; names are Neutron's request-body names.

// Document is the content of security-groups.json and
// security-groups.audit.json.
type Document struct {
	Cloud          string      `json:"cloud"`
	Project        string      `json:"project"`
	SecurityGroups []JSONGroup `json:"security_groups"`
}

// JSONGroup is a POST /v2.0/security-groups body plus its tags
// (PUT /v2.0/security-groups/{id}/tags) and its rules.
type JSONGroup struct {
	Description string     `json:"description"`
	Name        string     `json:"name"`
	Rules       []JSONRule `json:"rules"`
	Tags        []string   `json:"tags,omitempty"`
}

// JSONRule is a POST /v2.0/security-group-rules body without
// security_group_id (the enclosing group) and with remote_group, the remote
// group's name in the same document, in place of remote_group_id.
type JSONRule struct {
	Description    string `json:"description"`
	Direction      string `json:"direction"`
	Ethertype      string `json:"ethertype"`
	PortRangeMax   int32  `json:"port_range_max,omitempty"`
	PortRangeMin   int32  `json:"port_range_min,omitempty"`
	Protocol       string `json:"protocol,omitempty"`
	RemoteGroup    string `json:"remote_group,omitempty"`
	RemoteIPPrefix string `json:"remote_ip_prefix,omitempty"`
}

// RenderJSON renders groups (sorted by name) as a Document. Owned groups
// carry the managed-by tag; audited ones belong to someone else.
func RenderJSON(cloud, project string, groups []*Group, owned bool) []byte {
	doc := Document{Cloud: cloud, Project: project, SecurityGroups: []JSONGroup{}}
	for _, g := range groups {
		jg := JSONGroup{Description: g.Description, Name: g.Name, Rules: []JSONRule{}}
		if owned {
			jg.Tags = []string{TagManagedBy}
		}
		for _, r := range g.Rules {
			desc, _ := r.Description()
			jr := JSONRule{Description: desc, Direction: dirIngress, Ethertype: r.Ethertype, Protocol: r.Protocol,
				PortRangeMin: r.PortMin, PortRangeMax: r.PortMax, RemoteGroup: r.RemoteGroup}
			if r.RemoteIPPrefix.IsValid() {
				jr.RemoteIPPrefix = r.RemoteIPPrefix.String()
			}
			jg.Rules = append(jg.Rules, jr)
		}
		doc.SecurityGroups = append(doc.SecurityGroups, jg)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		panic(fmt.Sprintf("openstack: cannot encode %T: %v", doc, err)) // plain structs always encode
	}
	return buf.Bytes()
}

// HeatTemplateVersion is Rocky's, the first with every function used here
// and still accepted by current Heat.
const HeatTemplateVersion = "2018-08-31"

var unsafeResourceChars = regexp.MustCompile(`[^A-Za-z0-9_-]`)

// GroupResourceName is the Heat resource name of a group: readable, and
// unique per group name (a hash is added when the name had to be changed).
func GroupResourceName(group string) string {
	safe := unsafeResourceChars.ReplaceAllString(group, "_")
	if safe == group {
		return "sg-" + safe
	}
	return "sg-" + safe + "-" + shortHash(group)
}

// RuleResourceName is the Heat resource name of a rule: its group's, plus a
// hash of the canonical rule (not its position or its provenance), so adding
// a rule, or another reason for one, does not rename (and so replace) the
// others.
func RuleResourceName(group string, r *Rule) string {
	return GroupResourceName(group) + "-rule-" + shortHash(r.Key())
}

func shortHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:6])
}

// RenderHeat renders groups as a Heat template: one OS::Neutron::SecurityGroup
// per group and one OS::Neutron::SecurityGroupRule per rule, each group
// followed by its rules in canonical order. The template is built as a YAML
// node tree because map-based encoders sort keys with yaml's "natural" order,
// which is not transitive for hash-like names and so not deterministic.
func RenderHeat(cloud, project string, groups []*Group) []byte {
	resources := mapping()
	for _, g := range groups {
		gres := GroupResourceName(g.Name)
		// rules: [] is Heat's default, written out: no inline rules, so
		// Neutron's default egress rules stay. Inline rules would also be
		// dangerous: when they change, Heat deletes every rule of the group,
		// the standalone ones included.
		resources.add(gres, mapping().
			add("type", str("OS::Neutron::SecurityGroup")).
			add("properties", mapping().
				add("name", str(g.Name)).
				add("description", str(g.Description)).
				add("rules", &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle})))
		for _, r := range g.Rules {
			desc, _ := r.Description()
			props := mapping().
				add("security_group", getResource(gres)).
				add("description", str(desc)).
				add("direction", str(dirIngress)).
				add("ethertype", str(r.Ethertype)).
				// Always explicit: the resource defaults to tcp.
				add("protocol", str(r.Protocol))
			if r.PortMin != 0 {
				props.add("port_range_min", integer(r.PortMin)).add("port_range_max", integer(r.PortMax))
			}
			if r.RemoteIPPrefix.IsValid() {
				props.add("remote_ip_prefix", str(r.RemoteIPPrefix.String()))
			} else {
				// OS::Neutron::SecurityGroupRule takes the remote group as
				// remote_group and has no remote_mode: that belongs to the
				// inline rules of OS::Neutron::SecurityGroup, where
				// remote_group_id without remote_mode: remote_group_id is
				// dropped and the rule opens to everyone.
				props.add("remote_group", getResource(GroupResourceName(r.RemoteGroup)))
			}
			resources.add(RuleResourceName(g.Name, r), mapping().
				add("type", str("OS::Neutron::SecurityGroupRule")).
				add("properties", props))
		}
	}
	tmpl := mapping().
		add("heat_template_version", str(HeatTemplateVersion)).
		add("description", str(fmt.Sprintf("intentc: security groups of OpenStack project %s/%s (generated; do not edit)", cloud, project))).
		add("resources", resources)
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode((*yaml.Node)(tmpl)); err != nil {
		panic(fmt.Sprintf("openstack: cannot encode the Heat template: %v", err)) // scalars and mappings always encode
	}
	_ = enc.Close()
	return buf.Bytes()
}

// node is a YAML mapping built in order.
type node yaml.Node

func mapping() *node { return &node{Kind: yaml.MappingNode} }

func (n *node) add(key string, v any) *node {
	var vn *yaml.Node
	switch v := v.(type) {
	case *node:
		vn = (*yaml.Node)(v)
	case *yaml.Node:
		vn = v
	}
	n.Content = append(n.Content, str(key), vn)
	return n
}

func str(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s} }

func integer(i int32) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.Itoa(int(i))}
}

func getResource(name string) *node {
	m := mapping().add("get_resource", str(name))
	m.Style = yaml.FlowStyle
	return m
}
