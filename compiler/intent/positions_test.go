package intent

import "testing"

// A frozen posList answers as the map it replaced did: the last position
// recorded for a path, and nothing for a path never recorded.
func TestPositionsFreeze(t *testing.T) {
	var l posList
	l.set("spec", lineCol{1, 1})
	l.set("spec.ports[0]", lineCol{3, 5})
	l.set("metadata.name", lineCol{2, 9})
	l.set("spec", lineCol{4, 2}) // recorded again: this one wins
	l.set("spec.ports", lineCol{3, 3})
	l.set("", lineCol{1, 1})
	want := map[string]lineCol{"spec": {4, 2}, "spec.ports[0]": {3, 5}, "metadata.name": {2, 9}, "spec.ports": {3, 3}, "": {1, 1}}
	for path, at := range want {
		if got, ok := l.get(path); !ok || got != at {
			t.Errorf("posList.get(%q) = %v, %v; want %v", path, got, ok, at)
		}
	}
	p := freeze(l)
	if len(p.index) != len(want) {
		t.Errorf("frozen: %d paths, want %d", len(p.index), len(want))
	}
	for path, at := range want {
		if got, ok := p.get(path); !ok || got != at {
			t.Errorf("positions.get(%q) = %v, %v; want %v", path, got, ok, at)
		}
	}
	for _, path := range []string{"spe", "spec.", "spec.ports[1]", "metadata", "zzz"} {
		if got, ok := p.get(path); ok {
			t.Errorf("positions.get(%q) = %v; want none", path, got)
		}
	}
	if _, ok := freeze(nil).get("spec"); ok {
		t.Error("an empty table has a position")
	}
}
