package cli

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/netip"
	"os"
	"strings"
	"testing"

	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/containernetworking/plugins/pkg/testutils"

	"github.com/contrail-vif/contrail-vif/pkg/sim/dataplane"
)

// parseVMOutput returns the "key value" lines of "vm create" by key.
func parseVMOutput(t *testing.T, out string) map[string][]string {
	t.Helper()
	fields := map[string][]string{}
	scanner := bufio.NewScanner(strings.NewReader(out))
	for scanner.Scan() {
		key, value, ok := strings.Cut(scanner.Text(), " ")
		if !ok {
			t.Fatalf("output line %q is not \"key value\"", scanner.Text())
		}
		fields[key] = append(fields[key], value)
	}
	return fields
}

func TestVMCommandCreatesAndDeletes(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for the data plane and the VM namespace")
	}
	b := make([]byte, 2)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	tag := "m" + hex.EncodeToString(b)
	dpConfig := dataplane.Config{LinkPrefix: tag, NetnsPrefix: "csim-test-" + tag + "-gw-"}
	sim := startSim(t, ServeOptions{SetupDefault: true, NodeName: "node-a", DataPlane: dpConfig})
	common := []string{"--name", "vm1", "--config-api", "http://" + sim.ConfigAPIAddr(), "--agent", "http://" + sim.AgentAddr(),
		"--node", "node-a", "--netns-prefix", "csim-test-" + tag}
	t.Cleanup(func() {
		Run(context.Background(), append([]string{"vm", "delete"}, common...), &bytes.Buffer{}, &bytes.Buffer{})
	})

	var stdout, stderr bytes.Buffer
	code := Run(context.Background(), append([]string{"vm", "create", "--vn", "default-domain:demo:red"}, common...), &stdout, &stderr)
	if code != 0 {
		t.Fatalf("vm create exit code %d; stderr:\n%s", code, stderr.String())
	}
	out := parseVMOutput(t, stdout.String())
	wantNetns := "/run/netns/csim-test-" + tag + "-vm-vm1"
	if got := out["netns"]; len(got) != 1 || got[0] != wantNetns {
		t.Errorf("netns = %v, want %s", got, wantNetns)
	}
	if got := out["tap"]; len(got) != 1 || len(out["vmi"]) != 1 || got[0] != "tap"+out["vmi"][0][:11] {
		t.Errorf("tap = %v, vmi = %v; want tap + 11 characters of the VMI uuid", got, out["vmi"])
	}
	if got := out["gateway"]; len(got) != 1 || got[0] != "10.10.1.254" {
		t.Errorf("gateway = %v, want [10.10.1.254]", got)
	}
	if len(out["address"]) != 1 {
		t.Fatalf("address = %v, want one", out["address"])
	}
	addr, err := netip.ParsePrefix(out["address"][0])
	if err != nil || !netip.MustParsePrefix("10.10.1.0/24").Contains(addr.Addr()) {
		t.Fatalf("address = %q (%v), want one in 10.10.1.0/24", out["address"][0], err)
	}

	// Up to 3 pings of 1 s, because a loaded machine can delay the first
	// reply.
	for range 3 {
		err = ns.WithNetNSPath(wantNetns, func(ns.NetNS) error {
			return testutils.Ping(addr.Addr().String(), "10.10.1.254", 1)
		})
		if err == nil {
			break
		}
	}
	if err != nil {
		t.Errorf("VM to red gateway: %v", err)
	}

	stdout.Reset()
	stderr.Reset()
	if code := Run(context.Background(), append([]string{"vm", "delete"}, common...), &stdout, &stderr); code != 0 {
		t.Fatalf("vm delete exit code %d; stderr:\n%s", code, stderr.String())
	}
	if got := stdout.String(); got != "deleted vm1\n" {
		t.Errorf("vm delete output = %q, want %q", got, "deleted vm1\n")
	}
	if _, err := os.Stat(wantNetns); err == nil {
		t.Errorf("VM netns %s remains after vm delete", wantNetns)
	}

	stdout.Reset()
	if code := Run(context.Background(), append([]string{"vm", "delete"}, common...), &stdout, &stderr); code != 0 {
		t.Errorf("second vm delete exit code %d", code)
	}
	if !strings.Contains(stdout.String(), "not found") {
		t.Errorf("second vm delete output = %q, want a not-found note", stdout.String())
	}
}
