package agent

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// controlClient sends requests to the control routes of an agent.
type controlClient struct {
	url string
}

func newControlClient(t *testing.T, s *Server) controlClient {
	t.Helper()
	ts := httptest.NewServer(s.ControlHandler())
	t.Cleanup(ts.Close)
	return controlClient{url: ts.URL}
}

func (c controlClient) do(t *testing.T, method, route, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, c.url+ControlPathPrefix+route, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, route, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, strings.TrimSpace(string(b))
}

func (c controlClient) inventory(t *testing.T) Inventory {
	t.Helper()
	status, body := c.do(t, http.MethodGet, "ports", "")
	if status != http.StatusOK {
		t.Fatalf("GET ports = %d %s", status, body)
	}
	var inv Inventory
	if err := json.Unmarshal([]byte(body), &inv); err != nil {
		t.Fatalf("decode inventory %s: %v", body, err)
	}
	return inv
}

func TestControlRestartReplaysPortFiles(t *testing.T) {
	second := testVMI()
	second.UUID = vmi2UUID
	missingLinks := map[string]bool{}
	a := newPersistentAgent(t, missingLinks, testVMI(), second)
	addr := startServe(t, a.server)
	control := newControlClient(t, a.server)

	a.do(t, http.MethodPost, "/port", toJSON(t, portRequest(t, vmiUUID, "tapkept", nil)))
	a.do(t, http.MethodPost, "/port", toJSON(t, portRequest(t, vmi2UUID, "tapgone", nil)))
	// The host interface of the second port disappears while the agent is
	// down, as when its pod's veth is deleted.
	missingLinks["tapgone"] = true

	start := time.Now()
	status, body := control.do(t, http.MethodPost, "restart", `{"down":"300ms"}`)
	if status != http.StatusOK {
		t.Fatalf("POST restart = %d %s", status, body)
	}
	if elapsed := time.Since(start); elapsed < 300*time.Millisecond {
		t.Errorf("restart with down 300ms returned after %v", elapsed)
	}

	status, body, err := getStatus(addr, "/port/"+vmiUUID)
	if err != nil || status != http.StatusOK || !strings.Contains(body, `"system-name": "tapkept"`) {
		t.Errorf("GET /port after the restart = %d %s %v, want the port replayed from its file", status, body, err)
	}
	inv := control.inventory(t)
	var bound []string
	for _, p := range inv.Ports {
		bound = append(bound, p.VMIUUID+"="+p.SystemName)
	}
	if want := []string{vmiUUID + "=tapkept"}; !slices.Equal(bound, want) {
		t.Errorf("ports after the restart = %v, want %v", bound, want)
	}
	// Like the real agent, the file of the skipped port stays.
	if want := []string{vmiUUID, vmi2UUID}; !slices.Equal(inv.PortFiles, want) {
		t.Errorf("port files after the restart = %v, want %v", inv.PortFiles, want)
	}
	if attached, _ := a.dp.snapshot(); len(attached) != 1 || attached["tapkept"] != vnUUID {
		t.Errorf("attached after the restart = %v, want only tapkept", attached)
	}
}

func TestControlRestartImmediately(t *testing.T) {
	a := newPersistentAgent(t, nil, testVMI())
	addr := startServe(t, a.server)
	control := newControlClient(t, a.server)
	a.do(t, http.MethodPost, "/port", toJSON(t, portRequest(t, vmiUUID, "tap1", nil)))

	for _, body := range []string{"", "{}"} {
		if status, reply := control.do(t, http.MethodPost, "restart", body); status != http.StatusOK {
			t.Fatalf("POST restart with body %q = %d %s", body, status, reply)
		}
		if status, _, err := getStatus(addr, "/port/"+vmiUUID); err != nil || status != http.StatusOK {
			t.Errorf("GET /port after restart with body %q = %d %v", body, status, err)
		}
	}
}

func TestControlRestartErrors(t *testing.T) {
	a := newTestAgent(t)
	control := newControlClient(t, a.server)
	if status, body := control.do(t, http.MethodPost, "restart", ""); status != http.StatusConflict {
		t.Errorf("POST restart without Serve = %d %s, want 409", status, body)
	}

	startServe(t, a.server)
	tests := []struct {
		body string
		want string
	}{
		{`{"down":"soon"}`, `invalid down "soon"`},
		{`{"down":"-1s"}`, "negative"},
		{`{"down":"2h"}`, "at most"},
		{`{"dwn":"1s"}`, "unknown field"},
		{`[`, "invalid request body"},
	}
	for _, tt := range tests {
		status, body := control.do(t, http.MethodPost, "restart", tt.body)
		if status != http.StatusBadRequest || !strings.Contains(body, tt.want) {
			t.Errorf("POST restart %s = %d %s, want 400 containing %q", tt.body, status, body, tt.want)
		}
	}
	if a.server.Addr() == "" {
		t.Error("a rejected restart stopped the agent")
	}
}

func TestControlFaults(t *testing.T) {
	a := newTestAgent(t, testVMI())
	control := newControlClient(t, a.server)

	status, body := control.do(t, http.MethodPut, "faults",
		`{"configDelay":"2s","latency":"15ms","errors":[{"method":"POST","pathPrefix":"/port","status":503,"count":2}]}`)
	if status != http.StatusOK {
		t.Fatalf("PUT faults = %d %s", status, body)
	}
	got := a.server.Faults()
	want := Faults{ConfigDelay: 2 * time.Second, Latency: 15 * time.Millisecond,
		Errors: []ErrorRule{{Method: http.MethodPost, PathPrefix: "/port", Status: 503, Count: 2}}}
	if got.ConfigDelay != want.ConfigDelay || got.Latency != want.Latency || !slices.Equal(got.Errors, want.Errors) {
		t.Errorf("faults = %+v, want %+v", got, want)
	}
	if status, body := control.do(t, http.MethodGet, "faults", ""); status != http.StatusOK ||
		body != `{"configDelay":"2s","latency":"15ms","errors":[{"method":"POST","pathPrefix":"/port","status":503,"count":2}]}` {
		t.Errorf("GET faults = %d %s", status, body)
	}

	for _, bad := range []string{`{"configDelay":"x"}`, `{"latency":"-5ms"}`, `{"errors":[{"status":42}]}`,
		`{"errors":[{"count":-1}]}`, `{"delay":"1s"}`} {
		if status, body := control.do(t, http.MethodPut, "faults", bad); status != http.StatusBadRequest {
			t.Errorf("PUT faults %s = %d %s, want 400", bad, status, body)
		}
	}
	if got := a.server.Faults(); got.ConfigDelay != 2*time.Second {
		t.Errorf("a rejected PUT changed the faults to %+v", got)
	}

	if status, body := control.do(t, http.MethodPut, "faults", `{}`); status != http.StatusOK || body != `{}` {
		t.Errorf("PUT {} = %d %s, want the faults cleared", status, body)
	}
	if got := a.server.Faults(); got.ConfigDelay != 0 || got.Latency != 0 || len(got.Errors) != 0 {
		t.Errorf("faults after PUT {} = %+v", got)
	}
}

func TestControlInventoryConfigPending(t *testing.T) {
	a := newTestAgent(t, testVMI())
	control := newControlClient(t, a.server)
	a.server.SetFaults(Faults{ConfigDelay: time.Minute})

	if inv := control.inventory(t); len(inv.ConfigPending) != 0 {
		t.Errorf("pending before any client asked = %v", inv.ConfigPending)
	}
	// A CNI ADD polls GET /vm-cfg while the delay hides the VMI.
	if status, _ := a.do(t, http.MethodGet, "/vm-cfg/"+vmName, ""); status != http.StatusNotFound {
		t.Fatalf("GET /vm-cfg during the delay = %d, want 404", status)
	}
	if inv := control.inventory(t); !slices.Equal(inv.ConfigPending, []string{vmiUUID}) {
		t.Errorf("pending while a client waits = %v, want [%s]", inv.ConfigPending, vmiUUID)
	}

	a.server.SetFaults(Faults{})
	if inv := control.inventory(t); len(inv.ConfigPending) != 0 {
		t.Errorf("pending after the delay was cleared = %v", inv.ConfigPending)
	}
}

func TestControlInventoryListsVMPortsAndFiles(t *testing.T) {
	a := newPersistentAgent(t, nil, testVMI())
	control := newControlClient(t, a.server)
	body := `{"vm-uuid":"` + vmUUID + `","vm-name":"` + vmName + `","host-ifname":"tapvm","vn-uuid":"` + vnUUID +
		`","vmi-uuid":"` + vmiUUID + `","vm-id":"c1","vm-ifname":"net1","vm-namespace":"/var/run/netns/x"}`
	if status, reply := a.do(t, http.MethodPost, "/vm", body); status != http.StatusOK {
		t.Fatalf("POST /vm = %d %s", status, reply)
	}
	// A stray file that is not a port file is not listed.
	if err := os.WriteFile(filepath.Join(a.server.PortsDir, "README"), nil, 0o644); err != nil {
		t.Fatal(err)
	}

	inv := control.inventory(t)
	if len(inv.Ports) != 0 {
		t.Errorf("ports = %+v, want none", inv.Ports)
	}
	want := InventoryVMPort{VMUUID: vmUUID, VMName: vmName, VMIUUID: vmiUUID, HostIfname: "tapvm"}
	if len(inv.VMPorts) != 1 || inv.VMPorts[0] != want {
		t.Errorf("vm ports = %+v, want [%+v]", inv.VMPorts, want)
	}
	if files := []string{filepath.Join(vmDirName, vmName, vmiUUID)}; !slices.Equal(inv.PortFiles, files) {
		t.Errorf("port files = %v, want %v", inv.PortFiles, files)
	}
}
