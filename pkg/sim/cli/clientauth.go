package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/contrail-vif/contrail-vif/pkg/vncclient"
)

// Environment variables that set the defaults of the client authentication
// flags, so that scripts and tests set them once for every command.
const (
	envCAFile           = "CONTRAIL_SIM_CA_FILE"
	envTokenFile        = "CONTRAIL_SIM_TOKEN_FILE"
	envKeystoneURL      = "CONTRAIL_SIM_KEYSTONE_URL"
	envKeystoneUser     = "CONTRAIL_SIM_KEYSTONE_USER"
	envKeystoneProject  = "CONTRAIL_SIM_KEYSTONE_PROJECT"
	envKeystoneDomain   = "CONTRAIL_SIM_KEYSTONE_DOMAIN"
	envKeystonePassword = "CONTRAIL_SIM_KEYSTONE_PASSWORD_FILE"
)

// clientAuth is the CA and the credentials that a client command uses for a
// config API that serves TLS or requires Keystone tokens, as serve does with
// -tls-dir or -tls-cert and -keystone-listen. The zero value means plain
// HTTP without a token.
type clientAuth struct {
	caFile       string
	tokenFile    string
	keystoneURL  string
	user         string
	project      string
	domain       string
	passwordFile string
}

// addClientAuthFlags adds the flags of a to fs. Each flag's default is the
// value of its environment variable, when set.
func addClientAuthFlags(fs *flag.FlagSet, a *clientAuth) {
	fs.StringVar(&a.caFile, "ca-file", os.Getenv(envCAFile),
		"PEM `file` of the CA certificates that verify the config API and Keystone over https; the system roots when empty (env "+envCAFile+")")
	fs.StringVar(&a.tokenFile, "token-file", os.Getenv(envTokenFile),
		"`file` whose first line is a Keystone token to send as X-Auth-Token; excludes -keystone-url (env "+envTokenFile+")")
	fs.StringVar(&a.keystoneURL, "keystone-url", os.Getenv(envKeystoneURL),
		"Keystone v3 `URL`, such as https://127.0.0.1:5000/v3, to get tokens from with -keystone-password-file; empty sends no token (env "+envKeystoneURL+")")
	fs.StringVar(&a.user, "keystone-user", envOr(envKeystoneUser, "admin"), "Keystone user `name` (env "+envKeystoneUser+")")
	fs.StringVar(&a.project, "keystone-project", envOr(envKeystoneProject, "admin"), "Keystone project `name` that tokens are scoped to (env "+envKeystoneProject+")")
	fs.StringVar(&a.domain, "keystone-domain", envOr(envKeystoneDomain, vncclient.DefaultKeystoneDomain),
		"Keystone domain `name` of the user and the project (env "+envKeystoneDomain+")")
	fs.StringVar(&a.passwordFile, "keystone-password-file", os.Getenv(envKeystonePassword),
		"`file` whose first line is the password of -keystone-user; required with -keystone-url (env "+envKeystonePassword+")")
}

func envOr(key, fallback string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return fallback
}

// newAPIClient returns a config API client for baseURL that verifies TLS
// with a.caFile and sends the token of a.tokenFile or a token from
// a.keystoneURL. Its errors name files, never their content.
func (a *clientAuth) newAPIClient(baseURL string) (*vncclient.Client, error) {
	client := vncclient.New(baseURL, requestTimeout)
	if a.caFile != "" {
		tlsConfig, err := vncclient.NewTLSConfig(a.caFile, false)
		if err != nil {
			return nil, err
		}
		client.HTTP = vncclient.NewHTTPClient(requestTimeout, tlsConfig)
	}

	switch {
	case a.tokenFile != "" && a.keystoneURL != "":
		return nil, errors.New("-token-file excludes -keystone-url: pass either")
	case a.tokenFile != "":
		token, err := readPasswordFile(a.tokenFile)
		if err != nil {
			return nil, fmt.Errorf("read token: %w", err)
		}
		client.Auth = staticToken(token)
	case a.keystoneURL != "":
		if a.passwordFile == "" {
			return nil, errors.New("-keystone-url needs a password: pass -keystone-password-file")
		}
		password, err := readPasswordFile(a.passwordFile)
		if err != nil {
			return nil, err
		}
		client.Auth = &vncclient.KeystoneAuth{
			URL:      a.keystoneURL,
			User:     a.user,
			Password: password,
			Project:  a.project,
			Domain:   a.domain,
			HTTP:     client.HTTP,
		}
	}
	return client, nil
}

// staticToken is a Keystone token obtained elsewhere. It cannot be renewed,
// so a request that the config API rejects with 401 fails after one retry.
type staticToken string

func (t staticToken) Token(context.Context) (string, error) { return string(t), nil }

func (staticToken) Invalidate() {}

// clientFlags are the flags of the commands that call the config API.
type clientFlags struct {
	url  string
	auth clientAuth
}

func addClientFlags(fs *flag.FlagSet) *clientFlags {
	f := &clientFlags{}
	fs.StringVar(&f.url, "config-api", defaultConfigAPIURL, "`URL` of the config API")
	addClientAuthFlags(fs, &f.auth)
	return f
}

// newClient returns a client of the config API that the flags name.
func (f *clientFlags) newClient() (*configClient, error) {
	api, err := f.auth.newAPIClient(f.url)
	if err != nil {
		return nil, err
	}
	return &configClient{api: api}, nil
}
