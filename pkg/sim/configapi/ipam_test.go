package configapi

import (
	"fmt"
	"net/http"
	"testing"
)

func TestVirtualNetworkSubnetDefaults(t *testing.T) {
	api := newTestAPI(t)
	f := api.newFixture("10.1.1.7", 24) // host bits are cleared

	refs, _ := api.read("virtual-network", f.vn, "")["network_ipam_refs"].([]any)
	attr := refs[0].(map[string]any)["attr"].(map[string]any)
	subnets, _ := attr["ipam_subnets"].([]any)
	if len(subnets) != 1 {
		t.Fatalf("ipam_subnets = %v, want one", attr["ipam_subnets"])
	}
	sn := subnets[0].(map[string]any)
	prefix := sn["subnet"].(map[string]any)
	if prefix["ip_prefix"] != "10.1.1.0" || prefix["ip_prefix_len"] != float64(24) {
		t.Errorf("subnet = %v, want 10.1.1.0/24", prefix)
	}
	if sn["default_gateway"] != "10.1.1.254" {
		t.Errorf("default_gateway = %v, want 10.1.1.254", sn["default_gateway"])
	}
	if sn["dns_server_address"] != "10.1.1.253" {
		t.Errorf("dns_server_address = %v, want 10.1.1.253", sn["dns_server_address"])
	}
	if id, _ := sn["subnet_uuid"].(string); len(id) != 36 {
		t.Errorf("subnet_uuid = %v, want a generated uuid", sn["subnet_uuid"])
	}
	if sn["enable_dhcp"] != true || sn["addr_from_start"] != false {
		t.Errorf("enable_dhcp, addr_from_start = %v, %v, want true, false", sn["enable_dhcp"], sn["addr_from_start"])
	}
}

func TestInstanceIPAllocationTopDown(t *testing.T) {
	api := newTestAPI(t)
	f := api.newFixture("10.1.1.0", 24)
	_, vmi := api.addPort(f, "vm1")
	_ = vmi

	r := api.addInstanceIP(f, "iip1", append(f.projectFQ, "vm1-port"), nil)
	mustStatus(t, r, http.StatusOK)
	created := r.json(t)["instance-ip"].(map[string]any)
	if _, ok := created["instance_ip_address"]; ok {
		t.Errorf("create response carries instance_ip_address: %s", r.body)
	}
	iip := api.read("instance-ip", created["uuid"].(string), "")
	if iip["instance_ip_address"] != "10.1.1.252" {
		t.Errorf("first address = %v, want 10.1.1.252 (below gateway .254 and DNS .253)", iip["instance_ip_address"])
	}
	if iip["instance_ip_family"] != "v4" {
		t.Errorf("instance_ip_family = %v, want v4", iip["instance_ip_family"])
	}
	subnet, _ := iip["instance_ip_subnet"].(map[string]any)
	if subnet["ip_prefix"] != "10.1.1.0" || subnet["ip_prefix_len"] != float64(24) {
		t.Errorf("instance_ip_subnet = %v, want 10.1.1.0/24", iip["instance_ip_subnet"])
	}
	if id, _ := iip["subnet_uuid"].(string); id == "" {
		t.Errorf("subnet_uuid not filled: %v", iip)
	}

	_, second := api.instanceIPAddress(f, "iip2", nil)
	if second != "10.1.1.251" {
		t.Errorf("second address = %s, want 10.1.1.251", second)
	}
}

func TestInstanceIPRequestedAddress(t *testing.T) {
	api := newTestAPI(t)
	f := api.newFixture("10.1.1.0", 24)

	_, addr := api.instanceIPAddress(f, "fixed", map[string]any{"instance_ip_address": "10.1.1.10"})
	if addr != "10.1.1.10" {
		t.Errorf("requested address = %s, want 10.1.1.10", addr)
	}

	tests := []struct {
		name   string
		addr   string
		status int
		want   string
	}{
		{"in use", "10.1.1.10", 409, "IP address already in use"},
		{"outside subnet", "10.2.0.5", 400, "Virtual-Network(['default-domain', 'p1', 'vn1']) has invalid subnet(all)"},
		{"gateway", "10.1.1.254", 400, "gateway"},
		{"DNS server", "10.1.1.253", 409, "IP address already in use"},
		{"broadcast", "10.1.1.255", 409, "IP address already in use"},
		{"not an address", "10.1.1", 400, "not an IP address"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := api.addInstanceIP(f, fmt.Sprintf("req%d", i), nil, map[string]any{"instance_ip_address": tt.addr})
			mustError(t, r, tt.status, tt.want)
		})
	}

	// The address cannot change through PUT, but the same value is accepted.
	id, _ := api.instanceIPAddress(f, "other", nil)
	same := map[string]any{"instance-ip": map[string]any{"instance_ip_address": "10.1.1.252", "display_name": "x"}}
	mustStatus(t, api.do(http.MethodPut, "/instance-ip/"+id, same), http.StatusOK)
	changed := map[string]any{"instance-ip": map[string]any{"instance_ip_address": "10.1.1.20"}}
	mustError(t, api.do(http.MethodPut, "/instance-ip/"+id, changed), 400, "can not be changed")
}

func TestInstanceIPExhaustionAndRelease(t *testing.T) {
	api := newTestAPI(t)
	f := api.newFixture("192.168.5.0", 29) // .6 gateway, .5 DNS, .4 to .1 usable

	var ids []string
	for i, want := range []string{"192.168.5.4", "192.168.5.3", "192.168.5.2", "192.168.5.1"} {
		id, got := api.instanceIPAddress(f, fmt.Sprintf("iip%d", i), nil)
		if got != want {
			t.Errorf("allocation %d = %s, want %s", i, got, want)
		}
		ids = append(ids, id)
	}

	r := api.addInstanceIP(f, "one-too-many", nil, nil)
	mustError(t, r, 400, "Virtual-Network(['default-domain', 'p1', 'vn1']) has exhausted subnet(all)")

	// Deleting an instance-ip frees its address for the next allocation.
	mustStatus(t, api.do(http.MethodDelete, "/instance-ip/"+ids[1], nil), http.StatusOK)
	if _, got := api.instanceIPAddress(f, "reuse", nil); got != "192.168.5.3" {
		t.Errorf("address after release = %s, want 192.168.5.3", got)
	}
}

func TestInstanceIPSlash30Exhausted(t *testing.T) {
	api := newTestAPI(t)
	f := api.newFixture("192.168.6.0", 30) // .0 network, .1 DNS, .2 gateway, .3 broadcast
	mustError(t, api.addInstanceIP(f, "none-left", nil, nil), 400, "has exhausted subnet")
}

func TestInstanceIPAddrFromStartAndPools(t *testing.T) {
	api := newTestAPI(t)
	api.create("project", map[string]any{"fq_name": []string{"default-domain", "p1"}})
	subnets := []any{
		map[string]any{"subnet": map[string]any{"ip_prefix": "10.5.0.0", "ip_prefix_len": 24}, "addr_from_start": true},
		map[string]any{
			"subnet":           map[string]any{"ip_prefix": "10.6.0.0", "ip_prefix_len": 24},
			"allocation_pools": []any{map[string]any{"start": "10.6.0.100", "end": "10.6.0.110"}},
		},
	}
	vn := api.create("virtual-network", map[string]any{
		"fq_name": []string{"default-domain", "p1", "vn1"}, "parent_type": "project",
		"network_ipam_refs": []any{map[string]any{"to": defaultNetworkIPAM, "attr": map[string]any{"ipam_subnets": subnets}}},
	})
	f := fixture{projectFQ: []string{"default-domain", "p1"}, vnFQ: []string{"default-domain", "p1", "vn1"}, vn: vn}

	info, _ := api.server.VirtualNetworkSubnets(vn)
	if len(info) != 2 {
		t.Fatalf("VirtualNetworkSubnets = %v, want two", info)
	}
	if info[0].Gateway.String() != "10.5.0.1" || info[0].DNSServer.String() != "10.5.0.2" {
		t.Errorf("addr_from_start gateway, DNS = %s, %s, want 10.5.0.1, 10.5.0.2", info[0].Gateway, info[0].DNSServer)
	}
	if _, got := api.instanceIPAddress(f, "first", nil); got != "10.5.0.3" {
		t.Errorf("addr_from_start allocation = %s, want 10.5.0.3", got)
	}

	refs, _ := api.read("virtual-network", vn, "")["network_ipam_refs"].([]any)
	entries := refs[0].(map[string]any)["attr"].(map[string]any)["ipam_subnets"].([]any)
	poolSubnet := entries[1].(map[string]any)["subnet_uuid"].(string)
	if _, got := api.instanceIPAddress(f, "pooled", map[string]any{"subnet_uuid": poolSubnet}); got != "10.6.0.110" {
		t.Errorf("allocation from pool subnet = %s, want 10.6.0.110", got)
	}
	mustError(t, api.addInstanceIP(f, "bad-subnet", nil, map[string]any{"subnet_uuid": "00000000-0000-4000-8000-000000000000"}),
		400, "has invalid subnet(00000000-0000-4000-8000-000000000000)")

	badPool := map[string]any{"virtual-network": map[string]any{
		"fq_name": []string{"default-domain", "p1", "vn2"}, "parent_type": "project",
		"network_ipam_refs": []any{map[string]any{"to": defaultNetworkIPAM, "attr": map[string]any{"ipam_subnets": []any{
			map[string]any{"subnet": map[string]any{"ip_prefix": "10.7.0.0", "ip_prefix_len": 24},
				"allocation_pools": []any{map[string]any{"start": "10.8.0.1", "end": "10.8.0.9"}}},
		}}}},
	}}
	mustError(t, api.do(http.MethodPost, "/virtual-networks", badPool), 400, "is out of cidr")
}

func TestInstanceIPFamilies(t *testing.T) {
	api := newTestAPI(t)
	api.create("project", map[string]any{"fq_name": []string{"default-domain", "p1"}})
	subnets := []any{
		map[string]any{"subnet": map[string]any{"ip_prefix": "10.5.0.0", "ip_prefix_len": 24}},
		map[string]any{"subnet": map[string]any{"ip_prefix": "fd00:5::", "ip_prefix_len": 64}},
	}
	vn := api.create("virtual-network", map[string]any{
		"fq_name": []string{"default-domain", "p1", "vn1"}, "parent_type": "project",
		"network_ipam_refs": []any{map[string]any{"to": defaultNetworkIPAM, "attr": map[string]any{"ipam_subnets": subnets}}},
	})
	f := fixture{projectFQ: []string{"default-domain", "p1"}, vnFQ: []string{"default-domain", "p1", "vn1"}, vn: vn}

	if _, got := api.instanceIPAddress(f, "v6", map[string]any{"instance_ip_family": "v6"}); got != "fd00:5::ffff:ffff:ffff:fffc" {
		t.Errorf("v6 allocation = %s, want fd00:5::ffff:ffff:ffff:fffc", got)
	}
	if _, got := api.instanceIPAddress(f, "v4", map[string]any{"instance_ip_family": "v4"}); got != "10.5.0.252" {
		t.Errorf("v4 allocation = %s, want 10.5.0.252", got)
	}
	mustError(t, api.addInstanceIP(f, "bad-family", nil, map[string]any{"instance_ip_family": "v5"}), 400, "instance_ip_family")
}

func TestFlatSubnetIPAM(t *testing.T) {
	api := newTestAPI(t)
	api.create("project", map[string]any{"fq_name": []string{"default-domain", "k8s-default"}})
	ipam := api.create("network-ipam", map[string]any{
		"fq_name": []string{"default-domain", "k8s-default", "k8s-pod-ipam"}, "parent_type": "project",
		"ipam_subnet_method": "flat-subnet",
		"ipam_subnets": map[string]any{"subnets": []any{
			map[string]any{"subnet": map[string]any{"ip_prefix": "10.32.0.0", "ip_prefix_len": 12}},
		}},
	})
	vnFQ := []string{"default-domain", "k8s-default", "k8s-default-pod-network"}
	vn := api.create("virtual-network", map[string]any{
		"fq_name": vnFQ, "parent_type": "project", "address_allocation_mode": "flat-subnet-only",
		"network_ipam_refs": []any{map[string]any{"to": []string{"default-domain", "k8s-default", "k8s-pod-ipam"}, "attr": map[string]any{}}},
	})

	ipamObj := api.read("network-ipam", ipam, "")
	ipamSubnets := ipamObj["ipam_subnets"].(map[string]any)["subnets"].([]any)
	sn := ipamSubnets[0].(map[string]any)
	if sn["default_gateway"] != "10.47.255.254" || sn["dns_server_address"] != "10.47.255.253" {
		t.Errorf("flat subnet gateway, DNS = %v, %v, want 10.47.255.254, 10.47.255.253", sn["default_gateway"], sn["dns_server_address"])
	}

	refs := api.read("virtual-network", vn, "")["network_ipam_refs"].([]any)
	links := refs[0].(map[string]any)["attr"].(map[string]any)["ipam_subnets"].([]any)
	if len(links) != 1 {
		t.Fatalf("flat link ipam_subnets = %v, want one generated entry", links)
	}
	linkUUID, _ := links[0].(map[string]any)["subnet_uuid"].(string)
	if linkUUID == "" {
		t.Fatalf("flat link has no subnet_uuid: %v", links)
	}
	if _, hasSubnet := links[0].(map[string]any)["subnet"]; hasSubnet {
		t.Errorf("flat link entry carries a subnet: %v", links[0])
	}

	// kube-manager names the link's subnet_uuid on the instance-ip.
	f := fixture{vnFQ: vnFQ, vn: vn}
	if _, got := api.instanceIPAddress(f, "pod1", map[string]any{"subnet_uuid": linkUUID}); got != "10.47.255.252" {
		t.Errorf("first flat allocation = %s, want 10.47.255.252", got)
	}
	if _, got := api.instanceIPAddress(f, "pod2", nil); got != "10.47.255.251" {
		t.Errorf("second flat allocation = %s, want 10.47.255.251", got)
	}

	info, ok := api.server.VirtualNetworkSubnets(vn)
	if !ok || len(info) != 1 || info[0].Prefix.String() != "10.32.0.0/12" || info[0].Gateway.String() != "10.47.255.254" {
		t.Errorf("VirtualNetworkSubnets = %v, %v, want 10.32.0.0/12 via 10.47.255.254", info, ok)
	}

	withSubnet := map[string]any{"virtual-network": map[string]any{
		"fq_name": []string{"default-domain", "k8s-default", "other"}, "parent_type": "project",
		"network_ipam_refs": []any{map[string]any{"to": []string{"default-domain", "k8s-default", "k8s-pod-ipam"}, "attr": map[string]any{
			"ipam_subnets": []any{map[string]any{"subnet": map[string]any{"ip_prefix": "10.1.0.0", "ip_prefix_len": 24}}},
		}}},
	}}
	mustError(t, api.do(http.MethodPost, "/virtual-networks", withSubnet), 400, "flat-subnet")
}

func TestSubnetRemovalWhileInUse(t *testing.T) {
	api := newTestAPI(t)
	f := api.newFixture("10.1.1.0", 24)
	iip, _ := api.instanceIPAddress(f, "iip1", nil)

	overlap := map[string]any{"virtual-network": map[string]any{
		"network_ipam_refs": []any{map[string]any{"to": []string{"default-domain", "p1", "ipam1"}, "attr": map[string]any{"ipam_subnets": []any{
			map[string]any{"subnet": map[string]any{"ip_prefix": "10.1.1.0", "ip_prefix_len": 24}},
			map[string]any{"subnet": map[string]any{"ip_prefix": "10.1.0.0", "ip_prefix_len": 16}},
		}}}},
	}}
	mustError(t, api.do(http.MethodPut, "/virtual-network/"+f.vn, overlap), 400, "Overlapping addresses")

	replace := map[string]any{"virtual-network": map[string]any{
		"network_ipam_refs": []any{map[string]any{"to": []string{"default-domain", "p1", "ipam1"}, "attr": map[string]any{"ipam_subnets": []any{
			map[string]any{"subnet": map[string]any{"ip_prefix": "10.2.2.0", "ip_prefix_len": 24}},
		}}}},
	}}
	mustError(t, api.do(http.MethodPut, "/virtual-network/"+f.vn, replace), 409, "10.1.1.252")

	// Adding a subnet keeps the existing one and its subnet_uuid, because
	// the update names the same prefix.
	before, _ := api.server.VirtualNetworkSubnets(f.vn)
	add := map[string]any{"virtual-network": map[string]any{
		"network_ipam_refs": []any{map[string]any{"to": []string{"default-domain", "p1", "ipam1"}, "attr": map[string]any{"ipam_subnets": []any{
			map[string]any{"subnet": map[string]any{"ip_prefix": "10.1.1.0", "ip_prefix_len": 24}},
			map[string]any{"subnet": map[string]any{"ip_prefix": "10.2.2.0", "ip_prefix_len": 24}},
		}}}},
	}}
	mustStatus(t, api.do(http.MethodPut, "/virtual-network/"+f.vn, add), http.StatusOK)
	after, _ := api.server.VirtualNetworkSubnets(f.vn)
	if len(after) != 2 || after[0].Prefix != before[0].Prefix {
		t.Errorf("subnets after adding one = %v, want %v plus 10.2.2.0/24", after, before)
	}

	mustStatus(t, api.do(http.MethodDelete, "/instance-ip/"+iip, nil), http.StatusOK)
	mustStatus(t, api.do(http.MethodPut, "/virtual-network/"+f.vn, replace), http.StatusOK)
}
