package intent

import (
	"go.yaml.in/yaml/v3"

	"github.com/intentc/intentc/compiler/diag"
)

// Limits on a document's shape once its aliases are followed. yaml.v3 keeps
// an alias as one node pointing at its anchor, so a parsed tree is small even
// when its expansion is not: a "billion laughs" file, a 600 KB file whose
// 20,000-key mapping is aliased 100,000 times, or an anchor that contains its
// own alias (a cycle). Whoever walks the expansion later (the decoder, lint,
// JSON conversion) would spend unbounded time, memory or stack on it, so
// every document is measured first, with a walk that itself stops at the
// limits.
const (
	// maxAliasExpansion bounds the nodes a document gains through aliases.
	// Intent files need no aliases at all; this leaves room for the odd
	// shared list in a hand-written manifest.
	maxAliasExpansion = 1 << 16
	// maxOtherDepth bounds the nesting of non-intent documents. yaml.v3
	// refuses more than 10,000 levels in the text; aliases can stack anchors
	// far deeper than that.
	maxOtherDepth = 10000
)

// shapeGuard walks a document's expansion within a budget.
type shapeGuard struct {
	file      string
	maxDepth  int
	extra     int                 // nodes visited inside alias expansions
	expanding map[*yaml.Node]bool // anchors being expanded (cycle detection)
	outer     *yaml.Node          // outermost alias being expanded, for the position
}

// checkShape reports IC1010 for a document whose aliases refer to themselves
// or expand too far and IC1009 for one nested deeper than maxDepth (counting
// through aliases). It returns false when it reported either; the caller then
// drops the document.
func checkShape(file string, root *yaml.Node, maxDepth int, diags *diag.List) bool {
	g := &shapeGuard{file: file, maxDepth: maxDepth, expanding: map[*yaml.Node]bool{}}
	return g.walk(root, 0, diags)
}

func (g *shapeGuard) at(n *yaml.Node) diag.Pos {
	return diag.Pos{File: g.file, Line: n.Line, Col: n.Column}
}

func (g *shapeGuard) walk(n *yaml.Node, depth int, diags *diag.List) bool {
	if depth > g.maxDepth {
		at := n
		if g.outer != nil {
			at = g.outer // the alias whose expansion goes too deep
		}
		diags.Add(diag.CodeTooDeep, g.at(at), "nesting deeper than %d levels", g.maxDepth)
		return false
	}
	if g.outer != nil {
		g.extra++
		if g.extra > maxAliasExpansion {
			diags.Add(diag.CodeAliases, g.at(g.outer), "alias *%s expands the document by more than %d nodes; refusing it", g.outer.Value, maxAliasExpansion)
			return false
		}
	}
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		target := n.Alias
		if g.expanding[target] {
			diags.Add(diag.CodeAliases, g.at(n), "alias *%s refers to a node that contains it; refusing the endless expansion", n.Value)
			return false
		}
		g.expanding[target] = true
		if g.outer == nil {
			g.outer = n
			defer func() { g.outer = nil }()
		}
		defer delete(g.expanding, target)
		return g.walk(target, depth, diags)
	}
	for _, c := range n.Content {
		if !g.walk(c, depth+1, diags) {
			return false
		}
	}
	return true
}
