package netplumb

import (
	"errors"
	"net"
	"os"
	"testing"

	current "github.com/containernetworking/cni/pkg/types/100"
	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/containernetworking/plugins/pkg/testutils"
	"github.com/vishvananda/netlink"
)

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to create network namespaces")
	}
}

func newNS(t *testing.T) ns.NetNS {
	t.Helper()
	netns, err := testutils.NewNS()
	if err != nil {
		t.Fatalf("create netns: %v", err)
	}
	t.Cleanup(func() {
		_ = netns.Close()
		_ = testutils.UnmountNS(netns)
	})
	return netns
}

func mustCIDR(t *testing.T, s string) *net.IPNet {
	t.Helper()
	ipAddr, ipNet, err := net.ParseCIDR(s)
	if err != nil {
		t.Fatal(err)
	}
	ipNet.IP = ipAddr
	return ipNet
}

func testVeth(t *testing.T) Veth {
	t.Helper()
	mac, err := net.ParseMAC("02:aa:bb:cc:dd:01")
	if err != nil {
		t.Fatal(err)
	}
	return Veth{HostName: "tapnetplumb01", PodName: "net1", MTU: 1400, PodMAC: mac}
}

func linkIn(t *testing.T, netns ns.NetNS, name string) netlink.Link {
	t.Helper()
	var link netlink.Link
	err := netns.Do(func(ns.NetNS) error {
		var err error
		link, err = netlinksafe.LinkByName(name)
		return err
	})
	if err != nil {
		t.Fatalf("look up %q in %s: %v", name, netns.Path(), err)
	}
	return link
}

func TestCreateVeth(t *testing.T) {
	requireRoot(t)
	hostNS, podNS := newNS(t), newNS(t)
	v := testVeth(t)

	host, pod, err := CreateVeth(hostNS, podNS, v)
	if err != nil {
		t.Fatalf("CreateVeth: %v", err)
	}
	if host.Name != v.HostName || pod.Name != v.PodName {
		t.Errorf("names = %q, %q, want %q, %q", host.Name, pod.Name, v.HostName, v.PodName)
	}
	if pod.HardwareAddr.String() != v.PodMAC.String() {
		t.Errorf("pod MAC = %s, want %s", pod.HardwareAddr, v.PodMAC)
	}

	hostLink := linkIn(t, hostNS, v.HostName)
	if hostLink.Attrs().MTU != v.MTU {
		t.Errorf("host MTU = %d, want %d", hostLink.Attrs().MTU, v.MTU)
	}
	if hostLink.Attrs().Flags&net.FlagUp == 0 {
		t.Error("host end is down")
	}
	podLink := linkIn(t, podNS, v.PodName)
	if podLink.Attrs().MTU != v.MTU {
		t.Errorf("pod MTU = %d, want %d", podLink.Attrs().MTU, v.MTU)
	}
}

func TestCreateVethExistingPodInterface(t *testing.T) {
	requireRoot(t)
	hostNS, podNS := newNS(t), newNS(t)
	v := testVeth(t)
	if _, _, err := CreateVeth(hostNS, podNS, v); err != nil {
		t.Fatalf("first CreateVeth: %v", err)
	}

	second := v
	second.HostName = "tapnetplumb02"
	_, _, err := CreateVeth(hostNS, podNS, second)
	if !errors.Is(err, ErrLinkExists) {
		t.Fatalf("second CreateVeth err = %v, want ErrLinkExists", err)
	}
	if exists, err := LinkExists(hostNS, second.HostName); err != nil || exists {
		t.Errorf("host end of the rejected pair: exists = %v, err = %v", exists, err)
	}
}

func TestConfigureAndCheck(t *testing.T) {
	requireRoot(t)
	hostNS, podNS := newNS(t), newNS(t)
	v := testVeth(t)
	if _, _, err := CreateVeth(hostNS, podNS, v); err != nil {
		t.Fatalf("CreateVeth: %v", err)
	}
	v4 := mustCIDR(t, "10.77.1.3/24")
	v6 := mustCIDR(t, "fd00:77::3/64")
	if err := ConfigureAddresses(podNS, v.PodName, []*net.IPNet{v4, v6}); err != nil {
		t.Fatalf("ConfigureAddresses: %v", err)
	}

	want := Expected{
		Name: v.PodName, MAC: "02:AA:BB:CC:DD:01", MTU: v.MTU,
		IPs: []*current.IPConfig{
			{Address: *v4, Gateway: net.ParseIP("10.77.1.254")},
			{Address: *v6, Gateway: net.ParseIP("fd00:77::fe")},
		},
	}
	if err := CheckPodInterface(podNS, want); err != nil {
		t.Fatalf("CheckPodInterface: %v", err)
	}
	if err := CheckHostInterface(hostNS, v.HostName); err != nil {
		t.Fatalf("CheckHostInterface: %v", err)
	}

	wrongMTU := want
	wrongMTU.MTU = 1500
	if err := CheckPodInterface(podNS, wrongMTU); err == nil {
		t.Error("CheckPodInterface accepted a wrong MTU")
	}
	wrongMAC := want
	wrongMAC.MAC = "02:aa:bb:cc:dd:02"
	if err := CheckPodInterface(podNS, wrongMAC); err == nil {
		t.Error("CheckPodInterface accepted a wrong MAC")
	}
	missingIP := want
	missingIP.IPs = append([]*current.IPConfig{{Address: *mustCIDR(t, "10.77.2.3/24")}}, want.IPs...)
	if err := CheckPodInterface(podNS, missingIP); err == nil {
		t.Error("CheckPodInterface accepted a missing address")
	}
}

func TestDeleteLink(t *testing.T) {
	requireRoot(t)
	hostNS, podNS := newNS(t), newNS(t)
	v := testVeth(t)
	if _, _, err := CreateVeth(hostNS, podNS, v); err != nil {
		t.Fatalf("CreateVeth: %v", err)
	}

	deleted, err := DeleteLink(hostNS, v.HostName)
	if err != nil || !deleted {
		t.Fatalf("DeleteLink = %v, %v, want true, nil", deleted, err)
	}
	if exists, err := LinkExists(podNS, v.PodName); err != nil || exists {
		t.Errorf("pod end after deleting the host end: exists = %v, err = %v", exists, err)
	}
	deleted, err = DeleteLink(hostNS, v.HostName)
	if err != nil || deleted {
		t.Errorf("second DeleteLink = %v, %v, want false, nil", deleted, err)
	}
}

func TestDeleteLinkAtGoneNetns(t *testing.T) {
	requireRoot(t)
	podNS, err := testutils.NewNS()
	if err != nil {
		t.Fatal(err)
	}
	path := podNS.Path()
	_ = podNS.Close()
	if err := testutils.UnmountNS(podNS); err != nil {
		t.Fatal(err)
	}

	deleted, err := DeleteLinkAt(path, "net1")
	if err != nil || deleted {
		t.Errorf("DeleteLinkAt on a removed netns = %v, %v, want false, nil", deleted, err)
	}
	deleted, err = DeleteLinkAt("", "net1")
	if err != nil || deleted {
		t.Errorf("DeleteLinkAt with no netns = %v, %v, want false, nil", deleted, err)
	}
}

func TestDeleteLinkAtExistingNetns(t *testing.T) {
	requireRoot(t)
	hostNS, podNS := newNS(t), newNS(t)
	v := testVeth(t)
	if _, _, err := CreateVeth(hostNS, podNS, v); err != nil {
		t.Fatalf("CreateVeth: %v", err)
	}

	deleted, err := DeleteLinkAt(podNS.Path(), v.PodName)
	if err != nil || !deleted {
		t.Fatalf("DeleteLinkAt = %v, %v, want true, nil", deleted, err)
	}
	if exists, err := LinkExists(hostNS, v.HostName); err != nil || exists {
		t.Errorf("host end after deleting the pod end: exists = %v, err = %v", exists, err)
	}
}
