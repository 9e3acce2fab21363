package configapi

import (
	"encoding/json"
	"net/http"
	"testing"
)

// hostRoutes returns the RouteTableType at obj[key] re-encoded as JSON, or
// "null" when it is missing.
func hostRoutes(t *testing.T, obj map[string]any, key string) string {
	t.Helper()
	data, err := json.Marshal(obj[key])
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestVirtualNetworkKeepsHostRoutes(t *testing.T) {
	a := newTestAPI(t)
	a.create("project", map[string]any{"fq_name": []string{"default-domain", "p1"}, "parent_type": "domain"})
	a.create("network-ipam", map[string]any{"fq_name": []string{"default-domain", "p1", "ipam1"}, "parent_type": "project"})
	subnetRoutes := map[string]any{"route": []any{
		map[string]any{"prefix": "10.60.0.0/16", "next_hop": "10.50.0.1", "next_hop_type": "ip-address"},
		map[string]any{"prefix": "fd00:60::/48", "next_hop": "fd00:50::1"},
	}}
	refRoutes := map[string]any{"route": []any{map[string]any{"prefix": "192.168.50.0/24", "next_hop": "10.50.0.2"}}}
	vn := a.create("virtual-network", map[string]any{
		"fq_name": []string{"default-domain", "p1", "vn1"}, "parent_type": "project",
		"network_ipam_refs": []any{map[string]any{
			"to": []string{"default-domain", "p1", "ipam1"},
			"attr": map[string]any{
				"ipam_subnets": []any{map[string]any{
					"subnet":      map[string]any{"ip_prefix": "10.50.0.0", "ip_prefix_len": 24},
					"host_routes": subnetRoutes,
				}},
				"host_routes": refRoutes,
			},
		}},
	})

	check := func(when string) {
		t.Helper()
		obj := a.read("virtual-network", vn, "")
		refs, _ := obj["network_ipam_refs"].([]any)
		if len(refs) != 1 {
			t.Fatalf("%s: network_ipam_refs = %v", when, obj["network_ipam_refs"])
		}
		attr, _ := refs[0].(map[string]any)["attr"].(map[string]any)
		subnets, _ := attr["ipam_subnets"].([]any)
		if len(subnets) != 1 {
			t.Fatalf("%s: ipam_subnets = %v", when, attr["ipam_subnets"])
		}
		subnet, _ := subnets[0].(map[string]any)
		want, _ := json.Marshal(subnetRoutes)
		if got := hostRoutes(t, subnet, "host_routes"); got != string(want) {
			t.Errorf("%s: ipam_subnets[0].host_routes = %s, want %s", when, got, want)
		}
		if subnet["default_gateway"] != "10.50.0.254" {
			t.Errorf("%s: default_gateway = %v; the server must still fill in the subnet", when, subnet["default_gateway"])
		}
		want, _ = json.Marshal(refRoutes)
		if got := hostRoutes(t, attr, "host_routes"); got != string(want) {
			t.Errorf("%s: attr host_routes = %s, want %s", when, got, want)
		}
	}
	check("after create")

	// An update that resends the stored refs keeps the routes as well.
	obj := a.read("virtual-network", vn, "")
	r := a.do(http.MethodPut, "/virtual-network/"+vn, map[string]any{"virtual-network": map[string]any{
		"network_ipam_refs": obj["network_ipam_refs"],
	}})
	mustStatus(t, r, http.StatusOK)
	check("after update")
}
