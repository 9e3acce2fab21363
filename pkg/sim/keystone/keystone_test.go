package keystone

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

const testPassword = "s3cret-Passw0rd"

// fakeClock is a clock that moves only when the test advances it.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func newTestServer(t *testing.T) (*Server, *httptest.Server, *fakeClock) {
	t.Helper()
	clock := &fakeClock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	s := NewServer(nil)
	s.TokenTTL = 10 * time.Minute
	s.Now = clock.Now
	if err := s.AddUser(User{Name: "admin", Password: testPassword, Projects: []string{"admin", "k8s"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddUser(User{Name: "ops", Password: "other", Domain: "Ops", Projects: []string{"infra"}}); err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return s, ts, clock
}

// passwordRequest builds a password authentication body with scope, which
// may be nil for an unscoped token.
func passwordRequest(user map[string]any, password string, scope any) map[string]any {
	user["password"] = password
	auth := map[string]any{
		"identity": map[string]any{
			"methods":  []string{"password"},
			"password": map[string]any{"user": user},
		},
	}
	if scope != nil {
		auth["scope"] = scope
	}
	return map[string]any{"auth": auth}
}

func defaultUser(name string) map[string]any {
	return map[string]any{"name": name, "domain": map[string]any{"name": "Default"}}
}

func projectScope(name string) map[string]any {
	return map[string]any{"project": map[string]any{"name": name, "domain": map[string]any{"id": "default"}}}
}

type tokenResponse struct {
	status int
	token  string
	body   []byte
}

func issue(t *testing.T, ts *httptest.Server, body any) tokenResponse {
	t.Helper()
	data, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(ts.URL+"/v3/auth/tokens", "application/json", bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return tokenResponse{status: resp.StatusCode, token: resp.Header.Get("X-Subject-Token"), body: out}
}

func decodeToken(t *testing.T, body []byte) map[string]any {
	t.Helper()
	var out struct {
		Token map[string]any `json:"token"`
	}
	if err := json.Unmarshal(body, &out); err != nil || out.Token == nil {
		t.Fatalf("decode token body %s: %v", body, err)
	}
	return out.Token
}

func TestIssueProjectScopedToken(t *testing.T) {
	s, ts, clock := newTestServer(t)

	r := issue(t, ts, passwordRequest(defaultUser("admin"), testPassword, projectScope("k8s")))
	if r.status != http.StatusCreated {
		t.Fatalf("status = %d, want 201; body %s", r.status, r.body)
	}
	if r.token == "" {
		t.Fatal("X-Subject-Token is empty")
	}
	if strings.Contains(string(r.body), r.token) {
		t.Error("token body contains the token, want it only in X-Subject-Token")
	}
	tok := decodeToken(t, r.body)
	expires, err := time.Parse(time.RFC3339Nano, tok["expires_at"].(string))
	if err != nil {
		t.Fatalf("expires_at: %v", err)
	}
	if want := clock.Now().Add(10 * time.Minute); !expires.Equal(want) {
		t.Errorf("expires_at = %v, want %v", expires, want)
	}
	project, _ := tok["project"].(map[string]any)
	if project["name"] != "k8s" {
		t.Errorf("project = %v, want name k8s", project)
	}
	user, _ := tok["user"].(map[string]any)
	if user["name"] != "admin" || user["domain"].(map[string]any)["id"] != "default" {
		t.Errorf("user = %v, want admin in domain default", user)
	}
	if roles, _ := tok["roles"].([]any); len(roles) != 1 {
		t.Errorf("roles = %v, want one role", tok["roles"])
	}
	if err := s.ValidateToken(r.token); err != nil {
		t.Errorf("ValidateToken: %v", err)
	}
}

func TestIssueOtherScopes(t *testing.T) {
	_, ts, _ := newTestServer(t)
	tests := []struct {
		name    string
		body    map[string]any
		wantKey string
	}{
		{"domain scope", passwordRequest(defaultUser("admin"), testPassword, map[string]any{"domain": map[string]any{"name": "Default"}}), "domain"},
		{"unscoped", passwordRequest(defaultUser("admin"), testPassword, nil), ""},
		{"explicit unscoped", passwordRequest(defaultUser("admin"), testPassword, "unscoped"), ""},
		{"other domain", passwordRequest(map[string]any{"name": "ops", "domain": map[string]any{"name": "Ops"}}, "other",
			map[string]any{"project": map[string]any{"name": "infra", "domain": map[string]any{"name": "Ops"}}}), "project"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := issue(t, ts, tt.body)
			if r.status != http.StatusCreated || r.token == "" {
				t.Fatalf("status = %d, token %q; body %s", r.status, r.token, r.body)
			}
			tok := decodeToken(t, r.body)
			for _, key := range []string{"project", "domain"} {
				_, has := tok[key]
				if has != (key == tt.wantKey) {
					t.Errorf("token has %s = %v, want %v", key, has, key == tt.wantKey)
				}
			}
		})
	}
}

func TestIssueByUserID(t *testing.T) {
	_, ts, _ := newTestServer(t)
	first := decodeToken(t, issue(t, ts, passwordRequest(defaultUser("admin"), testPassword, nil)).body)
	id := first["user"].(map[string]any)["id"].(string)

	r := issue(t, ts, passwordRequest(map[string]any{"id": id}, testPassword, projectScope("admin")))
	if r.status != http.StatusCreated {
		t.Fatalf("status = %d, want 201; body %s", r.status, r.body)
	}
}

func TestIssueRejected(t *testing.T) {
	_, ts, _ := newTestServer(t)
	tests := []struct {
		name   string
		body   any
		status int
	}{
		{"wrong password", passwordRequest(defaultUser("admin"), "wrong-"+testPassword, projectScope("k8s")), http.StatusUnauthorized},
		{"unknown user", passwordRequest(defaultUser("nobody"), testPassword, nil), http.StatusUnauthorized},
		{"unknown domain", passwordRequest(map[string]any{"name": "admin", "domain": map[string]any{"name": "Nowhere"}}, testPassword, nil), http.StatusUnauthorized},
		{"project without role", passwordRequest(defaultUser("admin"), testPassword,
			map[string]any{"project": map[string]any{"name": "infra", "domain": map[string]any{"name": "Ops"}}}), http.StatusUnauthorized},
		{"unknown project", passwordRequest(defaultUser("admin"), testPassword, projectScope("missing")), http.StatusUnauthorized},
		{"other domain scope", passwordRequest(defaultUser("admin"), testPassword, map[string]any{"domain": map[string]any{"name": "Ops"}}), http.StatusUnauthorized},
		{"no password method", map[string]any{"auth": map[string]any{"identity": map[string]any{"methods": []string{"token"}}}}, http.StatusBadRequest},
		{"not an object", []int{1}, http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := issue(t, ts, tt.body)
			if r.status != tt.status {
				t.Fatalf("status = %d, want %d; body %s", r.status, tt.status, r.body)
			}
			if r.token != "" {
				t.Errorf("X-Subject-Token = %q, want none", r.token)
			}
			var e struct {
				Error struct {
					Code    int    `json:"code"`
					Message string `json:"message"`
				} `json:"error"`
			}
			if err := json.Unmarshal(r.body, &e); err != nil || e.Error.Code != tt.status || e.Error.Message == "" {
				t.Errorf("error body = %s (%v), want {\"error\": {\"code\": %d, ...}}", r.body, err, tt.status)
			}
			if strings.Contains(string(r.body), testPassword) {
				t.Errorf("error body %s contains the password", r.body)
			}
		})
	}
}

func TestValidateToken(t *testing.T) {
	s, ts, clock := newTestServer(t)
	r := issue(t, ts, passwordRequest(defaultUser("admin"), testPassword, projectScope("k8s")))
	if r.status != http.StatusCreated {
		t.Fatalf("status = %d; body %s", r.status, r.body)
	}

	if err := s.ValidateToken("not-a-token"); !errors.Is(err, ErrTokenInvalid) {
		t.Errorf("ValidateToken(unknown) = %v, want ErrTokenInvalid", err)
	}
	clock.Advance(10*time.Minute - time.Second)
	if err := s.ValidateToken(r.token); err != nil {
		t.Errorf("ValidateToken one second before expiry = %v, want nil", err)
	}
	clock.Advance(time.Second)
	if err := s.ValidateToken(r.token); !errors.Is(err, ErrTokenExpired) {
		t.Errorf("ValidateToken at expiry = %v, want ErrTokenExpired", err)
	}
	if err := s.ValidateToken(r.token); !errors.Is(err, ErrTokenInvalid) {
		t.Errorf("ValidateToken after expiry was reported = %v, want ErrTokenInvalid", err)
	}
}

func TestExpiredTokensPruned(t *testing.T) {
	s, ts, clock := newTestServer(t)
	for range 3 {
		issue(t, ts, passwordRequest(defaultUser("admin"), testPassword, nil))
	}
	clock.Advance(11 * time.Minute)
	issue(t, ts, passwordRequest(defaultUser("admin"), testPassword, nil))

	s.mu.Lock()
	n := len(s.tokens)
	s.mu.Unlock()
	if n != 1 {
		t.Errorf("stored tokens = %d, want 1 after the others expired", n)
	}
}

func TestAddUserValidation(t *testing.T) {
	s := NewServer(nil)
	if err := s.AddUser(User{Name: "a", Password: "p"}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddUser(User{Name: "a", Password: "q", Domain: DefaultDomain}); err == nil {
		t.Error("AddUser of a duplicate user succeeded, want an error")
	}
	if err := s.AddUser(User{Name: "b"}); err == nil {
		t.Error("AddUser without a password succeeded, want an error")
	}
	if err := s.AddUser(User{Name: "a", Password: "p", Domain: "Other"}); err != nil {
		t.Errorf("AddUser of the same name in another domain: %v", err)
	}
}

func TestDefaultTokenTTL(t *testing.T) {
	s := NewServer(nil)
	if got := s.ttl(); got != DefaultTokenTTL {
		t.Errorf("ttl() = %v, want %v", got, DefaultTokenTTL)
	}
}
