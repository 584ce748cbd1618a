package fastyaml

import (
	"errors"
	"strconv"
	"strings"
	"unicode/utf8"
	"unsafe"

	"go.yaml.in/yaml/v3"
)

// ErrFallback is Parse's refusal: the input is outside the subset it reads,
// and yaml.v3 is to read it (and to say what is wrong, if anything is).
var ErrFallback = errors.New("not in the fast parser's subset")

// maxFlowDepth bounds the nesting of flow collections on one line: the
// parser recurses on them, and a hostile line of a million brackets is
// yaml.v3's to refuse.
const maxFlowDepth = 64

// Parse reads YAML into the same yaml.Node trees yaml.v3 builds (kind,
// tag, style, value, line, column and children; comments are not kept),
// several times faster, or refuses it with ErrFallback.
//
// It reads block mappings and sequences of plain, single- and
// double-quoted scalars, flow collections that open and close on one line
// ({name: a, ports: [80, 443]}) and comments: what intentc writes, and
// most intent and manifests written by hand. It refuses everything else —
// block scalars, anchors, aliases, tags, directives, a comment in place of
// a null, flow collections over several lines, explicit keys, tabs,
// control characters, text other than ASCII before a comment, document end
// markers, escapes that Go and YAML read differently, a document that is
// not a mapping — and whatever yaml.v3 would refuse.
//
// docs are the root mappings of the documents, in order; empty counts the
// documents that hold nothing (a "---" followed by another or by the end),
// which yaml.v3 decodes as null and Parse leaves out.
//
// The strings of the nodes are slices of data, not copies: data must not
// change while they are in use.
func Parse(data []byte) (docs []*yaml.Node, empty int, err error) {
	ascii := true
	for i, b := range data {
		// Printable ASCII and line breaks (\n or \r\n), and other text
		// in comments only (below): yaml.v3 refuses control characters,
		// says where an encoding is wrong and reads a lone \r as a line
		// break.
		if (b < 0x20 && b != '\n' && b != '\r') || b == 0x7f || b == '\r' && (i+1 == len(data) || data[i+1] != '\n') {
			return nil, 0, ErrFallback
		}
		ascii = ascii && b < 0x80
	}
	p := &parser{}
	// Not a copy: a caller that keeps a file's nodes (the proof keeps a
	// whole output's) would otherwise keep a copy of every file too.
	text := unsafe.String(unsafe.SliceData(data), len(data))
	start := 0
	for i := 0; i <= len(text); i++ {
		if i == len(text) || text[i] == '\n' {
			l := strings.TrimSuffix(text[start:i], "\r")
			if !ascii && !asciiBeforeComment(l) || strings.HasPrefix(l, "...") && (len(l) == 3 || l[3] == ' ') {
				return nil, 0, ErrFallback // or a document end marker: rare, and yaml.v3 knows where one may stand
			}
			p.lines = append(p.lines, l)
			start = i + 1
		}
	}
	open := false // a "---" whose document has no node yet
	for {
		p.skipBlank()
		if p.i >= len(p.lines) {
			if open {
				empty++
			}
			return docs, empty, nil
		}
		if l := p.lines[p.i]; l == "---" || strings.HasPrefix(l, "--- ") {
			if strings.TrimSpace(strings.TrimPrefix(l, "---")) != "" {
				return nil, 0, ErrFallback
			}
			if open {
				empty++
			}
			open = true
			p.i++
			continue
		}
		n, err := p.node(0)
		if err != nil {
			return nil, 0, err
		}
		if p.skipBlank(); p.i < len(p.lines) && p.lines[p.i] != "---" && !strings.HasPrefix(p.lines[p.i], "--- ") {
			return nil, 0, ErrFallback // a second node in one document: yaml.v3 says what is wrong
		}
		if n.Kind != yaml.MappingNode {
			return nil, 0, ErrFallback
		}
		docs = append(docs, n)
		open = false
	}
}

// asciiBeforeComment reports whether l is ASCII up to a comment (hand-
// written files have em dashes and names in them), after which it holds
// only what yaml.v3 reads as printable text on one line. yaml.v3 counts
// columns in characters, so text before a node would move it; a " #"
// with no quote before it surely starts a comment.
func asciiBeforeComment(l string) bool {
	i := 0
	for i < len(l) && l[i] < 0x80 {
		i++
	}
	if i == len(l) {
		return true
	}
	c := strings.Index(l[:i], "#")
	if c < 0 || c > 0 && (l[c-1] != ' ' || strings.ContainsAny(l[:c], `"'`)) {
		return false
	}
	for _, r := range l[i:] {
		// yaml.v3's printable characters (YAML 1.1's, as libyaml reads
		// them), less the line breaks NEL, LS and PS and a BOM.
		if r < 0x80 || r >= 0xa0 && r <= 0xd7ff && r != 0x2028 && r != 0x2029 || r >= 0xe000 && r <= 0xfffd && r != 0xfeff || r >= 0x10000 && r <= 0x10ffff && r != utf8.RuneError {
			continue
		}
		return false
	}
	return utf8.ValidString(l[i:])
}

type parser struct {
	lines []string
	i     int
}

// skipBlank moves past blank lines and lines holding only a comment.
func (p *parser) skipBlank() {
	for p.i < len(p.lines) {
		t := strings.TrimLeft(p.lines[p.i], " ")
		if t != "" && !strings.HasPrefix(t, "#") {
			return
		}
		p.i++
	}
}

func indentOf(l string) int { return len(l) - len(strings.TrimLeft(l, " ")) }

// node parses the block node that starts on the current line, whose
// content is at column indent.
func (p *parser) node(indent int) (*yaml.Node, error) {
	p.skipBlank()
	if p.i >= len(p.lines) {
		return nil, ErrFallback
	}
	l := p.lines[p.i]
	if strings.ContainsRune(l, '\t') {
		return nil, ErrFallback
	}
	if indentOf(l) != indent {
		return nil, ErrFallback
	}
	body := l[indent:]
	if body == "-" || strings.HasPrefix(body, "- ") {
		return p.sequence(indent)
	}
	return p.mapping(indent, -1, "")
}

func (p *parser) sequence(indent int) (*yaml.Node, error) {
	seq := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Line: p.i + 1, Column: indent + 1}
	for {
		p.skipBlank()
		if p.i >= len(p.lines) {
			return seq, nil
		}
		l := p.lines[p.i]
		if indentOf(l) != indent {
			if indentOf(l) > indent {
				return nil, ErrFallback
			}
			return seq, nil
		}
		body := l[indent:]
		if body != "-" && !strings.HasPrefix(body, "- ") {
			return seq, nil
		}
		if body == "-" {
			return nil, ErrFallback
		}
		rest := body[2:]
		if strings.HasPrefix(rest, " ") {
			return nil, ErrFallback // the item's indentation is not the dash's plus two
		}
		col := indent + 2
		if k, _, ok := splitKey(rest); ok && k != "" {
			// A mapping whose first key sits on the dash's line.
			m, err := p.mapping(col, p.i, rest)
			if err != nil {
				return nil, err
			}
			seq.Content = append(seq.Content, m)
			continue
		}
		if strings.HasPrefix(rest, "- ") {
			return nil, ErrFallback // a sequence in a sequence on one line
		}
		n, err := scalarNode(rest, p.i+1, col+1)
		if err != nil {
			return nil, err
		}
		p.i++
		seq.Content = append(seq.Content, n)
	}
}

// mapping parses a block mapping at column indent. When firstLine >= 0
// the first key is first (the rest of a "- " line).
func (p *parser) mapping(indent, firstLine int, first string) (*yaml.Node, error) {
	m := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: p.i + 1, Column: indent + 1}
	for {
		var body string
		if firstLine >= 0 {
			body, firstLine = first, -1
		} else {
			p.skipBlank()
			if p.i >= len(p.lines) {
				return m, nil
			}
			l := p.lines[p.i]
			if strings.ContainsRune(l, '\t') {
				return nil, ErrFallback
			}
			in := indentOf(l)
			if in < indent || l == "---" || strings.HasPrefix(l, "--- ") {
				return m, nil
			}
			if in > indent {
				return nil, ErrFallback
			}
			body = l[indent:]
			if body == "-" || strings.HasPrefix(body, "- ") {
				return m, nil
			}
		}
		line := p.i + 1
		k, v, ok := splitKey(body)
		if !ok || len(k) > 1024 { // YAML's longest implicit key
			return nil, ErrFallback
		}
		key, err := scalarNode(k, line, indent+1)
		if err != nil || key.Kind != yaml.ScalarNode {
			return nil, ErrFallback
		}
		p.i++
		var val *yaml.Node
		if comment := strings.HasPrefix(strings.TrimLeft(v, " "), "#"); v == "" || comment {
			// The value is on the lines below: deeper, or a compact
			// sequence at the key's own column. (Where yaml.v3 places a
			// null after a comment is its to say.)
			p.skipBlank()
			if p.i >= len(p.lines) {
				if comment {
					return nil, ErrFallback
				}
				val = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Line: line, Column: indent + len(k) + 2}
			} else {
				nl := p.lines[p.i]
				in := indentOf(nl)
				nb := strings.TrimLeft(nl, " ")
				switch {
				case in > indent:
					val, err = p.node(in)
				case in == indent && (nb == "-" || strings.HasPrefix(nb, "- ")):
					val, err = p.sequence(in)
				case comment:
					return nil, ErrFallback
				default:
					val = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Line: line, Column: indent + len(k) + 2}
				}
				if err != nil {
					return nil, err
				}
			}
		} else {
			pad := len(v) - len(strings.TrimLeft(v, " ")) // "key:   value"
			col := indent + len(k) + 3 + pad
			val, err = scalarNode(v[pad:], line, col)
			if err != nil {
				return nil, err
			}
		}
		m.Content = append(m.Content, key, val)
	}
}

// splitKey splits "key: value" (or "key:"), the key plain or quoted.
func splitKey(s string) (key, value string, ok bool) {
	if strings.HasPrefix(s, `"`) || strings.HasPrefix(s, "'") {
		end := quoteEnd(s)
		if end < 0 || end+1 >= len(s) || s[end+1] != ':' {
			return "", "", false
		}
		rest := s[end+2:]
		if rest != "" && rest[0] != ' ' {
			return "", "", false
		}
		return s[:end+1], strings.TrimPrefix(rest, " "), true
	}
	i := strings.Index(s, ": ")
	if i < 0 {
		if k := s[:max(len(s)-1, 0)]; strings.HasSuffix(s, ":") && k != "" && !strings.ContainsRune("{}[],#&*!|>%@`-?:", rune(k[0])) && !strings.Contains(k, " #") {
			return k, "", true
		}
		return "", "", false
	}
	k := s[:i]
	if k == "" || strings.ContainsRune("{}[],#&*!|>%@`-?:", rune(k[0])) || strings.Contains(k, " #") {
		return "", "", false
	}
	return k, s[i+2:], true
}

// quoteEnd returns the index of the quote that closes the quoted scalar
// s starts with, or -1 when it does not close on this line.
func quoteEnd(s string) int {
	q := s[0]
	for i := 1; i < len(s); i++ {
		if s[i] == '\\' && q == '"' {
			i++
			continue
		}
		if s[i] == q {
			if q == '\'' && i+1 < len(s) && s[i+1] == '\'' {
				i++
				continue
			}
			return i
		}
	}
	return -1
}

// scalarNode reads the value that fills the rest of a line from column
// col: a scalar (plain, single- or double-quoted) or a flow collection.
func scalarNode(v string, line, col int) (*yaml.Node, error) {
	switch v {
	case "":
		return nil, ErrFallback // "- " alone on a line: a null item, yaml.v3's to read
	case "{}":
		return &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Style: yaml.FlowStyle, Line: line, Column: col}, nil
	case "[]":
		return &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Style: yaml.FlowStyle, Line: line, Column: col}, nil
	}
	switch v[0] {
	case '{', '[':
		f := flow{s: v, line: line, col: col}
		n, end, err := f.node(0, 0)
		if err != nil {
			return nil, err
		}
		if !onlyComment(v[end:]) {
			return nil, ErrFallback
		}
		return n, nil
	case '"', '\'':
		end := quoteEnd(v)
		if end < 0 || !onlyComment(v[end+1:]) {
			return nil, ErrFallback
		}
		return quoted(v[:end+1], line, col)
	case '|', '>', '&', '*', '!', '%', '@', '`', '#', ',', ']', '}':
		return nil, ErrFallback
	case '-', '?', ':':
		if len(v) == 1 || v[1] == ' ' {
			return nil, ErrFallback // an indicator, not the start of a plain scalar
		}
	}
	if i := strings.Index(v, " #"); i >= 0 {
		v = strings.TrimRight(v[:i], " ") // a comment ends a plain scalar
	}
	if strings.Contains(v, ": ") || strings.HasSuffix(v, ":") || strings.HasSuffix(v, " ") {
		return nil, ErrFallback
	}
	return plain(v, line, col), nil
}

// onlyComment reports whether what follows a value on its line is nothing
// but spaces, or a comment after at least one.
func onlyComment(rest string) bool {
	t := strings.TrimLeft(rest, " ")
	return t == "" || t[0] == '#' && len(t) < len(rest)
}

// quoted reads a whole quoted scalar, quotes included.
func quoted(v string, line, col int) (*yaml.Node, error) {
	if len(v) < 2 {
		return nil, ErrFallback
	}
	inner := v[1 : len(v)-1]
	if v[0] == '\'' {
		if strings.Contains(strings.ReplaceAll(inner, "''", ""), "'") {
			return nil, ErrFallback
		}
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Style: yaml.SingleQuotedStyle, Value: strings.ReplaceAll(inner, "''", "'"), Line: line, Column: col}, nil
	}
	if strings.ContainsAny(inner, `"`) && !strings.Contains(inner, `\"`) {
		return nil, ErrFallback
	}
	s := inner
	if strings.ContainsRune(inner, '\\') {
		for i := 0; i+1 < len(inner); i++ {
			// Go's escapes are YAML's but for octal (YAML's \0 is NUL
			// followed by what comes next), \' (none in YAML) and \x
			// (a byte to Go, a code point to YAML).
			if inner[i] == '\\' {
				if c := inner[i+1]; c >= '0' && c <= '9' || c == '\'' || c == 'x' {
					return nil, ErrFallback
				}
				i++
			}
		}
		u, err := strconv.Unquote(v)
		if err != nil {
			return nil, ErrFallback
		}
		s = u
	}
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Style: yaml.DoubleQuotedStyle, Value: s, Line: line, Column: col}, nil
}

// plain is a plain scalar, its tag resolved as yaml.v3 resolves it.
func plain(v string, line, col int) *yaml.Node {
	n := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v, Line: line, Column: col}
	if mayResolve[v[0]] {
		n.Tag = "" // the plain scalar's resolved type
		n.Tag = n.ShortTag()
	}
	return n
}

// mayResolve marks the first bytes of a plain scalar that yaml.v3 may
// resolve to something other than a string (resolve.go's resolveTable:
// signs, digits, the letters of true/false/null/yes/no/on/off, ~, the
// merge key, and a float's dot): every other plain scalar is a !!str, and
// names and keys, most of a manifest, skip the resolver.
var mayResolve = func() (t [256]bool) {
	for _, c := range []byte("+-0123456789yYnNtTfFoO~<.") {
		t[c] = true
	}
	return t
}()

// flow reads the flow collections of one line, s, whose first byte is at
// column col.
type flow struct {
	s         string
	line, col int
}

func (f *flow) space(i int) int {
	for i < len(f.s) && f.s[i] == ' ' {
		i++
	}
	return i
}

// node reads the flow node at s[i:], nested depth deep, and returns where
// it ends.
func (f *flow) node(i, depth int) (*yaml.Node, int, error) {
	if depth > maxFlowDepth {
		return nil, 0, ErrFallback
	}
	switch f.s[i] {
	case '{':
		return f.mapping(i, depth)
	case '[':
		return f.sequence(i, depth)
	}
	return f.scalar(i)
}

func (f *flow) mapping(i, depth int) (*yaml.Node, int, error) {
	m := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Style: yaml.FlowStyle, Line: f.line, Column: f.col + i}
	i = f.space(i + 1)
	if i < len(f.s) && f.s[i] == '}' {
		return m, i + 1, nil
	}
	for {
		if i >= len(f.s) || f.s[i] == '{' || f.s[i] == '[' {
			return nil, 0, ErrFallback // on the next line, or a collection as a key
		}
		key, j, err := f.scalar(i)
		if err != nil {
			return nil, 0, err
		}
		// "key: value"; "key:value", "key" alone and "key: ," are
		// yaml.v3's.
		if j+1 >= len(f.s) || f.s[j] != ':' || f.s[j+1] != ' ' {
			return nil, 0, ErrFallback
		}
		j = f.space(j + 1)
		if j >= len(f.s) || f.s[j] == ',' || f.s[j] == '}' {
			return nil, 0, ErrFallback
		}
		val, j, err := f.node(j, depth+1)
		if err != nil {
			return nil, 0, err
		}
		m.Content = append(m.Content, key, val)
		if i, err = f.next(j, '}'); err != nil || i < 0 {
			return m, -i, err
		}
	}
}

func (f *flow) sequence(i, depth int) (*yaml.Node, int, error) {
	seq := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Style: yaml.FlowStyle, Line: f.line, Column: f.col + i}
	i = f.space(i + 1)
	if i < len(f.s) && f.s[i] == ']' {
		return seq, i + 1, nil
	}
	for {
		if i >= len(f.s) {
			return nil, 0, ErrFallback
		}
		n, j, err := f.node(i, depth+1)
		if err != nil {
			return nil, 0, err
		}
		seq.Content = append(seq.Content, n)
		if i, err = f.next(j, ']'); err != nil || i < 0 {
			return seq, -i, err
		}
	}
}

// next reads what follows an entry at s[j:]: a comma and the next entry
// (its index), or the collection's end (minus the index after it).
func (f *flow) next(j int, end byte) (int, error) {
	j = f.space(j)
	switch {
	case j >= len(f.s):
		return 0, ErrFallback
	case f.s[j] == end:
		return -(j + 1), nil
	case f.s[j] != ',':
		return 0, ErrFallback // "a: b" in a sequence, a comment, ...
	}
	j = f.space(j + 1)
	if j >= len(f.s) || f.s[j] == end || f.s[j] == ',' {
		return 0, ErrFallback // a trailing or doubled comma
	}
	return j, nil
}

// scalar reads a flow scalar at s[i:]. A plain one ends before a comma,
// a bracket or a colon; one holding a colon, a # or a ?, or starting with
// what may start something else (an indicator), is refused.
func (f *flow) scalar(i int) (*yaml.Node, int, error) {
	s := f.s
	switch c := s[i]; c {
	case '"', '\'':
		end := quoteEnd(s[i:])
		if end < 0 {
			return nil, 0, ErrFallback
		}
		n, err := quoted(s[i:i+end+1], f.line, f.col+i)
		return n, i + end + 1, err
	case '{', '}', '[', ']', ',', '#', '&', '*', '!', '|', '>', '%', '@', '`', '?', ':':
		return nil, 0, ErrFallback
	case '-':
		if i+1 == len(s) || strings.IndexByte(" ,[]{}", s[i+1]) >= 0 {
			return nil, 0, ErrFallback
		}
	}
	j := i
	for j < len(s) && strings.IndexByte(",[]{}:#?", s[j]) < 0 {
		j++
	}
	if j < len(s) && strings.IndexByte("[{#?", s[j]) >= 0 { // yaml.v3 refuses a ? inside
		return nil, 0, ErrFallback
	}
	if j < len(s) && s[j] == ':' && (j+1 == len(s) || s[j+1] != ' ') {
		return nil, 0, ErrFallback // "a:b" or "http://x": a colon inside
	}
	v := strings.TrimRight(s[i:j], " ")
	return plain(v, f.line, f.col+i), j, nil
}
