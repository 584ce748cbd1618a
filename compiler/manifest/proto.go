package manifest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"google.golang.org/protobuf/reflect/protoreflect"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Istio's typed objects (istio.io/client-go) carry their spec as a
// protobuf message, which encoding/json serialises through istio.io/api's
// MarshalJSON: github.com/golang/protobuf/jsonpb with its default options
// writes a string in field order, which canonical then reads back to sort
// it. That was a third of rendering. specTree builds the same tree from
// the message directly; whatever it does not handle exactly as jsonpb
// does (Any, Struct, Timestamp, extensions, a message with its own
// MarshalJSONPB, a string that is not UTF-8) makes it decline, and the
// object takes the encoding/json path. TestSpecTreeAsJSONPB holds the two
// to the same bytes.

// objectHead is what an Istio object serialises besides its spec and its
// status (which canonical drops): the fields and JSON tags of
// istio.io/client-go's types.
type objectHead struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
}

// istioLayout is where an Istio object type keeps its parts; ok is false
// for a type of any other shape.
type istioLayout struct {
	ok                   bool
	typeMeta, meta, spec int
}

var layouts sync.Map // reflect.Type → istioLayout

func layoutOf(t reflect.Type) istioLayout {
	if l, ok := layouts.Load(t); ok {
		return l.(istioLayout)
	}
	l := istioLayout{typeMeta: -1, meta: -1, spec: -1}
	known := t.Kind() == reflect.Struct
	for i := 0; known && i < t.NumField(); i++ {
		f := t.Field(i)
		switch tag := f.Tag.Get("json"); {
		case f.Anonymous && f.Type == reflect.TypeFor[metav1.TypeMeta]() && tag == ",inline":
			l.typeMeta = i
		case f.Anonymous && f.Type == reflect.TypeFor[metav1.ObjectMeta]() && tag == "metadata,omitempty":
			l.meta = i
		case f.Name == "Spec" && tag == "spec,omitempty" && f.Type.Kind() == reflect.Struct &&
			reflect.PointerTo(f.Type).Implements(reflect.TypeFor[protoreflect.ProtoMessage]()) &&
			reflect.PointerTo(f.Type).Implements(reflect.TypeFor[json.Marshaler]()):
			l.spec = i
		case f.Name == "Status" && (tag == "status" || tag == "status,omitempty"):
			// dropped by canonical, whatever it holds
		default:
			known = false
		}
	}
	l.ok = known && l.typeMeta >= 0 && l.meta >= 0 && l.spec >= 0
	layouts.Store(t, l)
	return l
}

// istioTree returns obj's tree as canonical reads it from encoding/json's
// output, and the size of that output, or ok false when obj is not an
// Istio object specTree can write.
func istioTree(obj any) (root jnode, size int, ok bool) {
	v := reflect.ValueOf(obj)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return jnode{}, 0, false
	}
	v = v.Elem()
	l := layoutOf(v.Type())
	if !l.ok {
		return jnode{}, 0, false
	}
	w := specWriter{}
	spec, ok := w.message(v.Field(l.spec).Addr().Interface().(protoreflect.ProtoMessage).ProtoReflect())
	if !ok {
		return jnode{}, 0, false
	}
	head := objectHead{TypeMeta: v.Field(l.typeMeta).Interface().(metav1.TypeMeta), ObjectMeta: v.Field(l.meta).Interface().(metav1.ObjectMeta)}
	raw, err := json.Marshal(&head)
	if err != nil {
		return jnode{}, 0, false
	}
	// The head's strings share raw, which nothing else holds or changes.
	root, err = parseJSON(raw)
	if err != nil || root.kind != jObject {
		return jnode{}, 0, false
	}
	root.members = sortMembers(append(root.members, jmember{"spec", spec}))
	return root, len(raw) + w.size, true
}

// specWriter builds the tree of a message as jsonpb.Marshaler{} writes it
// (github.com/golang/protobuf v1.5's jsonpb/encode.go), and counts about
// how many bytes that would be.
type specWriter struct{ size int }

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
	members := []jmember{}
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
		key := string(fd.JSONName())
		w.size += len(key) + 4
		members = append(members, jmember{key, n})
		return true
	})
	if !ok {
		return jnode{}, false
	}
	return jnode{kind: jObject, members: sortMembers(members)}, true
}

func (w *specWriter) value(fd protoreflect.FieldDescriptor, v protoreflect.Value) (jnode, bool) {
	switch {
	case fd.IsList():
		l := v.List()
		elems := make([]jnode, l.Len())
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
		members := make([]jmember, 0, v.Map().Len())
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
			w.size += len(key) + 4
			members = append(members, jmember{key, n})
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
