package vncclient

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/contrail-vif/contrail-vif/pkg/sim/configapi"
	"github.com/contrail-vif/contrail-vif/pkg/sim/keystone"
)

// tlsEnv is the simulated config API, requiring Keystone tokens, and the
// simulated Keystone, both served over TLS on loopback with certificates
// from a generated CA.
type tlsEnv struct {
	files       configapi.CertificateFiles
	configURL   string
	keystoneURL string
	configCalls atomic.Int32
}

func newTLSEnv(t *testing.T) *tlsEnv {
	t.Helper()
	files, err := configapi.GenerateCertificates(filepath.Join(t.TempDir(), "tls"))
	if err != nil {
		t.Fatal(err)
	}
	serverTLS, err := configapi.ServerTLSConfig(files.Cert, files.Key)
	if err != nil {
		t.Fatal(err)
	}
	env := &tlsEnv{files: files}

	ks := keystone.NewServer(nil)
	if err := ks.AddUser(keystone.User{Name: testUser, Password: testPassword, Projects: []string{testProject}}); err != nil {
		t.Fatal(err)
	}
	env.keystoneURL = startTLS(t, ks.Handler(), serverTLS)

	sim := configapi.NewServer(nil)
	sim.RequireTokens(ks)
	handler := sim.Handler()
	env.configURL = startTLS(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		env.configCalls.Add(1)
		handler.ServeHTTP(w, r)
	}), serverTLS)
	return env
}

// startTLS serves h over TLS on loopback and returns its URL.
func startTLS(t *testing.T, h http.Handler, cfg *tls.Config) string {
	t.Helper()
	ts := httptest.NewUnstartedServer(h)
	// The tests without the CA make the server log handshake errors.
	ts.Config.ErrorLog = log.New(io.Discard, "", 0)
	ts.TLS = cfg.Clone()
	ts.StartTLS()
	t.Cleanup(ts.Close)
	return ts.URL
}

// client returns a client of the environment whose config API and Keystone
// requests use tlsConfig.
func (env *tlsEnv) client(t *testing.T, caFile string, insecure bool) *Client {
	t.Helper()
	tlsConfig, err := NewTLSConfig(caFile, insecure)
	if err != nil {
		t.Fatal(err)
	}
	httpClient := NewHTTPClient(5*time.Second, tlsConfig)
	c := New(env.configURL, 5*time.Second)
	c.HTTP = httpClient
	c.Retry = fastRetry(3)
	c.Auth = &KeystoneAuth{URL: env.keystoneURL, User: testUser, Password: testPassword, Project: testProject, HTTP: httpClient}
	return c
}

func TestTLSWithGeneratedCA(t *testing.T) {
	env := newTLSEnv(t)
	c := env.client(t, env.files.CA, false)

	id, err := c.FQNameToID(context.Background(), "project", []string{"default-domain", "default-project"})
	if err != nil {
		t.Fatalf("FQNameToID over TLS with Keystone: %v", err)
	}
	var project Project
	if err := c.Read(context.Background(), TypeProject, id, &project); err != nil {
		t.Fatal(err)
	}
	if strings.Join(project.FQName, ":") != "default-domain:default-project" {
		t.Errorf("project fq_name = %v", project.FQName)
	}
}

func TestTLSWithoutCAFails(t *testing.T) {
	env := newTLSEnv(t)
	c := env.client(t, "", false)
	c.Auth = nil // reach the config API itself, not Keystone first

	_, err := c.FQNameToID(context.Background(), "project", []string{"default-domain", "default-project"})
	var unknownAuthority x509.UnknownAuthorityError
	if !errors.As(err, &unknownAuthority) {
		t.Fatalf("error = %v, want x509.UnknownAuthorityError", err)
	}
	if got := env.configCalls.Load(); got != 0 {
		t.Errorf("config API requests = %d, want 0", got)
	}
	if strings.Contains(err.Error(), "gave up") {
		t.Errorf("error %q: want no retries of a certificate error", err)
	}
}

func TestTLSKeystoneWithoutCAFails(t *testing.T) {
	env := newTLSEnv(t)
	c := env.client(t, "", false)

	_, err := c.FQNameToID(context.Background(), "project", []string{"default-domain", "default-project"})
	var unknownAuthority x509.UnknownAuthorityError
	if !errors.As(err, &unknownAuthority) {
		t.Fatalf("error = %v, want x509.UnknownAuthorityError", err)
	}
	if strings.Contains(err.Error(), testPassword) {
		t.Errorf("error %q contains the password", err)
	}
}

func TestTLSInsecureSkipVerify(t *testing.T) {
	env := newTLSEnv(t)
	c := env.client(t, "", true)
	if _, err := c.FQNameToID(context.Background(), "project", []string{"default-domain", "default-project"}); err != nil {
		t.Fatalf("FQNameToID with verification off: %v", err)
	}
}

func TestNewTLSConfigErrors(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "not-pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{filepath.Join(dir, "missing.pem"), notPEM} {
		if _, err := NewTLSConfig(path, false); err == nil {
			t.Errorf("NewTLSConfig(%q) succeeded, want an error", path)
		}
	}
	cfg, err := NewTLSConfig("", false)
	if err != nil || cfg.RootCAs != nil || cfg.InsecureSkipVerify {
		t.Errorf("NewTLSConfig(\"\", false) = %+v, %v; want system roots with verification", cfg, err)
	}
}
