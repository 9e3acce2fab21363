package agent

import (
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
)

func vmRequest(t *testing.T, vmi, ifname string, changes map[string]any) string {
	t.Helper()
	body := map[string]any{
		"time":         "2024-01-01 00:00:00",
		"vm-id":        "c0ffee",
		"vm-uuid":      vmUUID,
		"vm-name":      vmName,
		"host-ifname":  ifname,
		"vm-ifname":    "eth1",
		"vm-namespace": "/var/run/netns/cni-1234",
		"vn-uuid":      vnUUID,
		"vmi-uuid":     vmi,
	}
	maps.Copy(body, changes)
	for k, v := range changes {
		if v == nil {
			delete(body, k)
		}
	}
	return toJSON(t, body)
}

func TestPostVMValidation(t *testing.T) {
	tests := []struct {
		name string
		body string
		want string
	}{
		{"array", "[" + vmRequest(t, vmiUUID, "tap1", nil) + "]", "Unexpected Json string ==> [" + vmRequest(t, vmiUUID, "tap1", nil) + "]"},
		{"missing vm-uuid", vmRequest(t, vmiUUID, "tap1", map[string]any{"vm-uuid": nil}), "Invalid or missing data for <vm-uuid>"},
		{"missing host-ifname", vmRequest(t, vmiUUID, "tap1", map[string]any{"host-ifname": nil}), "Invalid or missing field for <host-ifname>"},
		{"missing vm-name", vmRequest(t, vmiUUID, "tap1", map[string]any{"vm-name": nil}), "Invalid or missing field for <vm-name>"},
		{"numeric vn-uuid", vmRequest(t, vmiUUID, "tap1", map[string]any{"vn-uuid": 7}), "Invalid or missing data for <vn-uuid>"},
		{"missing vmi-uuid", vmRequest(t, vmiUUID, "tap1", map[string]any{"vmi-uuid": nil}), "Invalid or missing data for <vmi-uuid>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newTestAgent(t, testVMI())
			status, body := a.do(t, http.MethodPost, "/vm", tt.body)
			if status != http.StatusInternalServerError {
				t.Errorf("status = %d, want 500", status)
			}
			if want := compactJSON(map[string]string{"error": "{ " + tt.want + " }"}); body != want {
				t.Errorf("body = %s, want %s", body, want)
			}
		})
	}
}

func TestPostVMOptionalFields(t *testing.T) {
	a := newTestAgent(t, testVMI())
	body := vmRequest(t, vmiUUID, "tap1", map[string]any{"vm-id": nil, "vm-ifname": nil, "vm-namespace": nil, "time": nil})
	if status, resp := a.do(t, http.MethodPost, "/vm", body); status != http.StatusOK || resp != "{}" {
		t.Errorf("POST without optional fields = %d %s, want 200 {}", status, resp)
	}
}

func TestVMBindGetDelete(t *testing.T) {
	second := testVMI()
	second.UUID = vmi2UUID
	second.IPv4 = &IPConfig{Address: "10.10.1.4", PrefixLen: 24, Gateway: "10.10.1.254", DNSServer: "10.10.1.253"}
	a := newTestAgent(t, testVMI(), second)

	for _, b := range []struct{ vmi, ifname string }{{vmiUUID, "tap1"}, {vmi2UUID, "tap2"}} {
		status, body := a.do(t, http.MethodPost, "/vm", vmRequest(t, b.vmi, b.ifname, nil))
		if status != http.StatusOK || body != "{}" {
			t.Fatalf("POST /vm %s = %d %s", b.ifname, status, body)
		}
	}
	if attached, _ := a.dp.snapshot(); attached["tap1"] != vnUUID || attached["tap2"] != vnUUID {
		t.Errorf("attached = %v", attached)
	}

	status, body := a.do(t, http.MethodGet, "/vm/"+vmUUID, "")
	if status != http.StatusOK {
		t.Fatalf("GET /vm = %d %s", status, body)
	}
	var ports []map[string]any
	if err := json.Unmarshal([]byte(body), &ports); err != nil {
		t.Fatalf("GET /vm body %s: %v", body, err)
	}
	if len(ports) != 2 {
		t.Fatalf("GET /vm returned %d ports, want 2", len(ports))
	}
	for i, want := range []struct{ id, ifname, ip string }{{vmiUUID, "tap1", "10.10.1.3"}, {vmi2UUID, "tap2", "10.10.1.4"}} {
		if ports[i]["id"] != want.id || ports[i]["system-name"] != want.ifname || ports[i]["ip-address"] != want.ip {
			t.Errorf("port %d = %v, want id %s, system-name %s, ip %s", i, ports[i], want.id, want.ifname, want.ip)
		}
		if ports[i]["rx-vlan-id"] != float64(invalidVLANID) {
			t.Errorf("port %d rx-vlan-id = %v, want %d", i, ports[i]["rx-vlan-id"], invalidVLANID)
		}
	}

	status, body = a.do(t, http.MethodGet, "/vm/"+vmUUID+"/"+vmi2UUID, "")
	if status != http.StatusOK || !strings.HasPrefix(body, "[{") || strings.Count(body, `"id"`) != 1 || !strings.Contains(body, vmi2UUID) {
		t.Errorf("GET /vm/<vm>/<vmi> = %d %s, want a one-element array", status, body)
	}

	for range 2 {
		status, body = a.do(t, http.MethodDelete, "/vm/"+vmUUID, "ignored body")
		if status != http.StatusOK || body != "{}" {
			t.Errorf("DELETE /vm = %d %s, want 200 {}", status, body)
		}
	}
	attached, calls := a.dp.snapshot()
	if len(attached) != 0 {
		t.Errorf("attached after DELETE /vm = %v", attached)
	}
	detaches := slices.DeleteFunc(calls, func(c string) bool { return !strings.HasPrefix(c, "detach") })
	slices.Sort(detaches)
	if want := []string{"detach tap1", "detach tap2"}; !slices.Equal(detaches, want) {
		t.Errorf("detach calls = %v, want %v", detaches, want)
	}
}

func TestVMRebindMovesVMI(t *testing.T) {
	a := newTestAgent(t, testVMI())
	otherVM := "6b2a7f1c-1111-2222-3333-444455556666"

	a.do(t, http.MethodPost, "/vm", vmRequest(t, vmiUUID, "tap1", nil))
	a.do(t, http.MethodPost, "/vm", vmRequest(t, vmiUUID, "tap2", map[string]any{"vm-uuid": otherVM}))

	attached, _ := a.dp.snapshot()
	if _, ok := attached["tap1"]; ok || attached["tap2"] != vnUUID {
		t.Errorf("attached = %v, want only tap2", attached)
	}
	// The VMI moved to the other VM, so deleting the first VM keeps it.
	a.do(t, http.MethodDelete, "/vm/"+vmUUID, "")
	if attached, _ := a.dp.snapshot(); attached["tap2"] != vnUUID {
		t.Errorf("DELETE of the old VM detached the moved VMI: %v", attached)
	}
}

func TestGetVMNotFound(t *testing.T) {
	noAddress := testVMI()
	noAddress.IPv4 = nil
	a := newTestAgent(t, noAddress)

	// Unknown VM: nothing bound names it.
	if status, body := a.do(t, http.MethodGet, "/vm/"+vmUUID, ""); status != http.StatusNotFound || body != `{"error":"{ Not Found }"}` {
		t.Errorf("GET unknown VM = %d %s", status, body)
	}
	// Known VM whose VMI has no address yet.
	a.do(t, http.MethodPost, "/vm", vmRequest(t, vmiUUID, "tap1", nil))
	if status, _ := a.do(t, http.MethodGet, "/vm/"+vmUUID, ""); status != http.StatusNotFound {
		t.Errorf("GET VM without address = %d, want 404", status)
	}
}

// uuidView adds VMUUIDView to fakeConfig.
type uuidView struct{ *fakeConfig }

func (u uuidView) VMInterfacesByUUID(node, vm string) ([]VMIConfig, bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	var out []VMIConfig
	for _, v := range u.vmis {
		if v.VMUUID == vm && node == testNode {
			out = append(out, v)
		}
	}
	return out, len(out) > 0
}

func TestGetVMFromConfigByUUID(t *testing.T) {
	a := newTestAgent(t, testVMI())
	a.server.Config = uuidView{a.config}

	// No binding at all: the view finds the VM by uuid.
	status, body := a.do(t, http.MethodGet, "/vm/"+vmUUID, "")
	if status != http.StatusOK || !strings.Contains(body, vmiUUID) {
		t.Errorf("GET /vm = %d %s", status, body)
	}
}
