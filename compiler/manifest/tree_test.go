package manifest

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"
	netv1 "istio.io/client-go/pkg/apis/networking/v1"
	secv1 "istio.io/client-go/pkg/apis/security/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/randfill"
)

// TestObjectTreeAsJSON holds the tree objectTree builds to the one
// canonical reads back from encoding/json's string (and jsonpb's, for
// Istio's specs): every Istio object type, its messages filled at random
// down to the leaves — every scalar kind, enums with and without a name,
// durations, wrappers, maps, oneofs, odd strings — and the Kubernetes
// objects intentc writes, filled at random by randfill, give the same YAML
// and JSON both ways, and what objectTree declines (Any, Struct,
// Timestamp, bad UTF-8, managed fields' raw JSON) still does through the
// fallback.
func TestObjectTreeAsJSON(t *testing.T) {
	t.Parallel()
	newObjects := []func() any{
		func() any { return &netv1.VirtualService{} },
		func() any { return &netv1.DestinationRule{} },
		func() any { return &netv1.ServiceEntry{} },
		func() any { return &netv1.Gateway{} },
		func() any { return &netv1.Sidecar{} },
		func() any { return &netv1.WorkloadEntry{} },
		func() any { return &netv1.WorkloadGroup{} },
		func() any { return &secv1.AuthorizationPolicy{} },
		func() any { return &secv1.PeerAuthentication{} },
		func() any { return &secv1.RequestAuthentication{} },
	}
	fast, declined := 0, 0
	for seed := range uint64(400) {
		r := rand.New(rand.NewPCG(seed, 42))
		for _, newObj := range newObjects {
			obj := newObj()
			v := reflect.ValueOf(obj).Elem()
			f := filler{r: r, odd: seed%5 == 0}
			f.message(v.FieldByName("Spec").Addr().Interface().(protoreflect.ProtoMessage).ProtoReflect(), 0)
			meta := v.FieldByName("ObjectMeta").Addr().Interface().(*metav1.ObjectMeta)
			meta.Name, meta.Namespace = "n", "ns"
			meta.Labels = map[string]string{"app": "x", "yes": "no"}
			if seed%3 == 0 {
				meta.CreationTimestamp = metav1.Unix(int64(seed)*1000, 0)
			}
			if compareTrees(t, fmt.Sprintf("seed %d %T", seed, obj), obj) {
				fast++
			} else {
				declined++
			}
		}
	}
	if fast < 1000 || declined < 100 {
		t.Errorf("Istio objects: %d built directly, %d declined: the cases do not exercise both", fast, declined)
	}
	fast, declined = 0, 0
	for seed := range int64(300) {
		fill := randfill.NewWithSeed(seed).NilChance(0.3).NumElements(0, 3)
		for _, obj := range []any{&networkingv1.NetworkPolicy{}, &corev1.Service{}, &corev1.Namespace{}} {
			fill.Fill(obj)
			if seed%4 != 0 {
				// Their raw JSON is random bytes, which encoding/json
				// refuses: every fourth object keeps them.
				reflect.ValueOf(obj).Elem().FieldByName("ManagedFields").SetZero()
			}
			if compareTrees(t, fmt.Sprintf("seed %d %T", seed, obj), obj) {
				fast++
			} else {
				declined++
			}
		}
	}
	if fast < 500 || declined < 50 {
		t.Errorf("Kubernetes objects: %d built directly, %d declined: the cases do not exercise both", fast, declined)
	}
}

// compareTrees fails the test unless marshal writes obj as marshalJSON
// does, and reports whether objectTree wrote it.
func compareTrees(t *testing.T, name string, obj any) bool {
	t.Helper()
	wantY, wantJ, wantErr := marshalJSON(obj, true)
	gotY, gotJ, gotErr := marshal(obj, true)
	if (wantErr != nil) != (gotErr != nil) {
		t.Fatalf("%s: error %v through encoding/json, %v directly", name, wantErr, gotErr)
	}
	if !bytes.Equal(wantY, gotY) || !bytes.Equal(wantJ, gotJ) {
		t.Fatalf("%s: directly\n%s\n%s\nthrough encoding/json\n%s\n%s", name, gotY, gotJ, wantY, wantJ)
	}
	for _, m := range []func(any, bool) ([]byte, []byte, error){marshal, marshalJSON} {
		if y, j, err := m(obj, false); y != nil || !bytes.Equal(j, wantJ) || (err != nil) != (wantErr != nil) {
			t.Fatalf("%s: without the YAML: %q, %s, %v; want nil, %s, %v", name, y, j, err, wantJ, wantErr)
		}
	}
	return writtenDirectly(obj)
}

// writtenDirectly is whether obj is written from its tree, not through encoding/json.
func writtenDirectly(obj any) bool {
	w := newSpecWriter()
	defer w.release()
	_, _, ok := objectTree(w, obj)
	return ok
}

// filler sets a message's fields at random. With odd, it also sets what
// specTree declines.
type filler struct {
	r   *rand.Rand
	odd bool
}

var oddStrings = []string{"", "a", "yes", "null", "~", "0x1F", "1e3", "- x", "a: b", "#c", "'q'", `"d"`, "tab\there", "line\nbreak", "<&>", "ünï", "\u2028", " lead", "trail ", "*", "[x]", "{y}", "%", "@", "`"}

func (f *filler) str() string {
	if f.r.IntN(3) == 0 {
		return oddStrings[f.r.IntN(len(oddStrings))]
	}
	return string(rune('a'+f.r.IntN(26))) + "-" + string(rune('a'+f.r.IntN(26)))
}

func (f *filler) message(m protoreflect.Message, depth int) {
	fds := m.Descriptor().Fields()
	for i := range fds.Len() {
		fd := fds.Get(i)
		if f.r.IntN(3) == 0 || depth > 5 && fd.Message() != nil {
			continue
		}
		switch {
		case fd.IsList():
			l := m.Mutable(fd).List()
			for range f.r.IntN(3) {
				if fd.Message() != nil {
					e := l.NewElement()
					f.message(e.Message(), depth+1)
					l.Append(e)
				} else {
					l.Append(f.scalar(fd))
				}
			}
		case fd.IsMap():
			mp := m.Mutable(fd).Map()
			for range f.r.IntN(3) {
				k := f.scalar(fd.MapKey()).MapKey()
				if fd.MapValue().Message() != nil {
					v := mp.NewValue()
					f.message(v.Message(), depth+1)
					mp.Set(k, v)
				} else {
					mp.Set(k, f.scalar(fd.MapValue()))
				}
			}
		case fd.Message() != nil:
			f.singularMessage(m, fd, depth)
		default:
			m.Set(fd, f.scalar(fd))
		}
	}
}

func (f *filler) singularMessage(m protoreflect.Message, fd protoreflect.FieldDescriptor, depth int) {
	switch fd.Message().FullName() {
	case "google.protobuf.Duration":
		s, ns := f.r.Int64N(100000), f.r.Int64N(1e9)
		switch f.r.IntN(4) {
		case 0:
			ns = 0
		case 1:
			ns = ns / 1e6 * 1e6
		case 2:
			s, ns = -s, -ns
		}
		m.Set(fd, protoreflect.ValueOfMessage(durationpb.New(0).ProtoReflect()))
		d := m.Mutable(fd).Message()
		d.Set(d.Descriptor().Fields().ByNumber(1), protoreflect.ValueOfInt64(s))
		d.Set(d.Descriptor().Fields().ByNumber(2), protoreflect.ValueOfInt32(int32(ns)))
		return
	case "google.protobuf.Timestamp":
		if f.odd {
			m.Set(fd, protoreflect.ValueOfMessage(timestamppb.New(timestampOf(f.r)).ProtoReflect()))
		}
		return
	case "google.protobuf.Struct":
		if f.odd {
			s, _ := structpb.NewStruct(map[string]any{"k": f.str(), "n": 1.5})
			m.Set(fd, protoreflect.ValueOfMessage(s.ProtoReflect()))
		}
		return
	case "google.protobuf.Any":
		if f.odd {
			a, _ := anypb.New(durationpb.New(5))
			m.Set(fd, protoreflect.ValueOfMessage(a.ProtoReflect()))
		}
		return
	}
	f.message(m.Mutable(fd).Message(), depth+1)
}

func (f *filler) scalar(fd protoreflect.FieldDescriptor) protoreflect.Value {
	small := []int64{0, 1, -1, 7, 80, 65535, math.MaxInt32, math.MinInt32}
	switch fd.Kind() {
	case protoreflect.BoolKind:
		return protoreflect.ValueOfBool(f.r.IntN(2) == 0)
	case protoreflect.EnumKind:
		vs := fd.Enum().Values()
		if f.r.IntN(6) == 0 {
			return protoreflect.ValueOfEnum(protoreflect.EnumNumber(90 + f.r.IntN(5))) // no name
		}
		return protoreflect.ValueOfEnum(vs.Get(f.r.IntN(vs.Len())).Number())
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		return protoreflect.ValueOfInt32(int32(small[f.r.IntN(len(small))]))
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return protoreflect.ValueOfUint32(uint32(f.r.Uint64N(math.MaxUint32)))
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return protoreflect.ValueOfInt64(f.r.Int64() - math.MaxInt64/2)
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return protoreflect.ValueOfUint64(f.r.Uint64())
	case protoreflect.FloatKind:
		return protoreflect.ValueOfFloat32([]float32{0, 0.1, 1e21, -3.5, float32(math.Inf(1)), 1e-7}[f.r.IntN(6)])
	case protoreflect.DoubleKind:
		return protoreflect.ValueOfFloat64([]float64{0, 0.1, 1e21, -3.5, math.Inf(-1), math.NaN(), 100, 1e-7}[f.r.IntN(8)])
	case protoreflect.StringKind:
		if f.odd && f.r.IntN(20) == 0 {
			return protoreflect.ValueOfString("bad\xffutf8")
		}
		return protoreflect.ValueOfString(f.str())
	case protoreflect.BytesKind:
		return protoreflect.ValueOfBytes([]byte(f.str()))
	}
	panic("unhandled kind " + fd.Kind().String())
}

func timestampOf(r *rand.Rand) time.Time { return time.Unix(r.Int64N(2e9), r.Int64N(1e9)) }

// The rules of encoding/json that objectTree follows, on types of its own:
// plainObject is written directly whatever randfill puts in it, each of
// the others declines for the one thing objectTree leaves to encoding/json.
type (
	plainObject struct {
		metav1.TypeMeta `json:",inline"`
		Meta            metav1.ObjectMeta `json:"metadata"`
		Promoted
		NilMap     map[string]string       `json:"nilMap"`
		Nested     map[string][]plainInner `json:"nested,omitempty"`
		List       []plainInner            `json:"list"`
		Ptr        *plainInner             `json:"ptr"`
		PtrOmit    *int32                  `json:"ptrOmit,omitempty"`
		Zero       zeroish                 `json:"zero,omitzero"`
		ZeroPtr    *zeroish                `json:"zeroPtr,omitzero"`
		Plain      plainInner              `json:"plain,omitzero"`
		Marshals   selfMarshal             `json:"marshals"`
		MarshalsP  *selfMarshal            `json:"marshalsP,omitempty"`
		Named      namedString             `json:"named,omitempty"`
		Small      int8                    `json:"small"`
		Byte       uint8                   `json:"byte,omitempty"`
		Untagged   string
		Skipped    string `json:"-"`
		unexported string
	}
	Promoted struct {
		Inner string `json:"inner,omitempty"`
		Flag  bool   `json:"flag,omitempty"`
	}
	plainInner struct {
		A string            `json:"a"`
		B int64             `json:"b,omitempty"`
		C map[string]string `json:"c,omitempty"`
	}
	zeroish     struct{ N int }
	selfMarshal struct{ S string }
	namedString string

	floatObject     struct{ F float64 }
	bytesObject     struct{ B []byte }
	anyObject       struct{ X any }
	arrayObject     struct{ A [2]int }
	stringOptObject struct {
		N int `json:"n,string"`
	}
	clashObject struct {
		Promoted
		Inner string `json:"inner"`
	}
	embeddedPtrObject struct{ *Promoted }
	intKeyObject      struct{ M map[int]string }
	textObject        struct{ T textual }
	textual           struct{ S string }
)

func (z *zeroish) IsZero() bool { return z == nil || z.N%2 == 0 } // not reflect's zero

func (s *selfMarshal) MarshalJSON() ([]byte, error) {
	return []byte(`{"s": ` + strconv.Quote(strings.ToValidUTF8(s.S, "?")) + `, "n": [1, 2]}`), nil
}

func (t textual) MarshalText() ([]byte, error) { return []byte(t.S), nil }

func TestObjectTreeFollowsEncodingJSON(t *testing.T) {
	t.Parallel()
	direct := 0
	for seed := range int64(300) {
		fill := randfill.NewWithSeed(seed).NilChance(0.3).NumElements(0, 3)
		var o plainObject
		fill.Fill(&o)
		o.Meta.ManagedFields = nil
		if compareTrees(t, fmt.Sprintf("seed %d", seed), &o) {
			direct++
		}
	}
	if direct < 250 {
		t.Errorf("only %d of 300 plain objects written directly", direct)
	}
	for _, o := range []any{&floatObject{F: 1.5}, &bytesObject{B: []byte("x")}, &anyObject{X: 1}, &arrayObject{}, &stringOptObject{N: 3},
		&clashObject{}, &embeddedPtrObject{Promoted: &Promoted{}}, &intKeyObject{M: map[int]string{1: "a"}}, &textObject{}} {
		compareTrees(t, fmt.Sprintf("%T", o), o)
		if writtenDirectly(o) {
			t.Errorf("%T: written directly, not left to encoding/json", o)
		}
	}
}
