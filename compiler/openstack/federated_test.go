package openstack

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/intentc/intentc/compiler/intent"
	"github.com/intentc/intentc/compiler/resolve"
	_ "github.com/intentc/intentc/internal/testflags" // accept -update like every test binary
)

// fedPair is two OpenStack clusters on one network, each calling the other's
// share of orders; model is filled in.
const fedPair = `
apiVersion: intentc.dev/v1alpha1
kind: Mesh
metadata: {name: prod}
spec: {model: %s}
---
apiVersion: intentc.dev/v1alpha1
kind: MeshCluster
metadata: {name: east}
spec:
  platform: openstack
  network: flat
  cni: calico-vxlan
  cidrs: {pods: [10.1.0.0/16], nodes: [192.168.10.0/24], egress: [198.51.100.1/32]}
  apiServer: {address: 192.168.10.5}
  eastWestGateway: {address: 192.168.10.20}
  openstack: {cloud: dc1, project: east, loadBalancer: {provider: none}}
---
apiVersion: intentc.dev/v1alpha1
kind: MeshCluster
metadata: {name: west}
spec:
  platform: openstack
  network: flat
  cni: calico-vxlan
  cidrs: {pods: [10.2.0.0/16], nodes: [192.168.20.0/24], egress: [198.51.100.2/32]}
  eastWestGateway: {address: 192.168.20.20}
  openstack: {cloud: dc1, project: west, loadBalancer: {provider: none}}
---
apiVersion: intentc.dev/v1alpha1
kind: MeshService
metadata: {name: orders, namespace: shop}
spec:
  ports: [{name: http, port: 8080, protocol: http}]
  placement: [{cluster: east}, {cluster: west}]
---
apiVersion: intentc.dev/v1alpha1
kind: AccessPolicy
metadata: {name: callers, namespace: shop}
spec:
  to: {service: orders}
  from: [{namespace: web}]
`

// fedRules returns the rules of the project's group as "tcp 15443 from X"
// and the diagnostic codes.
func fedRules(t *testing.T, model, project string) ([]string, []string) {
	t.Helper()
	src := fmt.Sprintf(fedPair, model)
	if model == "federated" {
		src = strings.Replace(src, "spec: {model: federated}", "spec: {model: federated, federation: {trust: trustBundles}}", 1)
		src = strings.Replace(src, "network: flat\n  cni: calico-vxlan\n  cidrs: {pods: [10.1", "network: flat\n  trustDomain: east.example.com\n  cni: calico-vxlan\n  cidrs: {pods: [10.1", 1)
		src = strings.Replace(src, "network: flat\n  cni: calico-vxlan\n  cidrs: {pods: [10.2", "network: flat\n  trustDomain: west.example.com\n  cni: calico-vxlan\n  cidrs: {pods: [10.2", 1)
	}
	parsed, _, ds := intent.ParseFile(testFile, []byte(src))
	if ds.HasErrors() {
		t.Fatal(ds.Error())
	}
	m, ds := resolve.Resolve(&intent.Set{Docs: parsed, Files: []string{testFile}})
	if ds.HasErrors() {
		t.Fatal(ds.Error())
	}
	arts, eds := Emit(m)
	var codes []string
	for _, d := range append(ds, eds...) {
		codes = append(codes, string(d.Code))
	}
	for _, a := range arts {
		if a.Path != "openstack/dc1/"+project+"/"+FileJSON {
			continue
		}
		var doc struct {
			SecurityGroups []struct {
				Rules []struct {
					Protocol string `json:"protocol"`
					Min      int    `json:"port_range_min"`
					Prefix   string `json:"remote_ip_prefix"`
					Group    string `json:"remote_group"`
				} `json:"rules"`
			} `json:"security_groups"`
		}
		if err := json.Unmarshal(a.Data, &doc); err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, r := range doc.SecurityGroups[0].Rules {
			out = append(out, fmt.Sprintf("%s %d from %s%s", r.Protocol, r.Min, r.Prefix, r.Group))
		}
		return out, codes
	}
	t.Fatalf("no security groups for project %s", project)
	return nil, nil
}

// TestFederatedSecurityGroups: across meshes the callers dial the east-west
// gateway even on one network, so its port is opened to the calling mesh's
// egress addresses; and no istiod reads another mesh's API server, so no
// 6443 rule and no warning about a missing apiServer.
func TestFederatedSecurityGroups(t *testing.T) {
	east, codes := fedRules(t, "federated", "east")
	if !slices.Contains(east, "tcp 15443 from 198.51.100.2/32") {
		t.Errorf("east: no 15443 rule from west's egress: %v", east)
	}
	if slices.ContainsFunc(east, func(r string) bool { return strings.HasPrefix(r, "tcp 6443") }) {
		t.Errorf("east: a 6443 rule between meshes: %v", east)
	}
	west, _ := fedRules(t, "federated", "west")
	if !slices.Contains(west, "tcp 15443 from 198.51.100.1/32") {
		t.Errorf("west: no 15443 rule from east's egress: %v", west)
	}
	if slices.Contains(codes, "IC2041") || slices.Contains(codes, "IC2044") {
		t.Errorf("federated: unexpected %v", codes)
	}
	// The same clusters as one multi-primary mesh: pod to pod on the flat
	// network (no gateway rule), and west's istiod reads east's API server.
	mp, codes := fedRules(t, "multi-primary", "east")
	if slices.ContainsFunc(mp, func(r string) bool { return strings.HasPrefix(r, "tcp 15443") }) || !slices.Contains(mp, "tcp 6443 from 198.51.100.2/32") {
		t.Errorf("multi-primary east: %v", mp)
	}
	if !slices.Contains(codes, "IC2041") {
		t.Errorf("multi-primary: west declares no apiServer, want IC2041 in %v", codes)
	}
}
