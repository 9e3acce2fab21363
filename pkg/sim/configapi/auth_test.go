package configapi

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/contrail-vif/contrail-vif/pkg/sim/keystone"
)

const authTestPassword = "config-api-Passw0rd"

type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// authAPI is a config API that requires tokens from a simulated Keystone,
// both on loopback listeners.
type authAPI struct {
	*testAPI
	keystone *httptest.Server
	clock    *testClock
}

func newAuthAPI(t *testing.T) *authAPI {
	t.Helper()
	clock := &testClock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	ks := keystone.NewServer(nil)
	ks.TokenTTL = time.Minute
	ks.Now = clock.Now
	if err := ks.AddUser(keystone.User{Name: "admin", Password: authTestPassword, Projects: []string{"admin"}}); err != nil {
		t.Fatal(err)
	}
	ksHTTP := httptest.NewServer(ks.Handler())
	t.Cleanup(ksHTTP.Close)

	api := &testAPI{t: t, server: NewServer(nil), client: &http.Client{Timeout: 10 * time.Second}}
	api.server.RequireTokens(ks)
	api.http = httptest.NewServer(api.server.Handler())
	t.Cleanup(api.http.Close)
	return &authAPI{testAPI: api, keystone: ksHTTP, clock: clock}
}

// token authenticates as admin and returns the token.
func (a *authAPI) token() string {
	a.t.Helper()
	body, _ := json.Marshal(map[string]any{"auth": map[string]any{
		"identity": map[string]any{
			"methods": []string{"password"},
			"password": map[string]any{"user": map[string]any{
				"name": "admin", "domain": map[string]any{"id": "default"}, "password": authTestPassword,
			}},
		},
		"scope": map[string]any{"project": map[string]any{"name": "admin", "domain": map[string]any{"id": "default"}}},
	}})
	resp, err := http.Post(a.keystone.URL+"/v3/auth/tokens", "application/json", bytes.NewReader(body))
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	tok := resp.Header.Get("X-Subject-Token")
	if resp.StatusCode != http.StatusCreated || tok == "" {
		a.t.Fatalf("authenticate: status %d, token %q", resp.StatusCode, tok)
	}
	return tok
}

func TestAuthRejectsRequestWithoutValidToken(t *testing.T) {
	api := newAuthAPI(t)
	fqNameToID := map[string]any{"type": "project", "fq_name": []string{"default-domain", "default-project"}}
	tests := []struct {
		name   string
		header []string
		want   string
	}{
		{"no token", nil, "no X-Auth-Token header"},
		{"empty token", []string{"X-Auth-Token", ""}, "no X-Auth-Token header"},
		{"unknown token", []string{"X-Auth-Token", "forged-token"}, "invalid token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, req := range []struct {
				method, path string
				body         any
			}{
				{http.MethodGet, "/projects", nil},
				{http.MethodPost, "/fqname-to-id", fqNameToID},
				{http.MethodDelete, "/project/" + "8c84ff8a-0000-4000-8000-000000000000", nil},
			} {
				r := api.do(req.method, req.path, req.body, tt.header...)
				mustError(t, r, http.StatusUnauthorized, tt.want)
				if strings.Contains(string(r.body), "forged-token") {
					t.Errorf("%s %s: body %q echoes the token", req.method, req.path, r.body)
				}
			}
		})
	}
}

func TestAuthAcceptsValidToken(t *testing.T) {
	api := newAuthAPI(t)
	tok := api.token()

	r := api.do(http.MethodPost, "/fqname-to-id",
		map[string]any{"type": "project", "fq_name": []string{"default-domain", "default-project"}}, "X-Auth-Token", tok)
	mustStatus(t, r, http.StatusOK)

	// vnc_api spells the header in capitals. Set it without canonicalizing
	// so that the server receives that spelling on the wire.
	req, err := http.NewRequest(http.MethodGet, api.http.URL+"/projects", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header["X-AUTH-TOKEN"] = []string{tok}
	resp, err := api.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /projects with X-AUTH-TOKEN: status %d, want 200", resp.StatusCode)
	}
}

func TestAuthRejectsExpiredToken(t *testing.T) {
	api := newAuthAPI(t)
	tok := api.token()
	mustStatus(t, api.do(http.MethodGet, "/projects", nil, "X-Auth-Token", tok), http.StatusOK)

	api.clock.Advance(time.Minute)
	mustError(t, api.do(http.MethodGet, "/projects", nil, "X-Auth-Token", tok), http.StatusUnauthorized, "token expired")
	mustError(t, api.do(http.MethodGet, "/projects", nil, "X-Auth-Token", tok), http.StatusUnauthorized, "Authentication failed")

	mustStatus(t, api.do(http.MethodGet, "/projects", nil, "X-Auth-Token", api.token()), http.StatusOK)
}

func TestAuthOpenPaths(t *testing.T) {
	api := newAuthAPI(t)
	mustStatus(t, api.do(http.MethodGet, "/", nil), http.StatusOK)
	// The simulator serves no documentation, but the path must get past
	// authentication to the 404 of the router.
	for _, path := range []string{"/documentation", "/documentation/index.html"} {
		r := api.do(http.MethodGet, path, nil)
		if r.status == http.StatusUnauthorized {
			t.Errorf("GET %s: status 401, want it open", path)
		}
	}
	mustStatus(t, api.do(http.MethodGet, "/documentation-not", nil), http.StatusUnauthorized)
}

func TestAuthOffByDefault(t *testing.T) {
	api := newTestAPI(t)
	mustStatus(t, api.do(http.MethodGet, "/projects", nil), http.StatusOK)
}
