package agent

import (
	"net/http"
	"strings"
	"testing"
)

func TestDeletesAlwaysSucceed(t *testing.T) {
	a := newTestAgent(t, testVMI())
	tests := []struct {
		name, path, body string
	}{
		{"unknown port", "/port/" + vmi2UUID, ""},
		{"nil port uuid", "/port/00000000-0000-0000-0000-000000000000", ""},
		{"unknown VM", "/vm/" + vmUUID, ""},
		{"nil VM uuid", "/vm/00000000-0000-0000-0000-000000000000", ""},
		{"VM with a body", "/vm/" + vmUUID, `{"not":"read"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := a.do(t, http.MethodDelete, tt.path, tt.body)
			if status != http.StatusOK || body != "{}" {
				t.Errorf("DELETE %s = %d %s, want 200 {}", tt.path, status, body)
			}
		})
	}
}

func TestSyncPortsReply(t *testing.T) {
	a := newTestAgent(t)
	for i, body := range []string{"", "not json", `{"any":"thing"}`} {
		status, reply := a.do(t, http.MethodPost, "/syncports", body)
		if status != http.StatusOK || reply != "{}" {
			t.Errorf("POST /syncports %q = %d %s, want 200 {}", body, status, reply)
		}
		a.server.mu.Lock()
		version := a.server.version
		a.server.mu.Unlock()
		if version != uint64(i+1) {
			t.Errorf("version after %d syncs = %d", i+1, version)
		}
	}
}

// remotePortRequest returns a POST /port body of a remote port (type 2).
func remotePortRequest(t *testing.T, vmi string, changes map[string]any) string {
	t.Helper()
	c := map[string]any{"type": PortTypeRemote, "system-name": ""}
	for k, v := range changes {
		c[k] = v
	}
	return toJSON(t, portRequest(t, vmi, "", c))
}

func TestEnableDisablePort(t *testing.T) {
	a := newTestAgent(t, testVMI())
	a.do(t, http.MethodPost, "/port", toJSON(t, portRequest(t, vmiUUID, "tap1", nil)))
	if status, body := a.do(t, http.MethodPost, "/port", remotePortRequest(t, vmi2UUID, nil)); status != http.StatusOK {
		t.Fatalf("POST remote port = %d %s", status, body)
	}

	tests := []struct {
		name, path string
		wantStatus int
		wantBody   string
		wantState  int
	}{
		{"enable unknown port", "/enable-port/" + projectUUID, 500, `{"error":"{Port Not found ` + projectUUID + `}"}`, 0},
		{"disable unknown port", "/disable-port/" + projectUUID, 500, `{"error":"{Port Not found ` + projectUUID + `}"}`, 0},
		{"enable nil uuid", "/enable-port/00000000-0000-0000-0000-000000000000", 500, `{"error":"{Port Not found 00000000-0000-0000-0000-000000000000}"}`, 0},
		{"enable namespace port", "/enable-port/" + vmiUUID, 500, `{"error":"{Incorrect Port type for ` + vmiUUID + `}"}`, 0},
		{"disable namespace port", "/disable-port/" + vmiUUID, 500, `{"error":"{Incorrect Port type for ` + vmiUUID + `}"}`, 0},
		{"enable remote port", "/enable-port/" + vmi2UUID, 200, "{}", 1},
		{"enable it again", "/enable-port/" + vmi2UUID, 200, "{}", 1},
		{"disable remote port", "/disable-port/" + vmi2UUID, 200, "{}", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := a.do(t, http.MethodPut, tt.path, "")
			if status != tt.wantStatus || body != tt.wantBody {
				t.Errorf("PUT %s = %d %s, want %d %s", tt.path, status, body, tt.wantStatus, tt.wantBody)
			}
			a.server.mu.Lock()
			state := a.server.ports[vmi2UUID].LinkState
			a.server.mu.Unlock()
			if state != tt.wantState {
				t.Errorf("remote port link state = %d, want %d", state, tt.wantState)
			}
		})
	}
}

func TestPostGatewayValidation(t *testing.T) {
	const valid = `{"interface":"vgw","routing-instance":"default-domain:p:vn:vn",` +
		`"subnets":[{"ip-address":"10.1.0.0","prefix-len":24}],"routes":[{"ip-address":"0.0.0.0","prefix-len":0}]}`
	missing := func(member, body string) string {
		return "Json string does not have all required members, " + member + " is missing ==> " + body
	}
	tests := []struct {
		name, body, wantMsg string
	}{
		{"invalid JSON", `[{`, "Invalid Json string ==> [{"},
		{"object", valid, "Unexpected Json string (not an array) ==> " + valid},
		{"string element", `["vgw"]`, `Json Array has invalid element ==> ["vgw"]`},
		{"missing interface", `[{"routing-instance":"ri"}]`, missing("interface", `[{"routing-instance":"ri"}]`)},
		{"numeric interface", `[{"interface":1}]`, missing("interface", `[{"interface":1}]`)},
		{"missing routing-instance", `[{"interface":"vgw"}]`, missing("routing-instance", `[{"interface":"vgw"}]`)},
		{"subnets not an array", `[{"interface":"vgw","routing-instance":"ri","subnets":{}}]`,
			missing("subnets", `[{"interface":"vgw","routing-instance":"ri","subnets":{}}]`)},
		{"IPv6 subnet", `[{"interface":"vgw","routing-instance":"ri","subnets":[{"ip-address":"fd00::","prefix-len":64}],"routes":[]}]`,
			missing("subnets value", `[{"interface":"vgw","routing-instance":"ri","subnets":[{"ip-address":"fd00::","prefix-len":64}],"routes":[]}]`)},
		{"subnet without prefix-len", `[{"interface":"vgw","routing-instance":"ri","subnets":[{"ip-address":"10.1.0.0"}],"routes":[]}]`,
			missing("subnets value", `[{"interface":"vgw","routing-instance":"ri","subnets":[{"ip-address":"10.1.0.0"}],"routes":[]}]`)},
		{"missing routes", `[{"interface":"vgw","routing-instance":"ri","subnets":[]}]`,
			missing("routes", `[{"interface":"vgw","routing-instance":"ri","subnets":[]}]`)},
		{"route not an object", `[{"interface":"vgw","routing-instance":"ri","subnets":[],"routes":[1]}]`,
			missing("routes value", `[{"interface":"vgw","routing-instance":"ri","subnets":[],"routes":[1]}]`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newTestAgent(t)
			status, body := a.do(t, http.MethodPost, "/gateway", tt.body)
			want := compactJSON(map[string]string{"error": "{ " + tt.wantMsg + " }"})
			if status != http.StatusInternalServerError || body != want {
				t.Errorf("POST /gateway = %d %s, want 500 %s", status, body, want)
			}
			if n := len(a.server.gateways); n != 0 {
				t.Errorf("an invalid request added %d gateways", n)
			}
		})
	}
}

func TestGatewayAddDelete(t *testing.T) {
	a := newTestAgent(t)
	body := `[{"interface":"vgw","routing-instance":"default-domain:p:vn:vn",` +
		`"subnets":[{"ip-address":"10.1.0.0","prefix-len":24}],"routes":[{"ip-address":"0.0.0.0","prefix-len":0}]},` +
		`{"interface":"vgw2","routing-instance":"ri2","subnets":[],"routes":[]}]`
	if status, reply := a.do(t, http.MethodPost, "/gateway", body); status != http.StatusOK || reply != "{}" {
		t.Fatalf("POST /gateway = %d %s", status, reply)
	}
	if status, reply := a.do(t, http.MethodPost, "/gateway", "[]"); status != http.StatusOK || reply != "{}" {
		t.Errorf("POST /gateway [] = %d %s", status, reply)
	}
	a.server.mu.Lock()
	gw := a.server.gateways["vgw"]
	count := len(a.server.gateways)
	a.server.mu.Unlock()
	if count != 2 || gw.RoutingInstance != "default-domain:p:vn:vn" || len(gw.Subnets) != 1 || gw.Subnets[0].PrefixLen != 24 || len(gw.Routes) != 1 {
		t.Errorf("gateways = %d, vgw = %+v", count, gw)
	}

	if status, reply := a.do(t, http.MethodDelete, "/gateway", `[{"interface":"vgw"}]`); status != http.StatusOK || reply != "{}" {
		t.Fatalf("DELETE /gateway = %d %s", status, reply)
	}
	a.server.mu.Lock()
	_, stillThere := a.server.gateways["vgw"]
	count = len(a.server.gateways)
	a.server.mu.Unlock()
	if stillThere || count != 1 {
		t.Errorf("after DELETE: vgw present %v, %d gateways, want only vgw2", stillThere, count)
	}
}

func TestDeleteGatewayValidation(t *testing.T) {
	a := newTestAgent(t)
	// The agent's handler drops its message and always sends "{}".
	for _, body := range []string{`[{`, `{"interface":"vgw"}`, `["vgw"]`, `[{"interface":5}]`, `[{}]`} {
		status, reply := a.do(t, http.MethodDelete, "/gateway", body)
		if status != http.StatusInternalServerError || reply != `{"error":"{}"}` {
			t.Errorf("DELETE /gateway %s = %d %s, want 500 {\"error\":\"{}\"}", body, status, reply)
		}
	}
	if status, reply := a.do(t, http.MethodDelete, "/gateway", `[{"interface":"unknown"}]`); status != http.StatusOK || reply != "{}" {
		t.Errorf("DELETE of an unknown gateway = %d %s, want 200 {}", status, reply)
	}
}

func TestGetVMNeverBoundFallsBackToLearnedName(t *testing.T) {
	a := newTestAgent(t, testVMI())

	// fakeConfig is no VMUUIDView: before any request names the VM, the
	// agent cannot find it by uuid.
	if status, _ := a.do(t, http.MethodGet, "/vm/"+vmUUID, ""); status != http.StatusNotFound {
		t.Errorf("GET /vm before the VM was named = %d, want 404", status)
	}
	if status, body := a.do(t, http.MethodGet, "/vm-cfg/"+vmName, ""); status != http.StatusOK {
		t.Fatalf("GET /vm-cfg = %d %s", status, body)
	}
	status, body := a.do(t, http.MethodGet, "/vm/"+vmUUID, "")
	if status != http.StatusOK || !strings.Contains(body, vmiUUID) || !strings.Contains(body, `"system-name": ""`) {
		t.Errorf("GET /vm after GET /vm-cfg = %d %s, want the unbound port", status, body)
	}
}
