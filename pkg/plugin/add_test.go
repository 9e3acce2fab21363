package plugin

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/containernetworking/cni/pkg/types"
	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netlink"

	"github.com/contrail-vif/contrail-vif/pkg/agentclient"
	"github.com/contrail-vif/contrail-vif/pkg/state"
)

func TestAddResultPerVersion(t *testing.T) {
	for _, version := range []string{"0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"} {
		t.Run(version, func(t *testing.T) {
			e := newTestEnv(t)
			podNS := newNS(t)
			pod := newTestPod("web")
			vmi := e.addVMI(pod, "net1", "10.77.0.3")
			tap := pod.tap("net1")

			result := e.add(e.args(pod, podNS, "c1", "net1", e.config(version, nil)))

			out := resultJSON(t, result)
			if out["cniVersion"] != version {
				t.Errorf("cniVersion = %v, want %s", out["cniVersion"], version)
			}
			ifaces, _ := out["interfaces"].([]any)
			if len(ifaces) != 2 {
				t.Fatalf("interfaces = %v, want 2", out["interfaces"])
			}
			host, _ := ifaces[0].(map[string]any)
			podIface, _ := ifaces[1].(map[string]any)
			if host["name"] != tap || host["sandbox"] != nil {
				t.Errorf("interfaces[0] = %v, want the tap %s without sandbox", host, tap)
			}
			if podIface["name"] != "net1" || podIface["sandbox"] != podNS.Path() || podIface["mac"] != e.agent.port(vmi).MACAddress {
				t.Errorf("interfaces[1] = %v, want net1 in %s with MAC %s", podIface, podNS.Path(), e.agent.port(vmi).MACAddress)
			}
			wantMTU := version >= "1.0.0"
			if gotMTU := podIface["mtu"] == float64(testMTU); gotMTU != wantMTU {
				t.Errorf("interfaces[1].mtu = %v, want it present (%d) only from 1.0.0", podIface["mtu"], testMTU)
			}

			ips, _ := out["ips"].([]any)
			if len(ips) != 1 {
				t.Fatalf("ips = %v, want 1", out["ips"])
			}
			ip0, _ := ips[0].(map[string]any)
			if ip0["interface"] != float64(1) || ip0["address"] != "10.77.0.3/24" || ip0["gateway"] != "10.77.0.254" {
				t.Errorf("ips[0] = %v, want 10.77.0.3/24 via 10.77.0.254 on interface 1", ip0)
			}
			if wantVersionField := version < "1.0.0"; (ip0["version"] == "4") != wantVersionField {
				t.Errorf("ips[0].version = %v, want \"4\" only before 1.0.0", ip0["version"])
			}
			if _, ok := out["routes"]; ok {
				t.Errorf("routes = %v, want none", out["routes"])
			}
			dns, _ := out["dns"].(map[string]any)
			if ns, _ := dns["nameservers"].([]any); len(ns) != 1 || ns[0] != "10.77.0.253" {
				t.Errorf("dns = %v, want nameservers [10.77.0.253]", out["dns"])
			}
		})
	}
}

func TestAddPlumbsKernelAndAgent(t *testing.T) {
	e := newTestEnv(t)
	podNS := newNS(t)
	pod := newTestPod("web")
	vmi := e.addVMI(pod, "net1", "10.77.0.3")
	tap := pod.tap("net1")

	e.add(e.args(pod, podNS, "c1", "net1", e.config("1.1.0", nil)))

	podLink := link(t, podNS, "net1")
	if podLink == nil {
		t.Fatal("net1 missing in the pod netns")
	}
	if podLink.Attrs().HardwareAddr.String() != e.agent.port(vmi).MACAddress {
		t.Errorf("net1 MAC = %s, want %s", podLink.Attrs().HardwareAddr, e.agent.port(vmi).MACAddress)
	}
	if podLink.Attrs().MTU != testMTU {
		t.Errorf("net1 MTU = %d, want %d", podLink.Attrs().MTU, testMTU)
	}
	if podLink.Attrs().Flags&net.FlagUp == 0 {
		t.Error("net1 is down")
	}
	if got := addresses(t, podNS, "net1"); !slices.Equal(got, []string{"10.77.0.3/24"}) {
		t.Errorf("net1 addresses = %v, want [10.77.0.3/24]", got)
	}
	assertNoDefaultRoute(t, podNS)

	hostLink := link(t, e.hostNS, tap)
	if hostLink == nil {
		t.Fatalf("tap %s missing in the host netns", tap)
	}
	if hostLink.Attrs().MTU != testMTU || hostLink.Attrs().Flags&net.FlagUp == 0 {
		t.Errorf("tap MTU = %d, up = %v, want %d and up", hostLink.Attrs().MTU, hostLink.Attrs().Flags&net.FlagUp != 0, testMTU)
	}

	if got := e.agent.boundTo(vmi); got != tap {
		t.Errorf("agent binds VMI to %q, want %q", got, tap)
	}
	posted := e.agent.postedRequests()
	if len(posted) != 1 {
		t.Fatalf("POST /port calls = %d, want 1", len(posted))
	}
	want := agentclient.PortRequest{
		ID: vmi, InstanceID: pod.uid, VNID: e.agent.port(vmi).VNID, VMProjectID: e.agent.port(vmi).VMProjectID,
		DisplayName: pod.vmName(), IPAddress: "10.77.0.3", IPv6Address: "", Type: agentclient.PortTypeNamespace,
		SystemName: tap, MACAddress: e.agent.port(vmi).MACAddress, RxVLANID: -1, TxVLANID: -1, Author: Author,
	}
	got := posted[0]
	got.Time = ""
	if got != want {
		t.Errorf("POST /port body = %+v\nwant %+v", got, want)
	}

	rec, err := state.New(e.stateDir).Load("c1", "net1")
	if err != nil {
		t.Fatalf("state record: %v", err)
	}
	if rec.VMIUUID != vmi || rec.Tap != tap || rec.Netns != podNS.Path() || rec.PodUID != pod.uid || rec.Network != testNetwork {
		t.Errorf("state record = %+v", rec)
	}
	owner, err := state.New(e.stateDir).Owner(vmi)
	if err != nil || !owner.Is("c1", "net1") {
		t.Errorf("owner record = %+v, %v, want c1/net1", owner, err)
	}
	for _, key := range []string{"containerID=c1", "ifname=net1", "podNamespace=default", "podName=web"} {
		if !strings.Contains(e.log.String(), key) {
			t.Errorf("log lacks %q:\n%s", key, e.log.String())
		}
	}
}

func assertNoDefaultRoute(t *testing.T, netns ns.NetNS) {
	t.Helper()
	err := netns.Do(func(ns.NetNS) error {
		routes, err := netlink.RouteList(nil, netlink.FAMILY_ALL)
		if err != nil {
			return err
		}
		for _, r := range routes {
			if r.Dst == nil || r.Dst.IP.IsUnspecified() {
				t.Errorf("pod netns has a default route: %v", r)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestAddDualStack(t *testing.T) {
	e := newTestEnv(t)
	podNS := newNS(t)
	pod := newTestPod("web")
	e.agent.addVMI(fakeVMI{vmName: pod.vmName(), podUID: pod.uid, ifname: "net1", vnName: testVN,
		ipv4: "10.77.0.3", plen: 24, ipv6: "fd00:77::3"})

	result := currentResult(t, e.add(e.args(pod, podNS, "c1", "net1", e.config("1.0.0", nil))))

	if len(result.IPs) != 2 || result.IPs[1].Address.String() != "fd00:77::3/64" || result.IPs[1].Gateway.String() != "fd00:77::fe" {
		t.Errorf("ips = %v, want 10.77.0.3/24 and fd00:77::3/64 via fd00:77::fe", result.IPs)
	}
	if got := addresses(t, podNS, "net1"); !slices.Equal(got, []string{"10.77.0.3/24", "fd00:77::3/64"}) {
		t.Errorf("net1 addresses = %v", got)
	}
	if !slices.Equal(result.DNS.Nameservers, []string{"10.77.0.253", "fd00:77::fd"}) {
		t.Errorf("nameservers = %v", result.DNS.Nameservers)
	}
	if req := e.agent.postedRequests()[0]; req.IPv6Address != "fd00:77::3" {
		t.Errorf("ip6-address = %q, want fd00:77::3", req.IPv6Address)
	}
}

func TestAddWaitsForLateVMI(t *testing.T) {
	e := newTestEnv(t)
	podNS := newNS(t)
	pod := newTestPod("web")
	const delay = 300 * time.Millisecond
	timer := time.AfterFunc(delay, func() { e.addVMI(pod, "net1", "10.77.0.3") })
	t.Cleanup(func() { timer.Stop() })

	start := time.Now()
	e.add(e.args(pod, podNS, "c1", "net1", e.config("1.1.0", nil)))

	if elapsed := time.Since(start); elapsed < delay {
		t.Errorf("ADD returned after %v, before the VMI appeared at %v", elapsed, delay)
	}
	if link(t, podNS, "net1") == nil {
		t.Error("net1 missing")
	}
}

func TestAddTimeout(t *testing.T) {
	e := newTestEnv(t)
	podNS := newNS(t)
	pod := newTestPod("web")
	// A VM of an earlier pod with the same name must not match.
	e.agent.addVMI(fakeVMI{vmName: pod.vmName(), podUID: pod.uid, vmUUID: "11111111-2222-4333-8444-555555555555",
		ifname: "net1", vnName: testVN, ipv4: "10.77.0.9", plen: 24})
	conf := e.config("1.1.0", map[string]any{"agentTimeout": "400ms"})

	_, err := e.plugin.Add(context.Background(), e.args(pod, podNS, "c1", "net1", conf))

	requireCNIError(t, err, types.ErrTryAgainLater, "default/web", pod.uid, testVN, `"blue"`, "net1", "contrail-vif-controller", "virtual-router")
	if link(t, e.hostNS, pod.tap("net1")) != nil || link(t, podNS, "net1") != nil {
		t.Error("a timed-out ADD left a link behind")
	}
	if len(e.agent.postedRequests()) != 0 {
		t.Error("a timed-out ADD bound a port")
	}
}

func TestAddAgentUnreachable(t *testing.T) {
	e := newTestEnv(t)
	podNS := newNS(t)
	pod := newTestPod("web")
	e.agent.server.Close()
	conf := e.config("1.1.0", map[string]any{"agentTimeout": "300ms"})

	_, err := e.plugin.Add(context.Background(), e.args(pod, podNS, "c1", "net1", conf))

	requireCNIError(t, err, types.ErrTryAgainLater, e.agent.URL(), "unreachable", "default/web")
}

func TestAddVirtualNetworkMismatch(t *testing.T) {
	e := newTestEnv(t)
	podNS := newNS(t)
	pod := newTestPod("web")
	e.agent.addVMI(fakeVMI{vmName: pod.vmName(), podUID: pod.uid, ifname: "net1", vnName: "default-domain:proj:red",
		ipv4: "10.77.0.3", plen: 24})

	_, err := e.plugin.Add(context.Background(), e.args(pod, podNS, "c1", "net1", e.config("1.1.0", nil)))

	requireCNIError(t, err, types.ErrInvalidNetworkConfig, "default-domain:proj:red", testVN)
}

func TestAddInterfaceExists(t *testing.T) {
	e := newTestEnv(t)
	podNS := newNS(t)
	pod := newTestPod("web")
	e.addVMI(pod, "net1", "10.77.0.3")
	err := podNS.Do(func(ns.NetNS) error {
		return netlink.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "net1"}, PeerName: "net1peer"})
	})
	if err != nil {
		t.Fatal(err)
	}

	_, err = e.plugin.Add(context.Background(), e.args(pod, podNS, "c1", "net1", e.config("1.1.0", nil)))

	if err == nil || !strings.Contains(err.Error(), `"net1" already exists`) {
		t.Fatalf("err = %v, want an error saying net1 already exists", err)
	}
	if link(t, e.hostNS, pod.tap("net1")) != nil {
		t.Error("tap left behind")
	}
	if len(e.agent.postedRequests()) != 0 {
		t.Error("port bound although the interface could not be created")
	}
}

func TestAddRollbackOnBindFailure(t *testing.T) {
	e := newTestEnv(t)
	podNS := newNS(t)
	pod := newTestPod("web")
	vmi := e.addVMI(pod, "net1", "10.77.0.3")
	e.agent.setBindError("Invalid MAC, Use xx:xx:xx:xx:xx:xx format")

	_, err := e.plugin.Add(context.Background(), e.args(pod, podNS, "c1", "net1", e.config("1.1.0", nil)))

	if err == nil || !strings.Contains(err.Error(), "Invalid MAC") {
		t.Fatalf("err = %v, want the agent's message", err)
	}
	if link(t, e.hostNS, pod.tap("net1")) != nil {
		t.Error("tap left behind after a failed bind")
	}
	if link(t, podNS, "net1") != nil {
		t.Error("net1 left behind after a failed bind")
	}
	if _, err := state.New(e.stateDir).Load("c1", "net1"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("state record after a failed ADD: %v", err)
	}
	if e.agent.boundTo(vmi) != "" {
		t.Error("port bound after a failed ADD")
	}
}

func TestAddReplacesLeftoverTap(t *testing.T) {
	e := newTestEnv(t)
	pod := newTestPod("web")
	e.addVMI(pod, "net1", "10.77.0.3")
	tap := pod.tap("net1")
	err := e.hostNS.Do(func(ns.NetNS) error {
		return netlink.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: tap}, PeerName: "leftoverpeer"})
	})
	if err != nil {
		t.Fatal(err)
	}

	e.add(e.args(pod, newNS(t), "c1", "net1", e.config("1.1.0", nil)))

	if link(t, e.hostNS, "leftoverpeer") != nil {
		t.Error("the leftover pair still exists")
	}
	if link(t, e.hostNS, tap) == nil {
		t.Error("tap missing")
	}
}

func TestAddMissingPodArgs(t *testing.T) {
	e := newTestEnv(t)
	podNS := newNS(t)
	pod := newTestPod("web")
	args := e.args(pod, podNS, "c1", "net1", e.config("1.1.0", nil))
	args.Args = "IgnoreUnknown=true;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web"

	_, err := e.plugin.Add(context.Background(), args)

	requireCNIError(t, err, types.ErrInvalidEnvironmentVariables, "K8S_POD_UID")
}

func TestAddInvalidConfig(t *testing.T) {
	e := newTestEnv(t)
	podNS := newNS(t)
	pod := newTestPod("web")

	args := e.args(pod, podNS, "c1", "net1", e.config("1.1.0", map[string]any{"virtualNetwork": "blue"}))
	_, err := e.plugin.Add(context.Background(), args)
	requireCNIError(t, err, types.ErrInvalidNetworkConfig, "virtualNetwork")

	args.StdinData = []byte(`{"cniVersion":`)
	_, err = e.plugin.Add(context.Background(), args)
	requireCNIError(t, err, types.ErrDecodingFailure)
}

func TestAddLogsToFile(t *testing.T) {
	e := newTestEnv(t)
	podNS := newNS(t)
	pod := newTestPod("web")
	e.addVMI(pod, "net1", "10.77.0.3")
	logFile := filepath.Join(t.TempDir(), "contrail-vif.log")

	e.add(e.args(pod, podNS, "c1", "net1", e.config("1.1.0", map[string]any{"logFile": logFile})))

	data, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatalf("read log file: %v", err)
	}
	if !strings.Contains(string(data), "msg=attached") || !strings.Contains(string(data), "containerID=c1") {
		t.Errorf("log file lacks the ADD line:\n%s", data)
	}
	if strings.Contains(string(data), `"virtualNetwork"`) {
		t.Errorf("log file contains the raw config:\n%s", data)
	}
}

func TestAddTwiceFails(t *testing.T) {
	e := newTestEnv(t)
	podNS := newNS(t)
	pod := newTestPod("web")
	vmi := e.addVMI(pod, "net1", "10.77.0.3")
	args := e.args(pod, podNS, "c1", "net1", e.config("1.1.0", nil))
	e.add(args)

	_, err := e.plugin.Add(context.Background(), args)

	if err == nil || !strings.Contains(err.Error(), `"net1" already exists`) {
		t.Fatalf("second ADD err = %v, want an error saying net1 already exists", err)
	}
	if link(t, podNS, "net1") == nil || link(t, e.hostNS, pod.tap("net1")) == nil {
		t.Error("the failed second ADD removed the first attachment's links")
	}
	if e.agent.boundTo(vmi) != pod.tap("net1") || e.agent.deleteCount(vmi) != 0 {
		t.Error("the failed second ADD unbound the first attachment's port")
	}
}

func TestAddTimeoutWithoutAddress(t *testing.T) {
	e := newTestEnv(t)
	podNS := newNS(t)
	pod := newTestPod("web")
	vmi := e.agent.addVMI(fakeVMI{vmName: pod.vmName(), podUID: pod.uid, ifname: "net1", vnName: testVN})
	conf := e.config("1.1.0", map[string]any{"agentTimeout": "300ms"})

	_, err := e.plugin.Add(context.Background(), e.args(pod, podNS, "c1", "net1", conf))

	requireCNIError(t, err, types.ErrTryAgainLater, vmi, "instance-ip", "no IPv4 or IPv6 address")
	if link(t, podNS, "net1") != nil {
		t.Error("ADD created net1 for a VMI without an address")
	}
}
