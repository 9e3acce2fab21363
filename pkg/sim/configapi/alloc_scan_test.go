package configapi

import (
	"fmt"
	"net/http"
	"net/netip"
	"testing"
)

// putSubnet replaces the fixture network's subnets with one subnet entry.
// The prefix stays, so the subnet keeps its subnet_uuid and the allocator's
// scan state for it.
func (a *testAPI) putSubnet(f fixture, entry map[string]any) {
	a.t.Helper()
	body := map[string]any{"virtual-network": map[string]any{
		"network_ipam_refs": []any{map[string]any{
			"to":   []string{"default-domain", "p1", "ipam1"},
			"attr": map[string]any{"ipam_subnets": []any{entry}},
		}},
	}}
	mustStatus(a.t, a.do(http.MethodPut, "/virtual-network/"+f.vn, body), http.StatusOK)
}

func TestAllocationReusesReleasedAddresses(t *testing.T) {
	api := newTestAPI(t)
	f := api.newFixture("10.3.0.0", 24) // .254 gateway, .253 DNS

	ids := map[string]string{}
	for i, want := range []string{"10.3.0.252", "10.3.0.251", "10.3.0.250", "10.3.0.249"} {
		id, got := api.instanceIPAddress(f, fmt.Sprintf("first%d", i), nil)
		if got != want {
			t.Fatalf("allocation %d = %s, want %s", i, got, want)
		}
		ids[got] = id
	}

	// Released addresses lie behind where the next scan would resume, and
	// the highest free address goes first.
	for _, addr := range []string{"10.3.0.250", "10.3.0.252"} {
		mustStatus(t, api.do(http.MethodDelete, "/instance-ip/"+ids[addr], nil), http.StatusOK)
	}
	for i, want := range []string{"10.3.0.252", "10.3.0.250", "10.3.0.248"} {
		if _, got := api.instanceIPAddress(f, fmt.Sprintf("again%d", i), nil); got != want {
			t.Errorf("allocation %d after release = %s, want %s", i, got, want)
		}
	}
}

func TestAllocationSkipsRequestedAddresses(t *testing.T) {
	api := newTestAPI(t)
	f := api.newFixture("10.3.1.0", 24)

	if _, got := api.instanceIPAddress(f, "first", nil); got != "10.3.1.252" {
		t.Fatalf("first allocation = %s, want 10.3.1.252", got)
	}
	// Addresses taken by request just below the last allocation.
	for _, addr := range []string{"10.3.1.251", "10.3.1.250"} {
		api.instanceIPAddress(f, "req-"+addr, map[string]any{"instance_ip_address": addr})
	}
	if _, got := api.instanceIPAddress(f, "next", nil); got != "10.3.1.249" {
		t.Errorf("allocation after requested addresses = %s, want 10.3.1.249", got)
	}
}

func TestAllocationFollowsSubnetChanges(t *testing.T) {
	api := newTestAPI(t)
	f := api.newFixture("10.3.2.0", 24) // .254 gateway, .253 DNS
	subnet := map[string]any{"ip_prefix": "10.3.2.0", "ip_prefix_len": 24}

	for i, want := range []string{"10.3.2.252", "10.3.2.251"} {
		if _, got := api.instanceIPAddress(f, fmt.Sprintf("whole%d", i), nil); got != want {
			t.Fatalf("allocation %d = %s, want %s", i, got, want)
		}
	}

	// Moving the gateway and DNS server away frees the top addresses they
	// held, above where the last scan stopped.
	api.putSubnet(f, map[string]any{
		"subnet":             subnet,
		"default_gateway":    "10.3.2.1",
		"dns_server_address": "10.3.2.2",
	})
	for i, want := range []string{"10.3.2.254", "10.3.2.253", "10.3.2.250"} {
		if _, got := api.instanceIPAddress(f, fmt.Sprintf("moved%d", i), nil); got != want {
			t.Errorf("allocation %d after moving the gateway = %s, want %s", i, got, want)
		}
	}

	api.putSubnet(f, map[string]any{
		"subnet":           subnet,
		"default_gateway":  "10.3.2.1",
		"allocation_pools": []any{map[string]any{"start": "10.3.2.100", "end": "10.3.2.110"}},
	})
	for i, want := range []string{"10.3.2.110", "10.3.2.109"} {
		if _, got := api.instanceIPAddress(f, fmt.Sprintf("pool%d", i), nil); got != want {
			t.Fatalf("allocation %d from pool = %s, want %s", i, got, want)
		}
	}

	// A wider pool starts a new scan from its own end.
	api.putSubnet(f, map[string]any{
		"subnet":           subnet,
		"default_gateway":  "10.3.2.1",
		"allocation_pools": []any{map[string]any{"start": "10.3.2.100", "end": "10.3.2.120"}},
	})
	if _, got := api.instanceIPAddress(f, "wider", nil); got != "10.3.2.120" {
		t.Errorf("allocation from the wider pool = %s, want 10.3.2.120", got)
	}
}

func TestAllocationExhaustionAfterScans(t *testing.T) {
	api := newTestAPI(t)
	f := api.newFixture("192.168.9.0", 29) // .1 to .4 usable

	var last string
	for i := range 4 {
		last, _ = api.instanceIPAddress(f, fmt.Sprintf("iip%d", i), nil)
	}
	for range 2 {
		mustError(t, api.addInstanceIP(f, "one-too-many", nil, nil), 400, "has exhausted subnet(all)")
	}
	mustStatus(t, api.do(http.MethodDelete, "/instance-ip/"+last, nil), http.StatusOK)
	if _, got := api.instanceIPAddress(f, "freed", nil); got != "192.168.9.1" {
		t.Errorf("allocation after release in a full subnet = %s, want 192.168.9.1", got)
	}
}

// TestAllocationScanResumes checks, on the store, that consecutive
// allocations do not walk the used addresses again: the scan state points
// at the last allocated address.
func TestAllocationScanResumes(t *testing.T) {
	s := newStore()
	sn := subnet{
		uuid:    "7a1d0c7e-0000-4000-8000-000000000001",
		prefix:  netip.MustParsePrefix("10.4.0.0/16"),
		gateway: netip.MustParseAddr("10.4.255.254"),
		dns:     netip.MustParseAddr("10.4.255.253"),
	}
	var got netip.Addr
	for i := range 1000 {
		addr, ok := s.firstFree(sn)
		if !ok {
			t.Fatalf("allocation %d: subnet exhausted", i)
		}
		s.reserve(fmt.Sprintf("iip-%d", i), sn.uuid, addr)
		got = addr
	}
	if want := netip.MustParseAddr("10.4.252.21"); got != want {
		t.Errorf("allocation 1000 = %s, want %s", got, want)
	}
	if n := len(s.scanHints[sn.uuid]); n != 1 {
		t.Fatalf("scan state has %d entries for the subnet, want 1", n)
	}
	for _, hint := range s.scanHints[sn.uuid] {
		if hint != got {
			t.Errorf("scan resumes at %s, want the last allocated address %s", hint, got)
		}
	}

	s.release("iip-0")
	if _, ok := s.scanHints[sn.uuid]; ok {
		t.Error("release kept the subnet's scan state")
	}
	if addr, _ := s.firstFree(sn); addr != netip.MustParseAddr("10.4.255.252") {
		t.Errorf("allocation after release = %s, want the released 10.4.255.252", addr)
	}
}
