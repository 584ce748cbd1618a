package verify

import (
	"errors"
	"strconv"
	"strings"
	"unsafe"

	"go.yaml.in/yaml/v3"
)

// fastParse reads the block-style YAML intentc writes (and most
// hand-written manifests) into the same yaml.Node trees yaml.v3 builds,
// several times faster: the proof reads a whole output back on every
// compile, and yaml.v3's parser would cost more than the compile. Anything
// outside that subset — flow collections other than {} and [], block
// scalars, anchors, tags, comments after values, tabs, bytes other than
// printable ASCII and line breaks, document end markers, escapes that Go
// and YAML read differently — is refused, and the caller falls back to
// yaml.v3. TestFastParseMatchesYAML holds the two equal on every golden
// output, and FuzzFastParse on any input the fast parser accepts.
func fastParse(data []byte) ([]*yaml.Node, error) {
	for i, b := range data {
		// Printable ASCII and line breaks (\n or \r\n) only: yaml.v3
		// refuses control characters, says where an encoding is wrong and
		// reads a lone \r as a line break; intentc writes none of them
		// (nor, so far, anything but ASCII).
		if (b < 0x20 && b != '\n' && b != '\r') || b >= 0x7f || b == '\r' && (i+1 == len(data) || data[i+1] != '\n') {
			return nil, errFallback
		}
	}
	p := &fastParser{}
	// The file's bytes, not a copy: the strings of the nodes (and of what
	// is decoded from them) are slices of it, and a copy of every file
	// would be held as long as any of them (a seventh of the proof's
	// memory on a large output). New's caller keeps the bytes unchanged.
	text := unsafe.String(unsafe.SliceData(data), len(data))
	start := 0
	for i := 0; i <= len(text); i++ {
		if i == len(text) || text[i] == '\n' {
			line := text[start:i]
			line = strings.TrimSuffix(line, "\r")
			p.lines = append(p.lines, line)
			start = i + 1
		}
	}
	var docs []*yaml.Node
	for {
		p.skipBlank()
		if p.i >= len(p.lines) {
			return docs, nil
		}
		if l := p.lines[p.i]; l == "---" || strings.HasPrefix(l, "--- ") {
			if strings.TrimSpace(strings.TrimPrefix(l, "---")) != "" {
				return nil, errFallback
			}
			p.i++
			continue
		}
		if p.lines[p.i] == "..." {
			return nil, errFallback // a document end marker: rare, and yaml.v3 knows where one may stand
		}
		n, err := p.node(0)
		if err != nil {
			return nil, err
		}
		if p.skipBlank(); p.i < len(p.lines) && p.lines[p.i] != "---" && !strings.HasPrefix(p.lines[p.i], "--- ") {
			return nil, errFallback // a second node in one document: yaml.v3 says what is wrong
		}
		if n.Kind == yaml.MappingNode {
			docs = append(docs, n)
		}
	}
}

var errFallback = errors.New("not in the fast parser's subset")

type fastParser struct {
	lines []string
	i     int
}

func (p *fastParser) skipBlank() {
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
func (p *fastParser) node(indent int) (*yaml.Node, error) {
	p.skipBlank()
	if p.i >= len(p.lines) {
		return nil, errFallback
	}
	l := p.lines[p.i]
	if strings.ContainsRune(l, '\t') {
		return nil, errFallback
	}
	if indentOf(l) != indent {
		return nil, errFallback
	}
	body := l[indent:]
	if body == "-" || strings.HasPrefix(body, "- ") {
		return p.sequence(indent)
	}
	return p.mapping(indent, -1, "")
}

func (p *fastParser) sequence(indent int) (*yaml.Node, error) {
	seq := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Line: p.i + 1, Column: indent + 1}
	for {
		p.skipBlank()
		if p.i >= len(p.lines) {
			return seq, nil
		}
		l := p.lines[p.i]
		if indentOf(l) != indent {
			if indentOf(l) > indent {
				return nil, errFallback
			}
			return seq, nil
		}
		body := l[indent:]
		if body != "-" && !strings.HasPrefix(body, "- ") {
			return seq, nil
		}
		if body == "-" {
			return nil, errFallback
		}
		rest := body[2:]
		if strings.HasPrefix(rest, " ") {
			return nil, errFallback // the item's indentation is not the dash's plus two
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
			return nil, errFallback // a sequence in a sequence on one line
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
func (p *fastParser) mapping(indent, firstLine int, first string) (*yaml.Node, error) {
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
				return nil, errFallback
			}
			in := indentOf(l)
			if in < indent || l == "---" || strings.HasPrefix(l, "--- ") || l == "..." {
				return m, nil
			}
			if in > indent {
				return nil, errFallback
			}
			body = l[indent:]
			if body == "-" || strings.HasPrefix(body, "- ") {
				return m, nil
			}
		}
		line := p.i + 1
		k, v, ok := splitKey(body)
		if !ok || len(k) > 1024 { // YAML's longest implicit key
			return nil, errFallback
		}
		key, err := keyNode(k, line, indent+1)
		if err != nil {
			return nil, err
		}
		p.i++
		var val *yaml.Node
		if v == "" {
			// The value is on the lines below: deeper, or a compact
			// sequence at the key's own column.
			p.skipBlank()
			if p.i >= len(p.lines) {
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
		q := s[0]
		end := -1
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
				end = i
				break
			}
		}
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

func keyNode(k string, line, col int) (*yaml.Node, error) {
	n, err := scalarNode(k, line, col)
	if err != nil {
		return nil, err
	}
	return n, nil
}

// scalarNode reads a scalar (plain, single- or double-quoted) or an empty
// flow collection.
func scalarNode(v string, line, col int) (*yaml.Node, error) {
	switch v {
	case "":
		return nil, errFallback // "- " alone on a line: a null item, yaml.v3's to read
	case "{}":
		return &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Style: yaml.FlowStyle, Line: line, Column: col}, nil
	case "[]":
		return &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Style: yaml.FlowStyle, Line: line, Column: col}, nil
	}
	switch v[0] {
	case '"':
		if len(v) < 2 || v[len(v)-1] != '"' {
			return nil, errFallback
		}
		inner := v[1 : len(v)-1]
		if strings.ContainsAny(inner, `"`) && !strings.Contains(inner, `\"`) {
			return nil, errFallback
		}
		s := inner
		if strings.ContainsRune(inner, '\\') {
			for i := 0; i+1 < len(inner); i++ {
				// Go's escapes are YAML's but for octal (YAML's \0 is NUL
				// followed by what comes next), \' (none in YAML) and \x
				// (a byte to Go, a code point to YAML).
				if inner[i] == '\\' {
					if c := inner[i+1]; c >= '0' && c <= '9' || c == '\'' || c == 'x' {
						return nil, errFallback
					}
					i++
				}
			}
			u, err := strconv.Unquote(v)
			if err != nil {
				return nil, errFallback
			}
			s = u
		}
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Style: yaml.DoubleQuotedStyle, Value: s, Line: line, Column: col}, nil
	case '\'':
		if len(v) < 2 || v[len(v)-1] != '\'' {
			return nil, errFallback
		}
		inner := v[1 : len(v)-1]
		if strings.Contains(strings.ReplaceAll(inner, "''", ""), "'") {
			return nil, errFallback
		}
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Style: yaml.SingleQuotedStyle, Value: strings.ReplaceAll(inner, "''", "'"), Line: line, Column: col}, nil
	case '{', '[', '|', '>', '&', '*', '!', '%', '@', '`', '#', ',', ']', '}':
		return nil, errFallback
	case '-', '?', ':':
		if len(v) == 1 || v[1] == ' ' {
			return nil, errFallback // an indicator, not the start of a plain scalar
		}
	}
	if strings.Contains(v, " #") || strings.Contains(v, ": ") || strings.HasSuffix(v, ":") || strings.HasSuffix(v, " ") {
		return nil, errFallback
	}
	n := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v, Line: line, Column: col}
	if mayResolve[v[0]] {
		n.Tag = "" // the plain scalar's resolved type, as yaml.v3 resolves it
		n.Tag = n.ShortTag()
	}
	return n, nil
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
