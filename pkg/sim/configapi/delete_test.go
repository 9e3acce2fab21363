package configapi

import (
	"net/http"
	"strings"
	"testing"
)

func TestDeleteWhileReferred(t *testing.T) {
	api := newTestAPI(t)
	f := api.newFixture("10.1.1.0", 24)
	_, vmi := api.addPort(f, "vm1")

	r := api.do(http.MethodDelete, "/virtual-network/"+f.vn, nil)
	mustError(t, r, 409, "Delete when resource still referred: ['"+api.http.URL+"/virtual-machine-interface/"+vmi+"']")

	r = api.do(http.MethodDelete, "/network-ipam/"+f.ipam, nil)
	mustError(t, r, 409, "/virtual-network/"+f.vn)

	mustStatus(t, api.do(http.MethodDelete, "/virtual-machine-interface/"+vmi, nil), http.StatusOK)
	mustStatus(t, api.do(http.MethodDelete, "/virtual-network/"+f.vn, nil), http.StatusOK)
	mustStatus(t, api.do(http.MethodDelete, "/network-ipam/"+f.ipam, nil), http.StatusOK)
}

func TestDeleteWithChildren(t *testing.T) {
	api := newTestAPI(t)
	f := api.newFixture("10.1.1.0", 24)
	vm := api.create("virtual-machine", map[string]any{"fq_name": []string{"vm1"}})
	child := api.create("virtual-machine-interface", map[string]any{
		"fq_name": []string{"vm1", "eth0"}, "parent_type": "virtual-machine",
		"virtual_network_refs": []any{map[string]any{"to": f.vnFQ}},
	})

	r := api.do(http.MethodDelete, "/virtual-machine/"+vm, nil)
	mustError(t, r, 409, "Delete when children still present: ['"+api.http.URL+"/virtual-machine-interface/"+child+"']")

	r = api.do(http.MethodDelete, "/project/"+f.project, nil)
	mustError(t, r, 409, "Delete when children still present")
	for _, want := range []string{"/virtual-network/" + f.vn, "/network-ipam/" + f.ipam} {
		if !strings.Contains(string(r.body), want) {
			t.Errorf("project delete message %q misses %s", r.body, want)
		}
	}

	mustStatus(t, api.do(http.MethodDelete, "/virtual-machine-interface/"+child, nil), http.StatusOK)
	mustStatus(t, api.do(http.MethodDelete, "/virtual-machine/"+vm, nil), http.StatusOK)
}

func TestDeleteDefaultChildrenAlong(t *testing.T) {
	api := newTestAPI(t)
	project := api.create("project", map[string]any{"fq_name": []string{"default-domain", "p1"}})
	ipam := api.create("network-ipam", map[string]any{"fq_name": []string{"default-domain", "p1", "default-network-ipam"}})

	mustStatus(t, api.do(http.MethodDelete, "/project/"+project, nil), http.StatusOK)
	mustStatus(t, api.do(http.MethodGet, "/network-ipam/"+ipam, nil), http.StatusNotFound)
}
