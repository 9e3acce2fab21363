package configapi

import (
	"net/http"
	"net/netip"
	"testing"
)

func TestEnsureObjects(t *testing.T) {
	api := newTestAPI(t)
	s := api.server

	project, err := s.EnsureProject([]string{"other-domain", "p1"})
	if err != nil {
		t.Fatalf("EnsureProject: %v", err)
	}
	again, err := s.EnsureProject([]string{"other-domain", "p1"})
	if err != nil || again != project {
		t.Errorf("second EnsureProject = %s, %v, want %s", again, err, project)
	}

	vn, err := s.EnsureVirtualNetwork([]string{"default-domain", "k8s", "blue"}, []netip.Prefix{netip.MustParsePrefix("10.10.0.0/16")})
	if err != nil {
		t.Fatalf("EnsureVirtualNetwork: %v", err)
	}
	again, err = s.EnsureVirtualNetwork([]string{"default-domain", "k8s", "blue"}, nil)
	if err != nil || again != vn {
		t.Errorf("second EnsureVirtualNetwork = %s, %v, want %s", again, err, vn)
	}
	subnets, ok := s.VirtualNetworkSubnets(vn)
	if !ok || len(subnets) != 1 || subnets[0].Gateway.String() != "10.10.255.254" || subnets[0].DNSServer.String() != "10.10.255.253" {
		t.Errorf("subnets of the seeded network = %v, %v, want 10.10.0.0/16 via 10.10.255.254", subnets, ok)
	}
	refs := links(t, api.read("virtual-network", vn, ""), "network_ipam_refs")
	ipam, _ := s.store.lookupFQName(typeNetworkIPAM, defaultNetworkIPAM)
	if len(refs) != 1 || refs[0] != ipam.uuid {
		t.Errorf("network_ipam_refs = %v, want the default IPAM %s", refs, ipam.uuid)
	}

	vr, err := s.EnsureVirtualRouter("node-a")
	if err != nil {
		t.Fatalf("EnsureVirtualRouter: %v", err)
	}
	r := api.do(http.MethodPost, "/fqname-to-id", map[string]any{"type": "virtual-router", "fq_name": []string{"default-global-system-config", "node-a"}})
	mustStatus(t, r, http.StatusOK)
	if r.json(t)["uuid"] != vr {
		t.Errorf("fqname-to-id of the seeded vrouter = %s, want %s", r.body, vr)
	}

	if _, err := s.EnsureVirtualNetwork([]string{"default-domain", "bad"}, nil); err == nil {
		t.Error("EnsureVirtualNetwork with a two-element fq-name succeeded")
	}
	if _, err := s.EnsureVirtualRouter("a:b"); err == nil {
		t.Error("EnsureVirtualRouter with ':' in the node name succeeded")
	}
	overlapping := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/16"), netip.MustParsePrefix("10.0.1.0/24")}
	if _, err := s.EnsureVirtualNetwork([]string{"default-domain", "k8s", "red"}, overlapping); err == nil {
		t.Error("EnsureVirtualNetwork with overlapping subnets succeeded")
	}
}
