package cli

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/contrail-vif/contrail-vif/pkg/sim/configapi"
	"github.com/contrail-vif/contrail-vif/pkg/sim/keystone"
)

// AuthOptions configure Keystone authentication and TLS for the config API.
// The zero value serves plain HTTP without authentication.
type AuthOptions struct {
	// KeystoneListen is the TCP listen address of a simulated Keystone v3.
	// When set, the config API requires its tokens in X-Auth-Token. Empty
	// turns authentication off.
	KeystoneListen string
	// KeystoneUser and KeystonePassword are the account Keystone accepts.
	// The user may scope tokens to KeystoneProject; both belong to
	// KeystoneDomain (keystone.DefaultDomain when empty).
	KeystoneUser     string
	KeystonePassword string
	KeystoneProject  string
	KeystoneDomain   string
	// TokenTTL is the lifetime of tokens; keystone.DefaultTokenTTL when zero.
	TokenTTL time.Duration
	// TLSCert and TLSKey are the PEM certificate and key that the config
	// API and Keystone present. Both empty means plain HTTP, unless TLSDir
	// is set.
	TLSCert string
	TLSKey  string
	// TLSDir is a directory with a test CA and a server certificate for
	// localhost, 127.0.0.1 and ::1, which configapi.EnsureCertificates
	// generates when missing. Clients trust its ca.pem. It excludes TLSCert
	// and TLSKey.
	TLSDir string
}

// addAuthFlags adds the flags of o to the serve flag set.
func addAuthFlags(fs *flag.FlagSet, o *AuthOptions) {
	fs.StringVar(&o.KeystoneListen, "keystone-listen", "",
		"TCP `address` of a simulated Keystone v3 (POST /v3/auth/tokens); when set, the config API requires its tokens in X-Auth-Token")
	fs.StringVar(&o.KeystoneUser, "keystone-user", "admin", "user `name` that the simulated Keystone accepts")
	fs.Func("keystone-password-file", "`file` whose first line is the password of -keystone-user; required with -keystone-listen",
		func(path string) error {
			password, err := readPasswordFile(path)
			if err != nil {
				return err
			}
			o.KeystonePassword = password
			return nil
		})
	fs.StringVar(&o.KeystoneProject, "keystone-project", "admin", "project `name` that -keystone-user may scope tokens to")
	fs.StringVar(&o.KeystoneDomain, "keystone-domain", keystone.DefaultDomain, "domain `name` of -keystone-user and -keystone-project")
	fs.DurationVar(&o.TokenTTL, "token-ttl", keystone.DefaultTokenTTL, "`duration` for which a Keystone token stays valid")
	fs.StringVar(&o.TLSCert, "tls-cert", "", "PEM `file` of the certificate that the config API and Keystone present; needs -tls-key")
	fs.StringVar(&o.TLSKey, "tls-key", "", "PEM `file` of the private key of -tls-cert")
	fs.StringVar(&o.TLSDir, "tls-dir", "",
		"`directory` of a test CA ("+configapi.CAFileName+") and server certificate ("+configapi.CertFileName+", "+configapi.KeyFileName+
			") for localhost and 127.0.0.1, generated when missing; serves the config API and Keystone over TLS with them")
}

// readPasswordFile returns the first line of the file at path. Its errors
// name the file, never its content.
func readPasswordFile(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read password file: %w", err)
	}
	line, _, _ := strings.Cut(string(data), "\n")
	line = strings.TrimSuffix(line, "\r")
	if line == "" {
		return "", fmt.Errorf("password file %s: the first line is empty", path)
	}
	return line, nil
}

// authServices are the simulated Keystone and the TLS configuration of a
// running simulator.
type authServices struct {
	opts      AuthOptions
	logger    *slog.Logger
	tlsConfig *tls.Config      // nil for plain HTTP
	caFile    string           // the generated CA with TLSDir
	keystone  *keystone.Server // nil without authentication

	keystoneHTTP *http.Server
	keystoneAddr net.Addr
	wg           sync.WaitGroup
}

// newAuthServices checks o, loads or generates the certificates and creates
// the Keystone server, without listening yet.
func newAuthServices(o AuthOptions, allowNonLoopback bool, logger *slog.Logger) (*authServices, error) {
	a := &authServices{opts: o, logger: logger}

	certFile, keyFile := o.TLSCert, o.TLSKey
	switch {
	case o.TLSDir != "" && (o.TLSCert != "" || o.TLSKey != ""):
		return nil, errors.New("-tls-dir excludes -tls-cert and -tls-key: pass either")
	case o.TLSDir != "":
		files, err := configapi.EnsureCertificates(o.TLSDir)
		if err != nil {
			return nil, err
		}
		certFile, keyFile, a.caFile = files.Cert, files.Key, files.CA
	case (o.TLSCert == "") != (o.TLSKey == ""):
		return nil, errors.New("-tls-cert and -tls-key go together: pass both or neither")
	}
	if certFile != "" {
		cfg, err := configapi.ServerTLSConfig(certFile, keyFile)
		if err != nil {
			return nil, err
		}
		a.tlsConfig = cfg
	}

	if o.KeystoneListen == "" {
		return a, nil
	}
	if err := checkListenAddress(o.KeystoneListen, allowNonLoopback); err != nil {
		return nil, err
	}
	if o.KeystonePassword == "" {
		return nil, errors.New("-keystone-listen needs a password: pass -keystone-password-file")
	}
	if o.TokenTTL < 0 {
		return nil, fmt.Errorf("invalid -token-ttl %s: the duration is negative", o.TokenTTL)
	}
	ks := keystone.NewServer(logger.With("component", "keystone"))
	ks.TokenTTL = o.TokenTTL
	if ks.TokenTTL == 0 {
		ks.TokenTTL = keystone.DefaultTokenTTL
	}
	err := ks.AddUser(keystone.User{Name: o.KeystoneUser, Password: o.KeystonePassword, Domain: o.KeystoneDomain, Projects: []string{o.KeystoneProject}})
	if err != nil {
		return nil, fmt.Errorf("configure keystone: %w", err)
	}
	a.keystone = ks
	return a, nil
}

// start makes cfg require Keystone tokens, serves Keystone, and returns
// configListener, wrapped in TLS when TLS is on. Call it before
// cfg.Handler. On error it returns configListener unwrapped, for the caller
// to close.
func (a *authServices) start(cfg *configapi.Server, configListener net.Listener, recordErr func(error)) (net.Listener, error) {
	if a.keystone != nil {
		l, err := net.Listen("tcp", a.opts.KeystoneListen)
		if err != nil {
			return configListener, fmt.Errorf("listen for keystone on %s: %w", a.opts.KeystoneListen, err)
		}
		cfg.RequireTokens(a.keystone)
		a.keystoneAddr = l.Addr()
		if a.tlsConfig != nil {
			l = tls.NewListener(l, a.tlsConfig)
		}
		a.keystoneHTTP = &http.Server{
			Handler:           a.keystone.Handler(),
			ReadHeaderTimeout: 30 * time.Second,
			ErrorLog:          slog.NewLogLogger(a.logger.Handler(), slog.LevelWarn),
		}
		a.wg.Go(func() {
			if err := a.keystoneHTTP.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
				recordErr(fmt.Errorf("serve keystone: %w", err))
			}
		})
		a.logger.Info("keystone serving", "url", a.scheme()+"://"+a.keystoneAddr.String()+"/v3",
			"user", a.opts.KeystoneUser, "project", a.opts.KeystoneProject, "token_ttl", a.keystone.TokenTTL)
	}
	if a.tlsConfig != nil {
		configListener = tls.NewListener(configListener, a.tlsConfig)
		if a.caFile != "" {
			a.logger.Info("serving TLS with a generated test CA", "ca", a.caFile)
		}
	}
	return configListener, nil
}

// scheme returns the URL scheme of the served APIs.
func (a *authServices) scheme() string {
	if a != nil && a.tlsConfig != nil {
		return "https"
	}
	return "http"
}

// close stops Keystone. It is a no-op for a nil a.
func (a *authServices) close(ctx context.Context) error {
	if a == nil || a.keystoneHTTP == nil {
		return nil
	}
	err := a.keystoneHTTP.Shutdown(ctx)
	a.wg.Wait()
	if err != nil {
		return fmt.Errorf("stop keystone: %w", err)
	}
	return nil
}

// KeystoneAddr returns the address the simulated Keystone listens on, or
// "" when authentication is off.
func (s *Simulator) KeystoneAddr() string {
	if s.auth == nil || s.auth.keystoneAddr == nil {
		return ""
	}
	return s.auth.keystoneAddr.String()
}

// ConfigAPIURL returns the URL of the config API, with https when TLS is on.
func (s *Simulator) ConfigAPIURL() string {
	return s.auth.scheme() + "://" + s.ConfigAPIAddr()
}
