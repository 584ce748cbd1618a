package kube

import (
	"slices"

	corev1 "k8s.io/api/core/v1"
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

// Emit returns the stub Services and the Namespaces for every cluster.
func Emit(m *ir.Model) []ir.Object {
	var out []ir.Object
	for _, c := range m.Clusters {
		nsSources := map[string][]ir.Source{}
		for _, s := range m.Services {
			if s.NeedsDestinationRule(c) {
				nsSources[s.Namespace] = append(nsSources[s.Namespace], s.Src)
			}
			if s.NeedsStubService(c) {
				out = append(out, ir.Object{Cluster: c.Name, Body: stubService(s), Sources: []ir.Source{s.Src}})
			}
		}
		if !m.Mesh.EmitNamespaces {
			continue
		}
		names := make([]string, 0, len(nsSources))
		for ns := range nsSources {
			names = append(names, ns)
		}
		slices.Sort(names)
		for _, ns := range names {
			if m.Mesh.NeverManaged(ns) {
				continue // resolve refuses services there; belt and braces for later backends
			}
			out = append(out, ir.Object{Cluster: c.Name, Body: namespace(ns), Sources: nsSources[ns]})
		}
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
