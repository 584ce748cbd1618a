package manifest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// reference is Marshal as it was defined before the direct writer: a
// round trip through encoding/json's generic decoding, then yaml.v3 nodes.
func reference(raw []byte) ([]byte, any, error) {
	var v any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return nil, nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, nil, fmt.Errorf("not an object")
	}
	delete(m, "status")
	if md, ok := m["metadata"].(map[string]any); ok {
		if md["creationTimestamp"] == nil {
			delete(md, "creationTimestamp")
		}
	}
	out, err := toYAMLReference(m)
	return out, m, err
}

// scalars are strings chosen to meet every rule of yaml.v3's resolver and
// libyaml's scalar analysis: words that resolve to other types, numbers in
// every notation, timestamps, indicators first, inside and last, spaces,
// breaks, tabs, non-ASCII and control characters, document markers.
var scalars = []string{
	"", " ", "a", "A", "_", "/", "-", "--", "---", "---a", "...", "...a", ".", "..",
	"true", "True", "TRUE", "tRUE", "false", "False", "FALSE", "null", "Null", "NULL", "nULL", "~", "<<", "<",
	"yes", "Yes", "no", "No", "on", "off", "y", "n", "Y", "N", "t", "f", "o", "O",
	"0", "1", "-1", "+1", "007", "1_000", "0x1F", "0o17", "0b101", "-0b1", "1.5", ".5", "-.5", "1e3", "1E+3",
	"1.", ".inf", "-.inf", "+.INF", ".nan", ".NaN", "12:30", "1:2:3", "190:20:30.15", "18446744073709551616",
	"9223372036854775807", "9223372036854775808", "2001-12-14", "2001-12-14t21:59:43.10-05:00", "2001-12-14 21:59:43.10",
	"2001-1-1", "10.0.0.0/16", "::/0", "0.0.0.0/0", "fd00::/8", "192.168.0.1",
	"a:", "a:b", "a: b", ":a", ": a", "?", "? a", "?a", "a?", "a,b", ",a", "[a]", "a[0]", "{a}", "a{}", "#a", "a#b", "a #b",
	"&a", "*a", "a*", "/api/*", "*", "!a", "a!", "|a", ">a", "'a", "a'b", "\"a", "a\"b", "%a", "@a", "a@b", "`a", "a`",
	"a b", " a", "a ", "a  b", "a\tb", "\ta", "a\nb", "a\n", "\na", "a\r\nb", "a\u0085b", "a\u2028b", "é", "aé", "日本",
	"a\x00b", "a\x01", "\x7f", "a\ufeff", "\ufeffa", "a=b", "a+b", "+a", "=a", "a-", "-a", "- a", "a -",
	"sha256:0123456789abcdef", "MeshService/prod/inventory,MeshService/web/frontend", "cluster.local/ns/a/sa/b",
	"app.kubernetes.io/managed-by", "x-canary", "GET", "ALLOW", "TCP", "15443", "0s", "2s", "500ms", "ISTIO_MUTUAL",
	strings.Repeat("k", 128), strings.Repeat("k", 129), strings.Repeat("long value ", 20),
}

func randomJSON(rng *rand.Rand, depth int) any {
	switch k := rng.IntN(10); {
	case depth > 3 || k < 4:
		switch rng.IntN(6) {
		case 0:
			return json.Number([]string{"0", "1", "-7", "8080", "1.5", "1e-05", "100000000000000000000", "0.1"}[rng.IntN(8)])
		case 1:
			return rng.IntN(2) == 0
		case 2:
			return nil
		}
		return scalars[rng.IntN(len(scalars))]
	case k < 7:
		m := map[string]any{}
		for range rng.IntN(5) {
			m[scalars[rng.IntN(len(scalars))]] = randomJSON(rng, depth+1)
		}
		return m
	default:
		var l []any
		for range rng.IntN(4) {
			l = append(l, randomJSON(rng, depth+1))
		}
		if l == nil {
			l = []any{}
		}
		return l
	}
}

// TestCanonicalMatchesReference holds the direct writer to the bytes of
// the reference path on documents built from every tricky scalar, as keys
// and as values, at every depth and in sequences of sequences; and the
// JSON beside it to the same value.
func TestCanonicalMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var docs []map[string]any
	for _, s := range scalars {
		docs = append(docs,
			map[string]any{"k": s},
			map[string]any{s: "v"},
			map[string]any{"l": []any{s, []any{s, map[string]any{s: s}}}},
			map[string]any{"m": map[string]any{"n": []any{map[string]any{"o": s, s: []any{}}}}},
		)
	}
	docs = append(docs,
		map[string]any{"status": map[string]any{"a": 1}, "metadata": map[string]any{"creationTimestamp": nil, "name": "x"}},
		map[string]any{"metadata": map[string]any{"creationTimestamp": "2020-01-02T03:04:05Z"}},
		map[string]any{"metadata": "not an object", "status": nil},
	)
	for range 3000 {
		m := map[string]any{}
		for range 1 + rng.IntN(6) {
			m[scalars[rng.IntN(len(scalars))]] = randomJSON(rng, 0)
		}
		docs = append(docs, m)
	}
	for _, d := range docs {
		raw, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		want, wantValue, err := reference(raw)
		if err != nil {
			t.Fatal(err)
		}
		got, gotJSON, err := canonical(raw)
		if err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s:\ngot:\n%s\nwant:\n%s", raw, got, want)
			continue
		}
		var v any
		dec := json.NewDecoder(bytes.NewReader(gotJSON))
		dec.UseNumber()
		if err := dec.Decode(&v); err != nil {
			t.Errorf("%s: JSON %s: %v", raw, gotJSON, err)
			continue
		}
		a, _ := json.Marshal(v)
		b, _ := json.Marshal(wantValue)
		if !bytes.Equal(a, b) {
			t.Errorf("%s: JSON value %s, want %s", raw, a, b)
		}
	}
}

// JSON with whitespace, escapes and repeated keys (what a MarshalJSON
// method might write) reads as encoding/json reads it.
func TestCanonicalReadsAnyJSON(t *testing.T) {
	for _, raw := range []string{
		`{ "b" : [ 1 , { "c" : "\u00e9\n\"x\\" } ] , "a" : "\u003c/\u003e" }`,
		`{"a":1,"a":2,"b":{"x":true,"x":false}}`,
		`{"a":"tab\there","\u0041":"k"}`,
		"\n{\"a\":[]}\n",
	} {
		want, _, err := reference([]byte(raw))
		if err != nil {
			t.Fatal(err)
		}
		got, _, err := canonical([]byte(raw))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s:\ngot (%v):\n%s\nwant:\n%s", raw, err, got, want)
		}
	}
	for _, bad := range []string{``, `[1]`, `"a"`, `{"a":}`, `{"a":1`, `{"a" 1}`, `{"a":"x}`, `{"a":1}x`, `{"a":tru}`} {
		if _, _, err := canonical([]byte(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func BenchmarkMarshal(b *testing.B) {
	objs := sampleObjects()
	b.ReportAllocs()
	for b.Loop() {
		for _, o := range objs {
			if _, err := Marshal(o.Body); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// FuzzCanonical compares the direct writer with the reference on any JSON
// object.
func FuzzCanonical(f *testing.F) {
	for _, s := range scalars {
		raw, _ := json.Marshal(map[string]any{s: []any{s, map[string]any{"k": s}}})
		f.Add(raw)
	}
	f.Add([]byte(`{"a":"\xff\xfe","b":"\u00e9"}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		if !json.Valid(raw) {
			return
		}
		want, _, err := reference(raw)
		if err != nil {
			return // not an object
		}
		got, _, err := canonical(raw)
		if err != nil {
			t.Fatalf("%q: %v", raw, err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("%q:\ngot:\n%s\nwant:\n%s", raw, got, want)
		}
	})
}
