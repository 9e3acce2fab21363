package vncclient

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Authenticator supplies the Keystone token that the config API checks in
// the X-Auth-Token header.
type Authenticator interface {
	// Token returns a valid token, fetching a new one when needed.
	Token(ctx context.Context) (string, error)
	// Invalidate drops the cached token, so that the next Token call
	// fetches a new one. The client calls it when the config API responds
	// with 401.
	Invalidate()
}

// DefaultKeystoneDomain is the domain name KeystoneAuth uses when Domain is
// empty: the domain every Keystone has.
const DefaultKeystoneDomain = "Default"

// maxRenewBefore caps how long before its expiry a token is renewed when
// KeystoneAuth.RenewBefore is zero.
const maxRenewBefore = 5 * time.Minute

// KeystoneAuth gets tokens from Keystone v3 with password authentication
// and caches each until shortly before its expires_at. Use it through a
// pointer and do not copy it after the first call. It is safe for
// concurrent use; concurrent callers share one Keystone request.
//
// Its String and LogValue methods omit the password, and no error it
// returns contains the password or a token.
type KeystoneAuth struct {
	// URL is the Keystone endpoint, with or without the /v3 suffix, for
	// example "https://keystone.example:5000/v3".
	URL string
	// User and Password are the credentials; the user belongs to Domain.
	User     string
	Password string
	// Project is the name of the project, in Domain, that tokens are
	// scoped to. Empty means tokens scoped to Domain itself.
	Project string
	// Domain is the domain name of the user and the project. Empty means
	// DefaultKeystoneDomain.
	Domain string
	// HTTP sends the Keystone requests. Nil means an http.Client with
	// DefaultTimeout.
	HTTP *http.Client
	// RenewBefore is how long before expires_at a cached token is replaced.
	// Zero means a quarter of the token's lifetime, at most five minutes.
	// It is capped at half the lifetime, so a token serves at least that.
	RenewBefore time.Duration

	// now returns the current time; nil means time.Now. Tests set it.
	now func() time.Time

	mu      sync.Mutex
	token   string
	renewAt time.Time
}

// AuthError is a failed Keystone authentication. Message is Keystone's
// error message, with any copy of the password removed.
type AuthError struct {
	URL        string
	User       string
	StatusCode int
	Message    string
}

func (e *AuthError) Error() string {
	return fmt.Sprintf("keystone %s rejected user %q with status %d: %s", e.URL, e.User, e.StatusCode, e.Message)
}

// Token returns the cached token, or authenticates for a new one when none
// is cached or the cached one is due for renewal.
func (k *KeystoneAuth) Token(ctx context.Context) (string, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.token != "" && k.clock().Before(k.renewAt) {
		return k.token, nil
	}
	k.token = ""
	token, renewAt, err := k.authenticate(ctx)
	if err != nil {
		return "", err
	}
	k.token, k.renewAt = token, renewAt
	return token, nil
}

// Invalidate drops the cached token.
func (k *KeystoneAuth) Invalidate() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.token = ""
}

// String describes k without its password.
func (k *KeystoneAuth) String() string {
	return fmt.Sprintf("KeystoneAuth{URL: %q, User: %q, Project: %q, Domain: %q}", k.URL, k.User, k.Project, k.domain())
}

// GoString is String, so that %#v omits the password too.
func (k *KeystoneAuth) GoString() string { return k.String() }

// LogValue describes k for slog without its password.
func (k *KeystoneAuth) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("url", k.URL), slog.String("user", k.User),
		slog.String("project", k.Project), slog.String("domain", k.domain()))
}

func (k *KeystoneAuth) clock() time.Time {
	if k.now != nil {
		return k.now()
	}
	return time.Now()
}

func (k *KeystoneAuth) domain() string {
	if k.Domain == "" {
		return DefaultKeystoneDomain
	}
	return k.Domain
}

// tokensURL returns the URL of POST /v3/auth/tokens.
func (k *KeystoneAuth) tokensURL() string {
	base := strings.TrimRight(k.URL, "/")
	if strings.HasSuffix(base, "/v3") {
		return base + "/auth/tokens"
	}
	return base + "/v3/auth/tokens"
}

// requestBody returns the password authentication request.
func (k *KeystoneAuth) requestBody() map[string]any {
	domain := map[string]any{"name": k.domain()}
	scope := map[string]any{"domain": domain}
	if k.Project != "" {
		scope = map[string]any{"project": map[string]any{"name": k.Project, "domain": domain}}
	}
	return map[string]any{"auth": map[string]any{
		"identity": map[string]any{
			"methods": []string{"password"},
			"password": map[string]any{"user": map[string]any{
				"name": k.User, "domain": domain, "password": k.Password,
			}},
		},
		"scope": scope,
	}}
}

// authenticate requests a new token and returns it with the time to renew
// it.
func (k *KeystoneAuth) authenticate(ctx context.Context) (string, time.Time, error) {
	target := k.tokensURL()
	body, err := json.Marshal(k.requestBody())
	if err != nil {
		return "", time.Time{}, fmt.Errorf("encode keystone request for user %q: %w", k.User, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return "", time.Time{}, fmt.Errorf("build keystone request to %s: %w", target, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")

	httpClient := k.HTTP
	if httpClient == nil {
		httpClient = &http.Client{Timeout: DefaultTimeout}
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		// The error names the method and the URL, never the body.
		err = fmt.Errorf("request keystone token: %w", err)
		if certificateError(err) {
			return "", time.Time{}, err
		}
		return "", time.Time{}, &transientError{err: err}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", time.Time{}, &transientError{err: fmt.Errorf("read keystone reply from %s: %w", target, err)}
	}

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		authErr := &AuthError{URL: target, User: k.User, StatusCode: resp.StatusCode, Message: k.redact(keystoneMessage(data))}
		if transientStatus(resp.StatusCode) {
			return "", time.Time{}, &transientError{err: authErr}
		}
		return "", time.Time{}, authErr
	}
	token := resp.Header.Get("X-Subject-Token")
	if token == "" {
		return "", time.Time{}, fmt.Errorf("keystone %s returned status %d without an X-Subject-Token header", target, resp.StatusCode)
	}
	renewAt, err := k.renewTime(data)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("keystone %s reply: %w", target, err)
	}
	return token, renewAt, nil
}

// renewTime returns when to replace a token whose reply body is data. The
// lifetime is expires_at - issued_at, both on Keystone's clock, and it is
// counted from now on the local clock, so clock skew does not matter.
func (k *KeystoneAuth) renewTime(data []byte) (time.Time, error) {
	var reply struct {
		Token struct {
			IssuedAt  string `json:"issued_at"`
			ExpiresAt string `json:"expires_at"`
		} `json:"token"`
	}
	if err := json.Unmarshal(data, &reply); err != nil {
		return time.Time{}, fmt.Errorf("decode token: %w", err)
	}
	expires, err := time.Parse(time.RFC3339Nano, reply.Token.ExpiresAt)
	if err != nil {
		return time.Time{}, fmt.Errorf("invalid token expires_at %q: %w", reply.Token.ExpiresAt, err)
	}
	now := k.clock()
	lifetime := expires.Sub(now)
	if issued, err := time.Parse(time.RFC3339Nano, reply.Token.IssuedAt); err == nil {
		lifetime = expires.Sub(issued)
	}
	if lifetime <= 0 {
		return time.Time{}, fmt.Errorf("token expires_at %s is not after its issued_at %q", reply.Token.ExpiresAt, reply.Token.IssuedAt)
	}

	margin := k.RenewBefore
	if margin <= 0 {
		margin = min(lifetime/4, maxRenewBefore)
	}
	margin = min(margin, lifetime/2)
	return now.Add(lifetime - margin), nil
}

// redact replaces every copy of the password in s, in case a server or a
// proxy echoes the request.
func (k *KeystoneAuth) redact(s string) string {
	if k.Password == "" {
		return s
	}
	return strings.ReplaceAll(s, k.Password, "[redacted]")
}

// keystoneMessage returns the message of a Keystone error body
// {"error": {"message": ...}}, or the body itself when it has another
// shape.
func keystoneMessage(data []byte) string {
	var body struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(data, &body) == nil && body.Error.Message != "" {
		return body.Error.Message
	}
	return strings.TrimSpace(string(data[:min(len(data), maxErrorBody)]))
}
