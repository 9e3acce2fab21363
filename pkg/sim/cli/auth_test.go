package cli

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/contrail-vif/contrail-vif/pkg/sim/configapi"
	"github.com/contrail-vif/contrail-vif/pkg/vncclient"
)

const serveTestPassword = "serve-Passw0rd"

func TestServeWithKeystoneAndTLS(t *testing.T) {
	tlsDir := filepath.Join(t.TempDir(), "tls")
	sim := startSim(t, ServeOptions{NoDataPlane: true, Auth: AuthOptions{
		KeystoneListen:   "127.0.0.1:0",
		KeystoneUser:     "admin",
		KeystonePassword: serveTestPassword,
		KeystoneProject:  "admin",
		TLSDir:           tlsDir,
	}})
	if !strings.HasPrefix(sim.ConfigAPIURL(), "https://") {
		t.Errorf("ConfigAPIURL = %q, want https", sim.ConfigAPIURL())
	}
	if sim.KeystoneAddr() == "" {
		t.Fatal("KeystoneAddr is empty with KeystoneListen set")
	}

	tlsConfig, err := vncclient.NewTLSConfig(filepath.Join(tlsDir, configapi.CAFileName), false)
	if err != nil {
		t.Fatal(err)
	}
	httpClient := vncclient.NewHTTPClient(5*time.Second, tlsConfig)
	c := vncclient.New(sim.ConfigAPIURL(), 5*time.Second)
	c.HTTP = httpClient
	c.Auth = &vncclient.KeystoneAuth{
		URL: "https://" + sim.KeystoneAddr() + "/v3", User: "admin", Password: serveTestPassword, Project: "admin", HTTP: httpClient,
	}
	if _, err := c.FQNameToID(context.Background(), vncclient.TypeVirtualRouter, []string{vncclient.GlobalSystemConfig, "node-a"}); err != nil {
		t.Fatalf("FQNameToID with a Keystone token over TLS: %v", err)
	}

	resp, err := httpClient.Get(sim.ConfigAPIURL() + "/virtual-routers")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET without a token: status %d, want 401", resp.StatusCode)
	}
}

func TestServeWithoutAuth(t *testing.T) {
	sim := startSim(t, ServeOptions{NoDataPlane: true})
	if !strings.HasPrefix(sim.ConfigAPIURL(), "http://") || sim.KeystoneAddr() != "" {
		t.Errorf("ConfigAPIURL = %q, KeystoneAddr = %q; want plain HTTP without Keystone", sim.ConfigAPIURL(), sim.KeystoneAddr())
	}
	c := vncclient.New(sim.ConfigAPIURL(), 5*time.Second)
	if _, err := c.FQNameToID(context.Background(), vncclient.TypeVirtualRouter, []string{vncclient.GlobalSystemConfig, "node-a"}); err != nil {
		t.Fatal(err)
	}
}

func TestAuthOptionsRejected(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		opts AuthOptions
		want string
	}{
		{"tls-dir with tls-cert", AuthOptions{TLSDir: dir, TLSCert: "c.pem", TLSKey: "k.pem"}, "-tls-dir excludes"},
		{"tls-cert without key", AuthOptions{TLSCert: "c.pem"}, "go together"},
		{"missing certificate", AuthOptions{TLSCert: filepath.Join(dir, "c.pem"), TLSKey: filepath.Join(dir, "k.pem")}, "load TLS certificate"},
		{"keystone without password", AuthOptions{KeystoneListen: "127.0.0.1:0", KeystoneUser: "admin"}, "-keystone-password-file"},
		{"keystone not on loopback", AuthOptions{KeystoneListen: "0.0.0.0:0", KeystoneUser: "admin", KeystonePassword: "p"}, "not a loopback address"},
		{"negative ttl", AuthOptions{KeystoneListen: "127.0.0.1:0", KeystoneUser: "admin", KeystonePassword: "p", TokenTTL: -time.Second}, "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Start(ServeOptions{ConfigAPIListen: "127.0.0.1:0", AgentListen: "127.0.0.1:0", NodeName: "n", NoDataPlane: true, Auth: tt.opts}, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Start = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestRunServeAuthFlags(t *testing.T) {
	dir := t.TempDir()
	passwordFile := filepath.Join(dir, "password")
	if err := os.WriteFile(passwordFile, []byte(serveTestPassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tlsDir := filepath.Join(dir, "tls")

	ctx, cancel := context.WithCancel(context.Background())
	var stderr bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, []string{"serve", "--config-api-listen", "127.0.0.1:0", "--agent-listen", "127.0.0.1:0",
			"--node-name", "n1", "--no-dataplane", "--ports-dir", "",
			"--keystone-listen", "127.0.0.1:0", "--keystone-password-file", passwordFile, "--token-ttl", "5m", "--tls-dir", tlsDir},
			&bytes.Buffer{}, &stderr)
	}()

	// Give serve time to start, then stop it as a signal would.
	time.Sleep(300 * time.Millisecond)
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("serve exit code %d, stderr %s", code, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop within 10s of cancel")
	}
	log := stderr.String()
	for _, want := range []string{"keystone serving", "config_api=https://", "token_ttl=5m0s"} {
		if !strings.Contains(log, want) {
			t.Errorf("serve log lacks %q: %s", want, log)
		}
	}
	if strings.Contains(log, serveTestPassword) {
		t.Errorf("serve log contains the password: %s", log)
	}
	for _, name := range []string{configapi.CAFileName, configapi.CertFileName, configapi.KeyFileName} {
		if _, err := os.Stat(filepath.Join(tlsDir, name)); err != nil {
			t.Errorf("-tls-dir did not generate %s: %v", name, err)
		}
	}
}

func TestRunServeMissingPasswordFile(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing")
	code, _, stderr := runCLI(t, "serve", "--no-dataplane", "--keystone-listen", "127.0.0.1:0", "--keystone-password-file", missing)
	if code != 2 || !strings.Contains(stderr, missing) {
		t.Errorf("exit code %d, stderr %q; want 2 and the file named", code, stderr)
	}
}

func TestReadPasswordFile(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		content string
		want    string
		wantErr bool
	}{
		{"secret\n", "secret", false},
		{"secret\r\nsecond line\n", "secret", false},
		{"secret", "secret", false},
		{"\nsecret\n", "", true},
		{"", "", true},
	}
	for i, tt := range tests {
		path := filepath.Join(dir, "p"+string(rune('a'+i)))
		if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := readPasswordFile(path)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("readPasswordFile(%q) = %q, %v; want %q, error %v", tt.content, got, err, tt.want, tt.wantErr)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("error %q contains the file content", err)
		}
	}
}
