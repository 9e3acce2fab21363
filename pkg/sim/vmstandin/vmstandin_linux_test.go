package vmstandin_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/containernetworking/plugins/pkg/testutils"
	"github.com/google/uuid"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/contrail-vif/contrail-vif/pkg/agentclient"
	"github.com/contrail-vif/contrail-vif/pkg/netplumb"
	"github.com/contrail-vif/contrail-vif/pkg/sim/cli"
	"github.com/contrail-vif/contrail-vif/pkg/sim/dataplane"
	"github.com/contrail-vif/contrail-vif/pkg/sim/vmstandin"
)

// The networks of cli.DefaultSetup.
var (
	redFQName  = []string{"default-domain", "demo", "red"}  // 10.10.1.0/24
	blueFQName = []string{"default-domain", "demo", "blue"} // 10.10.2.0/24
	redGateway = netip.MustParseAddr("10.10.1.254")
)

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to create links and network namespaces")
	}
}

// testTag returns a short tag unique to this test run for link and
// namespace names.
func testTag(t *testing.T) string {
	t.Helper()
	b := make([]byte, 2)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "v" + hex.EncodeToString(b)
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, nil))
}

// startSim starts an in-process simulator with the default setup and a data
// plane of dpConfig, and stops it when the test ends.
func startSim(t *testing.T, node string, dpConfig dataplane.Config) *cli.Simulator {
	t.Helper()
	sim, err := cli.Start(cli.ServeOptions{
		ConfigAPIListen: "127.0.0.1:0",
		AgentListen:     "127.0.0.1:0",
		NodeName:        node,
		SetupDefault:    true,
		DataPlane:       dpConfig,
	}, testLogger(t).With("component", "sim"))
	if err != nil {
		t.Fatalf("start simulator: %v", err)
	}
	t.Cleanup(func() {
		if err := sim.Close(); err != nil {
			t.Errorf("close simulator: %v", err)
		}
	})
	return sim
}

// configRequest sends one config API request and decodes a 200 body into
// out. It returns the status code.
func configRequest(t *testing.T, baseURL, method, path string, body, out any) int {
	t.Helper()
	var reader io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		reader = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, baseURL+path, reader)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode == http.StatusOK && out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: decode %s: %v", method, path, b, err)
		}
	}
	return resp.StatusCode
}

// testPod is a "pod": a namespace whose eth0 is bound to a VMI through the
// agent as a namespace port (type 1), the way contrail-vif binds one.
type testPod struct {
	netns   ns.NetNS
	address netip.Addr
}

// plugPod creates the config of a pod named name on vn and node, plugs a
// veth pair with the host end hostName in hostNetns ("" for the test's
// namespace), binds it with type 1 and configures eth0 with the address
// the agent reports.
func plugPod(t *testing.T, sim *cli.Simulator, node string, vn []string, name, hostNetns, hostName string) *testPod {
	t.Helper()
	api := "http://" + sim.ConfigAPIAddr()
	vmName := "k8s__default__" + name
	vmUUID, vmiUUID := uuid.NewString(), uuid.NewString()
	vmiFQName := []string{vn[0], vn[1], name + "__" + vmiUUID}
	creates := []struct {
		collection string
		body       map[string]any
	}{
		{"virtual-machines", map[string]any{"virtual-machine": map[string]any{
			"fq_name": []string{vmName}, "uuid": vmUUID, "server_type": "container"}}},
		{"virtual-machine-interfaces", map[string]any{"virtual-machine-interface": map[string]any{
			"fq_name": vmiFQName, "uuid": vmiUUID, "parent_type": "project",
			"virtual_network_refs": []any{map[string]any{"to": vn}},
			"virtual_machine_refs": []any{map[string]any{"to": []string{vmName}}}}}},
		{"instance-ips", map[string]any{"instance-ip": map[string]any{
			"fq_name":                        []string{name + "__iip"},
			"virtual_network_refs":           []any{map[string]any{"to": vn}},
			"virtual_machine_interface_refs": []any{map[string]any{"to": vmiFQName}}}}},
	}
	for _, c := range creates {
		if status := configRequest(t, api, http.MethodPost, "/"+c.collection, c.body, nil); status != http.StatusOK {
			t.Fatalf("POST /%s for pod %s: status %d", c.collection, name, status)
		}
	}
	var vr struct {
		UUID string `json:"uuid"`
	}
	configRequest(t, api, http.MethodPost, "/fqname-to-id", map[string]any{
		"type": "virtual-router", "fq_name": []string{"default-global-system-config", node}}, &vr)
	status := configRequest(t, api, http.MethodPost, "/ref-update", map[string]any{
		"type": "virtual-router", "uuid": vr.UUID, "ref-type": "virtual-machine", "ref-uuid": vmUUID,
		"operation": "ADD", "attr": nil}, nil)
	if status != http.StatusOK {
		t.Fatalf("link pod %s to node %s: status %d", name, node, status)
	}

	agent := agentclient.New("http://"+sim.AgentAddr(), 10*time.Second)
	ctx := context.Background()
	cfg, err := agent.VMConfig(ctx, vmName)
	if err != nil || len(cfg) != 1 {
		t.Fatalf("GET /vm-cfg/%s = %+v, %v", vmName, cfg, err)
	}
	mac, err := net.ParseMAC(cfg[0].MACAddress)
	if err != nil {
		t.Fatal(err)
	}

	podNS, err := testutils.NewNS()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if hostNS, err := openNetns(hostNetns); err == nil {
			if _, err := netplumb.DeleteLink(hostNS, hostName); err != nil {
				t.Errorf("delete pod link %s: %v", hostName, err)
			}
			hostNS.Close()
		}
		path := podNS.Path()
		podNS.Close()
		// Lazy, because a fork in a parallel test may hold the fd briefly.
		if err := unix.Unmount(path, unix.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", path, err)
		}
		if err := os.Remove(path); err != nil {
			t.Errorf("remove %s: %v", path, err)
		}
	})
	hostNS, err := openNetns(hostNetns)
	if err != nil {
		t.Fatal(err)
	}
	defer hostNS.Close()
	veth := netplumb.Veth{HostName: hostName, PodName: "eth0", MTU: 1500, PodMAC: mac}
	if _, _, err := netplumb.CreateVeth(hostNS, podNS, veth); err != nil {
		t.Fatalf("create veth of pod %s: %v", name, err)
	}

	err = agent.AddPort(ctx, agentclient.PortRequest{
		ID: vmiUUID, InstanceID: vmUUID, VNID: cfg[0].VNID, VMProjectID: "", DisplayName: vmName,
		Type: agentclient.PortTypeNamespace, SystemName: hostName, MACAddress: cfg[0].MACAddress,
		RxVLANID: agentclient.NoVLAN, TxVLANID: agentclient.NoVLAN,
	})
	if err != nil {
		t.Fatalf("POST /port for pod %s: %v", name, err)
	}
	port, err := agent.Port(ctx, vmiUUID)
	if err != nil {
		t.Fatalf("GET /port/%s: %v", vmiUUID, err)
	}
	addr, err := netip.ParseAddr(port.IPAddress)
	if err != nil {
		t.Fatalf("pod %s address %q: %v", name, port.IPAddress, err)
	}
	prefix := netip.PrefixFrom(addr, port.PrefixLen)
	ipNet := &net.IPNet{IP: addr.AsSlice(), Mask: net.CIDRMask(prefix.Bits(), 32)}
	if err := netplumb.ConfigureAddresses(podNS, "eth0", []*net.IPNet{ipNet}); err != nil {
		t.Fatalf("configure pod %s: %v", name, err)
	}
	return &testPod{netns: podNS, address: addr}
}

// openNetns opens the named namespace, or the namespace of the calling
// thread when name is empty. That is the host namespace: /proc/self/ns/net
// is not, since another test may be using the main thread in a namespace
// of its own.
func openNetns(name string) (ns.NetNS, error) {
	if name == "" {
		return ns.GetCurrentNS()
	}
	return ns.GetNS(dataplane.NetnsPath(name))
}

// ping sends one echo request with a 1 s timeout from src to dst in netns,
// up to attempts times, and returns the last error.
func ping(netns ns.NetNS, src, dst netip.Addr, attempts int) error {
	var err error
	for range attempts {
		err = netns.Do(func(ns.NetNS) error { return testutils.Ping(src.String(), dst.String(), 1) })
		if err == nil {
			return nil
		}
	}
	return err
}

func netnsExists(t *testing.T, path string) bool {
	t.Helper()
	_, err := os.Stat(path)
	if err == nil {
		return true
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("stat %s: %v", path, err)
	}
	return false
}

// linkExistsIn reports whether the named namespace ("" for the host) has a
// link called name.
func linkExistsIn(t *testing.T, netnsName, name string) bool {
	t.Helper()
	netns, err := openNetns(netnsName)
	if err != nil {
		t.Fatal(err)
	}
	defer netns.Close()
	var found bool
	err = netns.Do(func(ns.NetNS) error {
		_, err := netlinksafe.LinkByName(name)
		var notFound netlink.LinkNotFoundError
		switch {
		case err == nil:
			found = true
		case !errors.As(err, &notFound):
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatalf("find link %s in netns %q: %v", name, netnsName, err)
	}
	return found
}

// newVMClient returns a stand-in client for node of sim whose namespaces
// carry tag, and deletes vmName when the test ends.
func newVMClient(t *testing.T, sim *cli.Simulator, node, tag, hostNetns, vmName string) *vmstandin.Client {
	t.Helper()
	c := &vmstandin.Client{
		ConfigAPI:   "http://" + sim.ConfigAPIAddr(),
		Agent:       "http://" + sim.AgentAddr(),
		Node:        node,
		NetnsPrefix: "csim-test-" + tag,
		HostNetns:   hostNetns,
		Logger:      testLogger(t).With("component", "vm"),
	}
	t.Cleanup(func() {
		if _, err := c.Delete(context.Background(), vmName); err != nil {
			t.Errorf("delete VM %s at cleanup: %v", vmName, err)
		}
	})
	return c
}

func TestVMAndPodOnOneVNReachEachOther(t *testing.T) {
	requireRoot(t)
	t.Parallel()

	tag := testTag(t)
	dpConfig := dataplane.Config{LinkPrefix: tag, NetnsPrefix: "csim-test-" + tag + "-gw-"}
	t.Cleanup(func() {
		if removed, err := dataplane.Cleanup(dpConfig); err != nil || len(removed) > 0 {
			t.Errorf("data plane objects left after Close: %v, cleanup error %v", removed, err)
		}
	})
	const node = "node-vm"
	sim := startSim(t, node, dpConfig)
	client := newVMClient(t, sim, node, tag, "", "vm1")
	ctx := context.Background()

	vm, err := client.Create(ctx, vmstandin.CreateRequest{Name: "vm1", VirtualNetwork: redFQName})
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if want := "tap" + vm.VMIUUID[:11]; vm.Tap != want {
		t.Errorf("tap = %q, want %q", vm.Tap, want)
	}
	if want := "/run/netns/csim-test-" + tag + "-vm-vm1"; vm.NetnsPath() != want {
		t.Errorf("netns path = %q, want %q", vm.NetnsPath(), want)
	}
	if len(vm.Addresses) != 1 || !netip.MustParsePrefix("10.10.1.0/24").Contains(vm.Addresses[0].Addr()) || vm.Addresses[0].Bits() != 24 {
		t.Fatalf("VM addresses = %v, want one in 10.10.1.0/24", vm.Addresses)
	}
	if len(vm.Gateways) != 1 || vm.Gateways[0] != redGateway {
		t.Errorf("VM gateways = %v, want [%s]", vm.Gateways, redGateway)
	}

	api := "http://" + sim.ConfigAPIAddr()
	var vmObject struct {
		VM struct {
			ServerType  string `json:"server_type"`
			DisplayName string `json:"display_name"`
		} `json:"virtual-machine"`
	}
	if status := configRequest(t, api, http.MethodGet, "/virtual-machine/"+vm.UUID, nil, &vmObject); status != http.StatusOK {
		t.Fatalf("GET virtual-machine %s: status %d", vm.UUID, status)
	}
	if vmObject.VM.ServerType != "virtual-server" || vmObject.VM.DisplayName != "vm1" {
		t.Errorf("virtual-machine = %+v, want server_type virtual-server and display_name vm1", vmObject.VM)
	}
	agent := agentclient.New("http://"+sim.AgentAddr(), 10*time.Second)
	port, err := agent.Port(ctx, vm.VMIUUID)
	if err != nil {
		t.Fatalf("GET /port of the VM: %v", err)
	}
	if port.SystemName != vm.Tap || port.IPAddress != vm.Addresses[0].Addr().String() || port.VMProjectID == "" {
		t.Errorf("agent port = %+v, want system-name %s and address %s", port, vm.Tap, vm.Addresses[0].Addr())
	}

	vmNS, err := ns.GetNS(vm.NetnsPath())
	if err != nil {
		t.Fatal(err)
	}
	defer vmNS.Close()
	vmAddr := vm.Addresses[0].Addr()

	pod := plugPod(t, sim, node, redFQName, "p1", "", tag+"p1")
	bluePod := plugPod(t, sim, node, blueFQName, "b1", "", tag+"b1")

	if err := ping(vmNS, vmAddr, pod.address, 3); err != nil {
		t.Errorf("VM to pod on red: %v", err)
	}
	if err := ping(pod.netns, pod.address, vmAddr, 3); err != nil {
		t.Errorf("pod to VM on red: %v", err)
	}
	if err := ping(vmNS, vmAddr, redGateway, 3); err != nil {
		t.Errorf("VM to red gateway: %v", err)
	}
	// The VM's default route leads to the red gateway, which does not
	// route to blue.
	if err := ping(vmNS, vmAddr, bluePod.address, 1); err == nil {
		t.Errorf("VM on red reached pod %s on blue", bluePod.address)
	}

	// A second create with the same name fails and leaves the first VM
	// working.
	if _, err := client.Create(ctx, vmstandin.CreateRequest{Name: "vm1", VirtualNetwork: redFQName}); err == nil {
		t.Error("second Create of vm1 returned no error")
	}
	if err := ping(pod.netns, pod.address, vmAddr, 3); err != nil {
		t.Errorf("pod to VM after a failed second create: %v", err)
	}

	found, err := client.Delete(ctx, "vm1")
	if err != nil || !found {
		t.Fatalf("Delete = %v, %v; want true, nil", found, err)
	}
	if netnsExists(t, vm.NetnsPath()) {
		t.Errorf("VM netns %s remains after Delete", vm.NetnsPath())
	}
	if linkExistsIn(t, "", vm.Tap) {
		t.Errorf("tap %s remains after Delete", vm.Tap)
	}
	if _, err := agent.Port(ctx, vm.VMIUUID); !errors.Is(err, agentclient.ErrNotFound) {
		t.Errorf("GET /port of the deleted VM: error %v, want not found", err)
	}
	for _, obj := range []string{"/virtual-machine/" + vm.UUID, "/virtual-machine-interface/" + vm.VMIUUID} {
		if status := configRequest(t, api, http.MethodGet, obj, nil, nil); status != http.StatusNotFound {
			t.Errorf("GET %s after Delete: status %d, want 404", obj, status)
		}
	}
	if err := ping(pod.netns, pod.address, vmAddr, 1); err == nil {
		t.Error("pod reached the deleted VM")
	}

	found, err = client.Delete(ctx, "vm1")
	if err != nil || found {
		t.Errorf("second Delete = %v, %v; want false, nil", found, err)
	}
}

func TestVMCreateFailsCleanly(t *testing.T) {
	requireRoot(t)
	t.Parallel()

	tag := testTag(t)
	dpConfig := dataplane.Config{LinkPrefix: tag, NetnsPrefix: "csim-test-" + tag + "-gw-"}
	const node = "node-vm"
	sim := startSim(t, node, dpConfig)
	ctx := context.Background()

	client := newVMClient(t, sim, node, tag, "", "vm1")
	_, err := client.Create(ctx, vmstandin.CreateRequest{Name: "vm1", VirtualNetwork: []string{"default-domain", "demo", "green"}})
	if err == nil || !strings.Contains(err.Error(), "default-domain:demo:green not found") {
		t.Errorf("Create on a missing VN: error %v, want one naming the VN", err)
	}

	// A node without a virtual-router fails after the lookups, before
	// anything is created.
	other := newVMClient(t, sim, "node-missing", tag, "", "vm2")
	if _, err := other.Create(ctx, vmstandin.CreateRequest{Name: "vm2", VirtualNetwork: redFQName}); err == nil {
		t.Error("Create on a node without virtual-router returned no error")
	}

	// A leftover namespace makes plugging fail after the config objects
	// exist, so Create rolls them back.
	leftover := vmstandin.NetnsName(client.NetnsPrefix, "vm3")
	if err := dataplane.CreateNamedNetns(leftover); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = dataplane.DeleteNamedNetns(leftover) })
	third := newVMClient(t, sim, node, tag, "", "vm3")
	if _, err := third.Create(ctx, vmstandin.CreateRequest{Name: "vm3", VirtualNetwork: redFQName}); err == nil {
		t.Fatal("Create over a leftover netns returned no error")
	}
	var vms struct {
		VMs []any `json:"virtual-machines"`
	}
	configRequest(t, "http://"+sim.ConfigAPIAddr(), http.MethodGet, "/virtual-machines", nil, &vms)
	if len(vms.VMs) != 0 {
		t.Errorf("config has %d virtual-machines after failed creates, want 0: %v", len(vms.VMs), vms.VMs)
	}
}

func TestVMInNodeNetnsReachesPod(t *testing.T) {
	requireRoot(t)
	t.Parallel()

	tag := testTag(t)
	topoConfig := dataplane.TopologyConfig{Prefix: "csim-test-" + tag + "-", Nodes: []string{"a"}}
	topo, err := dataplane.NewTopology(topoConfig, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := topo.Close(); err != nil {
			t.Errorf("close topology: %v", err)
		}
		if removed, err := dataplane.CleanupTopology(topoConfig); err != nil || len(removed) > 0 {
			t.Errorf("topology namespaces left: %v, cleanup error %v", removed, err)
		}
	})
	dpConfig, err := topo.NodeConfig("a", tag)
	if err != nil {
		t.Fatal(err)
	}
	nodeNetns := topo.Nodes[0].Netns
	sim := startSim(t, "a", dpConfig)
	client := newVMClient(t, sim, "a", tag, nodeNetns, "vm1")

	vm, err := client.Create(context.Background(), vmstandin.CreateRequest{Name: "vm1", VirtualNetwork: redFQName})
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if !linkExistsIn(t, nodeNetns, vm.Tap) {
		t.Errorf("tap %s is not in node netns %s", vm.Tap, nodeNetns)
	}
	pod := plugPod(t, sim, "a", redFQName, "p1", nodeNetns, tag+"p1")

	vmNS, err := ns.GetNS(vm.NetnsPath())
	if err != nil {
		t.Fatal(err)
	}
	defer vmNS.Close()
	if err := ping(vmNS, vm.Addresses[0].Addr(), pod.address, 3); err != nil {
		t.Errorf("VM to pod in node netns: %v", err)
	}
	if err := ping(pod.netns, pod.address, redGateway, 3); err != nil {
		t.Errorf("pod to gateway in node netns: %v", err)
	}

	if _, err := client.Delete(context.Background(), "vm1"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if linkExistsIn(t, nodeNetns, vm.Tap) {
		t.Errorf("tap %s remains in node netns after Delete", vm.Tap)
	}
}

func TestVMDualStack(t *testing.T) {
	requireRoot(t)
	t.Parallel()

	tag := testTag(t)
	dpConfig := dataplane.Config{LinkPrefix: tag, NetnsPrefix: "csim-test-" + tag + "-gw-"}
	const node = "node-vm"
	sim := startSim(t, node, dpConfig)
	greenFQName := []string{"default-domain", "demo", "green"}
	_, err := sim.Config.EnsureVirtualNetwork(greenFQName,
		[]netip.Prefix{netip.MustParsePrefix("192.0.2.0/24"), netip.MustParsePrefix("2001:db8:5::/64")})
	if err != nil {
		t.Fatal(err)
	}
	client := newVMClient(t, sim, node, tag, "", "vm6")

	vm, err := client.Create(context.Background(), vmstandin.CreateRequest{Name: "vm6", VirtualNetwork: greenFQName})
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if len(vm.Addresses) != 2 || !vm.Addresses[0].Addr().Is4() || !vm.Addresses[1].Addr().Is6() || vm.Addresses[1].Bits() != 64 {
		t.Fatalf("VM addresses = %v, want one IPv4 and one IPv6 /64", vm.Addresses)
	}
	wantGateways := []netip.Addr{netip.MustParseAddr("192.0.2.254"), netip.MustParseAddr("2001:db8:5::ffff:ffff:ffff:fffe")}
	if len(vm.Gateways) != 2 || vm.Gateways[0] != wantGateways[0] || vm.Gateways[1] != wantGateways[1] {
		t.Errorf("VM gateways = %v, want %v", vm.Gateways, wantGateways)
	}

	port, err := agentclient.New("http://"+sim.AgentAddr(), 10*time.Second).Port(context.Background(), vm.VMIUUID)
	if err != nil {
		t.Fatalf("GET /port of the VM: %v", err)
	}
	if port.IPv6Address != vm.Addresses[1].Addr().String() {
		t.Errorf("agent v6-ip-address = %q, want %s", port.IPv6Address, vm.Addresses[1].Addr())
	}

	vmNS, err := ns.GetNS(vm.NetnsPath())
	if err != nil {
		t.Fatal(err)
	}
	defer vmNS.Close()
	for i, gw := range wantGateways {
		if err := ping(vmNS, vm.Addresses[i].Addr(), gw, 3); err != nil {
			t.Errorf("VM to gateway %s: %v", gw, err)
		}
	}

	var defaultGateways []netip.Addr
	err = vmNS.Do(func(ns.NetNS) error {
		for _, family := range []int{netlink.FAMILY_V4, netlink.FAMILY_V6} {
			routes, err := netlinksafe.RouteList(nil, family)
			if err != nil {
				return err
			}
			for _, r := range routes {
				if r.Dst == nil || r.Dst.IP.IsUnspecified() {
					gw, _ := netip.AddrFromSlice(r.Gw)
					defaultGateways = append(defaultGateways, gw.Unmap())
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(defaultGateways) != 2 || defaultGateways[0] != wantGateways[0] || defaultGateways[1] != wantGateways[1] {
		t.Errorf("VM default routes via %v, want via %v", defaultGateways, wantGateways)
	}
}
