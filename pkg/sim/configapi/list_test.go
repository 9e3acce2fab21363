package configapi

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

func TestListQueries(t *testing.T) {
	api := newTestAPI(t)
	f := api.newFixture("10.1.1.0", 24)
	vm1, vmi1 := api.addPort(f, "vm1")
	_, vmi2 := api.addPort(f, "vm2")
	other := api.create("virtual-network", map[string]any{"fq_name": []string{"default-domain", "default-project", "other"}})

	list := func(query string) map[string]any {
		t.Helper()
		r := api.do(http.MethodGet, query, nil)
		mustStatus(t, r, http.StatusOK)
		return r.json(t)
	}
	uuids := func(body map[string]any, collection string) []string {
		t.Helper()
		items, ok := body[collection].([]any)
		if !ok {
			t.Fatalf("%s is not a list: %v", collection, body)
		}
		var out []string
		for _, item := range items {
			out = append(out, item.(map[string]any)["uuid"].(string))
		}
		slices.Sort(out)
		return out
	}
	sorted := func(ids ...string) []string {
		slices.Sort(ids)
		return ids
	}

	t.Run("plain", func(t *testing.T) {
		body := list("/virtual-networks")
		if got := uuids(body, "virtual-networks"); !slices.Equal(got, sorted(f.vn, other)) {
			t.Errorf("uuids = %v, want %v", got, sorted(f.vn, other))
		}
		item := body["virtual-networks"].([]any)[0].(map[string]any)
		var keys []string
		for k := range item {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if !slices.Equal(keys, []string{"fq_name", "href", "uuid"}) {
			t.Errorf("plain item keys = %v, want [fq_name href uuid]", keys)
		}
	})
	t.Run("fq_names with detail", func(t *testing.T) {
		body := list("/virtual-networks?fq_names=" + strings.Join(f.vnFQ, ":") + "&detail=true")
		items := body["virtual-networks"].([]any)
		if len(items) != 1 {
			t.Fatalf("items = %v, want one", items)
		}
		vn, ok := items[0].(map[string]any)["virtual-network"].(map[string]any)
		if !ok {
			t.Fatalf("detail item has no virtual-network wrapper: %v", items[0])
		}
		if vn["uuid"] != f.vn || vn["network_ipam_refs"] == nil || vn["name"] != "vn1" {
			t.Errorf("detail item = %v, want full object of %s", vn, f.vn)
		}
	})
	t.Run("fields", func(t *testing.T) {
		body := list("/virtual-machine-interfaces?fields=virtual_machine_interface_mac_addresses,virtual_network_refs")
		for _, item := range body["virtual-machine-interfaces"].([]any) {
			m := item.(map[string]any)
			if m["virtual_machine_interface_mac_addresses"] == nil || m["virtual_network_refs"] == nil {
				t.Errorf("item misses requested fields: %v", m)
			}
			if _, ok := m["annotations"]; ok {
				t.Errorf("item has a field not requested: %v", m)
			}
		}
	})
	t.Run("parent_id", func(t *testing.T) {
		body := list("/virtual-networks?parent_id=" + f.project)
		if got := uuids(body, "virtual-networks"); !slices.Equal(got, []string{f.vn}) {
			t.Errorf("uuids = %v, want [%s]", got, f.vn)
		}
	})
	t.Run("parent_fq_name_str", func(t *testing.T) {
		body := list("/virtual-networks?parent_type=project&parent_fq_name_str=default-domain:default-project")
		if got := uuids(body, "virtual-networks"); !slices.Equal(got, []string{other}) {
			t.Errorf("uuids = %v, want [%s]", got, other)
		}
	})
	t.Run("back_ref_id", func(t *testing.T) {
		body := list("/virtual-machine-interfaces?back_ref_id=" + vm1)
		if got := uuids(body, "virtual-machine-interfaces"); !slices.Equal(got, []string{vmi1}) {
			t.Errorf("uuids = %v, want [%s]", got, vmi1)
		}
	})
	t.Run("obj_uuids", func(t *testing.T) {
		body := list("/virtual-machine-interfaces?obj_uuids=" + vmi2 + ",00000000-0000-4000-8000-000000000000")
		if got := uuids(body, "virtual-machine-interfaces"); !slices.Equal(got, []string{vmi2}) {
			t.Errorf("uuids = %v, want [%s]", got, vmi2)
		}
	})
	t.Run("count", func(t *testing.T) {
		body := list("/virtual-machine-interfaces?count=true")
		count, ok := body["virtual-machine-interfaces"].(map[string]any)
		if !ok || count["count"] != float64(2) {
			t.Errorf("count body = %v, want {\"virtual-machine-interfaces\":{\"count\":2}}", body)
		}
	})
	t.Run("filters", func(t *testing.T) {
		body := list("/virtual-machines?filters=display_name==vm2")
		if got := body["virtual-machines"].([]any); len(got) != 1 {
			t.Errorf("filtered VMs = %v, want one", got)
		}
		mustStatus(t, api.do(http.MethodGet, "/virtual-machines?filters=display_name", nil), http.StatusBadRequest)
	})
	t.Run("empty", func(t *testing.T) {
		r := api.do(http.MethodGet, "/instance-ips", nil)
		mustStatus(t, r, http.StatusOK)
		if string(r.body) != `{"instance-ips":[]}` {
			t.Errorf("empty list body = %s, want {\"instance-ips\":[]}", r.body)
		}
	})
}

func TestHomePage(t *testing.T) {
	api := newTestAPI(t)
	r := api.do(http.MethodGet, "/", nil)
	mustStatus(t, r, http.StatusOK)
	if !strings.Contains(string(r.body), api.http.URL+"/virtual-networks") {
		t.Errorf("home page does not link the virtual-networks collection: %s", r.body)
	}
}
