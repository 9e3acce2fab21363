package configapi

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

func TestCRUDEachType(t *testing.T) {
	api := newTestAPI(t)
	f := api.newFixture("10.1.1.0", 24)
	vm, vmi := api.addPort(f, "k8s__default__pod1")
	iipResp := api.addInstanceIP(f, "pod1-iip", append(f.projectFQ, "k8s__default__pod1-port"), nil)
	mustStatus(t, iipResp, http.StatusOK)
	iip := iipResp.json(t)["instance-ip"].(map[string]any)["uuid"].(string)
	vr := api.create("virtual-router", map[string]any{
		"fq_name": []string{"default-global-system-config", "node1"}, "parent_type": "global-system-config",
		"virtual_router_ip_address": "192.0.2.10",
	})

	objects := []struct {
		typ, uuid string
		fqName    []string
	}{
		{"project", f.project, f.projectFQ},
		{"network-ipam", f.ipam, []string{"default-domain", "p1", "ipam1"}},
		{"virtual-network", f.vn, f.vnFQ},
		{"virtual-machine", vm, []string{"k8s__default__pod1"}},
		{"virtual-machine-interface", vmi, []string{"default-domain", "p1", "k8s__default__pod1-port"}},
		{"instance-ip", iip, []string{"pod1-iip"}},
		{"virtual-router", vr, []string{"default-global-system-config", "node1"}},
	}
	for _, o := range objects {
		t.Run(o.typ, func(t *testing.T) {
			got := api.read(o.typ, o.uuid, "")
			if got["uuid"] != o.uuid {
				t.Errorf("uuid = %v, want %s", got["uuid"], o.uuid)
			}
			if name := got["name"]; name != o.fqName[len(o.fqName)-1] {
				t.Errorf("name = %v, want %s", name, o.fqName[len(o.fqName)-1])
			}
			if !strings.HasSuffix(got["href"].(string), "/"+o.typ+"/"+o.uuid) {
				t.Errorf("href = %v", got["href"])
			}
			if got["display_name"] != o.fqName[len(o.fqName)-1] {
				t.Errorf("display_name = %v", got["display_name"])
			}
			if _, ok := got["id_perms"].(map[string]any); !ok {
				t.Errorf("id_perms missing: %v", got)
			}

			r := api.do(http.MethodPut, "/"+o.typ+"/"+o.uuid, map[string]any{o.typ: map[string]any{"display_name": "renamed"}})
			mustStatus(t, r, http.StatusOK)
			updated := r.json(t)[o.typ].(map[string]any)
			if updated["uuid"] != o.uuid || updated["href"] == nil {
				t.Errorf("PUT response = %v, want uuid and href", updated)
			}
			got = api.read(o.typ, o.uuid, "")
			if got["display_name"] != "renamed" {
				t.Errorf("display_name after PUT = %v, want renamed", got["display_name"])
			}
			if !slices.Equal(toStrings(got["fq_name"]), o.fqName) {
				t.Errorf("fq_name after PUT = %v, want %v", got["fq_name"], o.fqName)
			}

			list := api.do(http.MethodGet, "/"+o.typ+"s", nil)
			mustStatus(t, list, http.StatusOK)
			items, _ := list.json(t)[o.typ+"s"].([]any)
			found := false
			for _, item := range items {
				if item.(map[string]any)["uuid"] == o.uuid {
					found = true
				}
			}
			if !found {
				t.Errorf("list %ss misses %s: %s", o.typ, o.uuid, list.body)
			}
		})
	}

	// The VM still has a VMI and a virtual router referring to it.
	mustStatus(t, api.do(http.MethodDelete, "/virtual-machine/"+vm, nil), http.StatusConflict)

	// Delete in the order that the references allow.
	for _, o := range []struct{ typ, uuid string }{
		{"virtual-router", vr},
		{"instance-ip", iip},
		{"virtual-machine-interface", vmi},
		{"virtual-machine", vm},
		{"virtual-network", f.vn},
		{"network-ipam", f.ipam},
		{"project", f.project},
	} {
		r := api.do(http.MethodDelete, "/"+o.typ+"/"+o.uuid, nil)
		mustStatus(t, r, http.StatusOK)
		if len(r.body) != 0 {
			t.Errorf("DELETE %s body = %q, want empty", o.typ, r.body)
		}
		mustStatus(t, api.do(http.MethodGet, "/"+o.typ+"/"+o.uuid, nil), http.StatusNotFound)
	}
}

func toStrings(v any) []string {
	list, _ := v.([]any)
	out := make([]string, 0, len(list))
	for _, item := range list {
		s, _ := item.(string)
		out = append(out, s)
	}
	return out
}

func TestCreateResponseHasOnlyIdentity(t *testing.T) {
	api := newTestAPI(t)
	f := api.newFixture("10.1.1.0", 24)
	_, vmi := api.addPort(f, "vm1")

	r := api.do(http.MethodPost, "/virtual-machine-interfaces", map[string]any{"virtual-machine-interface": map[string]any{
		"fq_name": []string{"default-domain", "p1", "second"}, "parent_type": "project",
		"virtual_network_refs": []any{map[string]any{"to": f.vnFQ}},
	}})
	mustStatus(t, r, http.StatusOK)
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	got := r.json(t)["virtual-machine-interface"].(map[string]any)
	var keys []string
	for k := range got {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	want := []string{"fq_name", "href", "name", "parent_href", "parent_type", "parent_uuid", "uuid"}
	if !slices.Equal(keys, want) {
		t.Errorf("create response keys = %v, want %v", keys, want)
	}
	if got["parent_uuid"] != f.project {
		t.Errorf("parent_uuid = %v, want %s", got["parent_uuid"], f.project)
	}

	vmResp := api.do(http.MethodPost, "/virtual-machines", map[string]any{"virtual-machine": map[string]any{"fq_name": []string{"vm2"}}})
	mustStatus(t, vmResp, http.StatusOK)
	if _, ok := vmResp.json(t)["virtual-machine"].(map[string]any)["parent_type"]; ok {
		t.Errorf("VM create response has parent_type: %s", vmResp.body)
	}
	_ = vmi
}

func TestCreateErrors(t *testing.T) {
	api := newTestAPI(t)
	f := api.newFixture("10.1.1.0", 24)
	vm := api.create("virtual-machine", map[string]any{"fq_name": []string{"vm1"}, "uuid": "11111111-2222-4333-8444-555555555555"})

	tests := []struct {
		name   string
		typ    string
		body   map[string]any
		status int
		want   string
	}{
		{"no fq_name", "virtual-machine", map[string]any{"uuid": "aaaaaaaa-2222-4333-8444-555555555555"},
			400, "Bad Request, no fq_name in POST body"},
		{"duplicate fq_name", "virtual-machine", map[string]any{"fq_name": []string{"vm1"}},
			409, "['vm1'] already exists with uuid: " + vm},
		{"duplicate uuid", "virtual-machine", map[string]any{"fq_name": []string{"vm9"}, "uuid": vm},
			409, vm + " already exists with fq_name: ['vm1']"},
		{"uppercase uuid", "virtual-machine", map[string]any{"fq_name": []string{"vm9"}, "uuid": "AAAAAAAA-2222-4333-8444-555555555555"},
			400, "Invalid UUID format"},
		{"colon in name", "virtual-machine", map[string]any{"fq_name": []string{"a:b"}},
			400, "invalid chars"},
		{"VM with parent fq-name", "virtual-machine", map[string]any{"fq_name": []string{"default-domain", "vm9"}},
			400, "Invalid fq-name of an object with no parent"},
		{"VM with project parent", "virtual-machine", map[string]any{"fq_name": []string{"vm9"}, "parent_type": "project"},
			400, "Invalid parent type: project. Allowed types: ['config-root']"},
		{"missing parent", "virtual-network", map[string]any{"fq_name": []string{"default-domain", "nope", "vn"}, "parent_type": "project"},
			400, "Parent ['default-domain', 'nope'] type project does not exist"},
		{"unknown ref", "virtual-machine-interface", map[string]any{
			"fq_name": []string{"default-domain", "p1", "port"}, "parent_type": "project",
			"virtual_network_refs": []any{map[string]any{"to": []string{"default-domain", "p1", "nope"}}},
		}, 404, "Name ['default-domain', 'p1', 'nope'] not found"},
		{"uuid-only ref", "virtual-machine-interface", map[string]any{
			"fq_name": []string{"default-domain", "p1", "port"}, "parent_type": "project",
			"virtual_network_refs": []any{map[string]any{"uuid": f.vn}},
		}, 500, "no \"to\" fq-name"},
		{"IIP without network", "instance-ip", map[string]any{"fq_name": []string{"iip"}},
			400, "no virtual_network_refs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := api.do(http.MethodPost, "/"+tt.typ+"s", map[string]any{tt.typ: tt.body})
			mustError(t, r, tt.status, tt.want)
		})
	}

	t.Run("no wrapper", func(t *testing.T) {
		mustError(t, api.do(http.MethodPost, "/virtual-machines", map[string]any{"fq_name": []string{"x"}}), 400, "no virtual-machine")
	})
	t.Run("unknown collection", func(t *testing.T) {
		mustStatus(t, api.do(http.MethodPost, "/floating-ips", map[string]any{}), http.StatusNotFound)
	})
}

func TestReadErrorsAndETag(t *testing.T) {
	api := newTestAPI(t)
	vm := api.create("virtual-machine", map[string]any{"fq_name": []string{"vm1"}})
	unknown := "00000000-0000-4000-8000-000000000000"

	mustError(t, api.do(http.MethodGet, "/virtual-machine/"+unknown, nil), 404, unknown)
	mustError(t, api.do(http.MethodGet, "/virtual-network/"+vm, nil), 404, "No virtual-network object found for id "+vm)
	mustError(t, api.do(http.MethodDelete, "/virtual-machine/"+unknown, nil), 404, "ID "+unknown+" does not exist")
	mustError(t, api.do(http.MethodDelete, "/virtual-network/"+vm, nil), 404, vm)
	mustError(t, api.do(http.MethodPut, "/virtual-machine/"+unknown, map[string]any{"virtual-machine": map[string]any{"display_name": "x"}}), 404, unknown)

	first := api.do(http.MethodGet, "/virtual-machine/"+vm, nil)
	mustStatus(t, first, http.StatusOK)
	tag := first.header.Get("ETag")
	if tag == "" {
		t.Fatal("GET has no ETag")
	}
	mustStatus(t, api.do(http.MethodGet, "/virtual-machine/"+vm, nil, "If-None-Match", tag), http.StatusNotModified)

	mustStatus(t, api.do(http.MethodPut, "/virtual-machine/"+vm, map[string]any{"virtual-machine": map[string]any{"display_name": "x"}}), http.StatusOK)
	changed := api.do(http.MethodGet, "/virtual-machine/"+vm, nil, "If-None-Match", tag)
	mustStatus(t, changed, http.StatusOK)
	if changed.header.Get("ETag") == tag {
		t.Errorf("ETag unchanged after PUT: %s", tag)
	}
}

func TestReadFieldsBackRefsChildren(t *testing.T) {
	api := newTestAPI(t)
	f := api.newFixture("10.1.1.0", 24)
	vm, vmi := api.addPort(f, "vm1")

	vn := api.read("virtual-network", f.vn, "")
	if got := links(t, vn, "virtual_machine_interface_back_refs"); !slices.Equal(got, []string{vmi}) {
		t.Errorf("VN virtual_machine_interface_back_refs = %v, want [%s]", got, vmi)
	}
	ipamRefs, _ := vn["network_ipam_refs"].([]any)
	if len(ipamRefs) != 1 {
		t.Fatalf("network_ipam_refs = %v", vn["network_ipam_refs"])
	}
	ref := ipamRefs[0].(map[string]any)
	if !slices.Equal(toStrings(ref["to"]), []string{"default-domain", "p1", "ipam1"}) || ref["uuid"] != f.ipam || ref["href"] == nil {
		t.Errorf("network_ipam_refs[0] = %v, want to, uuid and href", ref)
	}

	project := api.read("project", f.project, "")
	if got := links(t, project, "virtual_networks"); !slices.Equal(got, []string{f.vn}) {
		t.Errorf("project virtual_networks = %v, want [%s]", got, f.vn)
	}
	if got := links(t, project, "virtual_machine_interfaces"); !slices.Equal(got, []string{vmi}) {
		t.Errorf("project virtual_machine_interfaces = %v, want [%s]", got, vmi)
	}
	vmObj := api.read("virtual-machine", vm, "")
	if got := links(t, vmObj, "virtual_machine_interface_back_refs"); !slices.Equal(got, []string{vmi}) {
		t.Errorf("VM back-refs = %v, want [%s]", got, vmi)
	}

	excluded := api.read("project", f.project, "?exclude_children=true&exclude_back_refs=true")
	if _, ok := excluded["virtual_networks"]; ok {
		t.Errorf("exclude_children still renders children: %v", excluded)
	}

	onlyRefs := api.read("virtual-network", f.vn, "?fields=network_ipam_refs")
	if _, ok := onlyRefs["network_ipam_refs"]; !ok {
		t.Errorf("fields=network_ipam_refs misses the refs: %v", onlyRefs)
	}
	for _, absent := range []string{"display_name", "virtual_machine_interface_back_refs", "virtual_network_network_id"} {
		if _, ok := onlyRefs[absent]; ok {
			t.Errorf("fields=network_ipam_refs renders %s", absent)
		}
	}
	for _, present := range []string{"uuid", "fq_name", "name", "parent_uuid"} {
		if _, ok := onlyRefs[present]; !ok {
			t.Errorf("fields=network_ipam_refs drops %s", present)
		}
	}
}

func TestUpdateReplacesRefsAndKeepsOthers(t *testing.T) {
	api := newTestAPI(t)
	f := api.newFixture("10.1.1.0", 24)
	_, vmi := api.addPort(f, "vm1")
	vm2 := api.create("virtual-machine", map[string]any{"fq_name": []string{"vm2"}})

	body := map[string]any{"virtual-machine-interface": map[string]any{
		"virtual_machine_refs":  []any{map[string]any{"uuid": vm2}},
		"port_security_enabled": false,
	}}
	mustStatus(t, api.do(http.MethodPut, "/virtual-machine-interface/"+vmi, body), http.StatusOK)

	got := api.read("virtual-machine-interface", vmi, "")
	if refs := links(t, got, "virtual_machine_refs"); !slices.Equal(refs, []string{vm2}) {
		t.Errorf("virtual_machine_refs = %v, want [%s]", refs, vm2)
	}
	if refs := links(t, got, "virtual_network_refs"); !slices.Equal(refs, []string{f.vn}) {
		t.Errorf("virtual_network_refs = %v, want the untouched [%s]", refs, f.vn)
	}
	if got["port_security_enabled"] != false {
		t.Errorf("port_security_enabled = %v, want false", got["port_security_enabled"])
	}
	if _, ok := got["virtual_machine_interface_mac_addresses"]; !ok {
		t.Errorf("PUT dropped the MAC address: %v", got)
	}

	bad := map[string]any{"virtual-machine-interface": map[string]any{
		"virtual_machine_refs": []any{map[string]any{"uuid": "00000000-0000-4000-8000-000000000000"}},
	}}
	mustError(t, api.do(http.MethodPut, "/virtual-machine-interface/"+vmi, bad), 404, "00000000-0000-4000-8000-000000000000")
}
