package agent

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// configDelay is the ConfigDelay of the tests. Each check that a VMI is
// still hidden runs well within it.
const configDelay = 400 * time.Millisecond

func TestConfigDelayHidesNewVMI(t *testing.T) {
	a := newTestAgent(t, testVMI())
	a.server.SetFaults(Faults{ConfigDelay: configDelay})

	start := time.Now()
	for _, path := range []string{"/vm-cfg/" + vmName, "/port/" + vmiUUID} {
		if status, body := a.do(t, http.MethodGet, path, ""); status != http.StatusNotFound {
			t.Errorf("GET %s right after config = %d %s, want 404", path, status, body)
		}
	}
	if time.Since(start) > configDelay/2 {
		t.Fatal("the hidden checks took too long to be meaningful")
	}

	visible := waitFor(5*time.Second, func() bool {
		status, _ := a.do(t, http.MethodGet, "/vm-cfg/"+vmName, "")
		return status == http.StatusOK
	})
	if !visible {
		t.Fatal("VMI still hidden 5s after it appeared in config")
	}
	if elapsed := time.Since(start); elapsed < configDelay {
		t.Errorf("VMI visible after %v, before the %v delay", elapsed, configDelay)
	}
	if status, body := a.do(t, http.MethodGet, "/port/"+vmiUUID, ""); status != http.StatusOK {
		t.Errorf("GET /port after the delay = %d %s", status, body)
	}
}

func TestConfigDelayRestartsWhenVMIReturns(t *testing.T) {
	a := newTestAgent(t, testVMI())
	a.server.SetFaults(Faults{ConfigDelay: configDelay})
	visible := waitFor(5*time.Second, func() bool {
		status, _ := a.do(t, http.MethodGet, "/port/"+vmiUUID, "")
		return status == http.StatusOK
	})
	if !visible {
		t.Fatal("VMI still hidden 5s after it appeared in config")
	}

	a.config.remove(vmiUUID)
	if status, _ := a.do(t, http.MethodGet, "/port/"+vmiUUID, ""); status != http.StatusNotFound {
		t.Fatalf("GET /port of a removed VMI = %d, want 404", status)
	}
	a.config.put(testVMI())
	if status, _ := a.do(t, http.MethodGet, "/port/"+vmiUUID, ""); status != http.StatusNotFound {
		t.Errorf("GET /port of a VMI created again = %d, want 404 for the delay", status)
	}
}

func TestConfigDelayBindTakesRequestVN(t *testing.T) {
	a := newTestAgent(t, testVMI())
	a.server.SetFaults(Faults{ConfigDelay: configDelay})

	a.do(t, http.MethodPost, "/port", toJSON(t, portRequest(t, vmiUUID, "tap1", nil)))
	if attached, _ := a.dp.snapshot(); attached["tap1"] != otherVNUUID {
		t.Errorf("attached = %v, want tap1 on the request's VN %s while config is hidden", attached, otherVNUUID)
	}

	// Once config arrives, reading the port moves it to the VN of config.
	visible := waitFor(5*time.Second, func() bool {
		status, _ := a.do(t, http.MethodGet, "/port/"+vmiUUID, "")
		return status == http.StatusOK
	})
	if !visible {
		t.Fatal("VMI still hidden 5s after it appeared in config")
	}
	if attached, _ := a.dp.snapshot(); attached["tap1"] != vnUUID {
		t.Errorf("attached = %v, want tap1 on %s once config arrived", attached, vnUUID)
	}
}

func TestLatency(t *testing.T) {
	const latency = 200 * time.Millisecond
	a := newTestAgent(t, testVMI())
	a.server.SetFaults(Faults{Latency: latency})

	start := time.Now()
	status, _ := a.do(t, http.MethodGet, "/vm-cfg/"+vmName, "")
	if elapsed := time.Since(start); elapsed < latency {
		t.Errorf("request took %v, want at least %v", elapsed, latency)
	}
	if status != http.StatusOK {
		t.Errorf("status = %d, want 200 after the latency", status)
	}

	a.server.SetFaults(Faults{})
	start = time.Now()
	a.do(t, http.MethodGet, "/vm-cfg/"+vmName, "")
	if elapsed := time.Since(start); elapsed >= latency {
		t.Errorf("request took %v after the latency was cleared", elapsed)
	}
}

func TestInjectedErrors(t *testing.T) {
	a := newTestAgent(t, testVMI())
	a.server.SetFaults(Faults{Errors: []ErrorRule{
		{Method: http.MethodPost, PathPrefix: "/port", Message: "agent busy", Count: 2},
		{PathPrefix: "/vm-cfg/", Status: http.StatusServiceUnavailable},
	}})
	post := toJSON(t, portRequest(t, vmiUUID, "tap1", nil))

	for i := range 2 {
		status, body := a.do(t, http.MethodPost, "/port", post)
		if status != http.StatusInternalServerError || body != `{"error":"{ agent busy }"}` {
			t.Errorf("POST %d = %d %s, want the injected 500", i+1, status, body)
		}
	}
	if attached, _ := a.dp.snapshot(); len(attached) != 0 {
		t.Errorf("a failed request was handled: attached %v", attached)
	}
	if rules := a.server.Faults().Errors; len(rules) != 1 || rules[0].PathPrefix != "/vm-cfg/" {
		t.Errorf("rules after the count ran out = %+v, want only the /vm-cfg/ rule", rules)
	}
	if status, body := a.do(t, http.MethodPost, "/port", post); status != http.StatusOK {
		t.Errorf("POST after the count ran out = %d %s", status, body)
	}
	if status, _ := a.do(t, http.MethodGet, "/port/"+vmiUUID, ""); status != http.StatusOK {
		t.Errorf("GET /port matched a POST rule: %d", status)
	}
	for range 3 {
		status, body := a.do(t, http.MethodGet, "/vm-cfg/"+vmName, "")
		if status != http.StatusServiceUnavailable || body != `{"error":"{ simulated failure }"}` {
			t.Errorf("GET /vm-cfg = %d %s, want the injected 503", status, body)
		}
	}
}

// client is an HTTP client whose requests fail fast when the agent is down.
var client = &http.Client{Timeout: 5 * time.Second}

func getStatus(addr, path string) (int, string, error) {
	resp, err := client.Get("http://" + addr + path)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

func TestStopAndRestart(t *testing.T) {
	second := testVMI()
	second.UUID = vmi2UUID
	a := newPersistentAgent(t, nil, testVMI(), second)
	addr := startServe(t, a.server)
	if a.server.Addr() != addr {
		t.Errorf("Addr = %q, want %q", a.server.Addr(), addr)
	}

	a.do(t, http.MethodPost, "/port", toJSON(t, portRequest(t, vmiUUID, "tapkept", nil)))
	a.do(t, http.MethodPost, "/port", toJSON(t, portRequest(t, vmi2UUID, "taplost", nil)))
	a.do(t, http.MethodPost, "/gateway", `[{"interface":"vgw","routing-instance":"ri","subnets":[],"routes":[]}]`)
	// Without its file, a port does not survive the restart.
	if err := os.Remove(filepath.Join(a.server.PortsDir, vmi2UUID)); err != nil {
		t.Fatal(err)
	}

	idle, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()

	if err := a.server.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if err := a.server.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
	if _, _, err := getStatus(addr, "/port/"+vmiUUID); err == nil {
		t.Error("request to a stopped agent succeeded")
	}
	_ = idle.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := idle.Read(make([]byte, 1)); !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) && !isConnReset(err) {
		t.Errorf("read on a connection open at Stop = %v, want it closed", err)
	}
	// Stop keeps the state.
	if ports, _ := a.subscriptions(); !ports[vmiUUID] || !ports[vmi2UUID] {
		t.Errorf("ports after Stop = %v, want both", ports)
	}

	if err := a.server.Restart(); err != nil {
		t.Fatalf("Restart: %v", err)
	}
	status, body, err := getStatus(addr, "/port/"+vmiUUID)
	if err != nil || status != http.StatusOK || !strings.Contains(body, `"system-name": "tapkept"`) {
		t.Errorf("GET /port after Restart = %d %s %v, want the port replayed from its file", status, body, err)
	}
	status, body, err = getStatus(addr, "/port/"+vmi2UUID)
	if err != nil || status != http.StatusOK || !strings.Contains(body, `"system-name": "",`) {
		t.Errorf("GET /port of the port without a file = %d %s %v, want it unbound", status, body, err)
	}
	attached, _ := a.dp.snapshot()
	if _, ok := attached["taplost"]; ok || attached["tapkept"] != vnUUID {
		t.Errorf("attached after Restart = %v, want only tapkept", attached)
	}
	a.server.mu.Lock()
	gateways := len(a.server.gateways)
	a.server.mu.Unlock()
	if gateways != 0 {
		t.Errorf("%d gateways survived the restart", gateways)
	}

	// Restart of a running agent restarts it again.
	if err := a.server.Restart(); err != nil {
		t.Fatalf("second Restart: %v", err)
	}
	if status, _, err := getStatus(addr, "/port/"+vmiUUID); err != nil || status != http.StatusOK {
		t.Errorf("GET after the second Restart = %d %v", status, err)
	}
}

func TestRestartCancelsStaleSweep(t *testing.T) {
	a := newPersistentAgent(t, nil, testVMI())
	a.server.StaleCleanupTimeout = staleTimeout
	startServe(t, a.server)

	a.do(t, http.MethodPost, "/port", toJSON(t, portRequest(t, vmiUUID, "tap1", map[string]any{"type": PortTypeVM})))
	a.do(t, http.MethodPost, "/syncports", "")
	if err := a.server.Restart(); err != nil {
		t.Fatalf("Restart: %v", err)
	}
	time.Sleep(3 * staleTimeout)
	if ports, _ := a.subscriptions(); !ports[vmiUUID] {
		t.Error("the sweep armed before Restart removed the replayed port")
	}
}

func TestStopRestartNeedServe(t *testing.T) {
	a := newTestAgent(t)
	if err := a.server.Stop(); !errors.Is(err, errNotServing) {
		t.Errorf("Stop without Serve = %v, want errNotServing", err)
	}
	if err := a.server.Restart(); !errors.Is(err, errNotServing) {
		t.Errorf("Restart without Serve = %v, want errNotServing", err)
	}
	if a.server.Addr() != "" {
		t.Errorf("Addr without Serve = %q", a.server.Addr())
	}
}

func TestServeTwiceFails(t *testing.T) {
	a := newTestAgent(t)
	startServe(t, a.server)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := a.server.Serve(ctx, l); err == nil {
		t.Error("a second Serve ran")
	}
}

func isConnReset(err error) bool { return errors.Is(err, syscall.ECONNRESET) }

func TestStopDropsRequestsWaitingForLatency(t *testing.T) {
	a := newTestAgent(t, testVMI())
	addr := startServe(t, a.server)
	a.server.SetFaults(Faults{Latency: 2 * time.Second})

	errs := make(chan error, 1)
	go func() {
		resp, err := client.Post("http://"+addr+"/port", "application/json", strings.NewReader(toJSON(t, portRequest(t, vmiUUID, "tap1", nil))))
		if err == nil {
			resp.Body.Close()
		}
		errs <- err
	}()
	time.Sleep(200 * time.Millisecond)
	if err := a.server.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	select {
	case err := <-errs:
		if err == nil {
			t.Error("request waiting for the latency got a reply after Stop")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("request still pending 5s after Stop")
	}

	// Give a handler that ignored the cancellation the time to finish.
	time.Sleep(2500 * time.Millisecond)
	if attached, _ := a.dp.snapshot(); len(attached) != 0 {
		t.Errorf("the dropped request was handled: attached %v", attached)
	}
}
