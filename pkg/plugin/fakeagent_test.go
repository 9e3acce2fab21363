package plugin

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/contrail-vif/contrail-vif/pkg/agentclient"
	"github.com/contrail-vif/contrail-vif/pkg/attachment"
)

// fakeAgent serves the vRouter agent routes that the plugin uses, on
// loopback, with the agent's reply shapes.
type fakeAgent struct {
	server *httptest.Server

	mu sync.Mutex
	// vms maps a virtual-machine name to its VMIs.
	vms map[string][]agentclient.VMConfigEntry
	// ports maps a VMI uuid to its port as GET /port reports it.
	ports map[string]*agentclient.Port
	// bindError, when set, is the message of a 500 reply to POST /port.
	bindError string
	posted    []agentclient.PortRequest
	deleted   []string
}

func newFakeAgent(t *testing.T) *fakeAgent {
	t.Helper()
	a := &fakeAgent{
		vms:   map[string][]agentclient.VMConfigEntry{},
		ports: map[string]*agentclient.Port{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /vm-cfg/{name}", a.getVMConfig)
	mux.HandleFunc("GET /port/{id}", a.getPort)
	mux.HandleFunc("POST /port", a.postPort)
	mux.HandleFunc("DELETE /port/{id}", a.deletePort)
	a.server = httptest.NewServer(mux)
	t.Cleanup(a.server.Close)
	return a
}

func (a *fakeAgent) URL() string { return a.server.URL }

// fakeVMI describes one attachment as the controller would create it.
type fakeVMI struct {
	vmName, podUID, ifname, vnName string
	ipv4                           string
	plen                           int
	ipv6                           string
	// vmUUID overrides podUID as the VM uuid, for a VM of an earlier pod.
	vmUUID string
}

// addVMI makes the VMI visible in /vm-cfg and /port, and returns its uuid.
func (a *fakeAgent) addVMI(v fakeVMI) string {
	vmUUID := v.podUID
	if v.vmUUID != "" {
		vmUUID = v.vmUUID
	}
	vmi := attachment.VMIUUID(vmUUID, v.ifname)
	mac := "02:" + vmi[0:2] + ":" + vmi[2:4] + ":" + vmi[4:6] + ":" + vmi[6:8] + ":" + vmi[9:11]
	entry := agentclient.VMConfigEntry{
		ID: vmi, VMUUID: vmUUID, VNID: "8c84ff8a-0000-4000-8000-000000000001", VNName: v.vnName,
		MACAddress: mac, VLANID: 65535,
		Annotations: []string{
			"{owner:contrail-vif}", "{cluster:k8s}", "{kind:Pod}", "{interface:" + v.ifname + "}", "{index:0/1}",
			"{k8s_uuid:" + vmUUID + "}", "{network:default/blue}",
		},
	}
	port := &agentclient.Port{
		ID: vmi, InstanceID: vmUUID, VNID: entry.VNID, VMProjectID: "9970147c-33b1-4bf7-8944-8968e708d430",
		MACAddress: mac, RxVLANID: 65535, TxVLANID: 65535, Author: "/usr/bin/contrail-vrouter-agent",
	}
	if v.ipv4 != "" {
		port.IPAddress, port.PrefixLen = v.ipv4, v.plen
		port.Gateway, port.DNSServer = "10.77.0.254", "10.77.0.253"
	}
	if v.ipv6 != "" {
		port.IPv6Address, port.IPv6Gateway, port.IPv6DNSServer = v.ipv6, "fd00:77::fe", "fd00:77::fd"
	}

	a.mu.Lock()
	defer a.mu.Unlock()
	a.vms[v.vmName] = append(a.vms[v.vmName], entry)
	a.ports[vmi] = port
	return vmi
}

func (a *fakeAgent) setBindError(msg string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.bindError = msg
}

// boundTo returns the system-name of the VMI's port, "" when unbound.
func (a *fakeAgent) boundTo(vmi string) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if p, ok := a.ports[vmi]; ok {
		return p.SystemName
	}
	return ""
}

func (a *fakeAgent) postedRequests() []agentclient.PortRequest {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]agentclient.PortRequest(nil), a.posted...)
}

// deleteCount returns how many DELETE /port calls named vmi.
func (a *fakeAgent) deleteCount(vmi string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for _, d := range a.deleted {
		if d == vmi {
			n++
		}
	}
	return n
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func writeAgentError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": "{ " + msg + " }"})
}

func (a *fakeAgent) getVMConfig(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	entries := a.vms[r.PathValue("name")]
	if len(entries) == 0 {
		writeAgentError(w, http.StatusNotFound, "Not Found")
		return
	}
	writeJSON(w, http.StatusOK, entries)
}

func (a *fakeAgent) getPort(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	port, ok := a.ports[r.PathValue("id")]
	if !ok {
		writeAgentError(w, http.StatusNotFound, "Not Found")
		return
	}
	writeJSON(w, http.StatusOK, port)
}

func (a *fakeAgent) postPort(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeAgentError(w, http.StatusInternalServerError, "Invalid JSON")
		return
	}
	var req agentclient.PortRequest
	if err := json.Unmarshal(body, &req); err != nil {
		writeAgentError(w, http.StatusInternalServerError, "Invalid JSON")
		return
	}

	a.mu.Lock()
	defer a.mu.Unlock()
	a.posted = append(a.posted, req)
	if a.bindError != "" {
		writeAgentError(w, http.StatusInternalServerError, a.bindError)
		return
	}
	if port, ok := a.ports[req.ID]; ok {
		port.SystemName = req.SystemName
	}
	writeJSON(w, http.StatusOK, struct{}{})
}

func (a *fakeAgent) deletePort(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	a.mu.Lock()
	defer a.mu.Unlock()
	a.deleted = append(a.deleted, id)
	if port, ok := a.ports[id]; ok {
		port.SystemName = ""
	}
	writeJSON(w, http.StatusOK, struct{}{})
}

// port returns a copy of the VMI's port.
func (a *fakeAgent) port(vmi string) agentclient.Port {
	a.mu.Lock()
	defer a.mu.Unlock()
	if p, ok := a.ports[vmi]; ok {
		return *p
	}
	return agentclient.Port{}
}
