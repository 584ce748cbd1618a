package fastyaml

import (
	"fmt"

	"go.yaml.in/yaml/v3"
)

// Compare returns nil when two node trees agree in what Parse promises to
// match yaml.v3 in (kind, tag, style, value, position and children), and
// otherwise the first difference, under path. The tests of this package
// and of its users hold the fast reader to yaml.v3 with it.
func Compare(a, b *yaml.Node, path string) error {
	if a.Kind != b.Kind || a.ShortTag() != b.ShortTag() || a.Style != b.Style || a.Value != b.Value || a.Line != b.Line || a.Column != b.Column || len(a.Content) != len(b.Content) {
		return fmt.Errorf("%s: {kind %d tag %s style %d %q at %d:%d, %d children} vs {kind %d tag %s style %d %q at %d:%d, %d children}",
			path, a.Kind, a.ShortTag(), a.Style, a.Value, a.Line, a.Column, len(a.Content), b.Kind, b.ShortTag(), b.Style, b.Value, b.Line, b.Column, len(b.Content))
	}
	for i := range a.Content {
		if err := Compare(a.Content[i], b.Content[i], fmt.Sprintf("%s/%d", path, i)); err != nil {
			return err
		}
	}
	return nil
}
