package fleet

import (
	"bytes"
	"strings"
	"testing"

	_ "github.com/intentc/intentc/internal/testflags" // accept -update like every test binary
)

// The same options give the same bytes; another seed gives other bytes.
func TestDeterministic(t *testing.T) {
	o := Options{Services: 230, Clusters: 5, Seed: 7}
	a, b := Generate(o), Generate(o)
	if len(a) != len(b) {
		t.Fatalf("%d files, then %d", len(a), len(b))
	}
	for i := range a {
		if a[i].Name != b[i].Name || !bytes.Equal(a[i].Data, b[i].Data) {
			t.Errorf("%s differs between two generations", a[i].Name)
		}
	}
	o.Seed = 8
	c := Generate(o)
	same := len(c) == len(a)
	for i := 0; same && i < len(a); i++ {
		same = bytes.Equal(a[i].Data, c[i].Data)
	}
	if same {
		t.Error("seeds 7 and 8 give the same fleet")
	}
}

// The fleet has the size and the mix the options ask for.
func TestShape(t *testing.T) {
	o := Options{Services: 1000, Clusters: 20, Policies: 3}
	var all strings.Builder
	files := Generate(o)
	for _, f := range files {
		all.Write(f.Data)
	}
	s := all.String()
	count := func(sub string) int { return strings.Count(s, sub) }
	if n := count("\nkind: MeshService\n"); n != 1000 {
		t.Errorf("%d services, want 1000", n)
	}
	if n := count("\nkind: MeshCluster\n"); n != 20 {
		t.Errorf("%d clusters, want 20", n)
	}
	// K per service, plus a deny every 20th and a database every 50th.
	if n, want := count("\nkind: AccessPolicy\n"), 1000*3+1000/20+1000/50; n != want {
		t.Errorf("%d access policies, want %d", n, want)
	}
	for _, sub := range []string{
		"platform: openstack", "platform: kubernetes", "platform: openshift",
		"network: net-4", "trustDomain: cluster-19.example.com", "provider: amphora", "provider: ovn",
		"{service: ", "{namespace: batch-", "{workload: ", "via: direct", "via: ingressGateway",
		"action: deny", "kind: ExternalService", "split: locality", "x-canary", "methods: [GET, POST]",
		"mtls: permissive",
	} {
		if !strings.Contains(s, sub) {
			t.Errorf("the fleet has no %q", sub)
		}
	}
	if len(files) != 1+1000/50 {
		t.Errorf("%d files, want the mesh and one per 50 services", len(files))
	}
}

// Any size generates, down to one service in one cluster.
func TestSmall(t *testing.T) {
	for n := 1; n <= 12; n++ {
		for c := 1; c <= 4; c++ {
			if files := Generate(Options{Services: n, Clusters: c}); len(files) != 2 {
				t.Errorf("N=%d C=%d: %d files", n, c, len(files))
			}
		}
	}
}
