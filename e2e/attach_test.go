//go:build e2e

package e2e

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/contrail-vif/contrail-vif/e2e/framework"
	"github.com/contrail-vif/contrail-vif/pkg/attachment"
	"github.com/contrail-vif/contrail-vif/pkg/vncclient"
)

// The default simulator setup (contrail-sim serve --setup-default).
const (
	redSubnet   = "10.10.1.0/24"
	redGateway  = "10.10.1.254"
	blueSubnet  = "10.10.2.0/24"
	primaryCIDR = "10.244.0.0/24"
	podTimeout  = 120 * time.Second
)

type podCase struct {
	name    string
	network string // "<namespace>/<nad>"
	subnet  string
}

func TestAttachRedAndBlue(t *testing.T) {
	ctx := context.Background()
	netnsBefore := hostNetnsNames(t)

	for _, f := range []string{"nad-red.yaml", "nad-blue.yaml", "pods.yaml"} {
		if _, err := cluster.Kubectl(ctx, "apply", "-f", examplePath(f)); err != nil {
			t.Fatal(err)
		}
	}
	deleted := false
	t.Cleanup(func() {
		if !deleted {
			_, _ = cluster.Kubectl(context.Background(), "delete", "--ignore-not-found", "--wait=true", "--timeout=60s", "-f", examplePath("pods.yaml"))
		}
	})

	cases := []podCase{
		{name: "red-1", network: "default/red", subnet: redSubnet},
		{name: "red-2", network: "default/red", subnet: redSubnet},
		{name: "blue-1", network: "default/blue", subnet: blueSubnet},
	}
	pods := map[string]*corev1.Pod{}
	netns := map[string]string{}
	net1IP := map[string]string{}
	vnc := vncForTests()

	for _, c := range cases {
		pod, err := cluster.WaitPodRunning(ctx, "default", c.name, podTimeout)
		if err != nil {
			events, _ := cluster.PodEvents(ctx, pod)
			t.Fatalf("%v; pod events: %s", err, strings.Join(events, " | "))
		}
		pods[c.name] = pod
		path, err := framework.PodNetnsPath(string(pod.UID))
		if err != nil {
			t.Fatal(err)
		}
		netns[c.name] = path
		net1IP[c.name] = checkAttachment(t, vnc, pod, path, c)
	}

	// The leftover check below is only meaningful if it finds pod netns.
	if during := hostNetnsNames(t); len(during) < len(netnsBefore)+len(cases) {
		t.Errorf("found %d network namespaces while %d pods run, had %d before; the leftover check cannot see pod namespaces",
			len(during), len(cases), len(netnsBefore))
	}

	t.Run("red reaches red both ways", func(t *testing.T) {
		expectPing(t, netns["red-1"], net1IP["red-2"], true)
		expectPing(t, netns["red-2"], net1IP["red-1"], true)
	})
	t.Run("red reaches red gateway", func(t *testing.T) {
		expectPing(t, netns["red-1"], redGateway, true)
	})
	t.Run("red cannot reach blue", func(t *testing.T) {
		// Without this route the packet would follow eth0's default route;
		// with it, the red VN's gateway gets the packet and must drop it.
		if _, err := framework.RunInNetns(ctx, netns["red-1"], "ip", "route", "add", blueSubnet, "via", redGateway, "dev", "net1"); err != nil {
			t.Fatal(err)
		}
		expectPing(t, netns["red-1"], net1IP["blue-1"], false)
	})

	// Deleting the pods must leave nothing behind.
	if _, err := cluster.Kubectl(ctx, "delete", "--wait=true", "--timeout=90s", "-f", examplePath("pods.yaml")); err != nil {
		t.Fatal(err)
	}
	deleted = true
	for _, c := range cases {
		if err := cluster.WaitPodGone(ctx, "default", c.name, 60*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range cases {
		expectNoLeftovers(t, vnc, pods[c.name])
	}
	expectNetnsBack(t, netnsBefore)
}

// checkAttachment verifies net1 and eth0 of one pod and returns net1's IPv4 address.
func checkAttachment(t *testing.T, vnc *vncclient.Client, pod *corev1.Pod, netnsPath string, c podCase) string {
	t.Helper()
	statuses, err := framework.NetworkStatus(pod)
	if err != nil {
		t.Fatalf("pod %s: read network-status: %v", c.name, err)
	}
	st, ok := framework.FindStatus(statuses, c.network)
	if !ok {
		t.Fatalf("pod %s: network-status has no entry %q: %+v", c.name, c.network, statuses)
	}
	if st.Interface != "net1" {
		t.Errorf("pod %s: network-status %s interface = %q, want net1", c.name, c.network, st.Interface)
	}
	if st.Default {
		t.Errorf("pod %s: network-status %s is marked default", c.name, c.network)
	}
	if len(st.IPs) != 1 || !inSubnet(st.IPs[0], c.subnet) {
		t.Fatalf("pod %s: network-status %s ips = %v, want one address in %s", c.name, c.network, st.IPs, c.subnet)
	}

	vmi := vncclient.VirtualMachineInterface{}
	vmiUUID := attachment.VMIUUID(string(pod.UID), "net1")
	if err := vnc.Read(context.Background(), vncclient.TypeVirtualMachineInterface, vmiUUID, &vmi); err != nil {
		t.Fatalf("pod %s: read VMI: %v", c.name, err)
	}
	if vmi.MacAddresses == nil || len(vmi.MacAddresses.MacAddress) != 1 {
		t.Fatalf("pod %s: VMI %s has no MAC address", c.name, vmiUUID)
	}
	wantMAC := vmi.MacAddresses.MacAddress[0]
	if !strings.EqualFold(st.Mac, wantMAC) {
		t.Errorf("pod %s: network-status mac = %q, want the VMI's %q", c.name, st.Mac, wantMAC)
	}

	link, err := framework.InspectLink(netnsPath, "net1")
	if err != nil {
		t.Fatalf("pod %s: %v", c.name, err)
	}
	if !strings.EqualFold(link.MAC, wantMAC) {
		t.Errorf("pod %s: net1 MAC = %s, want %s", c.name, link.MAC, wantMAC)
	}
	if len(link.Addresses) != 1 || link.Addresses[0].IP.String() != st.IPs[0] {
		t.Errorf("pod %s: net1 addresses = %v, want %s", c.name, link.Addresses, st.IPs[0])
	}

	def, ok := findDefault(statuses)
	if !ok || def.Interface != "eth0" || len(def.IPs) == 0 || !inSubnet(def.IPs[0], primaryCIDR) {
		t.Errorf("pod %s: the default network-status entry is %+v, want eth0 in %s", c.name, def, primaryCIDR)
	}
	eth0, err := framework.InspectLink(netnsPath, "eth0")
	if err != nil {
		t.Fatalf("pod %s: %v", c.name, err)
	}
	if len(eth0.Addresses) == 0 || !inSubnet(eth0.Addresses[0].IP.String(), primaryCIDR) {
		t.Errorf("pod %s: eth0 addresses = %v, want an address in %s", c.name, eth0.Addresses, primaryCIDR)
	}
	if eth0.DefaultGateway == nil {
		t.Errorf("pod %s: eth0 lost the default route the primary plugin gave it", c.name)
	}
	return st.IPs[0]
}

func findDefault(statuses []nadStatus) (nadStatus, bool) {
	for _, s := range statuses {
		if s.Default {
			return s, true
		}
	}
	return nadStatus{}, false
}

func inSubnet(ip, cidr string) bool {
	_, n, err := net.ParseCIDR(cidr)
	addr := net.ParseIP(ip)
	return err == nil && addr != nil && n.Contains(addr)
}

func expectPing(t *testing.T, netnsPath, ip string, want bool) {
	t.Helper()
	ok, out := framework.Ping(context.Background(), netnsPath, ip)
	if ok != want {
		t.Errorf("ping %s from %s: reply=%v, want %v; output: %s", ip, netnsPath, ok, want, out)
	}
}

// expectNoLeftovers waits, bounded, until the pod's Contrail objects, agent
// port and tap are gone.
func expectNoLeftovers(t *testing.T, vnc *vncclient.Client, pod *corev1.Pod) {
	t.Helper()
	uid := string(pod.UID)
	vmiUUID := attachment.VMIUUID(uid, "net1")
	iipUUID := attachment.InstanceIPUUID(uid, "net1")
	checks := []struct {
		typ, uuid string
	}{
		{vncclient.TypeVirtualMachine, uid},
		{vncclient.TypeVirtualMachineInterface, vmiUUID},
		{vncclient.TypeInstanceIP, iipUUID},
	}
	deadline := time.Now().Add(30 * time.Second)
	for _, c := range checks {
		for {
			err := vnc.Read(context.Background(), c.typ, c.uuid, &struct{}{})
			if vncclient.IsNotFound(err) {
				break
			}
			if time.Now().After(deadline) {
				t.Errorf("pod %s: %s %s still exists in the config API (read error: %v)", pod.Name, c.typ, c.uuid, err)
				break
			}
			time.Sleep(250 * time.Millisecond)
		}
	}
	if _, err := net.InterfaceByName(attachment.TapName(vmiUUID)); err == nil {
		t.Errorf("pod %s: host link %s still exists", pod.Name, attachment.TapName(vmiUUID))
	}
	expectAgentPortGone(t, pod.Name, vmiUUID)
}

// hostNetnsNames lists the named network namespaces: those in /run/netns
// and those containerd mounts under its state directory for pod sandboxes,
// counting only the cni-<uuid> names that containerd gives pod sandboxes.
func hostNetnsNames(t *testing.T) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	dirs := []string{"/run/netns"}
	found, _ := filepath.Glob(filepath.Join(cluster.Env.ClusterWork, "containerd", "state", "*", "netns"))
	dirs = append(dirs, found...)
	found, _ = filepath.Glob(filepath.Join(cluster.Env.ClusterWork, "containerd", "state", "netns"))
	dirs = append(dirs, found...)
	for _, dir := range dirs {
		entries, err := os.ReadDir(dir)
		if err != nil && !os.IsNotExist(err) {
			t.Fatalf("list %s: %v", dir, err)
		}
		for _, e := range entries {
			// containerd names pod sandbox namespaces cni-<uuid>; other
			// names belong to the simulator or to other tests on the host.
			if !strings.HasPrefix(e.Name(), "cni-") {
				continue
			}
			out[filepath.Join(dir, e.Name())] = true
		}
	}
	return out
}

func expectNetnsBack(t *testing.T, before map[string]bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var extra []string
		for name := range hostNetnsNames(t) {
			if !before[name] {
				extra = append(extra, name)
			}
		}
		if len(extra) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("network namespaces left after the pods were deleted: %v", extra)
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
}
