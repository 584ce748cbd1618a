package manifest

import (
	"bytes"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"
	netv1 "istio.io/client-go/pkg/apis/networking/v1"
	secv1 "istio.io/client-go/pkg/apis/security/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestSpecTreeAsJSONPB holds the tree specTree builds to the one canonical
// reads back from jsonpb's string: every Istio object type, its messages
// filled at random down to the leaves — every scalar kind, enums with and
// without a name, durations, wrappers, maps, oneofs, odd strings — gives
// the same YAML and JSON both ways, and what specTree declines (Any,
// Struct, Timestamp, bad UTF-8) still does through the fallback.
func TestSpecTreeAsJSONPB(t *testing.T) {
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
			l := layoutOf(reflectType(obj))
			if !l.ok {
				t.Fatalf("%T: not recognised as an Istio object", obj)
			}
			f := filler{r: r, odd: seed%5 == 0}
			f.message(specOf(obj, l), 0)
			meta := metaOf(obj, l)
			meta.Name, meta.Namespace = "n", "ns"
			meta.Labels = map[string]string{"app": "x", "yes": "no"}
			meta.CreationTimestamp = metav1.Time{}
			wantY, wantJ, wantErr := marshalJSON(obj)
			gotY, gotJ, gotErr := marshal(obj)
			if (wantErr != nil) != (gotErr != nil) {
				t.Fatalf("seed %d %T: error %v through encoding/json, %v directly", seed, obj, wantErr, gotErr)
			}
			if !bytes.Equal(wantY, gotY) || !bytes.Equal(wantJ, gotJ) {
				t.Fatalf("seed %d %T: directly\n%s\n%s\nthrough encoding/json\n%s\n%s", seed, obj, gotY, gotJ, wantY, wantJ)
			}
			if _, _, ok := istioTree(obj); ok {
				fast++
			} else {
				declined++
			}
		}
	}
	if fast < 1000 || declined < 100 {
		t.Errorf("%d objects built directly, %d declined: the cases do not exercise both", fast, declined)
	}
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

func reflectType(obj any) reflect.Type { return reflect.TypeOf(obj).Elem() }

func specOf(obj any, l istioLayout) protoreflect.Message {
	return reflect.ValueOf(obj).Elem().Field(l.spec).Addr().Interface().(protoreflect.ProtoMessage).ProtoReflect()
}

func metaOf(obj any, l istioLayout) *metav1.ObjectMeta {
	return reflect.ValueOf(obj).Elem().Field(l.meta).Addr().Interface().(*metav1.ObjectMeta)
}

func timestampOf(r *rand.Rand) time.Time { return time.Unix(r.Int64N(2e9), r.Int64N(1e9)) }
