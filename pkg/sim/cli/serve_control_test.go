package cli

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestSimulatorServesAgentControlRoutes(t *testing.T) {
	sim := startSim(t, ServeOptions{NoDataPlane: true, Agent: AgentOptions{PortsDir: t.TempDir()}})
	client := &http.Client{Timeout: 10 * time.Second}
	send := func(method, path, body string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(method, sim.ConfigAPIURL()+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, strings.TrimSpace(string(b))
	}

	if status, body := send(http.MethodPut, "/_sim/agent/faults", `{"configDelay":"4s"}`); status != http.StatusOK {
		t.Fatalf("PUT /_sim/agent/faults = %d %s", status, body)
	}
	if got := sim.Agent.Faults().ConfigDelay; got != 4*time.Second {
		t.Errorf("agent ConfigDelay = %v, want 4s", got)
	}
	if status, body := send(http.MethodPost, "/_sim/agent/restart", `{"down":"100ms"}`); status != http.StatusOK {
		t.Fatalf("POST /_sim/agent/restart = %d %s", status, body)
	}
	resp, err := client.Get("http://" + sim.AgentAddr() + "/vm-cfg/x")
	if err != nil {
		t.Fatalf("agent request after the restart: %v", err)
	}
	resp.Body.Close()
	if status, body := send(http.MethodGet, "/_sim/agent/ports", ""); status != http.StatusOK || !strings.Contains(body, `"portFiles":[]`) {
		t.Errorf("GET /_sim/agent/ports = %d %s", status, body)
	}
	// The config API and its own fault route are still served.
	if status, body := send(http.MethodGet, "/_sim/faults", ""); status != http.StatusOK {
		t.Errorf("GET /_sim/faults = %d %s", status, body)
	}
	if status, body := send(http.MethodGet, "/virtual-networks", ""); status != http.StatusOK {
		t.Errorf("GET /virtual-networks = %d %s", status, body)
	}
}
