package configapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// testAPI is a config API server on a loopback listener and a client for it.
type testAPI struct {
	t      *testing.T
	server *Server
	http   *httptest.Server
	client *http.Client
}

func newTestAPI(t *testing.T) *testAPI {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s := NewServer(logger)
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return &testAPI{t: t, server: s, http: ts, client: &http.Client{Timeout: 10 * time.Second}}
}

// testWriter sends log lines to t.Log, so they show only for failed tests.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// response is a recorded HTTP response.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var out map[string]any
	if err := json.Unmarshal(r.body, &out); err != nil {
		t.Fatalf("decode response %q: %v", r.body, err)
	}
	return out
}

func (a *testAPI) do(method, path string, body any, header ...string) response {
	a.t.Helper()
	r, err := a.try(method, path, body, header...)
	if err != nil {
		a.t.Fatal(err)
	}
	return r
}

// try sends one request and returns its response. Unlike do it never stops
// the test, so goroutines other than the test's may call it.
func (a *testAPI) try(method, path string, body any, header ...string) (response, error) {
	var reader io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return response{}, fmt.Errorf("encode %s %s body: %w", method, path, err)
		}
		reader = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, a.http.URL+path, reader)
	if err != nil {
		return response{}, fmt.Errorf("new request %s %s: %w", method, path, err)
	}
	req.Header.Set("Content-Type", "application/json; charset=\"UTF-8\"")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := a.client.Do(req)
	if err != nil {
		return response{}, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return response{}, fmt.Errorf("read %s %s response: %w", method, path, err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: data}, nil
}

// tryCreate posts body as a new object of type typ and returns its uuid,
// or an error for any status but 200.
func (a *testAPI) tryCreate(typ string, body map[string]any) (string, error) {
	r, err := a.try(http.MethodPost, "/"+typ+"s", map[string]any{typ: body})
	if err != nil {
		return "", err
	}
	if r.status != http.StatusOK {
		return "", fmt.Errorf("create %s: status %d: %s", typ, r.status, r.body)
	}
	var out map[string]map[string]any
	if err := json.Unmarshal(r.body, &out); err != nil {
		return "", fmt.Errorf("create %s: decode %q: %w", typ, r.body, err)
	}
	id, _ := out[typ]["uuid"].(string)
	return id, nil
}

// mustStatus fails the test unless r has status code want.
func mustStatus(t *testing.T, r response, want int) {
	t.Helper()
	if r.status != want {
		t.Fatalf("status = %d, want %d; body: %s", r.status, want, r.body)
	}
}

// mustError checks an error response: its status, a plain-text body and a
// message containing want.
func mustError(t *testing.T, r response, status int, want string) {
	t.Helper()
	mustStatus(t, r, status)
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("Content-Type = %q, want text/plain", ct)
	}
	if !strings.Contains(string(r.body), want) {
		t.Errorf("body = %q, want it to contain %q", r.body, want)
	}
}

// create posts body as a new object of type typ and returns its uuid.
func (a *testAPI) create(typ string, body map[string]any) string {
	a.t.Helper()
	r := a.do(http.MethodPost, "/"+typ+"s", map[string]any{typ: body})
	mustStatus(a.t, r, http.StatusOK)
	obj, _ := r.json(a.t)[typ].(map[string]any)
	id, _ := obj["uuid"].(string)
	if id == "" {
		a.t.Fatalf("create %s: no uuid in %s", typ, r.body)
	}
	return id
}

// read returns the object typ/uuid as GET renders it.
func (a *testAPI) read(typ, id string, query string) map[string]any {
	a.t.Helper()
	r := a.do(http.MethodGet, "/"+typ+"/"+id+query, nil)
	mustStatus(a.t, r, http.StatusOK)
	obj, ok := r.json(a.t)[typ].(map[string]any)
	if !ok {
		a.t.Fatalf("GET %s/%s: no %q wrapper in %s", typ, id, typ, r.body)
	}
	return obj
}

func (a *testAPI) refUpdate(typ, id, refType, refUUID, operation string) response {
	a.t.Helper()
	return a.do(http.MethodPost, "/ref-update", map[string]any{
		"type": typ, "uuid": id, "ref-type": refType, "ref-uuid": refUUID, "operation": operation, "attr": nil,
	})
}

// fixture is a project with an IPAM and a virtual network that has one
// subnet on that IPAM.
type fixture struct {
	projectFQ []string
	project   string
	ipam      string
	vnFQ      []string
	vn        string
}

func (a *testAPI) newFixture(subnet string, prefixLen int) fixture {
	a.t.Helper()
	f := fixture{projectFQ: []string{"default-domain", "p1"}, vnFQ: []string{"default-domain", "p1", "vn1"}}
	f.project = a.create("project", map[string]any{"fq_name": f.projectFQ, "parent_type": "domain"})
	f.ipam = a.create("network-ipam", map[string]any{"fq_name": []string{"default-domain", "p1", "ipam1"}, "parent_type": "project"})
	f.vn = a.create("virtual-network", map[string]any{
		"fq_name": f.vnFQ, "parent_type": "project",
		"network_ipam_refs": []any{map[string]any{
			"to": []string{"default-domain", "p1", "ipam1"},
			"attr": map[string]any{"ipam_subnets": []any{map[string]any{
				"subnet": map[string]any{"ip_prefix": subnet, "ip_prefix_len": prefixLen},
			}}},
		}},
	})
	return f
}

// addPort creates a VM named vmName with one VMI in the fixture's network
// and returns their uuids.
func (a *testAPI) addPort(f fixture, vmName string) (vm, vmi string) {
	a.t.Helper()
	vm = a.create("virtual-machine", map[string]any{"fq_name": []string{vmName}, "server_type": "container"})
	vmi = a.create("virtual-machine-interface", map[string]any{
		"fq_name":              append(append([]string{}, f.projectFQ...), vmName+"-port"),
		"parent_type":          "project",
		"virtual_network_refs": []any{map[string]any{"to": f.vnFQ}},
		"virtual_machine_refs": []any{map[string]any{"to": []string{vmName}}},
	})
	return vm, vmi
}

// addInstanceIP posts an instance-ip in the fixture's network, referring to
// the VMI vmiFQ unless it is nil, with extra fields merged into the body.
func (a *testAPI) addInstanceIP(f fixture, name string, vmiFQ []string, extra map[string]any) response {
	a.t.Helper()
	body := map[string]any{
		"fq_name":              []string{name},
		"virtual_network_refs": []any{map[string]any{"to": f.vnFQ}},
	}
	if vmiFQ != nil {
		body["virtual_machine_interface_refs"] = []any{map[string]any{"to": vmiFQ}}
	}
	for k, v := range extra {
		body[k] = v
	}
	return a.do(http.MethodPost, "/instance-ips", map[string]any{"instance-ip": body})
}

// instanceIPAddress creates an instance-ip and returns its uuid and its
// allocated address.
func (a *testAPI) instanceIPAddress(f fixture, name string, extra map[string]any) (uuid, addr string) {
	a.t.Helper()
	r := a.addInstanceIP(f, name, nil, extra)
	mustStatus(a.t, r, http.StatusOK)
	uuid = r.json(a.t)["instance-ip"].(map[string]any)["uuid"].(string)
	addr, _ = a.read("instance-ip", uuid, "")["instance_ip_address"].(string)
	return uuid, addr
}

// links returns the uuids in a rendered ref, back-ref or child list.
func links(t *testing.T, obj map[string]any, field string) []string {
	t.Helper()
	list, _ := obj[field].([]any)
	var out []string
	for _, item := range list {
		m, _ := item.(map[string]any)
		id, _ := m["uuid"].(string)
		out = append(out, id)
	}
	return out
}
