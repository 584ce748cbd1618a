package report

import (
	"encoding/json"
	"io"
	"net/url"
	"path/filepath"
	"slices"
	"strings"

	"github.com/intentc/intentc/compiler/diag"
)

// SARIFSchema is the schema the document names: the OASIS 2.1.0 schema
// (errata 01), which testdata/lint/sarif-schema-2.1.0.json holds and a test
// validates every golden document against.
const SARIFSchema = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"

// The subset of SARIF 2.1.0 intentc writes. Field order follows the
// specification's examples; omitempty keeps optional properties out rather
// than writing empty values the schema would refuse (a region needs
// startLine >= 1).
type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool sarifTool `json:"tool"`
	// ColumnKind: yaml.v3 columns count characters, not the UTF-16 code
	// units SARIF assumes by default.
	ColumnKind string        `json:"columnKind"`
	Results    []sarifResult `json:"results"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	Version        string      `json:"version,omitempty"`
	InformationURI string      `json:"informationUri,omitempty"`
	Rules          []sarifRule `json:"rules"`
}

type sarifRule struct {
	ID                   string        `json:"id"`
	ShortDescription     sarifText     `json:"shortDescription"`
	FullDescription      sarifText     `json:"fullDescription"`
	Help                 sarifHelp     `json:"help"`
	DefaultConfiguration sarifConfig   `json:"defaultConfiguration"`
	Properties           sarifRuleProp `json:"properties"`
}

type sarifText struct {
	Text string `json:"text"`
}

type sarifHelp struct {
	Text     string `json:"text"`
	Markdown string `json:"markdown"`
}

type sarifConfig struct {
	Level string `json:"level"`
}

type sarifRuleProp struct {
	Tags []string `json:"tags"`
}

type sarifResult struct {
	RuleID           string            `json:"ruleId"`
	RuleIndex        int               `json:"ruleIndex"`
	Level            string            `json:"level"`
	Message          sarifText         `json:"message"`
	Locations        []sarifLocation   `json:"locations,omitempty"`
	RelatedLocations []sarifRelatedLoc `json:"relatedLocations,omitempty"`
}

type sarifLocation struct {
	PhysicalLocation sarifPhysical `json:"physicalLocation"`
}

type sarifRelatedLoc struct {
	ID               int           `json:"id"`
	PhysicalLocation sarifPhysical `json:"physicalLocation"`
	Message          sarifText     `json:"message"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifact `json:"artifactLocation"`
	Region           *sarifRegion  `json:"region,omitempty"`
}

type sarifArtifact struct {
	URI       string `json:"uri"`
	URIBaseID string `json:"uriBaseId,omitempty"`
}

type sarifRegion struct {
	StartLine   int `json:"startLine"`
	StartColumn int `json:"startColumn,omitempty"`
}

// writeSARIF prints one run: the rules the findings use (in code order,
// with the code table's title, help and example) and one result per
// finding, located in its file.
func writeSARIF(w io.Writer, diags diag.List, opts Options) error {
	var codes []diag.Code
	for _, d := range diags {
		if !slices.Contains(codes, d.Code) {
			codes = append(codes, d.Code)
		}
	}
	slices.Sort(codes)
	rules := make([]sarifRule, len(codes))
	for i, c := range codes {
		rules[i] = ruleOf(c)
	}
	results := make([]sarifResult, 0, len(diags))
	for _, d := range diags {
		r := sarifResult{
			RuleID:    string(d.Code),
			RuleIndex: slices.Index(codes, d.Code),
			Level:     level(d.Severity),
			Message:   sarifText{d.Message},
		}
		pos := d.Pos
		if pos.File == "" && opts.Fallback != "" {
			pos = diag.Pos{File: opts.Fallback}
		}
		if pos.File != "" {
			r.Locations = []sarifLocation{{physical(pos)}}
		}
		for i, rel := range d.Related {
			if rel.Pos.File == "" {
				continue
			}
			r.RelatedLocations = append(r.RelatedLocations, sarifRelatedLoc{ID: i + 1, PhysicalLocation: physical(rel.Pos), Message: sarifText{rel.Message}})
		}
		results = append(results, r)
	}
	log := sarifLog{
		Schema:  SARIFSchema,
		Version: "2.1.0",
		Runs: []sarifRun{{
			Tool:       sarifTool{sarifDriver{Name: "intentc", Version: opts.ToolVersion, Rules: rules}},
			ColumnKind: "unicodeCodePoints",
			Results:    results,
		}},
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(log)
}

func ruleOf(c diag.Code) sarifRule {
	info, ok := c.Info()
	if !ok {
		info = diag.CodeInfo{Code: c, Severity: diag.Error, Title: string(c), Doc: string(c)}
	}
	text := info.Doc
	md := "**" + info.Title + "**\n\n" + info.Doc
	if info.Example != "" {
		text += "\n\nExample:\n" + info.Example
		md += "\n\nExample:\n\n```yaml\n" + info.Example + "\n```"
	}
	return sarifRule{
		ID:                   string(c),
		ShortDescription:     sarifText{info.Title},
		FullDescription:      sarifText{info.Doc},
		Help:                 sarifHelp{Text: text, Markdown: md},
		DefaultConfiguration: sarifConfig{level(info.Severity)},
		Properties:           sarifRuleProp{Tags: []string{"intentc", category(c)}},
	}
}

// category names a code's range (DESIGN §6), shown as a tag in code
// scanning's rule filter.
func category(c diag.Code) string {
	if len(c) < 3 {
		return "other"
	}
	switch c[2] {
	case '1':
		return "parse"
	case '2':
		return "semantic"
	case '3':
		return "emit"
	case '4':
		return "policy"
	case '5':
		return "cross-layer"
	}
	return "other"
}

func level(s diag.Severity) string {
	switch s {
	case diag.Error:
		return "error"
	case diag.Warning:
		return "warning"
	}
	return "note"
}

func physical(p diag.Pos) sarifPhysical {
	ph := sarifPhysical{ArtifactLocation: artifact(p.File)}
	if p.Line > 0 {
		ph.Region = &sarifRegion{StartLine: p.Line}
		if p.Col > 0 {
			ph.Region.StartColumn = p.Col
		}
	}
	return ph
}

// artifact turns a path into a URI reference: relative paths stay
// relative (to the checkout root, %SRCROOT%, where CI runs intentc) with
// forward slashes and percent-encoding; absolute ones become file URIs.
func artifact(p string) sarifArtifact {
	slash := filepath.ToSlash(p)
	if filepath.IsAbs(p) {
		if !strings.HasPrefix(slash, "/") {
			slash = "/" + slash // a Windows drive path
		}
		return sarifArtifact{URI: (&url.URL{Scheme: "file", Path: slash}).String()}
	}
	// url.URL escapes what a path segment cannot hold, and prefixes "./"
	// when the first segment has a colon (it would read as a scheme).
	return sarifArtifact{URI: (&url.URL{Path: slash}).String(), URIBaseID: "%SRCROOT%"}
}
