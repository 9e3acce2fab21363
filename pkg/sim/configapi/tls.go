package configapi

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// Names of the files that GenerateCertificates writes.
const (
	CAFileName   = "ca.pem"
	CertFileName = "server.pem"
	KeyFileName  = "server-key.pem"
)

// certificateLifetime is how long generated certificates stay valid.
const certificateLifetime = 365 * 24 * time.Hour

// renewBefore is how long before its expiry EnsureCertificates replaces a
// generated server certificate.
const renewBefore = 24 * time.Hour

// CertificateFiles are the PEM files of a generated CA and server
// certificate.
type CertificateFiles struct {
	// CA is the CA certificate that clients trust.
	CA string
	// Cert and Key are the server certificate and its private key.
	Cert string
	Key  string
}

// CertificateFilesIn returns the paths GenerateCertificates uses in dir.
func CertificateFilesIn(dir string) CertificateFiles {
	return CertificateFiles{
		CA:   filepath.Join(dir, CAFileName),
		Cert: filepath.Join(dir, CertFileName),
		Key:  filepath.Join(dir, KeyFileName),
	}
}

// GenerateCertificates creates a CA and a server certificate that it signs
// for localhost, 127.0.0.1 and ::1, both valid for a year, and writes them
// to dir (created with mode 0700 when missing), overwriting existing files.
// The server key is written with mode 0600. The CA key is not kept, so the
// CA signs nothing else.
func GenerateCertificates(dir string) (CertificateFiles, error) {
	files := CertificateFilesIn(dir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return files, fmt.Errorf("generate certificates: %w", err)
	}
	caPEM, certPEM, keyPEM, err := newCertificates(time.Now())
	if err != nil {
		return files, fmt.Errorf("generate certificates: %w", err)
	}
	for _, f := range []struct {
		path string
		data []byte
		mode os.FileMode
	}{
		{files.CA, caPEM, 0o644},
		{files.Cert, certPEM, 0o644},
		{files.Key, keyPEM, 0o600},
	} {
		if err := os.WriteFile(f.path, f.data, f.mode); err != nil {
			return files, fmt.Errorf("generate certificates: %w", err)
		}
	}
	return files, nil
}

// EnsureCertificates returns the certificate files in dir, generating them
// when none exist or when the server certificate expires within a day. It
// fails when only some of the files exist, rather than replace files it
// did not write.
func EnsureCertificates(dir string) (CertificateFiles, error) {
	files := CertificateFilesIn(dir)
	var present []string
	for _, path := range []string{files.CA, files.Cert, files.Key} {
		_, err := os.Stat(path)
		switch {
		case err == nil:
			present = append(present, path)
		case !errors.Is(err, fs.ErrNotExist):
			return files, fmt.Errorf("check certificate file: %w", err)
		}
	}
	switch len(present) {
	case 0:
		return GenerateCertificates(dir)
	case 3:
	default:
		return files, fmt.Errorf("certificate directory %s has only %v of %s, %s and %s; remove them or choose another directory",
			dir, present, CAFileName, CertFileName, KeyFileName)
	}

	pair, err := tls.LoadX509KeyPair(files.Cert, files.Key)
	if err != nil {
		return files, fmt.Errorf("load certificate %s: %w", files.Cert, err)
	}
	if time.Now().Add(renewBefore).After(pair.Leaf.NotAfter) {
		return GenerateCertificates(dir)
	}
	return files, nil
}

// ServerTLSConfig returns a TLS 1.2+ server configuration that presents the
// certificate in certFile with the key in keyFile.
func ServerTLSConfig(certFile, keyFile string) (*tls.Config, error) {
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("load TLS certificate %s and key %s: %w", certFile, keyFile, err)
	}
	return &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}, nil
}

// newCertificates returns PEM blocks of a new CA certificate, a server
// certificate signed by it, and the server's private key.
func newCertificates(now time.Time) (caPEM, certPEM, keyPEM []byte, err error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("create CA key: %w", err)
	}
	serverKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("create server key: %w", err)
	}

	// Start an hour back so that a client whose clock is slightly behind
	// accepts the certificates at once.
	notBefore := now.Add(-time.Hour)
	notAfter := now.Add(certificateLifetime)
	caTemplate := &x509.Certificate{
		SerialNumber:          serialNumber(),
		Subject:               pkix.Name{CommonName: "contrail-sim test CA"},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTemplate, caTemplate, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("create CA certificate: %w", err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("parse CA certificate: %w", err)
	}

	serverTemplate := &x509.Certificate{
		SerialNumber: serialNumber(),
		Subject:      pkix.Name{CommonName: "localhost"},
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	serverDER, err := x509.CreateCertificate(rand.Reader, serverTemplate, caCert, &serverKey.PublicKey, caKey)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("create server certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(serverKey)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("encode server key: %w", err)
	}

	caPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: serverDER})
	keyPEM = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	return caPEM, certPEM, keyPEM, nil
}

// serialNumber returns a random positive 128-bit certificate serial number.
func serialNumber() *big.Int {
	limit := new(big.Int).Lsh(big.NewInt(1), 128)
	// rand.Int fails only when reading fails, and since Go 1.24 reading
	// from crypto/rand never returns an error.
	n, _ := rand.Int(rand.Reader, limit)
	return n.Add(n, big.NewInt(1))
}
