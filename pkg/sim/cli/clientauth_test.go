package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/contrail-vif/contrail-vif/pkg/sim/configapi"
)

const clientTestPassword = "client-Passw0rd-4f1c"

// authSim starts a simulator without a data plane that requires Keystone
// tokens and serves TLS, and returns it with the CA file and a password
// file for its account.
func authSim(t *testing.T) (sim *Simulator, caFile, passwordFile string) {
	t.Helper()
	// The flag defaults come from these variables, which a shell that
	// sourced the e2e cluster's env file has set.
	for _, key := range []string{envCAFile, envTokenFile, envKeystoneURL, envKeystoneUser, envKeystoneProject, envKeystoneDomain, envKeystonePassword} {
		t.Setenv(key, "")
	}
	dir := t.TempDir()
	tlsDir := filepath.Join(dir, "tls")
	sim = startSim(t, ServeOptions{NoDataPlane: true, Auth: AuthOptions{
		KeystoneListen:   "127.0.0.1:0",
		KeystoneUser:     "admin",
		KeystonePassword: clientTestPassword,
		KeystoneProject:  "admin",
		TLSDir:           tlsDir,
	}})
	passwordFile = filepath.Join(dir, "password")
	if err := os.WriteFile(passwordFile, []byte(clientTestPassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return sim, filepath.Join(tlsDir, configapi.CAFileName), passwordFile
}

func runCommand(args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = Run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestClientCommandsWithKeystoneFlags(t *testing.T) {
	sim, caFile, passwordFile := authSim(t)
	auth := []string{
		"--config-api", sim.ConfigAPIURL(), "--ca-file", caFile,
		"--keystone-url", "https://" + sim.KeystoneAddr() + "/v3", "--keystone-password-file", passwordFile,
	}

	steps := [][]string{
		append(append([]string{"create-project"}, auth...), "default-domain:p1"),
		append(append([]string{"create-vn"}, auth...), "default-domain:p1:vn1", "10.77.0.0/24"),
		append(append([]string{"delete-vn"}, auth...), "default-domain:p1:vn1"),
	}
	for _, args := range steps {
		code, stdout, stderr := runCommand(args...)
		if code != 0 {
			t.Fatalf("%s: exit code %d, stderr %q", args[0], code, stderr)
		}
		if strings.TrimSpace(stdout) == "" {
			t.Errorf("%s printed no uuid", args[0])
		}
	}
}

func TestClientCommandsWithKeystoneEnv(t *testing.T) {
	sim, caFile, passwordFile := authSim(t)
	t.Setenv(envCAFile, caFile)
	t.Setenv(envKeystoneURL, "https://"+sim.KeystoneAddr())
	t.Setenv(envKeystonePassword, passwordFile)
	t.Setenv(envKeystoneUser, "admin")
	t.Setenv(envKeystoneProject, "admin")

	code, _, stderr := runCommand("create-project", "--config-api", sim.ConfigAPIURL(), "default-domain:p2")
	if code != 0 {
		t.Fatalf("create-project with the settings in the environment: exit code %d, stderr %q", code, stderr)
	}
}

func TestClientCommandsWithTokenFile(t *testing.T) {
	sim, caFile, passwordFile := authSim(t)
	client, err := (&clientAuth{
		caFile: caFile, keystoneURL: "https://" + sim.KeystoneAddr(), user: "admin", project: "admin", domain: "Default", passwordFile: passwordFile,
	}).newAPIClient(sim.ConfigAPIURL())
	if err != nil {
		t.Fatal(err)
	}
	token, err := client.Auth.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	code, _, stderr := runCommand("create-project", "--config-api", sim.ConfigAPIURL(), "--ca-file", caFile, "--token-file", tokenFile, "default-domain:p3")
	if code != 0 {
		t.Fatalf("create-project with --token-file: exit code %d, stderr %q", code, stderr)
	}
}

func TestClientCommandsRejected(t *testing.T) {
	sim, caFile, passwordFile := authSim(t)
	wrongPassword := filepath.Join(t.TempDir(), "wrong")
	if err := os.WriteFile(wrongPassword, []byte("not-"+clientTestPassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	keystone := "https://" + sim.KeystoneAddr() + "/v3"
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no token", []string{"--ca-file", caFile}, "401"},
		{"unknown CA", []string{"--keystone-url", keystone, "--keystone-password-file", passwordFile}, "certificate"},
		{"wrong password", []string{"--ca-file", caFile, "--keystone-url", keystone, "--keystone-password-file", wrongPassword}, "rejected user"},
		{"keystone without password", []string{"--ca-file", caFile, "--keystone-url", keystone}, "-keystone-password-file"},
		{"token and keystone", []string{"--ca-file", caFile, "--keystone-url", keystone, "--token-file", passwordFile}, "excludes"},
		{"missing CA file", []string{"--ca-file", filepath.Join(t.TempDir(), "none.pem")}, "read CA file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append(append([]string{"create-project", "--config-api", sim.ConfigAPIURL()}, tt.args...), "default-domain:rejected")
			code, _, stderr := runCommand(args...)
			if code != 1 {
				t.Errorf("exit code %d, expected 1; stderr %q", code, stderr)
			}
			if !strings.Contains(stderr, tt.want) {
				t.Errorf("stderr %q does not mention %q", stderr, tt.want)
			}
			if strings.Contains(stderr, clientTestPassword) {
				t.Errorf("stderr contains the password: %q", stderr)
			}
		})
	}
}

func TestVMDeleteWithKeystoneFlags(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to look for the VM namespace and tap")
	}
	sim, caFile, passwordFile := authSim(t)
	common := []string{"vm", "delete", "--name", "absent", "--config-api", sim.ConfigAPIURL(), "--agent", "http://" + sim.AgentAddr(),
		"--node", "node-a", "--netns-prefix", "csim-test-auth", "--ca-file", caFile}

	code, _, stderr := runCommand(common...)
	if code != 1 || !strings.Contains(stderr, "401") {
		t.Errorf("vm delete without a token: exit code %d, stderr %q; expected 1 and a 401", code, stderr)
	}

	withKeystone := append(common, "--keystone-url", "https://"+sim.KeystoneAddr()+"/v3", "--keystone-password-file", passwordFile)
	code, stdout, stderr := runCommand(withKeystone...)
	if code != 0 {
		t.Fatalf("vm delete with Keystone flags: exit code %d, stderr %q", code, stderr)
	}
	if !strings.Contains(stdout, "not found") {
		t.Errorf("vm delete of a VM that does not exist printed %q; expected that it was not found", stdout)
	}
}
