package vncclient

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"time"
)

// NewTLSConfig returns a client TLS configuration that verifies servers
// against the PEM CA certificates in caFile, or against the system roots
// when caFile is empty. insecureSkipVerify turns verification off, which
// exposes the token and every request to anyone on the path; use it only
// against a test server.
func NewTLSConfig(caFile string, insecureSkipVerify bool) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: insecureSkipVerify}
	if caFile == "" {
		return cfg, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("read CA file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("CA file %s has no PEM certificate", caFile)
	}
	cfg.RootCAs = pool
	return cfg, nil
}

// NewHTTPClient returns an http.Client whose Timeout bounds each request,
// on a copy of http.DefaultTransport that uses tlsConfig (nil means Go's
// defaults). A timeout of zero or less means DefaultTimeout.
func NewHTTPClient(timeout time.Duration, tlsConfig *tls.Config) *http.Client {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	if tlsConfig != nil {
		transport.TLSClientConfig = tlsConfig
	}
	return &http.Client{Timeout: timeout, Transport: transport}
}
