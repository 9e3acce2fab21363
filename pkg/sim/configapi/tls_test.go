package configapi

import (
	"bytes"
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
	"testing"
	"time"
)

// newTLSAPI serves a config API over TLS with certificates generated into a
// temporary directory.
func newTLSAPI(t *testing.T) (*httptest.Server, CertificateFiles) {
	t.Helper()
	files, err := GenerateCertificates(filepath.Join(t.TempDir(), "tls"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := ServerTLSConfig(files.Cert, files.Key)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(NewServer(nil).Handler())
	// The test without the CA makes the server log a handshake error.
	ts.Config.ErrorLog = log.New(io.Discard, "", 0)
	ts.TLS = cfg
	ts.StartTLS()
	t.Cleanup(ts.Close)
	return ts, files
}

func clientTrusting(t *testing.T, caFile string) *http.Client {
	t.Helper()
	pem, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("no certificate in %s", caFile)
	}
	return &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}},
	}
}

func TestTLSWithGeneratedCA(t *testing.T) {
	ts, files := newTLSAPI(t)
	client := clientTrusting(t, files.CA)

	// Both names in the certificate must verify: the IP address that
	// httptest listens on, and localhost.
	port := ts.URL[strings.LastIndex(ts.URL, ":")+1:]
	for _, base := range []string{ts.URL, "https://localhost:" + port} {
		resp, err := client.Get(base + "/virtual-networks")
		if err != nil {
			t.Fatalf("GET %s over TLS: %v", base, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: status %d", base, resp.StatusCode)
		}
		home, err := client.Get(base + "/")
		if err != nil {
			t.Fatal(err)
		}
		homeBody, _ := io.ReadAll(home.Body)
		home.Body.Close()
		if !bytes.Contains(homeBody, []byte(`"href":"https://`)) {
			t.Errorf("home page %s: want https hrefs", homeBody)
		}
	}
}

func TestTLSWithoutCAFails(t *testing.T) {
	ts, _ := newTLSAPI(t)
	client := &http.Client{Timeout: 10 * time.Second}
	_, err := client.Get(ts.URL + "/virtual-networks")
	var unknownAuthority x509.UnknownAuthorityError
	if !errors.As(err, &unknownAuthority) {
		t.Fatalf("GET without the CA: error %v, want x509.UnknownAuthorityError", err)
	}
}

func TestGeneratedKeyMode(t *testing.T) {
	files, err := GenerateCertificates(filepath.Join(t.TempDir(), "new", "dir"))
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(files.Key)
	if err != nil {
		t.Fatal(err)
	}
	if mode := info.Mode().Perm(); mode != 0o600 {
		t.Errorf("key mode = %o, want 600", mode)
	}
	pair, err := tls.LoadX509KeyPair(files.Cert, files.Key)
	if err != nil {
		t.Fatal(err)
	}
	if pair.Leaf.IsCA {
		t.Error("server certificate is a CA")
	}
}

func TestEnsureCertificates(t *testing.T) {
	dir := t.TempDir()
	files, err := EnsureCertificates(dir)
	if err != nil {
		t.Fatal(err)
	}
	first, err := os.ReadFile(files.Cert)
	if err != nil {
		t.Fatal(err)
	}

	again, err := EnsureCertificates(dir)
	if err != nil {
		t.Fatal(err)
	}
	second, err := os.ReadFile(again.Cert)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first, second) {
		t.Error("EnsureCertificates replaced valid certificates")
	}

	if err := os.Remove(files.Key); err != nil {
		t.Fatal(err)
	}
	if _, err := EnsureCertificates(dir); err == nil || !strings.Contains(err.Error(), "remove them or choose another directory") {
		t.Errorf("EnsureCertificates with a missing key: error %v, want one about partial files", err)
	}
}

func TestServerTLSConfigMissingFiles(t *testing.T) {
	dir := t.TempDir()
	if _, err := ServerTLSConfig(filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")); err == nil {
		t.Error("ServerTLSConfig with missing files succeeded")
	}
}
