package agent

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"
)

func TestRoutingUnknownRequests(t *testing.T) {
	a := newTestAgent(t, testVMI())
	tests := []struct {
		name, method, path string
	}{
		{"unknown path", http.MethodGet, "/ports"},
		{"wrong method on /port", http.MethodPut, "/port"},
		{"GET on /port", http.MethodGet, "/port"},
		{"uppercase uuid", http.MethodGet, "/port/93C2C386-6E79-485E-BFA4-B9DAA713133B"},
		{"short uuid", http.MethodDelete, "/port/93c2c386"},
		{"trailing slash", http.MethodGet, "/port/" + vmiUUID + "/"},
		{"uppercase vm uuid", http.MethodGet, "/vm/5B2A7F1C-1111-2222-3333-444455556666"},
		{"POST on vm-cfg", http.MethodPost, "/vm-cfg/x"},
		{"GET on syncports", http.MethodGet, "/syncports"},
		{"PUT on gateway", http.MethodPut, "/gateway"},
		{"GET on gateway", http.MethodGet, "/gateway"},
		{"POST on enable-port", http.MethodPost, "/enable-port/" + vmiUUID},
		{"uppercase enable-port uuid", http.MethodPut, "/enable-port/93C2C386-6E79-485E-BFA4-B9DAA713133B"},
		{"disable-port without uuid", http.MethodPut, "/disable-port/"},
		{"DELETE vm with vmi", http.MethodDelete, "/vm/" + vmUUID + "/" + vmiUUID},
		{"vm-cfg-by-uuid", http.MethodGet, "/vm-cfg-by-uuid/" + vmUUID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := a.do(t, tt.method, tt.path, "")
			if status != http.StatusNotFound {
				t.Errorf("status = %d, want 404", status)
			}
			if body != `{"error":"Unknown Request"}` {
				t.Errorf("body = %s", body)
			}
		})
	}
}

func TestVMConfig(t *testing.T) {
	second := testVMI()
	second.UUID = vmi2UUID
	second.Annotations = nil
	second.SubInterface = true
	second.VLANID = 100
	a := newTestAgent(t, testVMI(), second)

	status, body := a.do(t, http.MethodGet, "/vm-cfg/"+vmName, "")
	if status != http.StatusOK {
		t.Fatalf("status = %d, body %s", status, body)
	}
	want := `[{
    "id": "93c2c386-6e79-485e-bfa4-b9daa713133b",
    "vm-uuid": "5b2a7f1c-1111-2222-3333-444455556666",
    "vn-id": "56297dc0-5553-4e6a-b87f-8423afc21e9d",
    "vn-name": "default-domain:demo:red",
    "mac-address": "02:93:C2:C3:86:6E",
    "sub-interface": false,
    "vlan-id": 65535,
    "annotations": [
        "{cluster:k8s}",
        "{index:0/2}",
        "{network:default/red}"
    ]
},{
    "id": "a3c2c386-6e79-485e-bfa4-b9daa713133b",
    "vm-uuid": "5b2a7f1c-1111-2222-3333-444455556666",
    "vn-id": "56297dc0-5553-4e6a-b87f-8423afc21e9d",
    "vn-name": "default-domain:demo:red",
    "mac-address": "02:93:C2:C3:86:6E",
    "sub-interface": true,
    "vlan-id": 100
}]`
	if body != want {
		t.Errorf("body =\n%s\nwant\n%s", body, want)
	}
}

func TestVMConfigNotFound(t *testing.T) {
	noVN := testVMI()
	noVN.VMName = "no-vn"
	noVN.VNUUID = ""
	a := newTestAgent(t, testVMI(), noVN)

	for _, path := range []string{"/vm-cfg/unknown", "/vm-cfg/", "/vm-cfg/no-vn"} {
		status, body := a.do(t, http.MethodGet, path, "")
		if status != http.StatusNotFound || body != `{"error":"{ Not Found }"}` {
			t.Errorf("GET %s = %d %s, want 404 Not Found", path, status, body)
		}
	}
}

func TestVMConfigOtherNode(t *testing.T) {
	a := newTestAgent(t, testVMI())
	a.server.Node = "node-b"

	status, _ := a.do(t, http.MethodGet, "/vm-cfg/"+vmName, "")
	if status != http.StatusNotFound {
		t.Errorf("status = %d, want 404 for a VM not linked to the node", status)
	}
}

func TestTimestamp(t *testing.T) {
	s := &Server{now: func() time.Time { return time.Unix(1700000000, 123456789) }}
	// 1700000000 s = 472222 h 13 min 20 s.
	if got, want := s.timestamp(), "472222:13:20.123456"; got != want {
		t.Errorf("timestamp = %q, want %q", got, want)
	}
}

func TestErrorBodyIsJSON(t *testing.T) {
	rep := errorReply(http.StatusInternalServerError, `{ Invalid Json string ==> {"a":"<b>"} }`)
	var decoded map[string]string
	if err := json.Unmarshal([]byte(rep.body), &decoded); err != nil {
		t.Fatalf("error body %s is not JSON: %v", rep.body, err)
	}
	if want := `{"error":"{ Invalid Json string ==> {\"a\":\"<b>\"} }"}`; rep.body != want {
		t.Errorf("body = %s, want %s", rep.body, want)
	}
}
