package kube

import (
	"cmp"
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/intentc/intentc/compiler/ir"
)

// InjectionLabel turns on sidecar injection for a namespace.
const InjectionLabel = "istio-injection"

var (
	gvNamespace = corev1.SchemeGroupVersion.WithKind("Namespace")
	gvService   = corev1.SchemeGroupVersion.WithKind("Service")
)

// Emit returns the stub Services for every cluster.
func Emit(m *ir.Model) []ir.Object {
	var out []ir.Object
	for _, c := range m.Clusters {
		for _, s := range m.Services {
			if s.NeedsStubService(c) {
				out = append(out, ir.Object{Cluster: c.Name, Body: stubService(s), Sources: []ir.Source{s.Src}})
			}
		}
	}
	return out
}

// Namespaces returns a Namespace (with the injection label) for every
// namespace the other objects are written into, per cluster, so that the
// output applies on its own — unless the Mesh says namespaces are owned
// elsewhere. The platform's own namespaces (never managed, and the ingress
// gateway's) belong to their installers and are left out. Each Namespace
// names the intent objects behind what it holds.
func Namespaces(m *ir.Model, objs []ir.Object) []ir.Object {
	if !m.Mesh.EmitNamespaces {
		return nil
	}
	type key struct{ cluster, ns string }
	sources := map[key][]ir.Source{}
	for _, o := range objs {
		acc, err := meta.Accessor(o.Body)
		if err != nil || acc.GetNamespace() == "" {
			continue
		}
		ns := acc.GetNamespace()
		if m.Mesh.NeverManaged(ns) || ns == m.Mesh.IngressGateway.Namespace {
			continue
		}
		k := key{o.Cluster, ns}
		if _, seen := sources[k]; !seen {
			sources[k] = nil
		}
		// The services a namespace holds explain it; naming every policy
		// too would churn the Namespace whenever any of them changes.
		for _, src := range o.Sources {
			if (src.Kind == "MeshService" || src.Kind == "ExternalService") && src.Namespace == ns {
				sources[k] = append(sources[k], src)
			}
		}
	}
	keys := make([]key, 0, len(sources))
	for k := range sources {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b key) int { return cmp.Or(cmp.Compare(a.cluster, b.cluster), cmp.Compare(a.ns, b.ns)) })
	var out []ir.Object
	for _, k := range keys {
		srcs := sources[k]
		if len(srcs) == 0 { // only callers' objects (egress policies) live there
			for _, o := range objs {
				if acc, err := meta.Accessor(o.Body); err == nil && o.Cluster == k.cluster && acc.GetNamespace() == k.ns {
					srcs = append(srcs, o.Sources...)
				}
			}
		}
		out = append(out, ir.Object{Cluster: k.cluster, Body: namespace(k.ns), Sources: srcs})
	}
	return out
}

func namespace(name string) *corev1.Namespace {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{InjectionLabel: "enabled"}}}
	ns.SetGroupVersionKind(gvNamespace)
	return ns
}

// appProtocol maps the intent's protocol to the value Istio reads from
// Service.spec.ports[].appProtocol.
var appProtocol = map[string]string{
	ir.ProtoHTTP: "http", ir.ProtoHTTP2: "http2", ir.ProtoGRPC: "grpc", ir.ProtoTCP: "tcp", ir.ProtoTLS: "tls",
}

func stubService(s *ir.Service) *corev1.Service {
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: s.Name, Namespace: s.Namespace}}
	svc.SetGroupVersionKind(gvService)
	svc.Spec.Type = corev1.ServiceTypeClusterIP
	for _, p := range s.Ports {
		ap := appProtocol[p.Protocol]
		svc.Spec.Ports = append(svc.Spec.Ports, corev1.ServicePort{
			Name: p.Name, Port: p.Port, TargetPort: intstr.FromInt32(p.TargetPort),
			Protocol: corev1.ProtocolTCP, AppProtocol: &ap,
		})
	}
	return svc
}
