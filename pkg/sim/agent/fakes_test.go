package agent

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	testNode    = "node-a"
	vmUUID      = "5b2a7f1c-1111-2222-3333-444455556666"
	vmName      = "k8s__default__busybox.v1"
	vmiUUID     = "93c2c386-6e79-485e-bfa4-b9daa713133b"
	vmi2UUID    = "a3c2c386-6e79-485e-bfa4-b9daa713133b"
	vnUUID      = "56297dc0-5553-4e6a-b87f-8423afc21e9d"
	otherVNUUID = "66297dc0-5553-4e6a-b87f-8423afc21e9d"
	projectUUID = "9970147c-33b1-4bf7-8944-8968e708d430"
)

// fakeConfig is a ConfigView whose VMIs are all linked to testNode.
type fakeConfig struct {
	mu   sync.Mutex
	vmis map[string]VMIConfig
}

func newFakeConfig(vmis ...VMIConfig) *fakeConfig {
	f := &fakeConfig{vmis: map[string]VMIConfig{}}
	for _, v := range vmis {
		f.vmis[v.UUID] = v
	}
	return f
}

func (f *fakeConfig) put(v VMIConfig) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.vmis[v.UUID] = v
}

func (f *fakeConfig) remove(uuid string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.vmis, uuid)
}

func (f *fakeConfig) VMInterfaces(node, name string) ([]VMIConfig, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if node != testNode {
		return nil, false
	}
	var out []VMIConfig
	for _, v := range f.vmis {
		if v.VMName == name {
			out = append(out, v)
		}
	}
	slices.SortFunc(out, func(a, b VMIConfig) int { return strings.Compare(a.UUID, b.UUID) })
	return out, len(out) > 0
}

func (f *fakeConfig) Interface(node, uuid string) (VMIConfig, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.vmis[uuid]
	return v, ok && node == testNode
}

// fakeDataPlane records calls and fails Attach for ifnames in failAttach.
type fakeDataPlane struct {
	mu         sync.Mutex
	attached   map[string]string // ifname -> VN
	calls      []string
	failAttach map[string]bool
}

func newFakeDataPlane() *fakeDataPlane {
	return &fakeDataPlane{attached: map[string]string{}, failAttach: map[string]bool{}}
}

func (f *fakeDataPlane) Attach(vn, ifname string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "attach "+ifname+" "+vn)
	if f.failAttach[ifname] {
		return errors.New("link not found")
	}
	f.attached[ifname] = vn
	return nil
}

func (f *fakeDataPlane) Detach(ifname string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "detach "+ifname)
	delete(f.attached, ifname)
	return nil
}

func (f *fakeDataPlane) snapshot() (map[string]string, []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]string{}
	for k, v := range f.attached {
		out[k] = v
	}
	return out, slices.Clone(f.calls)
}

// testVMI is a VMI of vmName in vnUUID with an IPv4 address.
func testVMI() VMIConfig {
	return VMIConfig{
		UUID:        vmiUUID,
		VMUUID:      vmUUID,
		VMName:      vmName,
		VNUUID:      vnUUID,
		VNFQName:    "default-domain:demo:red",
		ProjectUUID: projectUUID,
		MAC:         "02:93:C2:C3:86:6E",
		Annotations: []KeyValue{{Key: "cluster", Value: "k8s"}, {Key: "index", Value: "0/2"}, {Key: "network", Value: "default/red"}},
		VLANID:      0xFFFF,
		IPv4:        &IPConfig{Address: "10.10.1.3", PrefixLen: 24, Gateway: "10.10.1.254", DNSServer: "10.10.1.253"},
	}
}

type testAgent struct {
	server *Server
	config *fakeConfig
	dp     *fakeDataPlane
	http   *httptest.Server
}

func newTestAgent(t *testing.T, vmis ...VMIConfig) *testAgent {
	t.Helper()
	config := newFakeConfig(vmis...)
	dp := newFakeDataPlane()
	s := &Server{
		Config:    config,
		Node:      testNode,
		DataPlane: dp,
		Logger:    slog.New(slog.NewTextHandler(testLogWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug})),
		now:       func() time.Time { return time.Unix(1700000000, 123456000) },
	}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	t.Cleanup(s.Close)
	return &testAgent{server: s, config: config, dp: dp, http: ts}
}

type testLogWriter struct{ t *testing.T }

func (w testLogWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// do sends one request and returns the status and body.
func (a *testAgent) do(t *testing.T, method, path, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, a.http.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := a.http.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != contentType {
		t.Errorf("%s %s: Content-Type = %q, want %q", method, path, ct, contentType)
	}
	return resp.StatusCode, string(b)
}
