package configapi

import (
	"net/http"
	"slices"
	"testing"
)

func TestFQNameToIDAndBack(t *testing.T) {
	api := newTestAPI(t)
	f := api.newFixture("10.1.1.0", 24)

	r := api.do(http.MethodPost, "/fqname-to-id", map[string]any{"type": "virtual-network", "fq_name": f.vnFQ})
	mustStatus(t, r, http.StatusOK)
	if got := r.json(t)["uuid"]; got != f.vn {
		t.Errorf("fqname-to-id uuid = %v, want %s", got, f.vn)
	}

	r = api.do(http.MethodPost, "/id-to-fqname", map[string]any{"uuid": f.vn})
	mustStatus(t, r, http.StatusOK)
	got := r.json(t)
	if got["type"] != "virtual-network" {
		t.Errorf("id-to-fqname type = %v, want virtual-network", got["type"])
	}
	if !slices.Equal(toStrings(got["fq_name"]), f.vnFQ) {
		t.Errorf("id-to-fqname fq_name = %v, want %v", got["fq_name"], f.vnFQ)
	}

	// The defaults of a fresh API server exist.
	r = api.do(http.MethodPost, "/fqname-to-id", map[string]any{"type": "network-ipam", "fq_name": defaultNetworkIPAM})
	mustStatus(t, r, http.StatusOK)

	mustError(t, api.do(http.MethodPost, "/fqname-to-id", map[string]any{"type": "virtual-network", "fq_name": []string{"default-domain", "p1", "nope"}}),
		404, "Name ['default-domain', 'p1', 'nope'] not found")
	mustError(t, api.do(http.MethodPost, "/fqname-to-id", map[string]any{"type": "project", "fq_name": f.vnFQ}),
		404, "not found")
	mustError(t, api.do(http.MethodPost, "/fqname-to-id", map[string]any{"type": "no-such-type", "fq_name": f.vnFQ}),
		404, "Resource type 'no-such-type' not found")
	mustError(t, api.do(http.MethodPost, "/id-to-fqname", map[string]any{"uuid": "00000000-0000-4000-8000-000000000000"}),
		404, "UUID 00000000-0000-4000-8000-000000000000 not found")
	mustStatus(t, api.do(http.MethodPost, "/id-to-fqname", map[string]any{}), http.StatusBadRequest)
}

func TestRefUpdate(t *testing.T) {
	api := newTestAPI(t)
	vm := api.create("virtual-machine", map[string]any{"fq_name": []string{"vm1"}})
	vr := api.create("virtual-router", map[string]any{"fq_name": []string{"default-global-system-config", "node1"}})

	r := api.refUpdate("virtual-router", vr, "virtual-machine", vm, "ADD")
	mustStatus(t, r, http.StatusOK)
	if got := r.json(t)["uuid"]; got != vr {
		t.Errorf("ref-update uuid = %v, want %s", got, vr)
	}
	if got := links(t, api.read("virtual-router", vr, ""), "virtual_machine_refs"); !slices.Equal(got, []string{vm}) {
		t.Errorf("virtual_machine_refs after ADD = %v, want [%s]", got, vm)
	}
	if got := links(t, api.read("virtual-machine", vm, ""), "virtual_router_back_refs"); !slices.Equal(got, []string{vr}) {
		t.Errorf("virtual_router_back_refs = %v, want [%s]", got, vr)
	}

	// A second ADD does not duplicate the ref.
	mustStatus(t, api.refUpdate("virtual-router", vr, "virtual-machine", vm, "ADD"), http.StatusOK)
	if got := links(t, api.read("virtual-router", vr, ""), "virtual_machine_refs"); len(got) != 1 {
		t.Errorf("virtual_machine_refs after second ADD = %v, want one entry", got)
	}

	mustStatus(t, api.refUpdate("virtual-router", vr, "virtual-machine", vm, "DELETE"), http.StatusOK)
	if got := links(t, api.read("virtual-router", vr, ""), "virtual_machine_refs"); len(got) != 0 {
		t.Errorf("virtual_machine_refs after DELETE = %v, want none", got)
	}

	// ref-fq-name replaces ref-uuid, and a lowercase operation is accepted.
	r = api.do(http.MethodPost, "/ref-update", map[string]any{
		"type": "virtual-router", "uuid": vr, "ref-type": "virtual-machine",
		"ref-fq-name": []string{"vm1"}, "operation": "add", "attr": nil,
	})
	mustStatus(t, r, http.StatusOK)
	if got := links(t, api.read("virtual-router", vr, ""), "virtual_machine_refs"); !slices.Equal(got, []string{vm}) {
		t.Errorf("virtual_machine_refs after ADD by fq-name = %v, want [%s]", got, vm)
	}

	unknown := "00000000-0000-4000-8000-000000000000"
	tests := []struct {
		name   string
		body   map[string]any
		status int
		want   string
	}{
		{"missing uuid", map[string]any{"type": "virtual-router", "ref-type": "virtual-machine", "ref-uuid": vm, "operation": "ADD"},
			400, "type/uuid/ref-type/operation is null: virtual-router, None, virtual-machine, ADD."},
		{"missing operation", map[string]any{"type": "virtual-router", "uuid": vr, "ref-type": "virtual-machine", "ref-uuid": vm},
			400, "is null"},
		{"bad operation", map[string]any{"type": "virtual-router", "uuid": vr, "ref-type": "virtual-machine", "ref-uuid": vm, "operation": "REPLACE"},
			400, "operation should be add or delete: REPLACE"},
		{"no ref", map[string]any{"type": "virtual-router", "uuid": vr, "ref-type": "virtual-machine", "operation": "ADD"},
			400, "ref-uuid or ref-fq-name must be specified"},
		{"unknown object", map[string]any{"type": "virtual-router", "uuid": unknown, "ref-type": "virtual-machine", "ref-uuid": vm, "operation": "ADD"},
			404, "Object Not Found: " + unknown},
		{"object of other type", map[string]any{"type": "virtual-router", "uuid": vm, "ref-type": "virtual-machine", "ref-uuid": vm, "operation": "ADD"},
			404, "Object Not Found: " + vm},
		{"unknown ref uuid", map[string]any{"type": "virtual-router", "uuid": vr, "ref-type": "virtual-machine", "ref-uuid": unknown, "operation": "ADD"},
			404, "Object Not Found: " + unknown},
		{"unknown ref fq-name", map[string]any{"type": "virtual-router", "uuid": vr, "ref-type": "virtual-machine", "ref-fq-name": []string{"nope"}, "operation": "ADD"},
			404, "Name ['nope'] not found"},
		{"unknown type", map[string]any{"type": "floating-ip", "uuid": vr, "ref-type": "virtual-machine", "ref-uuid": vm, "operation": "ADD"},
			404, "Resource type 'floating-ip' not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mustError(t, api.do(http.MethodPost, "/ref-update", tt.body), tt.status, tt.want)
		})
	}
}

func TestRefUpdateAttrAndSubnets(t *testing.T) {
	api := newTestAPI(t)
	project := api.create("project", map[string]any{"fq_name": []string{"default-domain", "p1"}})
	vn := api.create("virtual-network", map[string]any{"fq_name": []string{"default-domain", "p1", "vn1"}, "parent_type": "project"})
	ipam := api.create("network-ipam", map[string]any{"fq_name": []string{"default-domain", "p1", "ipam1"}, "parent_type": "project"})
	_ = project

	r := api.do(http.MethodPost, "/ref-update", map[string]any{
		"type": "virtual-network", "uuid": vn, "ref-type": "network-ipam", "ref-uuid": ipam, "operation": "ADD",
		"attr": map[string]any{"ipam_subnets": []any{map[string]any{"subnet": map[string]any{"ip_prefix": "10.9.0.0", "ip_prefix_len": 16}}}},
	})
	mustStatus(t, r, http.StatusOK)

	subnets, ok := api.server.VirtualNetworkSubnets(vn)
	if !ok || len(subnets) != 1 {
		t.Fatalf("VirtualNetworkSubnets = %v, %v, want one subnet", subnets, ok)
	}
	if got := subnets[0].Gateway.String(); got != "10.9.255.254" {
		t.Errorf("gateway of a subnet added by ref-update = %s, want 10.9.255.254", got)
	}
}
