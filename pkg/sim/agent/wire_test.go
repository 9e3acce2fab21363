package agent_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"mime"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/contrail-vif/contrail-vif/pkg/sim/agent"
	"github.com/contrail-vif/contrail-vif/pkg/sim/configapi"
	"github.com/contrail-vif/contrail-vif/pkg/vncclient/wirefixture"
)

// wireNode is the compute node whose virtual-router the agent fixtures'
// setup.json links to both VMs.
const wireNode = "node1"

// agentContentType is the Content-Type of every agent response.
const agentContentType = "application/json; charset=UTF-8"

// TestWireFixtures creates the config objects of testdata/wire/agent in a
// simulated config API and serves the agent on a loopback listener with the
// real agent's framing. It sends every fixture request in file order and
// checks the status code, the reason phrase "OK", the two headers and the
// JSON body of each response.
func TestWireFixtures(t *testing.T) {
	dir, err := wirefixture.AgentDir()
	if err != nil {
		t.Fatal(err)
	}
	setup, err := wirefixture.LoadSetup(dir)
	if err != nil {
		t.Fatal(err)
	}
	fixtures, err := wirefixture.Load(dir)
	if err != nil {
		t.Fatal(err)
	}

	logger := slog.New(slog.NewTextHandler(wireLogWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	config := configapi.NewServer(logger.With("component", "config-api"))
	configHTTP := httptest.NewServer(config.Handler())
	t.Cleanup(configHTTP.Close)

	s := &agent.Server{Config: config, Node: wireNode, Logger: logger.With("component", "agent")}
	addr := serveWireAgent(t, s)
	b := wirefixture.NewBindings("http://" + addr)
	client := &http.Client{Timeout: 10 * time.Second}
	t.Cleanup(client.CloseIdleConnections)

	for _, obj := range setup {
		b.Set("uuid:"+obj.Bind, createConfigObject(t, client, configHTTP.URL, obj))
	}

	for _, f := range fixtures {
		ok := t.Run(f.Name, func(t *testing.T) {
			resp, body := sendAgentFixture(t, client, "http://"+addr, b, f.Request)
			checkAgentResponse(t, b, f.Response, resp, body)
		})
		if !ok {
			// Later fixtures build on the bindings of earlier ones.
			t.Fatalf("fixture %s failed; skipping the fixtures after it", f.Name)
		}
	}
}

// serveWireAgent runs s.StartServe on a free loopback port until the test
// ends and returns the address.
func serveWireAgent(t *testing.T, s *agent.Server) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := s.StartServe(ctx, l)
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("Serve did not return within 5s of cancel")
		}
	})
	return l.Addr().String()
}

// createConfigObject creates obj with POST /<type>s and returns its uuid.
func createConfigObject(t *testing.T, client *http.Client, baseURL string, obj wirefixture.SetupObject) string {
	t.Helper()
	body, err := json.Marshal(map[string]json.RawMessage{obj.Type: obj.Body})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.Post(baseURL+"/"+obj.Type+"s", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatalf("setup %s: %v", obj.Bind, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("setup %s: %v", obj.Bind, err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("setup %s: create %s: status %d: %s", obj.Bind, obj.Type, resp.StatusCode, data)
	}
	var created map[string]struct {
		UUID string `json:"uuid"`
	}
	if err := json.Unmarshal(data, &created); err != nil || created[obj.Type].UUID == "" {
		t.Fatalf("setup %s: response %s has no uuid (%v)", obj.Bind, data, err)
	}
	return created[obj.Type].UUID
}

// sendAgentFixture expands the placeholders of req and sends it to the
// agent at baseURL.
func sendAgentFixture(t *testing.T, client *http.Client, baseURL string, b *wirefixture.Bindings, req wirefixture.Request) (*http.Response, []byte) {
	t.Helper()
	path, err := b.Expand(req.Path)
	if err != nil {
		t.Fatal(err)
	}
	body, err := b.ExpandJSON(req.Body)
	if err != nil {
		t.Fatal(err)
	}

	var reader io.Reader
	if body != nil {
		reader = bytes.NewReader(body)
	}
	httpReq, err := http.NewRequest(req.Method, baseURL+path, reader)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		httpReq.Header.Set("Content-Type", "application/json")
	}

	resp, err := client.Do(httpReq)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, data
}

// checkAgentResponse checks the status line, headers and body of resp
// against the fixture response want.
func checkAgentResponse(t *testing.T, b *wirefixture.Bindings, want wirefixture.Response, resp *http.Response, body []byte) {
	t.Helper()
	if resp.StatusCode != want.Status {
		t.Fatalf("status = %d, want %d; body %s", resp.StatusCode, want.Status, body)
	}
	// The agent writes "OK" as the reason phrase of every status.
	if wantStatus := fmt.Sprintf("%d OK", want.Status); resp.Status != wantStatus {
		t.Errorf("status line %q, want %q", resp.Status, wantStatus)
	}
	if keys := slices.Sorted(maps.Keys(resp.Header)); !slices.Equal(keys, []string{"Content-Length", "Content-Type"}) {
		t.Errorf("headers %q, want only Content-Length and Content-Type", keys)
	}
	contentType := resp.Header.Get("Content-Type")
	if contentType != agentContentType {
		t.Errorf("Content-Type = %q, want %q", contentType, agentContentType)
	}
	if mediaType, _, err := mime.ParseMediaType(contentType); err != nil || mediaType != want.ContentType {
		t.Errorf("media type of %q, want %s", contentType, want.ContentType)
	}
	if err := b.MatchJSON(want.Body, body); err != nil {
		t.Errorf("body differs from the fixture:\n%v\nbody: %s", err, body)
	}
}

// wireLogWriter sends log lines to t.Log, so they show only for failed
// tests.
type wireLogWriter struct{ t *testing.T }

func (w wireLogWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
