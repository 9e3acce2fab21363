package vncclient

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/contrail-vif/contrail-vif/pkg/sim/keystone"
)

const (
	testUser     = "contrail-vif"
	testPassword = "Vnc-s3cret-Passw0rd"
	testProject  = "k8s"
)

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

// authEnv is a simulated Keystone and a config API stand-in that accepts
// only its tokens, both on loopback, with request counters.
type authEnv struct {
	keystone      *keystone.Server
	keystoneURL   string
	keystoneCalls atomic.Int32
	configURL     string
	configCalls   atomic.Int32
	// tokens records the X-Auth-Token of each config API request.
	mu     sync.Mutex
	tokens []string
	// clock is Keystone's clock; the client has its own.
	clock *testClock
}

func newAuthEnv(t *testing.T, ttl time.Duration) *authEnv {
	t.Helper()
	env := &authEnv{clock: &testClock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}}
	env.keystone = keystone.NewServer(nil)
	env.keystone.TokenTTL = ttl
	env.keystone.Now = env.clock.Now
	if err := env.keystone.AddUser(keystone.User{Name: testUser, Password: testPassword, Projects: []string{testProject}}); err != nil {
		t.Fatal(err)
	}
	ksHandler := env.keystone.Handler()
	ks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		env.keystoneCalls.Add(1)
		ksHandler.ServeHTTP(w, r)
	}))
	t.Cleanup(ks.Close)
	env.keystoneURL = ks.URL + "/v3"

	cfg := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		env.configCalls.Add(1)
		token := r.Header.Get("X-Auth-Token")
		env.mu.Lock()
		env.tokens = append(env.tokens, token)
		env.mu.Unlock()
		if err := env.keystone.ValidateToken(token); err != nil {
			http.Error(w, "Authentication failed: "+err.Error(), http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"uuid":"8c84ff8a-1111-4222-8333-444455556666"}`)
	}))
	t.Cleanup(cfg.Close)
	env.configURL = cfg.URL
	return env
}

// client returns a config API client with a KeystoneAuth whose clock
// starts at Keystone's time.
func (env *authEnv) client(password string) (*Client, *KeystoneAuth, *testClock) {
	clock := &testClock{now: env.clock.Now()}
	auth := &KeystoneAuth{URL: env.keystoneURL, User: testUser, Password: password, Project: testProject, now: clock.Now}
	c := New(env.configURL, 5*time.Second)
	c.Retry = fastRetry(3)
	c.Auth = auth
	return c, auth, clock
}

func (env *authEnv) lookup(c *Client) error {
	_, err := c.FQNameToID(context.Background(), TypeVirtualNetwork, []string{"d", "p", "vn"})
	return err
}

func (env *authEnv) sentTokens() []string {
	env.mu.Lock()
	defer env.mu.Unlock()
	return append([]string(nil), env.tokens...)
}

func TestKeystoneAuthCachesToken(t *testing.T) {
	env := newAuthEnv(t, time.Hour)
	c, _, _ := env.client(testPassword)

	for range 3 {
		if err := env.lookup(c); err != nil {
			t.Fatal(err)
		}
	}
	if got := env.keystoneCalls.Load(); got != 1 {
		t.Errorf("keystone requests = %d, want 1", got)
	}
	tokens := env.sentTokens()
	if len(tokens) != 3 || tokens[0] == "" || tokens[0] != tokens[2] {
		t.Errorf("tokens sent = %q, want the same token three times", tokens)
	}
}

func TestKeystoneAuthRenewsBeforeExpiry(t *testing.T) {
	env := newAuthEnv(t, 10*time.Minute)
	c, _, clientClock := env.client(testPassword)
	if err := env.lookup(c); err != nil {
		t.Fatal(err)
	}

	// The default margin is a quarter of the 10-minute lifetime, so the
	// token serves until 7m30s.
	clientClock.Advance(7 * time.Minute)
	env.clock.Advance(7 * time.Minute)
	if err := env.lookup(c); err != nil {
		t.Fatal(err)
	}
	if got := env.keystoneCalls.Load(); got != 1 {
		t.Fatalf("keystone requests at 7m = %d, want 1", got)
	}

	clientClock.Advance(time.Minute)
	env.clock.Advance(time.Minute)
	if err := env.lookup(c); err != nil {
		t.Fatal(err)
	}
	if got := env.keystoneCalls.Load(); got != 2 {
		t.Errorf("keystone requests at 8m = %d, want 2", got)
	}
	if got := env.configCalls.Load(); got != 3 {
		t.Errorf("config API requests = %d, want 3 (no 401 retries)", got)
	}
	tokens := env.sentTokens()
	if tokens[1] == tokens[2] {
		t.Error("the request after the renewal time used the old token")
	}
}

func TestKeystoneAuthRenewBeforeOption(t *testing.T) {
	tests := []struct {
		renewBefore time.Duration
		lifetime    time.Duration
		wantAfter   time.Duration
	}{
		{0, time.Hour, 55 * time.Minute},
		{0, 2 * time.Minute, 90 * time.Second},
		{10 * time.Minute, time.Hour, 50 * time.Minute},
		{time.Hour, time.Hour, 30 * time.Minute},
	}
	for _, tt := range tests {
		now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		k := &KeystoneAuth{RenewBefore: tt.renewBefore, now: func() time.Time { return now }}
		// Keystone's clock is an hour ahead of the local one; only the
		// lifetime counts.
		issued := now.Add(time.Hour)
		body := fmt.Sprintf(`{"token":{"issued_at":%q,"expires_at":%q}}`,
			issued.Format("2006-01-02T15:04:05.000000Z"), issued.Add(tt.lifetime).Format("2006-01-02T15:04:05.000000Z"))
		renewAt, err := k.renewTime([]byte(body))
		if err != nil {
			t.Fatal(err)
		}
		if got := renewAt.Sub(now); got != tt.wantAfter {
			t.Errorf("RenewBefore %v, lifetime %v: renew after %v, want %v", tt.renewBefore, tt.lifetime, got, tt.wantAfter)
		}
	}
}

func TestKeystoneAuthRenewsOn401(t *testing.T) {
	env := newAuthEnv(t, 10*time.Minute)
	c, _, _ := env.client(testPassword)
	if err := env.lookup(c); err != nil {
		t.Fatal(err)
	}

	// Keystone's clock moves past the expiry while the client's does not,
	// so the client still holds the token that the server now rejects.
	env.clock.Advance(11 * time.Minute)
	if err := env.lookup(c); err != nil {
		t.Fatalf("lookup after the token expired on the server: %v", err)
	}
	if got := env.configCalls.Load(); got != 3 {
		t.Errorf("config API requests = %d, want 3 (one rejected, one repeated)", got)
	}
	if got := env.keystoneCalls.Load(); got != 2 {
		t.Errorf("keystone requests = %d, want 2", got)
	}
	tokens := env.sentTokens()
	if tokens[1] != tokens[0] || tokens[2] == tokens[1] {
		t.Errorf("tokens sent = %q, want the old one rejected and then a new one", tokens)
	}
}

func TestKeystoneAuthRenewsOn401OnlyOnce(t *testing.T) {
	var calls atomic.Int32
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		http.Error(w, "Authentication failed: invalid token", http.StatusUnauthorized)
	}))
	t.Cleanup(ts.Close)
	auth := &countingAuth{}
	c := New(ts.URL, 5*time.Second)
	c.Retry = fastRetry(5)
	c.Auth = auth

	err := c.Delete(context.Background(), TypeVirtualMachine, "x")
	if !IsUnauthorized(err) {
		t.Fatalf("error = %v, want 401", err)
	}
	if got := calls.Load(); got != 2 {
		t.Errorf("requests = %d, want 2", got)
	}
	if got := auth.invalidated.Load(); got != 1 {
		t.Errorf("Invalidate calls = %d, want 1", got)
	}
}

// countingAuth hands out numbered tokens and counts invalidations.
type countingAuth struct {
	issued      atomic.Int32
	invalidated atomic.Int32
}

func (a *countingAuth) Token(context.Context) (string, error) {
	return fmt.Sprintf("token-%d", a.issued.Add(1)), nil
}

func (a *countingAuth) Invalidate() { a.invalidated.Add(1) }

func TestKeystoneAuthWrongPassword(t *testing.T) {
	env := newAuthEnv(t, time.Hour)
	wrong := "wrong-" + testPassword
	c, auth, _ := env.client(wrong)

	err := env.lookup(c)
	if !IsUnauthorized(err) {
		t.Fatalf("error = %v, want a Keystone 401", err)
	}
	var authErr *AuthError
	if !errors.As(err, &authErr) || authErr.StatusCode != http.StatusUnauthorized {
		t.Errorf("error %v is not an AuthError with status 401", err)
	}
	if strings.Contains(err.Error(), wrong) {
		t.Errorf("error %q contains the password", err)
	}
	if !strings.Contains(err.Error(), testUser) {
		t.Errorf("error %q does not name the user", err)
	}
	if got := env.keystoneCalls.Load(); got != 1 {
		t.Errorf("keystone requests = %d, want 1 (no retry of a 401)", got)
	}
	if got := env.configCalls.Load(); got != 0 {
		t.Errorf("config API requests = %d, want 0", got)
	}

	for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
		if s := fmt.Sprintf(format, auth); strings.Contains(s, wrong) {
			t.Errorf("Sprintf(%q, auth) = %q contains the password", format, s)
		}
		if s := fmt.Sprintf(format, c); strings.Contains(s, wrong) {
			t.Errorf("Sprintf(%q, client) = %q contains the password", format, s)
		}
	}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("config", "auth", auth)
	if strings.Contains(logged.String(), wrong) || !strings.Contains(logged.String(), testUser) {
		t.Errorf("slog output %q: want the user without the password", logged.String())
	}
}

func TestKeystoneAuthRedactsEchoedPassword(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		http.Error(w, "proxy rejected "+string(body), http.StatusForbidden)
	}))
	t.Cleanup(ts.Close)
	auth := &KeystoneAuth{URL: ts.URL, User: testUser, Password: testPassword, Project: testProject}

	_, err := auth.Token(context.Background())
	if err == nil {
		t.Fatal("Token succeeded against a server that rejects every request")
	}
	if strings.Contains(err.Error(), testPassword) {
		t.Errorf("error %q contains the password", err)
	}
	if !strings.Contains(err.Error(), "[redacted]") {
		t.Errorf("error %q: want the echoed password replaced by [redacted]", err)
	}
}

func TestKeystoneUnavailableRetried(t *testing.T) {
	env := newAuthEnv(t, time.Hour)
	var calls atomic.Int32
	ksHandler := env.keystone.Handler()
	ks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			http.Error(w, `{"error":{"code":503,"message":"unavailable"}}`, http.StatusServiceUnavailable)
			return
		}
		ksHandler.ServeHTTP(w, r)
	}))
	t.Cleanup(ks.Close)
	c, auth, _ := env.client(testPassword)
	auth.URL = ks.URL // without /v3: KeystoneAuth adds it

	if err := env.lookup(c); err != nil {
		t.Fatalf("lookup: %v", err)
	}
	if got := calls.Load(); got != 2 {
		t.Errorf("keystone requests = %d, want 2", got)
	}
}

func TestKeystoneAuthSharesConcurrentRequests(t *testing.T) {
	env := newAuthEnv(t, time.Hour)
	c, _, _ := env.client(testPassword)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() { errs <- env.lookup(c) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if got := env.keystoneCalls.Load(); got != 1 {
		t.Errorf("keystone requests = %d, want 1 shared by all callers", got)
	}
}

func TestKeystoneTokensURL(t *testing.T) {
	for _, base := range []string{"https://ks:5000", "https://ks:5000/", "https://ks:5000/v3", "https://ks:5000/v3/"} {
		k := &KeystoneAuth{URL: base}
		if got := k.tokensURL(); got != "https://ks:5000/v3/auth/tokens" {
			t.Errorf("tokensURL(%q) = %q", base, got)
		}
	}
}

func TestKeystoneAuthScope(t *testing.T) {
	project := (&KeystoneAuth{User: "u", Password: "p", Project: "k8s", Domain: "Ops"}).requestBody()
	scope := project["auth"].(map[string]any)["scope"].(map[string]any)
	if got := fmt.Sprint(scope); got != "map[project:map[domain:map[name:Ops] name:k8s]]" {
		t.Errorf("project scope = %s", got)
	}
	domain := (&KeystoneAuth{User: "u", Password: "p"}).requestBody()
	scope = domain["auth"].(map[string]any)["scope"].(map[string]any)
	if got := fmt.Sprint(scope); got != "map[domain:map[name:Default]]" {
		t.Errorf("domain scope = %s", got)
	}
}
