package agent

import (
	"encoding/json"
	"errors"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// remoteUUID is the VMI of a remote port (type 2) in the tests.
const remoteUUID = "b3c2c386-6e79-485e-bfa4-b9daa713133b"

// newPersistentAgent returns a test agent that keeps its port files in a
// temporary directory and finds every host interface except those in gone.
func newPersistentAgent(t *testing.T, gone map[string]bool, vmis ...VMIConfig) *testAgent {
	t.Helper()
	a := newTestAgent(t, vmis...)
	a.server.PortsDir = t.TempDir()
	a.server.LinkExists = func(ifname string) bool { return !gone[ifname] }
	if err := a.server.LoadPorts(); err != nil {
		t.Fatalf("LoadPorts: %v", err)
	}
	return a
}

// restarted returns a new agent on the same ports directory and config,
// after LoadPorts, as the agent process is after a restart.
func (a *testAgent) restarted(t *testing.T, gone map[string]bool) *testAgent {
	t.Helper()
	b := newTestAgent(t)
	b.server.Config = a.server.Config
	b.config = a.config
	b.server.PortsDir = a.server.PortsDir
	b.server.LinkExists = func(ifname string) bool { return !gone[ifname] }
	if err := b.server.LoadPorts(); err != nil {
		t.Fatalf("LoadPorts after restart: %v", err)
	}
	return b
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read port file: %v", err)
	}
	return string(b)
}

func TestLoadPortsCreatesDirectories(t *testing.T) {
	a := newPersistentAgent(t, nil)
	info, err := os.Stat(filepath.Join(a.server.PortsDir, "vm"))
	if err != nil || !info.IsDir() {
		t.Fatalf("ports/vm after LoadPorts: %v, %v", info, err)
	}
}

func TestPortFileContent(t *testing.T) {
	a := newPersistentAgent(t, nil, testVMI())
	if status, body := a.do(t, http.MethodPost, "/port", toJSON(t, portRequest(t, vmiUUID, "tap1", map[string]any{"ip6-address": "None"}))); status != http.StatusOK {
		t.Fatalf("POST /port = %d %s", status, body)
	}
	want := `{
    "id": "93c2c386-6e79-485e-bfa4-b9daa713133b",
    "instance-id": "5b2a7f1c-1111-2222-3333-444455556666",
    "display-name": "k8s__default__busybox.v1",
    "ip-address": "10.10.1.3",
    "ip6-address": "::",
    "vn-id": "66297dc0-5553-4e6a-b87f-8423afc21e9d",
    "vm-project-id": "9970147c-33b1-4bf7-8944-8968e708d430",
    "mac-address": "02:93:c2:c3:86:6e",
    "system-name": "tap1",
    "type": 1,
    "rx-vlan-id": 65535,
    "tx-vlan-id": 65535,
    "vhostuser-mode": 0,
    "author": "contrail-sim",
    "time": "472222:13:20.123456"
}`
	path := filepath.Join(a.server.PortsDir, vmiUUID)
	if got := readFile(t, path); got != want {
		t.Errorf("port file =\n%s\nwant\n%s", got, want)
	}
	if info, err := os.Stat(path); err != nil || info.Mode().Perm() != 0o644 {
		t.Errorf("port file mode = %v, %v; want 0644", info.Mode(), err)
	}
}

func TestRemotePortFileHasLinkState(t *testing.T) {
	a := newPersistentAgent(t, nil)
	a.do(t, http.MethodPost, "/port", remotePortRequest(t, vmi2UUID, nil))
	path := filepath.Join(a.server.PortsDir, vmi2UUID)

	var file map[string]any
	if err := json.Unmarshal([]byte(readFile(t, path)), &file); err != nil {
		t.Fatal(err)
	}
	if file["link-state"] != float64(0) || file["type"] != float64(PortTypeRemote) {
		t.Errorf("remote port file has link-state %v and type %v, want 0 and 2", file["link-state"], file["type"])
	}

	// enable-port overwrites the file, unlike POST /port.
	if status, body := a.do(t, http.MethodPut, "/enable-port/"+vmi2UUID, ""); status != http.StatusOK {
		t.Fatalf("PUT /enable-port = %d %s", status, body)
	}
	if err := json.Unmarshal([]byte(readFile(t, path)), &file); err != nil {
		t.Fatal(err)
	}
	if file["link-state"] != float64(1) {
		t.Errorf("link-state after enable-port = %v, want 1", file["link-state"])
	}
	a.do(t, http.MethodPut, "/disable-port/"+vmi2UUID, "")
	if err := json.Unmarshal([]byte(readFile(t, path)), &file); err != nil {
		t.Fatal(err)
	}
	if file["link-state"] != float64(0) {
		t.Errorf("link-state after disable-port = %v, want 0", file["link-state"])
	}
}

func TestPortFileNeverOverwritten(t *testing.T) {
	a := newPersistentAgent(t, nil, testVMI())
	path := filepath.Join(a.server.PortsDir, vmiUUID)
	const existing = `{"written":"by the client"}`
	if err := os.WriteFile(path, []byte(existing), 0o644); err != nil {
		t.Fatal(err)
	}

	otherVM := "6b2a7f1c-1111-2222-3333-444455556666"
	for _, req := range []string{
		toJSON(t, portRequest(t, vmiUUID, "tap1", nil)),
		toJSON(t, portRequest(t, vmiUUID, "tap2", map[string]any{"instance-id": otherVM})),
	} {
		if status, body := a.do(t, http.MethodPost, "/port", req); status != http.StatusOK {
			t.Fatalf("POST /port = %d %s", status, body)
		}
		if got := readFile(t, path); got != existing {
			t.Errorf("POST /port overwrote the file: %s", got)
		}
	}
}

func TestDeletePortRemovesFile(t *testing.T) {
	a := newPersistentAgent(t, nil, testVMI())
	a.do(t, http.MethodPost, "/port", toJSON(t, portRequest(t, vmiUUID, "tap1", nil)))
	path := filepath.Join(a.server.PortsDir, vmiUUID)
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("port file missing after POST: %v", err)
	}

	a.do(t, http.MethodDelete, "/port/"+vmiUUID, "")
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("port file after DELETE: %v, want it removed", err)
	}

	// The agent removes the file also when it has no such port.
	orphan := filepath.Join(a.server.PortsDir, vmi2UUID)
	if err := os.WriteFile(orphan, []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	a.do(t, http.MethodDelete, "/port/"+vmi2UUID, "")
	if _, err := os.Stat(orphan); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("file of an unknown port after DELETE: %v, want it removed", err)
	}
}

func TestPortFileWriteFailureAddsNothing(t *testing.T) {
	a := newPersistentAgent(t, nil, testVMI())
	// A ports directory that is missing makes the write fail.
	a.server.PortsDir = filepath.Join(a.server.PortsDir, "missing")

	status, body := a.do(t, http.MethodPost, "/port", toJSON(t, portRequest(t, vmiUUID, "tap1", nil)))
	if status != http.StatusOK || body != "{}" {
		t.Errorf("POST /port with an unwritable file = %d %s, want the agent's 200 {}", status, body)
	}
	if attached, _ := a.dp.snapshot(); len(attached) != 0 {
		t.Errorf("a port whose file failed was attached: %v", attached)
	}
	if _, body := a.do(t, http.MethodGet, "/port/"+vmiUUID, ""); !strings.Contains(body, `"system-name": "",`) {
		t.Errorf("a port whose file failed was bound: %s", body)
	}
}

func TestVMFileContent(t *testing.T) {
	a := newPersistentAgent(t, nil, testVMI())
	if status, body := a.do(t, http.MethodPost, "/vm", vmRequest(t, vmiUUID, "tap1", nil)); status != http.StatusOK {
		t.Fatalf("POST /vm = %d %s", status, body)
	}
	want := `{
    "vm-uuid": "5b2a7f1c-1111-2222-3333-444455556666",
    "vn-uuid": "56297dc0-5553-4e6a-b87f-8423afc21e9d",
    "vmi-uuid": "93c2c386-6e79-485e-bfa4-b9daa713133b",
    "vm-id": "c0ffee",
    "vm-name": "k8s__default__busybox.v1",
    "host-ifname": "tap1",
    "vm-ifname": "eth1",
    "vm-namespace": "/var/run/netns/cni-1234",
    "author": "contrail-sim",
    "time": "472222:13:20.123456"
}`
	path := filepath.Join(a.server.PortsDir, "vm", vmName, vmiUUID)
	if got := readFile(t, path); got != want {
		t.Errorf("vm port file =\n%s\nwant\n%s", got, want)
	}

	// A second POST keeps the file, which the CNI usually writes first.
	a.do(t, http.MethodPost, "/vm", vmRequest(t, vmiUUID, "tap2", nil))
	if got := readFile(t, path); got != want {
		t.Errorf("second POST /vm rewrote the file:\n%s", got)
	}
}

func TestVMFileInvalidName(t *testing.T) {
	a := newPersistentAgent(t, nil, testVMI())
	for _, name := range []string{"..", "a/b", ""} {
		status, body := a.do(t, http.MethodPost, "/vm", vmRequest(t, vmiUUID, "tap1", map[string]any{"vm-name": name}))
		if status != http.StatusOK {
			t.Errorf("POST /vm with vm-name %q = %d %s, want the agent's 200", name, status, body)
		}
		if attached, _ := a.dp.snapshot(); len(attached) != 0 {
			t.Errorf("vm-name %q: port attached without its file: %v", name, attached)
		}
	}
	entries, err := os.ReadDir(filepath.Join(a.server.PortsDir, "vm"))
	if err != nil || len(entries) != 0 {
		t.Errorf("ports/vm = %v, %v; want it empty", entries, err)
	}
}

func TestDeleteVMKeepsFilesUnderVMName(t *testing.T) {
	a := newPersistentAgent(t, nil, testVMI())
	a.do(t, http.MethodPost, "/vm", vmRequest(t, vmiUUID, "tap1", nil))
	byName := filepath.Join(a.server.PortsDir, "vm", vmName, vmiUUID)
	// The directory the agent looks in on delete: ports/vm/<vm-uuid>.
	byUUID := filepath.Join(a.server.PortsDir, "vm", vmUUID)
	if err := os.MkdirAll(byUUID, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(byUUID, vmiUUID), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}

	if status, _ := a.do(t, http.MethodDelete, "/vm/"+vmUUID, ""); status != http.StatusOK {
		t.Fatalf("DELETE /vm = %d", status)
	}
	if _, err := os.Stat(byName); err != nil {
		t.Errorf("file under the VM name after DELETE /vm: %v; the agent keeps it", err)
	}
	if _, err := os.Stat(byUUID); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("directory under the VM uuid after DELETE /vm: %v, want it removed", err)
	}
	// DELETE /vm unbinds in memory all the same.
	if attached, _ := a.dp.snapshot(); len(attached) != 0 {
		t.Errorf("attached after DELETE /vm = %v", attached)
	}
	if status, body := a.do(t, http.MethodGet, "/port/"+vmiUUID, ""); status != http.StatusOK || !strings.Contains(body, `"system-name": "",`) {
		t.Errorf("GET /port after DELETE /vm = %d %s, want it unbound", status, body)
	}
}

func TestLoadPortsReplaysFiles(t *testing.T) {
	second := testVMI()
	second.UUID = vmi2UUID
	a := newPersistentAgent(t, nil, testVMI(), second)
	a.do(t, http.MethodPost, "/port", toJSON(t, portRequest(t, vmiUUID, "tapport", nil)))
	a.do(t, http.MethodPost, "/vm", vmRequest(t, vmi2UUID, "tapvm", nil))
	a.do(t, http.MethodPost, "/port", remotePortRequest(t, remoteUUID, nil))
	a.do(t, http.MethodPut, "/enable-port/"+remoteUUID, "")
	// Files whose name is not a uuid are not port files.
	for _, name := range []string{"README", filepath.Join("vm", "notes.txt"), filepath.Join("vm", vmName, "tmp")} {
		if err := os.WriteFile(filepath.Join(a.server.PortsDir, name), []byte("not json"), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	b := a.restarted(t, nil)
	if attached, _ := b.dp.snapshot(); attached["tapport"] != vnUUID || attached["tapvm"] != vnUUID || len(attached) != 2 {
		t.Errorf("attached after reload = %v, want tapport and tapvm", attached)
	}
	for _, want := range []struct{ vmi, ifname string }{{vmiUUID, "tapport"}, {vmi2UUID, "tapvm"}} {
		status, body := b.do(t, http.MethodGet, "/port/"+want.vmi, "")
		if status != http.StatusOK || !strings.Contains(body, `"system-name": "`+want.ifname+`"`) {
			t.Errorf("GET /port/%s after reload = %d %s, want system-name %s", want.vmi, status, body, want.ifname)
		}
	}
	b.server.mu.Lock()
	remote, ok := b.server.ports[remoteUUID]
	b.server.mu.Unlock()
	if !ok || remote.LinkState != 1 {
		t.Errorf("remote port after reload = %+v, want link state 1 from its file", remote)
	}
}

func TestLoadPortsSkipsMissingInterfaces(t *testing.T) {
	second := testVMI()
	second.UUID = vmi2UUID
	a := newPersistentAgent(t, nil, testVMI(), second)
	a.do(t, http.MethodPost, "/port", toJSON(t, portRequest(t, vmiUUID, "tapgone", nil)))
	a.do(t, http.MethodPost, "/vm", vmRequest(t, vmi2UUID, "tapvmgone", nil))
	a.do(t, http.MethodPost, "/port", remotePortRequest(t, remoteUUID, nil))

	// Remote ports have no host interface to check.
	b := a.restarted(t, map[string]bool{"tapgone": true, "tapvmgone": true, "": true})
	b.server.mu.Lock()
	_, portKept := b.server.ports[vmiUUID]
	_, remoteKept := b.server.ports[remoteUUID]
	vmPorts := len(b.server.vms)
	b.server.mu.Unlock()
	if portKept || vmPorts != 0 {
		t.Errorf("ports with missing interfaces were loaded: port %v, vm ports %d", portKept, vmPorts)
	}
	if !remoteKept {
		t.Error("remote port was not loaded")
	}
	if attached, _ := b.dp.snapshot(); len(attached) != 0 {
		t.Errorf("attached = %v, want nothing", attached)
	}
	// The agent keeps the files of skipped ports.
	for _, path := range []string{filepath.Join(b.server.PortsDir, vmiUUID), filepath.Join(b.server.PortsDir, "vm", vmName, vmi2UUID)} {
		if _, err := os.Stat(path); err != nil {
			t.Errorf("file of a skipped port: %v", err)
		}
	}
}

func TestLoadPortsUnusableDirectory(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	s := &Server{Config: newFakeConfig(), Node: testNode, PortsDir: file}
	if err := s.LoadPorts(); err == nil {
		t.Error("LoadPorts on a regular file succeeded, want an error")
	}
}
