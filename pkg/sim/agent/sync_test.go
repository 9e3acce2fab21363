package agent

import (
	"errors"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// staleTimeout is the stale cleanup timeout of the sweep tests.
const staleTimeout = 100 * time.Millisecond

// waitFor polls cond every 10ms until it holds or timeout passes, and
// reports whether it held.
func waitFor(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// subscriptions returns the VMI uuids of the POST /port and POST /vm
// subscriptions.
func (a *testAgent) subscriptions() (ports, vmPorts map[string]bool) {
	a.server.mu.Lock()
	defer a.server.mu.Unlock()
	ports, vmPorts = map[string]bool{}, map[string]bool{}
	for vmi := range a.server.ports {
		ports[vmi] = true
	}
	for _, vm := range a.server.vms {
		for vmi := range vm {
			vmPorts[vmi] = true
		}
	}
	return ports, vmPorts
}

func TestStaleSweepRemovesPortsNotAddedAgain(t *testing.T) {
	const (
		vmPortStale = "c3c2c386-6e79-485e-bfa4-b9daa713133b"
		vmPortFresh = "d3c2c386-6e79-485e-bfa4-b9daa713133b"
		otherVM     = "6b2a7f1c-1111-2222-3333-444455556666"
	)
	a := newPersistentAgent(t, nil, testVMI())
	a.server.StaleCleanupTimeout = staleTimeout

	a.do(t, http.MethodPost, "/port", toJSON(t, portRequest(t, vmiUUID, "tapvm0", map[string]any{"type": PortTypeVM})))
	a.do(t, http.MethodPost, "/port", toJSON(t, portRequest(t, vmi2UUID, "tapns", nil)))
	a.do(t, http.MethodPost, "/port", remotePortRequest(t, remoteUUID, nil))
	a.do(t, http.MethodPost, "/vm", vmRequest(t, vmPortStale, "tapstale", nil))
	a.do(t, http.MethodPost, "/vm", vmRequest(t, vmPortFresh, "tapfresh", map[string]any{"vm-uuid": otherVM}))

	start := time.Now()
	if status, body := a.do(t, http.MethodPost, "/syncports", ""); status != http.StatusOK {
		t.Fatalf("POST /syncports = %d %s", status, body)
	}
	// Added again after the sync: kept.
	a.do(t, http.MethodPost, "/vm", vmRequest(t, vmPortFresh, "tapfresh", map[string]any{"vm-uuid": otherVM}))

	// Nothing goes before the timeout.
	if ports, vmPorts := a.subscriptions(); len(ports) != 3 || len(vmPorts) != 2 {
		t.Fatalf("before the timeout: ports %v, vm ports %v", ports, vmPorts)
	}

	swept := waitFor(5*time.Second, func() bool {
		ports, _ := a.subscriptions()
		return !ports[vmiUUID]
	})
	if !swept {
		t.Fatal("stale port still subscribed 5s after the sync")
	}
	if elapsed := time.Since(start); elapsed < staleTimeout {
		t.Errorf("sweep after %v, before the %v timeout", elapsed, staleTimeout)
	}

	ports, vmPorts := a.subscriptions()
	if !ports[vmi2UUID] {
		t.Error("namespace port was swept; the agent exempts namespace ports")
	}
	if ports[remoteUUID] {
		t.Error("stale remote port was kept")
	}
	if vmPorts[vmPortStale] || !vmPorts[vmPortFresh] {
		t.Errorf("vm ports after the sweep = %v, want only %s", vmPorts, vmPortFresh)
	}
	attached, _ := a.dp.snapshot()
	if _, ok := attached["tapvm0"]; ok {
		t.Errorf("stale port still attached: %v", attached)
	}
	if attached["tapns"] == "" || attached["tapfresh"] == "" {
		t.Errorf("attached = %v, want tapns and tapfresh", attached)
	}
	// Sweeping a POST /port removes its file, like DELETE /port.
	if _, err := os.Stat(filepath.Join(a.server.PortsDir, vmiUUID)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("file of the swept port: %v, want it removed", err)
	}
	if _, err := os.Stat(filepath.Join(a.server.PortsDir, vmi2UUID)); err != nil {
		t.Errorf("file of the kept namespace port: %v", err)
	}
}

func TestStaleSweepRemovesWholeVM(t *testing.T) {
	const vmPort2 = "c3c2c386-6e79-485e-bfa4-b9daa713133b"
	a := newTestAgent(t, testVMI())
	a.server.StaleCleanupTimeout = staleTimeout

	a.do(t, http.MethodPost, "/vm", vmRequest(t, vmiUUID, "tap1", nil))
	a.do(t, http.MethodPost, "/syncports", "")
	a.do(t, http.MethodPost, "/vm", vmRequest(t, vmPort2, "tap2", nil))

	// The agent removes a VM with one stale port as a whole.
	swept := waitFor(5*time.Second, func() bool {
		_, vmPorts := a.subscriptions()
		return len(vmPorts) == 0
	})
	if !swept {
		_, vmPorts := a.subscriptions()
		t.Errorf("vm ports 5s after the sync = %v, want none", vmPorts)
	}
}

func TestStaleSweepEachSyncHasItsTimer(t *testing.T) {
	a := newTestAgent(t, testVMI())
	a.server.StaleCleanupTimeout = staleTimeout

	a.do(t, http.MethodPost, "/syncports", "")
	a.do(t, http.MethodPost, "/port", toJSON(t, portRequest(t, vmiUUID, "tap1", map[string]any{"type": PortTypeVM})))
	a.do(t, http.MethodPost, "/syncports", "")

	// The port was added between the syncs: the first sweep keeps it, the
	// second removes it.
	swept := waitFor(5*time.Second, func() bool {
		ports, _ := a.subscriptions()
		return len(ports) == 0
	})
	if !swept {
		t.Error("port added between two syncs survived the second sweep")
	}
}

func TestCloseCancelsStaleSweep(t *testing.T) {
	a := newTestAgent(t, testVMI())
	a.server.StaleCleanupTimeout = staleTimeout

	a.do(t, http.MethodPost, "/port", toJSON(t, portRequest(t, vmiUUID, "tap1", map[string]any{"type": PortTypeVM})))
	a.do(t, http.MethodPost, "/syncports", "")
	a.server.Close()

	time.Sleep(3 * staleTimeout)
	if ports, _ := a.subscriptions(); !ports[vmiUUID] {
		t.Error("a sweep ran after Close")
	}
}
