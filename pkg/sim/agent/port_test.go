package agent

import (
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// portRequest returns a valid POST /port body for vmiUUID bound to ifname,
// with changes applied: a nil value deletes the field.
func portRequest(t *testing.T, vmi, ifname string, changes map[string]any) map[string]any {
	t.Helper()
	body := map[string]any{
		"id":            vmi,
		"instance-id":   vmUUID,
		"vn-id":         otherVNUUID,
		"vm-project-id": projectUUID,
		"display-name":  vmName,
		"ip-address":    "10.10.1.3",
		"ip6-address":   "None",
		"type":          PortTypeNamespace,
		"system-name":   ifname,
		"mac-address":   "02:93:c2:c3:86:6e",
		"rx-vlan-id":    -1,
		"tx-vlan-id":    -1,
	}
	maps.Copy(body, changes)
	for k, v := range changes {
		if v == nil {
			delete(body, k)
		}
	}
	return body
}

func toJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestPostPortValidation(t *testing.T) {
	tests := []struct {
		name    string
		changes map[string]any
		wantMsg string
	}{
		{"missing id", map[string]any{"id": nil}, "Invalid or missing data for <id>"},
		{"numeric id", map[string]any{"id": 5}, "Invalid or missing data for <id>"},
		{"missing instance-id", map[string]any{"instance-id": nil}, "Invalid or missing data for <instance-id>"},
		{"missing vn-id", map[string]any{"vn-id": nil}, "Invalid or missing data for <vn-id>"},
		{"missing vm-project-id", map[string]any{"vm-project-id": nil}, "Invalid or missing data for <vm-project-id>"},
		{"missing display-name", map[string]any{"display-name": nil}, "Invalid or missing field for <display-name>"},
		{"missing ip-address", map[string]any{"ip-address": nil}, "Invalid or missing field for <ip-address>"},
		{"missing ip6-address", map[string]any{"ip6-address": nil}, "Invalid or missing field for <ip6-address>"},
		{"string type", map[string]any{"type": "1"}, "Invalid or missing field for <type>"},
		{"fractional type", map[string]any{"type": 1.5}, "Invalid or missing field for <type>"},
		{"VM port with nil VN", map[string]any{"type": PortTypeVM, "vn-id": "not-a-uuid"}, "Invalid VN uuid"},
		{"missing system-name", map[string]any{"system-name": nil}, "Invalid or missing field for <system-name>"},
		{"missing mac-address", map[string]any{"mac-address": nil}, "Invalid or missing field for <mac-address>"},
		{"MAC without colons", map[string]any{"mac-address": "02-93-c2-c3-86-6e"}, "Invalid MAC, Use xx:xx:xx:xx:xx:xx format"},
		{"zero MAC", map[string]any{"mac-address": "00:00:00:00:00:00"}, "Invalid MAC, Use xx:xx:xx:xx:xx:xx format"},
		{"missing rx-vlan-id", map[string]any{"rx-vlan-id": nil}, "Invalid or missing field for <rx-vlan-id>"},
		{"missing tx-vlan-id", map[string]any{"tx-vlan-id": nil}, "Invalid or missing field for <tx-vlan-id>"},
		{"rx vlan without tx vlan", map[string]any{"rx-vlan-id": 100, "tx-vlan-id": 0xFFFE}, "Invalid request. RX (isolated) vlan set, but TX vlan not set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newTestAgent(t, testVMI())
			status, body := a.do(t, http.MethodPost, "/port", toJSON(t, portRequest(t, vmiUUID, "tap1", tt.changes)))
			if status != http.StatusInternalServerError {
				t.Errorf("status = %d, want 500", status)
			}
			if want := compactJSON(map[string]string{"error": "{ " + tt.wantMsg + " }"}); body != want {
				t.Errorf("body = %s, want %s", body, want)
			}
			if attached, _ := a.dp.snapshot(); len(attached) != 0 {
				t.Errorf("invalid request attached %v", attached)
			}
		})
	}
}

func TestPostPortMalformedJSON(t *testing.T) {
	a := newTestAgent(t)
	tests := []struct{ body, want string }{
		{`{"id":`, `{"error":"{ Invalid Json string ==> {\"id\": }"}`},
		{`{} {}`, `{"error":"{ Invalid Json string ==> {} {} }"}`},
		{`"port"`, `{"error":"{ Unexpected Json string ==> \"port\" }"}`},
	}
	for _, tt := range tests {
		status, body := a.do(t, http.MethodPost, "/port", tt.body)
		if status != http.StatusInternalServerError || body != tt.want {
			t.Errorf("POST /port %s = %d %s, want 500 %s", tt.body, status, body, tt.want)
		}
	}
}

func TestPostPortBindsAndGetPortReports(t *testing.T) {
	a := newTestAgent(t, testVMI())

	// Before the bind, the port is known from config with no system-name.
	status, body := a.do(t, http.MethodGet, "/port/"+vmiUUID, "")
	if status != http.StatusOK {
		t.Fatalf("GET before bind = %d %s", status, body)
	}
	if !strings.Contains(body, `"system-name": "",`) {
		t.Errorf("GET before bind has a system-name: %s", body)
	}

	status, body = a.do(t, http.MethodPost, "/port", toJSON(t, portRequest(t, vmiUUID, "tap93c2c386-6e", nil)))
	if status != http.StatusOK || body != "{}" {
		t.Fatalf("POST /port = %d %s, want 200 {}", status, body)
	}
	// The VN comes from config, not from the request's vn-id.
	if attached, _ := a.dp.snapshot(); attached["tap93c2c386-6e"] != vnUUID {
		t.Errorf("attached = %v, want tap93c2c386-6e on %s", attached, vnUUID)
	}

	status, body = a.do(t, http.MethodGet, "/port/"+vmiUUID, "")
	if status != http.StatusOK {
		t.Fatalf("GET after bind = %d %s", status, body)
	}
	want := `{
    "id": "93c2c386-6e79-485e-bfa4-b9daa713133b",
    "instance-id": "5b2a7f1c-1111-2222-3333-444455556666",
    "vn-id": "56297dc0-5553-4e6a-b87f-8423afc21e9d",
    "vm-project-id": "9970147c-33b1-4bf7-8944-8968e708d430",
    "mac-address": "02:93:c2:c3:86:6e",
    "system-name": "tap93c2c386-6e",
    "rx-vlan-id": 65535,
    "tx-vlan-id": 65535,
    "vhostuser-mode": 0,
    "ip-address": "10.10.1.3",
    "plen": 24,
    "dns-server": "10.10.1.253",
    "gateway": "10.10.1.254",
    "author": "contrail-sim",
    "time": "472222:13:20.123456"
}`
	if body != want {
		t.Errorf("GET /port body =\n%s\nwant\n%s", body, want)
	}
}

func TestGetPortIPv6Only(t *testing.T) {
	vmi := testVMI()
	vmi.IPv4 = nil
	vmi.IPv6 = &IPConfig{Address: "fd00:10:1::3", PrefixLen: 64}
	a := newTestAgent(t, vmi)

	status, body := a.do(t, http.MethodGet, "/port/"+vmiUUID, "")
	if status != http.StatusOK {
		t.Fatalf("GET = %d %s", status, body)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	for _, absent := range []string{"ip-address", "plen", "dns-server", "gateway"} {
		if _, ok := got[absent]; ok {
			t.Errorf("IPv6-only port has %q", absent)
		}
	}
	want := map[string]string{"v6-ip-address": "fd00:10:1::3", "v6-gateway": "::", "v6-dns-server": "::"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %s", k, got[k], v)
		}
	}
}

func TestGetPortNotFound(t *testing.T) {
	noAddress := testVMI()
	noAddress.IPv4 = nil
	a := newTestAgent(t, noAddress)

	for _, uuid := range []string{vmiUUID, vmi2UUID} {
		status, body := a.do(t, http.MethodGet, "/port/"+uuid, "")
		if status != http.StatusNotFound || body != `{"error":"{ Not Found }"}` {
			t.Errorf("GET /port/%s = %d %s, want 404 Not Found", uuid, status, body)
		}
	}
}

func TestPostPortSameVMKeepsFirstBinding(t *testing.T) {
	a := newTestAgent(t, testVMI())

	// The agent keeps the first subscription of a VMI added again for the
	// same VM and only attaches its interface again.
	for _, ifname := range []string{"tapold", "tapnew"} {
		status, body := a.do(t, http.MethodPost, "/port", toJSON(t, portRequest(t, vmiUUID, ifname, nil)))
		if status != http.StatusOK {
			t.Fatalf("POST /port %s = %d %s", ifname, status, body)
		}
	}
	attached, calls := a.dp.snapshot()
	if _, ok := attached["tapnew"]; ok || attached["tapold"] != vnUUID {
		t.Errorf("attached = %v, want only tapold", attached)
	}
	wantCalls := []string{"attach tapold " + vnUUID, "attach tapold " + vnUUID}
	if !slices.Equal(calls, wantCalls) {
		t.Errorf("data plane calls = %v, want %v", calls, wantCalls)
	}

	_, body := a.do(t, http.MethodGet, "/port/"+vmiUUID, "")
	if !strings.Contains(body, `"system-name": "tapold"`) {
		t.Errorf("GET after the second POST: %s", body)
	}
}

func TestPostPortOtherVMReplacesBinding(t *testing.T) {
	a := newTestAgent(t, testVMI())
	otherVM := "6b2a7f1c-1111-2222-3333-444455556666"

	a.do(t, http.MethodPost, "/port", toJSON(t, portRequest(t, vmiUUID, "tapold", nil)))
	status, body := a.do(t, http.MethodPost, "/port", toJSON(t, portRequest(t, vmiUUID, "tapnew", map[string]any{"instance-id": otherVM})))
	if status != http.StatusOK {
		t.Fatalf("POST /port for another VM = %d %s", status, body)
	}
	attached, calls := a.dp.snapshot()
	if _, ok := attached["tapold"]; ok || attached["tapnew"] != vnUUID {
		t.Errorf("attached = %v, want only tapnew", attached)
	}
	wantCalls := []string{"attach tapold " + vnUUID, "detach tapold", "attach tapnew " + vnUUID}
	if !slices.Equal(calls, wantCalls) {
		t.Errorf("data plane calls = %v, want %v", calls, wantCalls)
	}
	_, body = a.do(t, http.MethodGet, "/port/"+vmiUUID, "")
	if !strings.Contains(body, `"system-name": "tapnew"`) {
		t.Errorf("GET after the rebind: %s", body)
	}
}

func TestDeletePort(t *testing.T) {
	a := newTestAgent(t, testVMI())
	a.do(t, http.MethodPost, "/port", toJSON(t, portRequest(t, vmiUUID, "tap1", nil)))

	for range 2 {
		status, body := a.do(t, http.MethodDelete, "/port/"+vmiUUID, "")
		if status != http.StatusOK || body != "{}" {
			t.Errorf("DELETE = %d %s, want 200 {}", status, body)
		}
	}
	attached, calls := a.dp.snapshot()
	if len(attached) != 0 {
		t.Errorf("attached after DELETE = %v", attached)
	}
	if n := strings.Count(strings.Join(calls, ","), "detach tap1"); n != 1 {
		t.Errorf("detach calls = %d, want 1 (calls %v)", n, calls)
	}

	_, body := a.do(t, http.MethodGet, "/port/"+vmiUUID, "")
	if !strings.Contains(body, `"system-name": "",`) {
		t.Errorf("GET after DELETE still has a system-name: %s", body)
	}
}

func TestPostPortArray(t *testing.T) {
	second := testVMI()
	second.UUID = vmi2UUID
	a := newTestAgent(t, testVMI(), second)

	invalid := []map[string]any{
		portRequest(t, vmiUUID, "tap1", nil),
		portRequest(t, vmi2UUID, "tap2", map[string]any{"mac-address": "bad"}),
	}
	status, body := a.do(t, http.MethodPost, "/port", toJSON(t, invalid))
	if status != http.StatusOK || body != "{}" {
		t.Errorf("POST invalid array = %d %s, want the agent's 200 {}", status, body)
	}
	if attached, _ := a.dp.snapshot(); len(attached) != 0 {
		t.Fatalf("an array with an invalid element attached %v", attached)
	}

	valid := []map[string]any{
		portRequest(t, vmiUUID, "tap1", nil),
		portRequest(t, vmi2UUID, "tap2", nil),
	}
	status, body = a.do(t, http.MethodPost, "/port", toJSON(t, valid))
	if status != http.StatusOK || body != "{}" {
		t.Fatalf("POST valid array = %d %s", status, body)
	}
	if attached, _ := a.dp.snapshot(); attached["tap1"] != vnUUID || attached["tap2"] != vnUUID {
		t.Errorf("attached = %v, want tap1 and tap2", attached)
	}
}

func TestPostPortDataPlaneFailure(t *testing.T) {
	a := newTestAgent(t, testVMI())
	a.dp.failAttach["tapgone"] = true

	status, body := a.do(t, http.MethodPost, "/port", toJSON(t, portRequest(t, vmiUUID, "tapgone", nil)))
	if status != http.StatusInternalServerError || !strings.Contains(body, "link not found") {
		t.Errorf("POST = %d %s, want 500 naming the data plane error", status, body)
	}
	_, body = a.do(t, http.MethodGet, "/port/"+vmiUUID, "")
	if !strings.Contains(body, `"system-name": "",`) {
		t.Errorf("a failed bind was recorded: %s", body)
	}
}

func TestPortAttachedWhenConfigArrives(t *testing.T) {
	a := newTestAgent(t)

	// A namespace port may name no VN; with no config yet, nothing is
	// attached.
	req := portRequest(t, vmiUUID, "tap1", map[string]any{"vn-id": "00000000-0000-0000-0000-000000000000"})
	if status, body := a.do(t, http.MethodPost, "/port", toJSON(t, req)); status != http.StatusOK {
		t.Fatalf("POST = %d %s", status, body)
	}
	if attached, _ := a.dp.snapshot(); len(attached) != 0 {
		t.Fatalf("attached without a VN: %v", attached)
	}

	a.config.put(testVMI())
	status, body := a.do(t, http.MethodGet, "/port/"+vmiUUID, "")
	if status != http.StatusOK || !strings.Contains(body, `"system-name": "tap1"`) {
		t.Fatalf("GET = %d %s", status, body)
	}
	if attached, _ := a.dp.snapshot(); attached["tap1"] != vnUUID {
		t.Errorf("attached = %v, want tap1 on %s once config has the VMI", attached, vnUUID)
	}
}

func TestPortWithoutDataPlane(t *testing.T) {
	a := newTestAgent(t, testVMI())
	a.server.DataPlane = nil

	status, body := a.do(t, http.MethodPost, "/port", toJSON(t, portRequest(t, vmiUUID, "tap1", nil)))
	if status != http.StatusOK {
		t.Fatalf("POST = %d %s", status, body)
	}
	_, body = a.do(t, http.MethodGet, "/port/"+vmiUUID, "")
	if !strings.Contains(body, `"system-name": "tap1"`) {
		t.Errorf("GET = %s", body)
	}
}
