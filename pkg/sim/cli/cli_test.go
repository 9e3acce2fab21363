package cli

import (
	"bytes"
	"context"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"
)

// startSim starts a simulator on free loopback ports without a data plane
// and closes it when the test ends.
func startSim(t *testing.T, opts ServeOptions) *Simulator {
	t.Helper()
	if opts.ConfigAPIListen == "" {
		opts.ConfigAPIListen = "127.0.0.1:0"
	}
	if opts.AgentListen == "" {
		opts.AgentListen = "127.0.0.1:0"
	}
	if opts.NodeName == "" {
		opts.NodeName = "node-a"
	}
	sim, err := Start(opts, slog.New(slog.NewTextHandler(testWriter{t}, nil)))
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := sim.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return sim
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// runCLI runs contrail-sim with args and returns the exit code, stdout and
// stderr.
func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	code := Run(ctx, args, &stdout, &stderr)
	return code, strings.TrimSpace(stdout.String()), stderr.String()
}

func TestCreateVNAgainstServe(t *testing.T) {
	sim := startSim(t, ServeOptions{NoDataPlane: true})
	url := "http://" + sim.ConfigAPIAddr()

	code, projectUUID, stderr := runCLI(t, "create-project", "--config-api", url, "default-domain:cli")
	if code != 0 || len(projectUUID) != 36 {
		t.Fatalf("create-project = %d, stdout %q, stderr %q", code, projectUUID, stderr)
	}

	code, vnUUID, stderr := runCLI(t, "create-vn", "--config-api", url, "default-domain:cli:green", "10.10.3.0/24", "fd00:10:3::/64")
	if code != 0 || len(vnUUID) != 36 {
		t.Fatalf("create-vn = %d, stdout %q, stderr %q", code, vnUUID, stderr)
	}

	subnets, ok := sim.Config.VirtualNetworkSubnets(vnUUID)
	if !ok {
		t.Fatalf("VN %s not in the config store", vnUUID)
	}
	var prefixes, gateways []string
	for _, s := range subnets {
		prefixes = append(prefixes, s.Prefix.String())
		gateways = append(gateways, s.Gateway.String())
	}
	if want := []string{"10.10.3.0/24", "fd00:10:3::/64"}; !slices.Equal(prefixes, want) {
		t.Errorf("subnets = %v, want %v", prefixes, want)
	}
	if want := []string{"10.10.3.254", "fd00:10:3:0:ffff:ffff:ffff:fffe"}; !slices.Equal(gateways, want) {
		t.Errorf("gateways = %v, want %v", gateways, want)
	}

	// The same name again is a conflict.
	code, _, stderr = runCLI(t, "create-vn", "--config-api", url, "default-domain:cli:green", "10.10.4.0/24")
	if code != 1 || !strings.Contains(stderr, "409") {
		t.Errorf("duplicate create-vn = %d, stderr %q, want 1 with the 409", code, stderr)
	}

	code, deleted, stderr := runCLI(t, "delete-vn", "--config-api", url, "default-domain:cli:green")
	if code != 0 || deleted != vnUUID {
		t.Fatalf("delete-vn = %d, stdout %q, stderr %q", code, deleted, stderr)
	}
	if _, ok := sim.Config.VirtualNetworkSubnets(vnUUID); ok {
		t.Error("VN still in the config store after delete-vn")
	}

	code, _, stderr = runCLI(t, "delete-vn", "--config-api", url, "default-domain:cli:green")
	if code != 1 || !strings.Contains(stderr, "not found") {
		t.Errorf("second delete-vn = %d, stderr %q, want 1 not found", code, stderr)
	}
}

func TestCreateVNErrors(t *testing.T) {
	sim := startSim(t, ServeOptions{NoDataPlane: true})
	url := "http://" + sim.ConfigAPIAddr()

	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"missing project", []string{"default-domain:nope:green", "10.10.3.0/24"}, 1, "create-project default-domain:nope"},
		{"host bits set", []string{"default-domain:demo:green", "10.10.3.1/24"}, 2, "did you mean 10.10.3.0/24"},
		{"not a CIDR", []string{"default-domain:demo:green", "10.10.3.0"}, 2, "invalid CIDR"},
		{"no CIDR", []string{"default-domain:demo:green"}, 2, "at least one CIDR"},
		{"short fq-name", []string{"demo:green", "10.10.3.0/24"}, 2, "DOMAIN:PROJECT:VN"},
		{"empty element", []string{"default-domain::green", "10.10.3.0/24"}, 2, "empty element"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"create-vn", "--config-api", url}, tt.args...)
			code, _, stderr := runCLI(t, args...)
			if code != tt.wantCode || !strings.Contains(stderr, tt.wantErr) {
				t.Errorf("exit %d, stderr %q; want exit %d containing %q", code, stderr, tt.wantCode, tt.wantErr)
			}
		})
	}
}

func TestCreateVNUnreachableAPI(t *testing.T) {
	sim := startSim(t, ServeOptions{NoDataPlane: true})
	url := "http://" + sim.ConfigAPIAddr()
	if err := sim.Close(); err != nil {
		t.Fatal(err)
	}

	code, _, stderr := runCLI(t, "create-project", "--config-api", url, "default-domain:x")
	if code != 1 || !strings.Contains(stderr, sim.ConfigAPIAddr()) {
		t.Errorf("exit %d, stderr %q; want 1 naming the address", code, stderr)
	}
}

func TestServeSetupDefault(t *testing.T) {
	sim := startSim(t, ServeOptions{NoDataPlane: true, SetupDefault: true, NodeName: "node-x"})
	client := newConfigClient("http://" + sim.ConfigAPIAddr())
	ctx := context.Background()

	for _, fq := range [][]string{{"default-domain", "demo", "red"}, {"default-domain", "demo", "blue"}} {
		uuid, err := client.fqNameToID(ctx, "virtual-network", fq)
		if err != nil {
			t.Fatalf("find %v: %v", fq, err)
		}
		subnets, _ := sim.Config.VirtualNetworkSubnets(uuid)
		if len(subnets) != 1 {
			t.Errorf("%v has subnets %v, want one", fq, subnets)
		}
	}
	if _, err := client.fqNameToID(ctx, "virtual-router", []string{"default-global-system-config", "node-x"}); err != nil {
		t.Errorf("virtual-router of the node: %v", err)
	}
}

func TestCheckListenAddress(t *testing.T) {
	tests := []struct {
		addr    string
		allow   bool
		wantErr bool
	}{
		{"127.0.0.1:8082", false, false},
		{"127.0.0.2:0", false, false},
		{"[::1]:9091", false, false},
		{"localhost:9091", false, false},
		{":9091", false, true},
		{"0.0.0.0:9091", false, true},
		{"192.0.2.1:9091", false, true},
		{"example.com:9091", false, true},
		{"0.0.0.0:9091", true, false},
		{"127.0.0.1", false, true},
	}
	for _, tt := range tests {
		err := checkListenAddress(tt.addr, tt.allow)
		if (err != nil) != tt.wantErr {
			t.Errorf("checkListenAddress(%q, %v) = %v, want error %v", tt.addr, tt.allow, err, tt.wantErr)
		}
	}
}

func TestStartRejectsNonLoopback(t *testing.T) {
	_, err := Start(ServeOptions{ConfigAPIListen: "0.0.0.0:0", AgentListen: "127.0.0.1:0", NodeName: "n", NoDataPlane: true}, nil)
	if err == nil || !strings.Contains(err.Error(), "--allow-non-loopback") {
		t.Errorf("Start on 0.0.0.0 = %v, want an error naming --allow-non-loopback", err)
	}
}

func TestRunServeStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var stderr bytes.Buffer
	done := make(chan int, 1)
	portsDir := t.TempDir()
	go func() {
		done <- Run(ctx, []string{"serve", "--config-api-listen", "127.0.0.1:0", "--agent-listen", "127.0.0.1:0",
			"--node-name", "n1", "--no-dataplane", "--setup-default", "--ports-dir", portsDir}, &bytes.Buffer{}, &stderr)
	}()

	// Give serve time to start, then stop it as a signal would.
	time.Sleep(200 * time.Millisecond)
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("serve exit code %d, stderr %s", code, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop within 10s of cancel")
	}
	if !strings.Contains(stderr.String(), "contrail-sim serving") || !strings.Contains(stderr.String(), "contrail-sim stopped") {
		t.Errorf("serve log lacks start or stop: %s", stderr.String())
	}
}

func TestRunUsage(t *testing.T) {
	tests := []struct {
		args     []string
		wantCode int
		// wantText is expected on stderr, or on stdout for help that the
		// user asked for.
		wantText   string
		wantStdout bool
	}{
		{nil, 2, "Commands:", false},
		{[]string{"help"}, 0, "create-vn", true},
		{[]string{"-h"}, 0, "create-vn", true},
		{[]string{"frobnicate"}, 2, `unknown command "frobnicate"`, false},
		{[]string{"serve", "--no-such-flag"}, 2, "flag provided but not defined", false},
		{[]string{"serve", "extra"}, 2, "unexpected arguments", false},
		{[]string{"serve", "-h"}, 0, "SIGINT or SIGTERM", true},
		{[]string{"serve", "--log-level", "loud", "--no-dataplane"}, 2, "invalid log level", false},
		{[]string{"create-project", "justone"}, 2, "DOMAIN:PROJECT", false},
	}
	for _, tt := range tests {
		code, stdout, stderr := runCLI(t, tt.args...)
		out, other := stderr, stdout
		if tt.wantStdout {
			out, other = stdout, stderr
		}
		if code != tt.wantCode {
			t.Errorf("contrail-sim %q: exit %d, want %d", tt.args, code, tt.wantCode)
		}
		if !strings.Contains(out, tt.wantText) {
			t.Errorf("contrail-sim %q: output %q does not contain %q (stdout %v)", tt.args, out, tt.wantText, tt.wantStdout)
		}
		if other != "" {
			t.Errorf("contrail-sim %q: unexpected output on the other stream: %q", tt.args, other)
		}
	}
}

func TestParseFQName(t *testing.T) {
	got, err := parseFQName("a:b:c", 3, "A:B:C")
	if err != nil || !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Errorf("parseFQName = %v, %v", got, err)
	}
	if _, err := parseFQName("a:b", 3, "A:B:C"); err == nil {
		t.Error("parseFQName accepted two elements for three")
	}
}
