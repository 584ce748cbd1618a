package manifest

import (
	"encoding"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"google.golang.org/protobuf/reflect/protoreflect"
)

// Rendering serialised every object with encoding/json and read the
// string back to sort it (canonical); Istio's specs went through
// istio.io/api's MarshalJSON, github.com/golang/protobuf/jsonpb with its
// default options. objectTree builds the same tree from the typed object
// directly, with an encoder per Go type that follows encoding/json's rules
// (field names and omitempty and omitzero from the tags, embedded structs
// promoted, json.Marshaler called) and jsonpb's for Istio's messages
// (specWriter). Whatever it does not handle exactly as they do — floats
// in Go structs, interfaces, arrays, byte slices, ",string", clashing
// promoted names, TextMarshaler, Any, Struct, Timestamp, extensions, a
// string that is not UTF-8 — makes it decline, and the object takes the
// encoding/json path. TestObjectTreeAsJSON and
// TestObjectTreeFollowsEncodingJSON hold the two to the same bytes.

// objectTree returns obj's tree as canonical would read it from
// encoding/json's output, with about how many bytes that output has, or ok
// false.
// The tree lives in w's slabs: it must not be used after w.release.
func objectTree(w *specWriter, obj any) (root jnode, size int, ok bool) {
	v := reflect.ValueOf(obj)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return jnode{}, 0, false
	}
	root, ok = encoderOf(v.Type())(w, v)
	if !ok || root.kind != jObject {
		return jnode{}, 0, false
	}
	return root, w.size, true
}

var writers = sync.Pool{New: func() any { return &specWriter{} }}

func newSpecWriter() *specWriter { return writers.Get().(*specWriter) }

// release gives w back for the next object, whose tree reuses the slabs
// of this one's.
func (w *specWriter) release() {
	clear(w.stack[:w.used]) // nothing of this object stays reachable from the pool
	w.stack, w.used, w.size = w.stack[:0], 0, 0
	w.members.reset()
	w.nodes.reset()
	writers.Put(w)
}

// slab hands out slices of large chunks, kept from one object's tree to
// the next: a tree is built, written out and dropped, and allocating its
// slices one by one was an eighth of a compile's allocations (render's
// trees 0.53 of 4.3 GB at N=10000 C=3), each of them the collector's work.
type slab[T any] struct {
	chunks [][]T
	cur    int // the chunk being taken from
	off    int // what of it is taken
}

const slabChunk = 2048

// take returns a zeroed slice of length 0 and capacity n that nothing
// else shares.
func (s *slab[T]) take(n int) []T {
	if n > slabChunk/4 {
		return make([]T, 0, n) // rare: not worth a chunk's tail
	}
	for {
		if s.cur == len(s.chunks) {
			s.chunks = append(s.chunks, make([]T, slabChunk))
		}
		if c := s.chunks[s.cur]; s.off+n <= len(c) {
			out := c[s.off : s.off : s.off+n]
			s.off += n
			return out
		}
		s.cur, s.off = s.cur+1, 0
	}
}

// clone returns a copy of xs in the slab.
func (s *slab[T]) clone(xs []T) []T { return append(s.take(len(xs)), xs...) }

// reset makes every chunk free again, cleared, so that what the last
// tree's strings point to is not held by the pool.
func (s *slab[T]) reset() {
	for i := 0; i < s.cur && i < len(s.chunks); i++ {
		clear(s.chunks[i])
	}
	if s.cur < len(s.chunks) {
		clear(s.chunks[s.cur][:s.off])
	}
	s.cur, s.off = 0, 0
}

var (
	jsonMarshaler = reflect.TypeFor[json.Marshaler]()
	textMarshaler = reflect.TypeFor[encoding.TextMarshaler]()
	protoMessage  = reflect.TypeFor[protoreflect.ProtoMessage]()
)

// encoder writes a value of one Go type; v is addressable when it came
// through a pointer, as encoding/json needs for pointer-receiver
// marshalers. ok false declines.
type encoder func(w *specWriter, v reflect.Value) (n jnode, ok bool)

var encoders sync.Map // reflect.Type → encoder

// encoderOf returns t's encoder, built once, as encoding/json builds its
// own: a type that contains itself gets a forwarder while it is built.
func encoderOf(t reflect.Type) encoder {
	if e, ok := encoders.Load(t); ok {
		return e.(encoder)
	}
	var (
		wg sync.WaitGroup
		e  encoder
	)
	wg.Add(1)
	fwd, loaded := encoders.LoadOrStore(t, encoder(func(w *specWriter, v reflect.Value) (jnode, bool) {
		wg.Wait()
		return e(w, v)
	}))
	if loaded {
		return fwd.(encoder)
	}
	e = newEncoder(t)
	wg.Done()
	encoders.Store(t, e)
	return e
}

func decline(*specWriter, reflect.Value) (jnode, bool) { return jnode{}, false }

func newEncoder(t reflect.Type) encoder {
	pt := reflect.PointerTo(t)
	switch {
	case t.Kind() == reflect.Pointer:
		elem := encoderOf(t.Elem())
		return func(w *specWriter, v reflect.Value) (jnode, bool) {
			if v.IsNil() {
				w.size += 4
				return jnode{kind: jNull}, true
			}
			return elem(w, v.Elem()) // addressable: what a pointer receiver needs
		}
	case pt.Implements(protoMessage) && pt.Implements(jsonMarshaler) && strings.HasPrefix(t.PkgPath(), "istio.io/api/"):
		// istio.io/api's MarshalJSON is jsonpb's, which specWriter follows.
		return func(w *specWriter, v reflect.Value) (jnode, bool) {
			if !v.CanAddr() {
				return jnode{}, false
			}
			return w.message(v.Addr().Interface().(protoreflect.ProtoMessage).ProtoReflect())
		}
	case t.Implements(jsonMarshaler):
		return func(w *specWriter, v reflect.Value) (jnode, bool) { return w.marshaler(v.Interface()) }
	case pt.Implements(jsonMarshaler):
		return func(w *specWriter, v reflect.Value) (jnode, bool) {
			if !v.CanAddr() {
				return jnode{}, false // encoding/json would not call it
			}
			return w.marshaler(v.Addr().Interface())
		}
	case t.Implements(textMarshaler) || pt.Implements(textMarshaler) || pt.Implements(protoMessage):
		return decline
	}
	switch t.Kind() {
	case reflect.Struct:
		return structEncoder(t)
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			return decline
		}
		elem := encoderOf(t.Elem())
		return func(w *specWriter, v reflect.Value) (jnode, bool) {
			if v.IsNil() {
				w.size += 4
				return jnode{kind: jNull}, true
			}
			members := w.members.take(v.Len())
			for it := v.MapRange(); it.Next(); {
				k := it.Key().String()
				if !utf8.ValidString(k) {
					return jnode{}, false
				}
				n, ok := elem(w, it.Value())
				if !ok {
					return jnode{}, false
				}
				members = w.member(members, k, n)
			}
			return jnode{kind: jObject, members: sortMembers(members)}, true
		}
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return decline // base64, unless the element type marshals itself
		}
		elem := encoderOf(t.Elem())
		return func(w *specWriter, v reflect.Value) (jnode, bool) {
			if v.IsNil() {
				w.size += 4
				return jnode{kind: jNull}, true
			}
			elems := w.nodes.take(v.Len())[:v.Len()]
			for i := range elems {
				n, ok := elem(w, v.Index(i))
				if !ok {
					return jnode{}, false
				}
				elems[i] = n
			}
			return jnode{kind: jArray, elems: elems}, true
		}
	case reflect.String:
		return func(w *specWriter, v reflect.Value) (jnode, bool) {
			s := v.String()
			if !utf8.ValidString(s) {
				return jnode{}, false
			}
			return w.text(jString, s), true
		}
	case reflect.Bool:
		return func(w *specWriter, v reflect.Value) (jnode, bool) {
			return w.text(jBool, strconv.FormatBool(v.Bool())), true
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return func(w *specWriter, v reflect.Value) (jnode, bool) {
			return w.text(jNumber, strconv.FormatInt(v.Int(), 10)), true
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return func(w *specWriter, v reflect.Value) (jnode, bool) {
			return w.text(jNumber, strconv.FormatUint(v.Uint(), 10)), true
		}
	}
	return decline // floats, interfaces, arrays, channels, functions
}

// marshaler writes what a json.Marshaler writes, read back.
func (w *specWriter) marshaler(m any) (jnode, bool) {
	raw, err := m.(json.Marshaler).MarshalJSON()
	if err != nil {
		return jnode{}, false
	}
	n, err := parseJSON(raw) // its strings share raw, which only the tree holds
	w.size += len(raw)
	return n, err == nil
}

// goField is one field of a struct as encoding/json writes it.
type goField struct {
	index []int // through promoted embedded structs
	name  string
	enc   encoder
	omit  func(reflect.Value) bool // omitempty's and omitzero's tests, or nil
}

// structEncoder follows encoding/json's rules for a struct's fields: the
// tags' names and options, embedded structs without a name promoted.
// What it does not follow declines: a clash between names (which
// encoding/json settles by depth and tags), an embedded pointer, an
// option other than omitempty and omitzero.
func structEncoder(t reflect.Type) encoder {
	var fields []goField
	ok := true
	seen := map[string]bool{}
	var walk func(t reflect.Type, index []int)
	walk = func(t reflect.Type, index []int) {
		for i := range t.NumField() {
			f := t.Field(i)
			tag, hasTag := f.Tag.Lookup("json")
			if tag == "-" {
				continue
			}
			name, opts, _ := strings.Cut(tag, ",")
			if !f.IsExported() && !(f.Anonymous && f.Type.Kind() == reflect.Struct) {
				continue
			}
			idx := append(slices.Clone(index), i)
			if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
				if !f.IsExported() && hasTag {
					ok = false
				}
				walk(f.Type, idx)
				continue
			}
			if f.Anonymous && f.Type.Kind() != reflect.Struct && name == "" || !f.IsExported() {
				ok = false // an embedded pointer, or an unexported embedded non-struct
				continue
			}
			if name == "" {
				name = f.Name
			}
			var omitEmpty, omitZero bool
			for o := range strings.SplitSeq(opts, ",") {
				switch o {
				case "omitempty":
					omitEmpty = true
				case "omitzero":
					omitZero = true
				case "", "inline":
				default:
					ok = false // string, or what a later Go adds
				}
			}
			if !validName(name) || seen[name] {
				ok = false
			}
			seen[name] = true
			gf := goField{index: idx, name: name, enc: encoderOf(f.Type)}
			switch isZero := zeroTest(f.Type); {
			case omitEmpty && omitZero:
				gf.omit = func(v reflect.Value) bool { return emptyValue(v) || isZero(v) }
			case omitEmpty:
				gf.omit = emptyValue
			case omitZero:
				gf.omit = isZero
			}
			fields = append(fields, gf)
		}
	}
	walk(t, nil)
	if !ok {
		return decline
	}
	// Written in key order, so that the object needs no sorting.
	slices.SortFunc(fields, func(a, b goField) int { return strings.Compare(a.name, b.name) })
	return func(w *specWriter, v reflect.Value) (jnode, bool) {
		// Gathered on the writer's stack and copied out at their number:
		// most of a type's fields are usually omitted.
		base := len(w.stack)
		defer func() { w.stack = w.stack[:base] }()
		for i := range fields {
			f := &fields[i]
			var fv reflect.Value
			if len(f.index) == 1 {
				fv = v.Field(f.index[0])
			} else {
				fv = v.FieldByIndex(f.index)
			}
			if f.omit != nil && f.omit(fv) {
				continue
			}
			n, ok := f.enc(w, fv)
			if !ok {
				return jnode{}, false
			}
			w.stack = w.member(w.stack, f.name, n)
			w.used = max(w.used, len(w.stack))
		}
		return jnode{kind: jObject, members: w.members.clone(w.stack[base:])}, true
	}
}

// validName accepts the names encoding/json takes from a tag and writes
// as they are: Kubernetes' and Istio's are letters, digits, "-", "_", ".".
func validName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

type isZeroer interface{ IsZero() bool }

var isZeroerType = reflect.TypeFor[isZeroer]()

// zeroTest is encoding/json's test for omitzero on a field of type t:
// the type's IsZero method if it has one, else reflect's.
func zeroTest(t reflect.Type) func(reflect.Value) bool {
	switch {
	case t.Kind() == reflect.Interface && t.Implements(isZeroerType):
		return func(v reflect.Value) bool {
			return v.IsNil() || v.Elem().Kind() == reflect.Pointer && v.Elem().IsNil() || v.Interface().(isZeroer).IsZero()
		}
	case t.Kind() == reflect.Pointer && t.Implements(isZeroerType):
		return func(v reflect.Value) bool { return v.IsNil() || v.Interface().(isZeroer).IsZero() }
	case t.Implements(isZeroerType):
		return func(v reflect.Value) bool { return v.Interface().(isZeroer).IsZero() }
	case reflect.PointerTo(t).Implements(isZeroerType):
		return func(v reflect.Value) bool {
			if !v.CanAddr() {
				v2 := reflect.New(t).Elem()
				v2.Set(v)
				v = v2
			}
			return v.Addr().Interface().(isZeroer).IsZero()
		}
	}
	return reflect.Value.IsZero
}

// emptyValue is encoding/json's test for omitempty.
func emptyValue(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Interface, reflect.Pointer:
		return v.IsZero()
	}
	return false
}

// specWriter builds the tree of a message as jsonpb.Marshaler{} writes it
// (github.com/golang/protobuf v1.5's jsonpb/encode.go), and counts about
// how many bytes that would be.
type specWriter struct {
	size int
	// the members of the structs being written, and the most there were
	stack []jmember
	used  int
	// where the tree's objects and arrays are kept
	members slab[jmember]
	nodes   slab[jnode]
}

var hasJSONPB sync.Map // protoreflect.FullName → bool

func (w *specWriter) message(m protoreflect.Message) (jnode, bool) {
	md := m.Descriptor()
	name := md.FullName()
	if name.Parent() == "google.protobuf" {
		fds := md.Fields()
		switch name.Name() {
		case "BoolValue", "BytesValue", "StringValue", "Int32Value", "UInt32Value", "FloatValue", "Int64Value", "UInt64Value", "DoubleValue":
			fd := fds.ByNumber(1)
			return w.singular(fd, m.Get(fd))
		case "Duration":
			return w.duration(m.Get(fds.ByNumber(1)).Int(), m.Get(fds.ByNumber(2)).Int())
		case "Empty":
			// an ordinary message with no fields
		default:
			return jnode{}, false // Any, Timestamp, Struct, Value, ListValue, FieldMask…
		}
	}
	custom, seen := hasJSONPB.Load(name)
	if !seen {
		_, has := reflect.TypeOf(m.Interface()).MethodByName("MarshalJSONPB")
		custom, _ = hasJSONPB.LoadOrStore(name, has)
	}
	if custom.(bool) {
		return jnode{}, false
	}
	// Gathered on the writer's stack, as a struct's fields are.
	base := len(w.stack)
	defer func() { w.stack = w.stack[:base] }()
	ok := true
	// Range visits what m.Has reports, the fields jsonpb writes without
	// EmitDefaults (a oneof's set member among them).
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if fd.IsExtension() {
			ok = false
			return false
		}
		var n jnode
		if n, ok = w.value(fd, v); !ok {
			return false
		}
		w.stack = w.member(w.stack, string(fd.JSONName()), n)
		w.used = max(w.used, len(w.stack))
		return true
	})
	if !ok {
		return jnode{}, false
	}
	return jnode{kind: jObject, members: sortMembers(w.members.clone(w.stack[base:]))}, true
}

func (w *specWriter) value(fd protoreflect.FieldDescriptor, v protoreflect.Value) (jnode, bool) {
	switch {
	case fd.IsList():
		l := v.List()
		elems := w.nodes.take(l.Len())[:l.Len()]
		for i := range elems {
			n, ok := w.singular(fd, l.Get(i))
			if !ok {
				return jnode{}, false
			}
			elems[i] = n
		}
		return jnode{kind: jArray, elems: elems}, true
	case fd.IsMap():
		vfd := fd.MapValue()
		members := w.members.take(v.Map().Len())
		ok := true
		v.Map().Range(func(k protoreflect.MapKey, v protoreflect.Value) bool {
			var n jnode
			if n, ok = w.singular(vfd, v); !ok {
				return false
			}
			key := fmt.Sprint(k.Interface())
			if !utf8.ValidString(key) {
				ok = false
				return false
			}
			members = w.member(members, key, n)
			return true
		})
		if !ok {
			return jnode{}, false
		}
		return jnode{kind: jObject, members: sortMembers(members)}, true
	}
	return w.singular(fd, v)
}

func (w *specWriter) singular(fd protoreflect.FieldDescriptor, v protoreflect.Value) (jnode, bool) {
	switch {
	case !v.IsValid():
		w.size += 4
		return jnode{kind: jNull}, true
	case fd.Message() != nil:
		return w.message(v.Message())
	case fd.Enum() != nil:
		if fd.Enum().FullName() == "google.protobuf.NullValue" {
			w.size += 4
			return jnode{kind: jNull}, true
		}
		if vd := fd.Enum().Values().ByNumber(v.Enum()); vd != nil {
			return w.text(jString, string(vd.Name())), true
		}
		return w.text(jNumber, strconv.Itoa(int(v.Enum()))), true
	}
	switch fd.Kind() {
	case protoreflect.BoolKind:
		return w.text(jBool, strconv.FormatBool(v.Bool())), true
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		return w.text(jNumber, strconv.FormatInt(v.Int(), 10)), true
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return w.text(jNumber, strconv.FormatUint(v.Uint(), 10)), true
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return w.text(jString, strconv.FormatInt(v.Int(), 10)), true // quoted, as jsonpb does
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return w.text(jString, strconv.FormatUint(v.Uint(), 10)), true
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		switch f := v.Float(); {
		case math.IsInf(f, 1):
			return w.text(jString, "Infinity"), true
		case math.IsInf(f, -1):
			return w.text(jString, "-Infinity"), true
		case math.IsNaN(f):
			return w.text(jString, "NaN"), true
		}
		b, err := json.Marshal(v.Interface()) // float32 or float64, formatted as jsonpb's call formats it
		if err != nil {
			return jnode{}, false
		}
		return w.text(jNumber, string(b)), true
	case protoreflect.StringKind:
		s := v.String()
		if !utf8.ValidString(s) {
			return jnode{}, false // encoding/json would replace the bad bytes
		}
		return w.text(jString, s), true
	case protoreflect.BytesKind:
		return w.text(jString, base64.StdEncoding.EncodeToString(v.Bytes())), true
	}
	return jnode{}, false
}

// member appends key: n to ms.
func (w *specWriter) member(ms []jmember, key string, n jnode) []jmember {
	w.size += len(key) + 4
	return append(ms, jmember{key, n})
}

func (w *specWriter) text(k jkind, s string) jnode {
	w.size += len(s) + 2
	return jnode{kind: k, text: s}
}

// duration writes a google.protobuf.Duration as jsonpb does; a duration
// jsonpb refuses is left to it, for its error.
func (w *specWriter) duration(s, ns int64) (jnode, bool) {
	const maxSeconds, second = 315576000000, int64(1e9)
	if s < -maxSeconds || s > maxSeconds || ns <= -second || ns >= second || s > 0 && ns < 0 || s < 0 && ns > 0 {
		return jnode{}, false
	}
	sign := ""
	if s < 0 || ns < 0 {
		sign, s, ns = "-", -s, -ns
	}
	x := fmt.Sprintf("%s%d.%09d", sign, s, ns)
	x = strings.TrimSuffix(x, "000")
	x = strings.TrimSuffix(x, "000")
	x = strings.TrimSuffix(x, ".000")
	return w.text(jString, x+"s"), true
}
