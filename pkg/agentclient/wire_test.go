package agentclient_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/contrail-vif/contrail-vif/pkg/agentclient"
	"github.com/contrail-vif/contrail-vif/pkg/vncclient/wirefixture"
)

// agentExchange is an agent fixture with its placeholders expanded.
type agentExchange struct {
	b *wirefixture.Bindings
	// path is the expanded request path.
	path string
	// body is the expanded request body, nil for a request without one.
	body []byte
	// response is the expanded response body that the stand-in agent sends.
	response []byte
}

// uuid returns the value bound to <uuid:name>.
func (x agentExchange) uuid(t *testing.T, name string) string {
	t.Helper()
	v, ok := x.b.Get("uuid:" + name)
	if !ok {
		t.Fatalf("<uuid:%s> is not bound", name)
	}
	return v
}

// pathParam returns the unescaped rest of the request path after prefix.
func (x agentExchange) pathParam(t *testing.T, prefix string) string {
	t.Helper()
	rest, ok := strings.CutPrefix(x.path, prefix)
	if !ok {
		t.Fatalf("path %q does not start with %q", x.path, prefix)
	}
	v, err := url.PathUnescape(rest)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// portRequest decodes the request body into a PortRequest, rejecting
// members that PortRequest lacks, so that the fixture contains only what the
// client can send.
func (x agentExchange) portRequest(t *testing.T) agentclient.PortRequest {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(x.body))
	dec.DisallowUnknownFields()
	var req agentclient.PortRequest
	if err := dec.Decode(&req); err != nil {
		t.Fatalf("decode fixture request into PortRequest: %v", err)
	}
	return req
}

// agentClientCase calls the client method that sends one fixture's request
// and checks what the client returned for the fixture's response.
type agentClientCase struct {
	call func(t *testing.T, c *agentclient.Client, x agentExchange)
	// rejected is true when the client must reject the request without
	// sending it.
	rejected bool
}

// agentClientCases has a case for every agent fixture of a route that the
// client calls.
var agentClientCases = map[string]agentClientCase{
	"01-post-port": {call: func(t *testing.T, c *agentclient.Client, x agentExchange) {
		if err := c.AddPort(context.Background(), x.portRequest(t)); err != nil {
			t.Fatal(err)
		}
	}},
	"02-get-port": {call: func(t *testing.T, c *agentclient.Client, x agentExchange) {
		port, err := c.Port(context.Background(), x.pathParam(t, "/port/"))
		if err != nil {
			t.Fatal(err)
		}
		checkDecodedMembers(t, x.response, port)
		want := agentclient.Port{
			ID:          "93c2c386-6e79-485e-bfa4-b9daa713133b",
			InstanceID:  "69ce06bd-6d1e-43d0-8e48-a30043a49ed8",
			VNID:        "56297dc0-5553-4e6a-b87f-8423afc21e9d",
			VMProjectID: "9970147c-33b1-4bf7-8944-8968e708d430",
			MACAddress:  "02:93:c2:c3:86:6e",
			SystemName:  "tap93c2c386-6e",
			RxVLANID:    65535,
			TxVLANID:    65535,
			IPAddress:   "11.0.0.3",
			PrefixLen:   24,
			DNSServer:   "11.0.0.253",
			Gateway:     "11.0.0.254",
		}
		if *port != want {
			t.Errorf("Port =\n%+v\nwant\n%+v", *port, want)
		}
	}},
	"03-post-port-invalid-mac": {call: func(t *testing.T, c *agentclient.Client, x agentExchange) {
		err := c.AddPort(context.Background(), x.portRequest(t))
		checkStatusError(t, err, http.StatusInternalServerError, "{ Invalid MAC, Use xx:xx:xx:xx:xx:xx format }")
		if errors.Is(err, agentclient.ErrNotFound) {
			t.Errorf("error %v matches ErrNotFound, want a 500 that does not", err)
		}
	}},
	"05-delete-port": {call: func(t *testing.T, c *agentclient.Client, x agentExchange) {
		if err := c.DeletePort(context.Background(), x.pathParam(t, "/port/")); err != nil {
			t.Fatal(err)
		}
	}},
	"06-get-port-not-found": {call: func(t *testing.T, c *agentclient.Client, x agentExchange) {
		_, err := c.Port(context.Background(), x.pathParam(t, "/port/"))
		if !errors.Is(err, agentclient.ErrNotFound) {
			t.Errorf("error %v, want ErrNotFound", err)
		}
		checkStatusError(t, err, http.StatusNotFound, "{ Not Found }")
	}},
	"07-get-vm-cfg": {call: func(t *testing.T, c *agentclient.Client, x agentExchange) {
		entries, err := c.VMConfig(context.Background(), x.pathParam(t, "/vm-cfg/"))
		if err != nil {
			t.Fatal(err)
		}
		checkDecodedMembers(t, x.response, entries)
		want := []agentclient.VMConfigEntry{{
			ID:           x.uuid(t, "pod-vmi"),
			VMUUID:       "5b2a7f1c-1111-2222-3333-444455556666",
			VNID:         x.uuid(t, "pod-vn"),
			VNName:       "default-domain:k8s-default:k8s-default-pod-network",
			MACAddress:   "02:3c:0e:11:22:33",
			SubInterface: false,
			VLANID:       65535,
			Annotations: []string{
				"{cluster:k8s}", "{index:0/2}", "{kind:Pod}", "{name:busybox}",
				"{namespace:default}", "{network:default}", "{owner:k8s}", "{project:k8s-default}",
			},
		}}
		if !reflect.DeepEqual(entries, want) {
			t.Errorf("VMConfig =\n%+v\nwant\n%+v", entries, want)
		}
	}},
	"08-get-vm-cfg-not-found": {call: func(t *testing.T, c *agentclient.Client, x agentExchange) {
		_, err := c.VMConfig(context.Background(), x.pathParam(t, "/vm-cfg/"))
		if !errors.Is(err, agentclient.ErrNotFound) {
			t.Errorf("error %v, want ErrNotFound", err)
		}
		checkStatusError(t, err, http.StatusNotFound, "{ Not Found }")
	}},
	"15-uppercase-uuid": {rejected: true, call: func(t *testing.T, c *agentclient.Client, x agentExchange) {
		// The agent would reply "Unknown Request", which a caller could
		// not tell from a missing port.
		_, err := c.Port(context.Background(), x.pathParam(t, "/port/"))
		if err == nil {
			t.Fatal("Port accepted an uppercase uuid")
		}
		var statusErr *agentclient.StatusError
		if errors.As(err, &statusErr) || errors.Is(err, agentclient.ErrNotFound) {
			t.Errorf("error %v comes from a reply, want the client to reject the uuid", err)
		}
	}},
}

// agentRoutesNotCalled are the agent fixtures whose routes the client has
// no method for, with the reason. The simulator test covers them.
var agentRoutesNotCalled = map[string]string{
	"04-enable-port-not-remote": "enable-port is for ESXi remote ports",
	"09-post-vm":                "POST /vm is the binding of contrail-k8s-cni; contrail-vif binds with POST /port",
	"10-get-vm":                 "contrail-vif reads a port with GET /port",
	"11-get-vm-vmi":             "contrail-vif reads a port with GET /port",
	"12-delete-vm":              "contrail-vif unbinds with DELETE /port",
	"13-post-syncports":         "contrail-vif does not resync ports",
	"14-unknown-route":          "no client method sends a path that matches no route",
}

// TestWireFixtures replays every agent fixture of testdata/wire/agent
// against the client: the client must send the fixture's request and
// decode the fixture's response, which a stand-in agent sends with the
// real agent's framing.
func TestWireFixtures(t *testing.T) {
	dir, err := wirefixture.AgentDir()
	if err != nil {
		t.Fatal(err)
	}
	fixtures, err := wirefixture.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, f := range fixtures {
		names[f.Name] = true
		t.Run(f.Name, func(t *testing.T) {
			cc, called := agentClientCases[f.Name]
			_, notCalled := agentRoutesNotCalled[f.Name]
			switch {
			case called && notCalled:
				t.Fatalf("fixture %s has a client case and is listed as not called", f.Name)
			case notCalled:
				t.Skipf("the client does not call this route: %s", agentRoutesNotCalled[f.Name])
			case !called:
				t.Fatalf("no client case for fixture %s; add one, or list it in agentRoutesNotCalled", f.Name)
			}
			runAgentFixture(t, f, cc)
		})
	}
	for name := range agentClientCases {
		if !names[name] {
			t.Errorf("client case %s has no fixture", name)
		}
	}
	for name := range agentRoutesNotCalled {
		if !names[name] {
			t.Errorf("agentRoutesNotCalled names %s, which has no fixture", name)
		}
	}
}

// agentRequest is a request that the stand-in agent received.
type agentRequest struct {
	method string
	target string
	body   []byte
}

func runAgentFixture(t *testing.T, f wirefixture.Fixture, cc agentClientCase) {
	var mu sync.Mutex
	var got []agentRequest
	var response []byte
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, agentRequest{method: r.Method, target: r.URL.RequestURI(), body: body})
		mu.Unlock()
		writeAgentFraming(t, w, f.Response.Status, response)
	}))
	t.Cleanup(ts.Close)

	b := wirefixture.NewBindings(ts.URL)
	x := agentExchange{b: b}
	var err error
	if x.path, err = b.Expand(f.Request.Path); err != nil {
		t.Fatal(err)
	}
	if x.body, err = b.ExpandJSON(f.Request.Body); err != nil {
		t.Fatal(err)
	}
	if response, err = b.ExpandJSON(f.Response.Body); err != nil {
		t.Fatal(err)
	}
	x.response = response

	cc.call(t, agentclient.New(ts.URL, 5*time.Second), x)

	mu.Lock()
	defer mu.Unlock()
	if cc.rejected {
		if len(got) != 0 {
			t.Errorf("client sent %d requests, want none", len(got))
		}
		return
	}
	if len(got) != 1 {
		t.Fatalf("client sent %d requests, want 1", len(got))
	}
	req := got[0]
	if req.method != f.Request.Method {
		t.Errorf("method = %s, want %s", req.method, f.Request.Method)
	}
	if err := b.MatchPath(f.Request.Path, req.target); err != nil {
		t.Errorf("request target: %v", err)
	}
	if len(f.Request.Body) == 0 {
		if len(req.body) != 0 {
			t.Errorf("request body = %s, want none", req.body)
		}
		return
	}
	if err := b.MatchJSON(f.Request.Body, req.body); err != nil {
		t.Errorf("request body differs from the fixture:\n%v\nbody: %s", err, req.body)
	}
}

// writeAgentFraming sends body the way the real agent does: the status line
// "HTTP/1.1 <code> OK" for every code, then only Content-Type and
// Content-Length. net/http always writes the standard reason phrase, so the
// handler takes over the connection and closes it after the response.
func writeAgentFraming(t *testing.T, w http.ResponseWriter, status int, body []byte) {
	conn, buf, err := http.NewResponseController(w).Hijack()
	if err != nil {
		t.Errorf("hijack connection: %v", err)
		return
	}
	defer conn.Close()
	fmt.Fprintf(buf, "HTTP/1.1 %d OK\r\nContent-Type: application/json; charset=UTF-8\r\nContent-Length: %d\r\n\r\n", status, len(body))
	_, _ = buf.Write(body)
	if err := buf.Flush(); err != nil {
		t.Errorf("write response: %v", err)
	}
}

// checkDecodedMembers checks that decoded, encoded again as JSON, has every
// non-null member of the served JSON object (or of each object of a served
// array) with the same value, and no other member with a non-zero value. A
// member that the client drops, misnames or fills from another member
// fails it.
func checkDecodedMembers(t *testing.T, served []byte, decoded any) {
	t.Helper()
	encoded, err := json.Marshal(decoded)
	if err != nil {
		t.Fatal(err)
	}
	var want, got any
	if err := json.Unmarshal(served, &want); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(encoded, &got); err != nil {
		t.Fatal(err)
	}
	wantObjects, gotObjects := asObjects(want), asObjects(got)
	if len(wantObjects) != len(gotObjects) {
		t.Fatalf("decoded %d objects, the response has %d", len(gotObjects), len(wantObjects))
	}
	for i := range wantObjects {
		w, g := wantObjects[i], gotObjects[i]
		for _, key := range slices.Sorted(maps.Keys(w)) {
			if w[key] == nil {
				continue
			}
			if !reflect.DeepEqual(g[key], w[key]) {
				t.Errorf("object %d member %q decoded as %v, response has %v", i, key, g[key], w[key])
			}
		}
		for _, key := range slices.Sorted(maps.Keys(g)) {
			if _, ok := w[key]; !ok && !reflect.ValueOf(g[key]).IsZero() {
				t.Errorf("object %d member %q = %v, which the response does not have", i, key, g[key])
			}
		}
	}
}

// asObjects returns v as a list of JSON objects: v itself when it is an
// object, or the elements of an array.
func asObjects(v any) []map[string]any {
	switch v := v.(type) {
	case map[string]any:
		return []map[string]any{v}
	case []any:
		out := make([]map[string]any, 0, len(v))
		for _, item := range v {
			m, _ := item.(map[string]any)
			out = append(out, m)
		}
		return out
	}
	return nil
}

// checkStatusError checks that err is a StatusError with code and message.
func checkStatusError(t *testing.T, err error, code int, message string) {
	t.Helper()
	var statusErr *agentclient.StatusError
	if !errors.As(err, &statusErr) {
		t.Fatalf("error %v, want a *StatusError", err)
	}
	if statusErr.Code != code || statusErr.Message != message {
		t.Errorf("StatusError = %d %q, want %d %q", statusErr.Code, statusErr.Message, code, message)
	}
}
