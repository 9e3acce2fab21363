//go:build e2e

package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/vishvananda/netlink"
	corev1 "k8s.io/api/core/v1"

	"github.com/contrail-vif/contrail-vif/e2e/framework"
	"github.com/contrail-vif/contrail-vif/pkg/attachment"
	"github.com/contrail-vif/contrail-vif/pkg/vncclient"
)

// The bridge network of examples/nad-bridge.yaml.
const (
	mixedBridge       = "cvif-mix0"
	mixedBridgeSubnet = "192.168.77.0/24"
	// mixedIPAMDir is where host-local keeps the network's reservations:
	// its default data directory and the network name.
	mixedIPAMDir = "/var/lib/cni/networks/mixed-bridge"
)

// TestMixedPluginsInOnePod starts examples/pod-mixed.yaml: a bridge network
// of the reference plugins as net1, then red and blue of contrail-vif as
// net2 and net3.
func TestMixedPluginsInOnePod(t *testing.T) {
	ctx := context.Background()
	applyRed(t)
	if _, err := cluster.Kubectl(ctx, "apply", "-f", examplePath("nad-blue.yaml")); err != nil {
		t.Fatal(err)
	}
	// The bridge plugin creates the bridge and host-local its directory
	// on the node; neither goes away with the pod.
	t.Cleanup(func() {
		if link, err := netlinksafe.LinkByName(mixedBridge); err == nil {
			if err := netlink.LinkDel(link); err != nil {
				t.Logf("delete bridge %s: %v", mixedBridge, err)
			}
		}
		if err := os.RemoveAll(mixedIPAMDir); err != nil {
			t.Logf("remove %s: %v", mixedIPAMDir, err)
		}
	})
	applyExample(t, "nad-bridge.yaml")
	applyExample(t, "pod-mixed.yaml")

	pod := waitRunning(t, "mixed-1")
	statuses, err := framework.NetworkStatus(pod)
	if err != nil {
		t.Fatal(err)
	}
	netns, err := framework.PodNetnsPath(string(pod.UID))
	if err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		network, ifname, subnet, vn string
	}{
		{"default/mixed-bridge", "net1", mixedBridgeSubnet, ""},
		{"default/red", "net2", redSubnet, "default-domain:demo:red"},
		{"default/blue", "net3", blueSubnet, "default-domain:demo:blue"},
	}
	if len(statuses) != len(cases)+1 {
		t.Errorf("network-status has %d entries, want eth0 and %d attachments: %+v", len(statuses), len(cases), statuses)
	}
	for _, c := range cases {
		st, ok := framework.FindStatus(statuses, c.network)
		if !ok {
			t.Errorf("network-status has no %s entry: %+v", c.network, statuses)
			continue
		}
		if st.Interface != c.ifname || len(st.IPs) != 1 || !inSubnet(st.IPs[0], c.subnet) {
			t.Errorf("network-status %s = %+v, want %s with one address in %s", c.network, st, c.ifname, c.subnet)
			continue
		}
		link, err := framework.InspectLink(netns, c.ifname)
		if err != nil {
			t.Error(err)
			continue
		}
		if len(link.Addresses) != 1 || link.Addresses[0].IP.String() != st.IPs[0] {
			t.Errorf("%s addresses = %v, want %s", c.ifname, link.Addresses, st.IPs[0])
		}
		if c.vn != "" {
			checkVMIOnVN(t, pod, c.ifname, c.vn)
		}
	}
	def, ok := findDefault(statuses)
	if !ok || def.Interface != "eth0" {
		t.Errorf("the default network-status entry is %+v, want eth0", def)
	}
	// Only the contrail-vif attachments have Contrail objects.
	if readErr := vncForTests().Read(ctx, vncclient.TypeVirtualMachineInterface, attachment.VMIUUID(string(pod.UID), "net1"), &struct{}{}); !vncclient.IsNotFound(readErr) {
		t.Errorf("read a VMI for the bridge attachment net1: %v, want not found", readErr)
	}
	expectPing(t, netns, redGateway, true)

	// net1's address is a reservation of host-local on this node.
	if _, err := os.Stat(filepath.Join(mixedIPAMDir, strings.Split(statusIP(statuses, "default/mixed-bridge"), "/")[0])); err != nil {
		t.Errorf("host-local kept no reservation for net1 in %s: %v", mixedIPAMDir, err)
	}
}

// statusIP returns the first address of the network-status entry network.
func statusIP(statuses []nadStatus, network string) string {
	st, ok := framework.FindStatus(statuses, network)
	if !ok || len(st.IPs) == 0 {
		return ""
	}
	return st.IPs[0]
}

// checkVMIOnVN checks that the VMI of the pod's attachment ifname refers to
// the virtual network vn.
func checkVMIOnVN(t *testing.T, pod *corev1.Pod, ifname, vn string) {
	t.Helper()
	vmi := vncclient.VirtualMachineInterface{}
	if err := vncForTests().Read(context.Background(), vncclient.TypeVirtualMachineInterface, attachment.VMIUUID(string(pod.UID), ifname), &vmi); err != nil {
		t.Errorf("read the VMI of %s: %v", ifname, err)
		return
	}
	if len(vmi.VirtualNetworkRefs) != 1 || strings.Join(vmi.VirtualNetworkRefs[0].To, ":") != vn {
		t.Errorf("the VMI of %s refers to %+v, want %s", ifname, vmi.VirtualNetworkRefs, vn)
	}
}
