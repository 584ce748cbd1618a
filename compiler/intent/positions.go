package intent

import (
	"math"
	"slices"
	"strings"

	"github.com/intentc/intentc/compiler/diag"
)

// posList is the positions a decoder records, in the order it records
// them: a later one for the same path wins, as a map assignment would.
type posList []posEntry

type posEntry struct {
	path string
	at   lineCol
}

func (l *posList) set(path string, at lineCol) { *l = append(*l, posEntry{path, at}) }

// get is the last position recorded for path: the decoder asks only when
// it reports a problem, so a scan is enough.
func (l posList) get(path string) (lineCol, bool) {
	for i := len(l) - 1; i >= 0; i-- {
		if l[i].path == path {
			return l[i].at, true
		}
	}
	return lineCol{}, false
}

// positions is a document's posList once decoded, kept for as long as the
// document is: every path's text in one string and a sorted index into it
// without pointers. As maps from path to position, with a string per
// path, they were a third of the objects alive while a large output is
// checked, for the collector to mark again in every cycle, and 200 MiB of
// a 10,000-service compile's peak.
type positions struct {
	paths string
	index []posAt // sorted by path
}

type posAt struct {
	off, end uint32 // of the path in paths
	at       lineCol
}

func freeze(l posList) positions {
	// Stable, so that of equal paths the last recorded stays last.
	slices.SortStableFunc(l, func(a, b posEntry) int { return strings.Compare(a.path, b.path) })
	n, size := 0, 0
	for i, e := range l {
		if i+1 < len(l) && l[i+1].path == e.path {
			continue
		}
		l[n] = e
		n++
		size += len(e.path)
	}
	l = l[:n]
	// Past 4 GiB of paths (aliases can make a key of megabytes the name
	// of every level below it) the offsets would wrap: the paths from
	// there on keep no position, and ask their enclosing ones.
	var b strings.Builder
	b.Grow(int(min(int64(size), math.MaxUint32)))
	index := make([]posAt, 0, n)
	for _, e := range l {
		if int64(b.Len())+int64(len(e.path)) > math.MaxUint32 {
			break
		}
		off := b.Len()
		b.WriteString(e.path)
		index = append(index, posAt{off: uint32(off), end: uint32(b.Len()), at: e.at})
	}
	return positions{paths: b.String(), index: index}
}

func (p positions) get(path string) (lineCol, bool) {
	i, ok := slices.BinarySearchFunc(p.index, path, func(e posAt, path string) int {
		return strings.Compare(p.paths[e.off:e.end], path)
	})
	if !ok {
		return lineCol{}, false
	}
	return p.index[i].at, true
}

// in is the position in file.
func (at lineCol) in(file string) diag.Pos {
	return diag.Pos{File: file, Line: int(at.line), Col: int(at.col)}
}
