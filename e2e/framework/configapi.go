package framework

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/contrail-vif/contrail-vif/pkg/vncclient"
)

// Modes of e2e/run.sh, from CVIF_COMPONENTS in the env file.
const (
	// ComponentsProcesses runs contrail-sim and the controller as host
	// processes, with a plain HTTP config API without authentication.
	ComponentsProcesses = "processes"
	// ComponentsPods deploys them from deployments/overlays/local-e2e as
	// pods, with Keystone and TLS in front of the config API.
	ComponentsPods = "pods"
)

// setting returns the variable key from the process environment, else from
// the env file that LoadEnv read, else "".
func setting(env *Env, key string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	path := os.Getenv("CVIF_CLUSTER_ENV")
	if path == "" {
		path = filepath.Join(env.Root, "_output", "cluster", "env")
	}
	vars, err := readEnvFile(path)
	if err != nil {
		return ""
	}
	return vars[key]
}

// Components returns how e2e/run.sh runs contrail-vif: ComponentsProcesses
// or ComponentsPods. An env file without CVIF_COMPONENTS comes from
// processes mode.
func Components(env *Env) string {
	if setting(env, "CVIF_COMPONENTS") == ComponentsPods {
		return ComponentsPods
	}
	return ComponentsProcesses
}

// DeployNamespace returns the namespace of the contrail-vif pods in pods
// mode.
func DeployNamespace(env *Env) string {
	if ns := setting(env, "CVIF_DEPLOY_NAMESPACE"); ns != "" {
		return ns
	}
	return "contrail-vif-system"
}

// KeystonePasswordFile returns the file with the Keystone password that
// the controller uses in pods mode, or "" when the config API requires no
// authentication.
func KeystonePasswordFile(env *Env) string {
	return setting(env, "CONTRAIL_SIM_KEYSTONE_PASSWORD_FILE")
}

// ConfigAPIHTTPClient returns an HTTP client that verifies the config
// API's certificate against CONTRAIL_SIM_CA_FILE when set.
func ConfigAPIHTTPClient(env *Env, timeout time.Duration) (*http.Client, error) {
	caFile := setting(env, "CONTRAIL_SIM_CA_FILE")
	if caFile == "" {
		return &http.Client{Timeout: timeout}, nil
	}
	tlsConfig, err := vncclient.NewTLSConfig(caFile, false)
	if err != nil {
		return nil, fmt.Errorf("config API CA of the e2e cluster: %w", err)
	}
	return vncclient.NewHTTPClient(timeout, tlsConfig), nil
}

// NewConfigAPIClient returns a client of the simulator's config API for
// the tests. It uses the settings that contrail-sim's client commands read
// (CONTRAIL_SIM_CA_FILE, CONTRAIL_SIM_KEYSTONE_*), so in pods mode it gets
// Keystone tokens with the test password over TLS.
func NewConfigAPIClient(env *Env, timeout time.Duration) (*vncclient.Client, error) {
	client := vncclient.New(env.ConfigAPIURL, timeout)
	httpClient, err := ConfigAPIHTTPClient(env, timeout)
	if err != nil {
		return nil, err
	}
	client.HTTP = httpClient

	keystoneURL := setting(env, "CONTRAIL_SIM_KEYSTONE_URL")
	if keystoneURL == "" {
		return client, nil
	}
	passwordFile := KeystonePasswordFile(env)
	password, err := os.ReadFile(passwordFile)
	if err != nil {
		return nil, fmt.Errorf("read the Keystone password of the e2e cluster: %w", err)
	}
	line, _, _ := strings.Cut(string(password), "\n")
	client.Auth = &vncclient.KeystoneAuth{
		URL:      keystoneURL,
		User:     setting(env, "CONTRAIL_SIM_KEYSTONE_USER"),
		Password: strings.TrimSpace(line),
		Project:  setting(env, "CONTRAIL_SIM_KEYSTONE_PROJECT"),
		Domain:   setting(env, "CONTRAIL_SIM_KEYSTONE_DOMAIN"),
		HTTP:     httpClient,
	}
	return client, nil
}
