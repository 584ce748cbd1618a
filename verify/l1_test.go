package verify

import (
	"bytes"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// With a port inventory, layer 1 is the union of every group on every
// node port: a port whose groups do not admit the east-west path denies,
// whichever group would have.
func TestLayer1PortInventory(t *testing.T) {
	res := compileDir(t, exampleDir)
	var inv PortInventory
	if err := yaml.Unmarshal([]byte(`
ports:
  - cluster: openstack-prod
    name: node-0
    security_groups:
      - name: k8s-prod-mesh
        rules:
          - {direction: ingress, ethertype: IPv4, protocol: udp, port_range_min: 4789, port_range_max: 4789, remote_group: k8s-prod-mesh}
          - {direction: ingress, ethertype: IPv4, protocol: tcp, port_range_min: 31443, port_range_max: 31443, remote_ip_prefix: 192.168.10.0/24}
  - cluster: openstack-prod
    name: node-1
    security_groups:
      - name: k8s-prod-mesh
        rules:
          - {direction: ingress, ethertype: IPv4, protocol: udp, port_range_min: 4789, port_range_max: 4789, remote_group: k8s-prod-mesh}
      - name: magnum-minion
        rules:
          - {direction: ingress, ethertype: IPv4, protocol: tcp, port_range_min: 30000, port_range_max: 32767}
`), &inv); err != nil {
		t.Fatal(err)
	}
	check := func(inv *PortInventory, want Verdict, in string) {
		t.Helper()
		a, _ := New(res.Model, res.Files, Options{Ports: inv})
		src, _ := ParseSource(res.Model, "web/frontend", SourceOptions{})
		tg, _ := ParseTarget(res.Model, "prod/inventory:8080")
		x := a.Explain("web/frontend", src, tg, Request{Method: "GET", Path: "/api"}, true)
		var b bytes.Buffer
		_ = x.WriteText(&b)
		if got := x.Paths[0].Layers[0].Verdict; got != want || !strings.Contains(b.String(), in) {
			t.Errorf("layer 1 %s, want %s with %q:\n%s", got, want, in, b.String())
		}
	}
	// node-1's magnum group admits the node port from anywhere: the union
	// admits the path on both ports.
	check(&inv, Allowed, "every security group on the node ports")
	// Without magnum's group node-1 admits no east-west traffic.
	inv.Ports[1].Groups = inv.Ports[1].Groups[:1]
	check(&inv, Denied, "on node port node-1")
	// Without an inventory, intentc's own group decides, and says so.
	check(nil, Allowed, "[intentc's security group alone]")
}
