package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
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

	"github.com/contrail-vif/contrail-vif/pkg/sim/dataplane"
	"github.com/contrail-vif/contrail-vif/pkg/vncclient"
)

var redFQName = []string{"default-domain", "demo", "red"}

// simPod is a pod of the end-to-end test: its Contrail objects and its
// network namespace.
type simPod struct {
	vmName   string
	vmUUID   string
	vmiUUID  string
	hostName string
	netns    ns.NetNS
	address  string // pod address from the agent
}

// createPodConfig creates the VM, VMI and instance-ip of a pod in the red
// VN and links the VM to node, as contrail-vif-controller does.
func createPodConfig(t *testing.T, client *configClient, node, name string) *simPod {
	t.Helper()
	ctx := context.Background()
	p := &simPod{vmName: "k8s__default__" + name, vmUUID: uuid.NewString(), vmiUUID: uuid.NewString()}
	vmiFQName := []string{"default-domain", "demo", name + "__" + p.vmiUUID}

	steps := []struct {
		typ    string
		fields map[string]any
	}{
		{"virtual-machine", map[string]any{"fq_name": []string{p.vmName}, "uuid": p.vmUUID}},
		{"virtual-machine-interface", map[string]any{
			"fq_name": vmiFQName, "uuid": p.vmiUUID, "parent_type": "project",
			"virtual_network_refs": []any{map[string]any{"to": redFQName}},
			"virtual_machine_refs": []any{map[string]any{"to": []string{p.vmName}}},
		}},
		{"instance-ip", map[string]any{
			"fq_name":                        []string{name + "__iip"},
			"virtual_network_refs":           []any{map[string]any{"to": redFQName}},
			"virtual_machine_interface_refs": []any{map[string]any{"to": vmiFQName}},
		}},
	}
	for _, s := range steps {
		if _, err := client.create(ctx, s.typ, s.fields); err != nil {
			t.Fatalf("create %s of %s: %v", s.typ, name, err)
		}
	}

	vrUUID, err := client.fqNameToID(ctx, "virtual-router", []string{"default-global-system-config", node})
	if err != nil {
		t.Fatal(err)
	}
	err = client.api.RefUpdate(ctx, "virtual-router", vrUUID, "virtual-machine", p.vmUUID, vncclient.RefAdd)
	if err != nil {
		t.Fatalf("link VM of %s to node: %v", name, err)
	}
	return p
}

// agentRequest sends one request to the agent and decodes a 200 JSON body
// into out.
func agentRequest(t *testing.T, agentAddr, method, path string, body any, out any) int {
	t.Helper()
	var reader io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		reader = strings.NewReader(string(b))
	}

	req, err := http.NewRequest(method, "http://"+agentAddr+path, reader)
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
	if resp.StatusCode != http.StatusOK {
		t.Logf("%s %s = %d %s", method, path, resp.StatusCode, b)
	}
	return resp.StatusCode
}

// plugPod creates the pod's namespace and veth pair, binds the host end
// through the agent like contrail-vif does, and configures eth0 with what
// the agent reports.
func plugPod(t *testing.T, agentAddr string, p *simPod) {
	t.Helper()
	var cfg []struct {
		ID  string `json:"id"`
		VN  string `json:"vn-id"`
		MAC string `json:"mac-address"`
	}
	if status := agentRequest(t, agentAddr, http.MethodGet, "/vm-cfg/"+p.vmName, nil, &cfg); status != http.StatusOK || len(cfg) != 1 || cfg[0].ID != p.vmiUUID {
		t.Fatalf("GET /vm-cfg/%s = %d %+v", p.vmName, status, cfg)
	}

	podNS, err := testutils.NewNS()
	if err != nil {
		t.Fatal(err)
	}
	p.netns = podNS
	t.Cleanup(func() {
		if l, err := netlinksafe.LinkByName(p.hostName); err == nil {
			_ = netlink.LinkDel(l)
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
	mac, err := net.ParseMAC(cfg[0].MAC)
	if err != nil {
		t.Fatal(err)
	}
	veth := &netlink.Veth{
		LinkAttrs:        netlink.LinkAttrs{Name: p.hostName},
		PeerName:         "eth0",
		PeerHardwareAddr: mac,
		PeerNamespace:    netlink.NsFd(int(podNS.Fd())),
	}
	if err := netlink.LinkAdd(veth); err != nil {
		t.Fatal(err)
	}

	bind := map[string]any{
		"id": p.vmiUUID, "instance-id": p.vmUUID, "vn-id": cfg[0].VN, "vm-project-id": "",
		"display-name": p.vmName, "ip-address": "", "ip6-address": "", "type": 1,
		"system-name": p.hostName, "mac-address": cfg[0].MAC, "rx-vlan-id": -1, "tx-vlan-id": -1,
	}
	if status := agentRequest(t, agentAddr, http.MethodPost, "/port", bind, nil); status != http.StatusOK {
		t.Fatalf("POST /port for %s = %d", p.hostName, status)
	}

	var port struct {
		SystemName string `json:"system-name"`
		IP         string `json:"ip-address"`
		PrefixLen  int    `json:"plen"`
	}
	if status := agentRequest(t, agentAddr, http.MethodGet, "/port/"+p.vmiUUID, nil, &port); status != http.StatusOK || port.SystemName != p.hostName || port.IP == "" {
		t.Fatalf("GET /port/%s = %d %+v", p.vmiUUID, status, port)
	}
	p.address = port.IP

	err = podNS.Do(func(ns.NetNS) error {
		link, err := netlinksafe.LinkByName("eth0")
		if err != nil {
			return err
		}
		addr, err := netlink.ParseAddr(fmt.Sprintf("%s/%d", port.IP, port.PrefixLen))
		if err != nil {
			return err
		}
		if err := netlink.AddrAdd(link, addr); err != nil {
			return err
		}
		return netlink.LinkSetUp(link)
	})
	if err != nil {
		t.Fatalf("configure %s: %v", p.hostName, err)
	}
}

func (p *simPod) ping(dst string, attempts int) error {
	var err error
	for range attempts {
		err = p.netns.Do(func(ns.NetNS) error { return testutils.Ping(p.address, dst, 1) })
		if err == nil {
			return nil
		}
	}
	return err
}

func TestSimulatorPodsOnRedReachEachOther(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for the data plane")
	}
	b := make([]byte, 2)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	tag := "s" + hex.EncodeToString(b)
	dpConfig := dataplane.Config{LinkPrefix: tag, NetnsPrefix: "csim-test-" + tag + "-"}
	t.Cleanup(func() {
		if removed, err := dataplane.Cleanup(dpConfig); err != nil || len(removed) > 0 {
			t.Errorf("objects left after Close: %v, cleanup error %v", removed, err)
		}
	})
	sim := startSim(t, ServeOptions{SetupDefault: true, NodeName: "node-e2e", DataPlane: dpConfig})
	client := newConfigClient("http://" + sim.ConfigAPIAddr())

	pods := []*simPod{
		createPodConfig(t, client, "node-e2e", "p1"),
		createPodConfig(t, client, "node-e2e", "p2"),
	}
	for i, p := range pods {
		p.hostName = fmt.Sprintf("%sp%d", tag, i+1)
		plugPod(t, sim.AgentAddr(), p)
	}

	// default-domain:demo:red is 10.10.1.0/24, gateway last address - 1.
	if err := pods[0].ping("10.10.1.254", 3); err != nil {
		t.Errorf("pod to red gateway: %v", err)
	}
	if err := pods[0].ping(pods[1].address, 3); err != nil {
		t.Errorf("pod to pod on red: %v", err)
	}

	if status := agentRequest(t, sim.AgentAddr(), http.MethodDelete, "/port/"+pods[1].vmiUUID, nil, nil); status != http.StatusOK {
		t.Fatalf("DELETE /port = %d", status)
	}
	if err := pods[0].ping(pods[1].address, 1); err == nil {
		t.Error("ping reached a pod whose port was deleted")
	}

	redUUID, err := client.fqNameToID(context.Background(), "virtual-network", redFQName)
	if err != nil {
		t.Fatal(err)
	}
	names, err := dataplane.NamesFor(dpConfig, redUUID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := netlinksafe.LinkByName(names.Bridge); err != nil {
		t.Fatalf("red bridge %s: %v", names.Bridge, err)
	}
	if err := sim.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := netlinksafe.LinkByName(names.Bridge); err == nil {
		t.Errorf("red bridge %s remains after Close", names.Bridge)
	}
	if _, err := os.Stat("/run/netns/" + names.Netns); err == nil {
		t.Errorf("gateway netns %s remains after Close", names.Netns)
	}
}
