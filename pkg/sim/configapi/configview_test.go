package configapi

import (
	"net/http"
	"net/netip"
	"slices"
	"testing"

	"github.com/contrail-vif/contrail-vif/pkg/sim/agent"
)

func TestConfigViewFollowsVirtualRouterRef(t *testing.T) {
	api := newTestAPI(t)
	f := api.newFixture("10.1.1.0", 24)
	const vmName = "k8s__default__pod1"
	vm := api.create("virtual-machine", map[string]any{"fq_name": []string{vmName}})
	vmiFQ := []string{"default-domain", "p1", "pod1__port"}
	vmi := api.create("virtual-machine-interface", map[string]any{
		"fq_name": vmiFQ, "parent_type": "project",
		"virtual_network_refs": []any{map[string]any{"to": f.vnFQ}},
		"virtual_machine_refs": []any{map[string]any{"to": []string{vmName}}},
		"annotations": map[string]any{"key_value_pair": []any{
			map[string]any{"key": "index", "value": "0/1"},
			map[string]any{"key": "network", "value": "default/blue"},
		}},
	})
	mustStatus(t, api.addInstanceIP(f, "pod1__iip", vmiFQ, nil), http.StatusOK)
	vr := api.create("virtual-router", map[string]any{"fq_name": []string{"default-global-system-config", "node1"}})
	api.create("virtual-router", map[string]any{"fq_name": []string{"default-global-system-config", "node2"}})

	if got, ok := api.server.VMInterfaces("node1", vmName); ok {
		t.Fatalf("VMInterfaces before the vrouter ref = %v, true; want not visible", got)
	}
	if _, ok := api.server.Interface("node1", vmi); ok {
		t.Fatal("Interface before the vrouter ref is visible")
	}

	mustStatus(t, api.refUpdate("virtual-router", vr, "virtual-machine", vm, "ADD"), http.StatusOK)

	vmis, ok := api.server.VMInterfaces("node1", vmName)
	if !ok || len(vmis) != 1 {
		t.Fatalf("VMInterfaces after the vrouter ref = %v, %v; want one VMI", vmis, ok)
	}
	want := agent.VMIConfig{
		UUID:        vmi,
		VMUUID:      vm,
		VMName:      vmName,
		VNUUID:      f.vn,
		VNFQName:    "default-domain:p1:vn1",
		ProjectUUID: f.project,
		MAC:         macFromUUID(vmi),
		Annotations: []agent.KeyValue{{Key: "index", Value: "0/1"}, {Key: "network", Value: "default/blue"}},
		VLANID:      0xFFFF,
		IPv4:        &agent.IPConfig{Address: "10.1.1.252", PrefixLen: 24, Gateway: "10.1.1.254", DNSServer: "10.1.1.253"},
	}
	checkVMIConfig(t, vmis[0], want)

	single, ok := api.server.Interface("node1", vmi)
	if !ok {
		t.Fatal("Interface after the vrouter ref is not visible")
	}
	checkVMIConfig(t, single, want)

	if _, ok := api.server.VMInterfaces("node2", vmName); ok {
		t.Error("VM is visible on node2, whose vrouter has no ref to it")
	}
	if _, ok := api.server.Interface("node2", vmi); ok {
		t.Error("VMI is visible on node2, whose vrouter has no ref to it")
	}
	if _, ok := api.server.VMInterfaces("node1", "unknown-vm"); ok {
		t.Error("unknown VM is visible")
	}

	mustStatus(t, api.refUpdate("virtual-router", vr, "virtual-machine", vm, "DELETE"), http.StatusOK)
	if _, ok := api.server.VMInterfaces("node1", vmName); ok {
		t.Error("VM still visible after the vrouter ref DELETE")
	}
	if _, ok := api.server.Interface("node1", vmi); ok {
		t.Error("VMI still visible after the vrouter ref DELETE")
	}
}

func checkVMIConfig(t *testing.T, got, want agent.VMIConfig) {
	t.Helper()
	if got.UUID != want.UUID || got.VMUUID != want.VMUUID || got.VMName != want.VMName {
		t.Errorf("ids = %s %s %s, want %s %s %s", got.UUID, got.VMUUID, got.VMName, want.UUID, want.VMUUID, want.VMName)
	}
	if got.VNUUID != want.VNUUID || got.VNFQName != want.VNFQName {
		t.Errorf("network = %s %s, want %s %s", got.VNUUID, got.VNFQName, want.VNUUID, want.VNFQName)
	}
	if got.ProjectUUID != want.ProjectUUID {
		t.Errorf("ProjectUUID = %s, want %s", got.ProjectUUID, want.ProjectUUID)
	}
	if got.MAC != want.MAC {
		t.Errorf("MAC = %s, want %s", got.MAC, want.MAC)
	}
	if !slices.Equal(got.Annotations, want.Annotations) {
		t.Errorf("Annotations = %v, want %v", got.Annotations, want.Annotations)
	}
	if got.SubInterface != want.SubInterface || got.VLANID != want.VLANID {
		t.Errorf("SubInterface, VLANID = %v, %d, want %v, %d", got.SubInterface, got.VLANID, want.SubInterface, want.VLANID)
	}
	switch {
	case (got.IPv4 == nil) != (want.IPv4 == nil):
		t.Errorf("IPv4 = %+v, want %+v", got.IPv4, want.IPv4)
	case got.IPv4 != nil && *got.IPv4 != *want.IPv4:
		t.Errorf("IPv4 = %+v, want %+v", *got.IPv4, *want.IPv4)
	}
	if (got.IPv6 == nil) != (want.IPv6 == nil) || (got.IPv6 != nil && *got.IPv6 != *want.IPv6) {
		t.Errorf("IPv6 = %+v, want %+v", got.IPv6, want.IPv6)
	}
}

func TestConfigViewOrderAndSubInterface(t *testing.T) {
	api := newTestAPI(t)
	f := api.newFixture("10.1.1.0", 24)
	vm := api.create("virtual-machine", map[string]any{"fq_name": []string{"vm1"}})
	vr := api.create("virtual-router", map[string]any{"fq_name": []string{"default-global-system-config", "node1"}})
	mustStatus(t, api.refUpdate("virtual-router", vr, "virtual-machine", vm, "ADD"), http.StatusOK)

	ids := []string{"cccccccc-0000-4000-8000-000000000000", "aaaaaaaa-0000-4000-8000-000000000000", "bbbbbbbb-0000-4000-8000-000000000000"}
	for i, id := range ids {
		body := map[string]any{
			"uuid": id, "fq_name": []string{"vm1", "port" + id[:1]}, "parent_type": "virtual-machine",
			"virtual_network_refs": []any{map[string]any{"to": f.vnFQ}},
			"virtual_machine_refs": []any{map[string]any{"to": []string{"vm1"}}},
		}
		if i == 2 {
			body["virtual_machine_interface_refs"] = []any{map[string]any{"to": []string{"vm1", "portc"}}}
			body["virtual_machine_interface_properties"] = map[string]any{"sub_interface_vlan_tag": 42}
		}
		api.create("virtual-machine-interface", body)
	}

	vmis, ok := api.server.VMInterfaces("node1", "vm1")
	if !ok || len(vmis) != 3 {
		t.Fatalf("VMInterfaces = %v, %v, want three", vmis, ok)
	}
	var got []string
	for _, v := range vmis {
		got = append(got, v.UUID)
	}
	if want := []string{ids[1], ids[2], ids[0]}; !slices.Equal(got, want) {
		t.Errorf("order = %v, want %v", got, want)
	}
	if vmis[0].IPv4 != nil {
		t.Errorf("IPv4 without an instance-ip = %+v, want nil", vmis[0].IPv4)
	}
	// A VMI whose parent is not a project takes the network's project.
	if vmis[0].ProjectUUID != f.project {
		t.Errorf("ProjectUUID = %s, want the network's project %s", vmis[0].ProjectUUID, f.project)
	}
	if !vmis[1].SubInterface || vmis[1].VLANID != 42 {
		t.Errorf("sub-interface VMI: SubInterface, VLANID = %v, %d, want true, 42", vmis[1].SubInterface, vmis[1].VLANID)
	}
}

func TestConfigViewIPv6(t *testing.T) {
	api := newTestAPI(t)
	api.create("project", map[string]any{"fq_name": []string{"default-domain", "p1"}})
	vnFQ := []string{"default-domain", "p1", "vn6"}
	vn := api.create("virtual-network", map[string]any{
		"fq_name": vnFQ,
		"network_ipam_refs": []any{map[string]any{"to": defaultNetworkIPAM, "attr": map[string]any{"ipam_subnets": []any{
			map[string]any{"subnet": map[string]any{"ip_prefix": "10.6.0.0", "ip_prefix_len": 24}},
			map[string]any{"subnet": map[string]any{"ip_prefix": "fd00:6::", "ip_prefix_len": 120}},
		}}}},
	})
	vm := api.create("virtual-machine", map[string]any{"fq_name": []string{"vm1"}})
	vmiFQ := []string{"default-domain", "p1", "port"}
	vmi := api.create("virtual-machine-interface", map[string]any{
		"fq_name": vmiFQ, "parent_type": "project",
		"virtual_network_refs": []any{map[string]any{"to": vnFQ}},
		"virtual_machine_refs": []any{map[string]any{"to": []string{"vm1"}}},
	})
	f := fixture{vnFQ: vnFQ, vn: vn}
	mustStatus(t, api.addInstanceIP(f, "v4", vmiFQ, nil), http.StatusOK)
	mustStatus(t, api.addInstanceIP(f, "v6", vmiFQ, map[string]any{"instance_ip_family": "v6"}), http.StatusOK)
	if _, err := api.server.EnsureVirtualRouter("node1"); err != nil {
		t.Fatal(err)
	}
	vr, _ := api.server.store.lookupFQName(typeVirtualRouter, []string{"default-global-system-config", "node1"})
	mustStatus(t, api.refUpdate("virtual-router", vr.uuid, "virtual-machine", vm, "ADD"), http.StatusOK)

	cfg, ok := api.server.Interface("node1", vmi)
	if !ok {
		t.Fatal("VMI not visible")
	}
	if cfg.IPv4 == nil || cfg.IPv4.Address != "10.6.0.252" {
		t.Errorf("IPv4 = %+v, want 10.6.0.252", cfg.IPv4)
	}
	want := agent.IPConfig{Address: "fd00:6::fc", PrefixLen: 120, Gateway: "fd00:6::fe", DNSServer: "fd00:6::fd"}
	if cfg.IPv6 == nil || *cfg.IPv6 != want {
		t.Errorf("IPv6 = %+v, want %+v", cfg.IPv6, want)
	}

	subnets, ok := api.server.VirtualNetworkSubnets(vn)
	wantSubnets := []SubnetInfo{
		{Prefix: netip.MustParsePrefix("10.6.0.0/24"), Gateway: netip.MustParseAddr("10.6.0.254"), DNSServer: netip.MustParseAddr("10.6.0.253")},
		{Prefix: netip.MustParsePrefix("fd00:6::/120"), Gateway: netip.MustParseAddr("fd00:6::fe"), DNSServer: netip.MustParseAddr("fd00:6::fd")},
	}
	if !ok || !slices.Equal(subnets, wantSubnets) {
		t.Errorf("VirtualNetworkSubnets = %v, %v, want %v", subnets, ok, wantSubnets)
	}
	if _, ok := api.server.VirtualNetworkSubnets(vm); ok {
		t.Error("VirtualNetworkSubnets of a VM uuid reports true")
	}
}
