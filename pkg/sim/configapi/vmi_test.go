package configapi

import (
	"net/http"
	"testing"
)

func TestVMIParentAndNetworkRules(t *testing.T) {
	api := newTestAPI(t)
	f := api.newFixture("10.1.1.0", 24)

	noParent := map[string]any{"virtual-machine-interface": map[string]any{
		"fq_name":              []string{"default-domain", "p1", "port"},
		"virtual_network_refs": []any{map[string]any{"to": f.vnFQ}},
	}}
	mustError(t, api.do(http.MethodPost, "/virtual-machine-interfaces", noParent), 400,
		"Missing parent type: None. Allowed types: ['virtual-machine', 'project', 'virtual-router']")

	badParent := map[string]any{"virtual-machine-interface": map[string]any{
		"fq_name": []string{"default-domain", "p1", "port"}, "parent_type": "virtual-network",
		"virtual_network_refs": []any{map[string]any{"to": f.vnFQ}},
	}}
	mustError(t, api.do(http.MethodPost, "/virtual-machine-interfaces", badParent), 400, "Invalid parent type: virtual-network")

	noNetwork := map[string]any{"virtual-machine-interface": map[string]any{
		"fq_name": []string{"default-domain", "p1", "port"}, "parent_type": "project",
	}}
	mustError(t, api.do(http.MethodPost, "/virtual-machine-interfaces", noNetwork), 500, "virtual_network_refs")

	// A VMI may also hang off a virtual machine.
	vm := api.create("virtual-machine", map[string]any{"fq_name": []string{"vm1"}})
	child := api.create("virtual-machine-interface", map[string]any{
		"fq_name": []string{"vm1", "eth0"}, "parent_type": "virtual-machine",
		"virtual_network_refs": []any{map[string]any{"to": f.vnFQ}},
	})
	if got := api.read("virtual-machine-interface", child, "")["parent_uuid"]; got != vm {
		t.Errorf("parent_uuid = %v, want %s", got, vm)
	}
}

func TestVMIServerMAC(t *testing.T) {
	api := newTestAPI(t)
	f := api.newFixture("10.1.1.0", 24)
	const id = "93c2c386-6e79-485e-bfa4-b9daa713133b"

	api.create("virtual-machine-interface", map[string]any{
		"fq_name": []string{"default-domain", "p1", "port"}, "parent_type": "project", "uuid": id,
		"virtual_network_refs": []any{map[string]any{"to": f.vnFQ}},
	})
	got := api.read("virtual-machine-interface", id, "")
	macs, _ := got["virtual_machine_interface_mac_addresses"].(map[string]any)
	list := toStrings(macs["mac_address"])
	if len(list) != 1 || list[0] != "02:93:c2:c3:86:6e" {
		t.Errorf("server MAC = %v, want [02:93:c2:c3:86:6e]", list)
	}

	clientMAC := api.create("virtual-machine-interface", map[string]any{
		"fq_name": []string{"default-domain", "p1", "port2"}, "parent_type": "project",
		"virtual_network_refs":                    []any{map[string]any{"to": f.vnFQ}},
		"virtual_machine_interface_mac_addresses": map[string]any{"mac_address": []string{"02:aa:bb:cc:dd:ee"}},
	})
	macs, _ = api.read("virtual-machine-interface", clientMAC, "")["virtual_machine_interface_mac_addresses"].(map[string]any)
	if list := toStrings(macs["mac_address"]); len(list) != 1 || list[0] != "02:aa:bb:cc:dd:ee" {
		t.Errorf("client MAC = %v, want [02:aa:bb:cc:dd:ee]", list)
	}

	badMAC := map[string]any{"virtual-machine-interface": map[string]any{
		"fq_name": []string{"default-domain", "p1", "port3"}, "parent_type": "project",
		"virtual_network_refs":                    []any{map[string]any{"to": f.vnFQ}},
		"virtual_machine_interface_mac_addresses": map[string]any{"mac_address": []string{"02:aa:bb"}},
	}}
	mustError(t, api.do(http.MethodPost, "/virtual-machine-interfaces", badMAC), 400, "invalid MAC address")
}

func TestVMIAnnotationsAndVLAN(t *testing.T) {
	api := newTestAPI(t)
	f := api.newFixture("10.1.1.0", 24)
	annotations := []any{
		map[string]any{"key": "index", "value": "0/2"},
		map[string]any{"key": "network", "value": "default/blue"},
		map[string]any{"key": "interface", "value": "net1"},
		map[string]any{"key": "address", "value": "fd00::1"},
	}
	vmi := api.create("virtual-machine-interface", map[string]any{
		"fq_name": []string{"default-domain", "p1", "port"}, "parent_type": "project",
		"virtual_network_refs":                 []any{map[string]any{"to": f.vnFQ}},
		"annotations":                          map[string]any{"key_value_pair": annotations},
		"virtual_machine_interface_properties": map[string]any{"sub_interface_vlan_tag": 100},
	})
	got := api.read("virtual-machine-interface", vmi, "")
	pairs, _ := got["annotations"].(map[string]any)["key_value_pair"].([]any)
	if len(pairs) != len(annotations) {
		t.Fatalf("annotations = %v, want %d pairs", got["annotations"], len(annotations))
	}
	for i, p := range pairs {
		if p.(map[string]any)["key"] != annotations[i].(map[string]any)["key"] {
			t.Errorf("annotation %d = %v, want %v", i, p, annotations[i])
		}
	}

	badTag := map[string]any{"virtual-machine-interface": map[string]any{
		"fq_name": []string{"default-domain", "p1", "port2"}, "parent_type": "project",
		"virtual_network_refs":                 []any{map[string]any{"to": f.vnFQ}},
		"virtual_machine_interface_properties": map[string]any{"sub_interface_vlan_tag": 4095},
	}}
	mustError(t, api.do(http.MethodPost, "/virtual-machine-interfaces", badTag), 400, "between 0 and 4094")
}
