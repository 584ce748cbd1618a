package neutron

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"

	"github.com/intentc/intentc/compiler/diag"
	"github.com/intentc/intentc/compiler/openstack"
)

// OwnerMarker starts the description of every group and rule intentc
// writes (compiler/openstack's provenance). With the group's name it is how a
// group created by a run that was killed before tagging it is recognised
// and adopted rather than created twice.
const OwnerMarker = "intentc:"

// TagManagedBy is the Neutron tag of the groups intentc owns.
const TagManagedBy = openstack.TagManagedBy

// maxDescription is Neutron's limit (a 400 HTTPBadRequest above it).
const maxDescription = 255

// Desired is one security-groups document: what one OpenStack project
// should hold.
type Desired struct {
	// Source is where it was read from (a file, or the compiled path).
	Source         string
	Cloud, Project string
	// Audit documents (security-groups.audit.json) describe groups intentc
	// does not own: they are compared and reported, never written.
	Audit  bool
	Groups []*DesiredGroup
}

// DesiredGroup is one group and its ingress rules.
type DesiredGroup struct {
	Name, Description string
	Tags              []string
	Rules             []*Rule
}

// IsDocumentPath reports whether a compiled or out/ path is a
// security-groups document, and whether it is the audit form.
func IsDocumentPath(p string) (ok, audit bool) {
	switch path.Base(p) {
	case openstack.FileJSON:
		return true, false
	case openstack.FileAudit:
		return true, true
	}
	return false, false
}

// ParseDocument reads a security-groups.json (or .audit.json) document.
// Errors are reported at source (line:col for syntax errors) with IC3401.
func ParseDocument(source string, data []byte, audit bool) (*Desired, diag.List) {
	var diags diag.List
	pos := diag.Pos{File: source}
	var doc openstack.Document
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		diags.Add(diag.CodeSGDocument, jsonErrorPos(source, data, err), "not a security-groups document: %v", err)
		return nil, diags
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		diags.Add(diag.CodeSGDocument, pos, "not a security-groups document: data after the top-level object")
		return nil, diags
	}
	d := &Desired{Source: source, Cloud: doc.Cloud, Project: doc.Project, Audit: audit}
	if doc.Cloud == "" || doc.Project == "" {
		diags.Add(diag.CodeSGDocument, pos, "cloud and project must be set")
	}
	names := map[string]bool{}
	for _, g := range doc.SecurityGroups {
		if g.Name == "" {
			diags.Add(diag.CodeSGDocument, pos, "a security group without a name")
			continue
		}
		if names[g.Name] {
			diags.Add(diag.CodeSGDocument, pos, "security group %q appears twice", g.Name)
			continue
		}
		names[g.Name] = true
	}
	for gi, g := range doc.SecurityGroups {
		where := fmt.Sprintf("security_groups[%d] (%s)", gi, g.Name)
		if len(g.Description) > maxDescription {
			diags.Add(diag.CodeSGDocument, pos, "%s: description longer than %d characters (Neutron refuses it)", where, maxDescription)
		}
		if !audit && !strings.HasPrefix(g.Description, OwnerMarker) {
			// The marker is how a group created by a killed run is adopted.
			diags.Add(diag.CodeSGDocument, pos, "%s: an owned group's description must start with %q", where, OwnerMarker)
		}
		dg := &DesiredGroup{Name: g.Name, Description: g.Description, Tags: slices.Clone(g.Tags)}
		seen := map[string]int{}
		for ri, jr := range g.Rules {
			rw := fmt.Sprintf("%s.rules[%d]", where, ri)
			r, err := ruleFromJSON(jr, names)
			if err != nil {
				diags.Add(diag.CodeSGDocument, pos, "%s: %v", rw, err)
				continue
			}
			if prev, dup := seen[r.Key()]; dup {
				diags.Add(diag.CodeSGDocument, pos, "%s: the same Neutron rule as rules[%d] (%s)", rw, prev, r)
				continue
			}
			seen[r.Key()] = ri
			dg.Rules = append(dg.Rules, r)
		}
		d.Groups = append(d.Groups, dg)
	}
	slices.SortFunc(d.Groups, func(a, b *DesiredGroup) int { return cmp.Compare(a.Name, b.Name) })
	if diags.HasErrors() {
		return nil, diags.Sorted()
	}
	return d, diags
}

// ruleFromJSON checks what Neutron would refuse, so that a bad document
// fails before anything is written.
func ruleFromJSON(jr openstack.JSONRule, groups map[string]bool) (*Rule, error) {
	r := &Rule{Direction: jr.Direction, Ethertype: jr.Ethertype, Protocol: jr.Protocol,
		RemoteIPPrefix: jr.RemoteIPPrefix, RemoteGroup: jr.RemoteGroup, Description: jr.Description}
	if jr.PortRangeMin != 0 || jr.PortRangeMax != 0 {
		r.PortMin, r.PortMax = intPtr(int(jr.PortRangeMin)), intPtr(int(jr.PortRangeMax))
	}
	if r.Direction != "ingress" && r.Direction != "egress" {
		return nil, fmt.Errorf("direction must be ingress or egress, not %q", r.Direction)
	}
	if r.Ethertype != "IPv4" && r.Ethertype != "IPv6" {
		return nil, fmt.Errorf("ethertype must be IPv4 or IPv6, not %q", r.Ethertype)
	}
	n, ok := protocolNumber(r.Protocol)
	if !ok {
		return nil, fmt.Errorf("unknown protocol %q", r.Protocol)
	}
	if r.PortMin != nil {
		switch {
		case portProtocols[n]:
			if *r.PortMin < 1 || *r.PortMax > 65535 || *r.PortMin > *r.PortMax {
				return nil, fmt.Errorf("port range %d-%d is not within 1-65535 with min <= max", *r.PortMin, *r.PortMax)
			}
		case icmpProtocols[n]:
			if *r.PortMin > 255 || *r.PortMax > 255 {
				return nil, fmt.Errorf("ICMP type/code %d/%d above 255", *r.PortMin, *r.PortMax)
			}
		default:
			return nil, fmt.Errorf("protocol %q takes no port range", r.Protocol)
		}
	}
	if r.RemoteIPPrefix != "" && r.RemoteGroup != "" {
		return nil, errors.New("only one of remote_ip_prefix and remote_group may be given")
	}
	if r.RemoteIPPrefix != "" {
		p, err := parsePrefix(r.RemoteIPPrefix)
		if err != nil {
			return nil, err
		}
		if (p.Addr().Is4() && r.Ethertype != "IPv4") || (p.Addr().Is6() && r.Ethertype != "IPv6") {
			return nil, fmt.Errorf("ethertype %s conflicts with remote_ip_prefix %s", r.Ethertype, r.RemoteIPPrefix)
		}
	}
	if r.RemoteGroup != "" && !groups[r.RemoteGroup] {
		return nil, fmt.Errorf("remote_group %q is not a group of this document", r.RemoteGroup)
	}
	if len(r.Description) > maxDescription {
		return nil, fmt.Errorf("description longer than %d characters (Neutron refuses it)", maxDescription)
	}
	return r, nil
}

// jsonErrorPos turns a decoder error's byte offset into line:col.
func jsonErrorPos(source string, data []byte, err error) diag.Pos {
	var off int64 = -1
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		off = se.Offset
	case errors.As(err, &te):
		off = te.Offset
	}
	if off < 0 || off > int64(len(data)) {
		return diag.Pos{File: source}
	}
	before := data[:off]
	line := bytes.Count(before, []byte("\n")) + 1
	col := int(off) - (bytes.LastIndexByte(before, '\n') + 1)
	if col < 1 {
		col = 1
	}
	return diag.Pos{File: source, Line: line, Col: col}
}
