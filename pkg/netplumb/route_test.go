package netplumb

import (
	"net"
	"net/netip"
	"testing"

	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netlink"
)

func TestReplaceDefaultRoutesMovesDefaultToInterface(t *testing.T) {
	requireRoot(t)
	podNS := newNS(t)

	// eth0 carries the cluster network's default route, net1 the attachment.
	err := podNS.Do(func(ns.NetNS) error {
		for _, pair := range [][2]string{{"eth0", "peer0"}, {"net1", "peer1"}} {
			veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: pair[0]}, PeerName: pair[1]}
			if err := netlink.LinkAdd(veth); err != nil {
				return err
			}
			if err := netlink.LinkSetUp(veth); err != nil {
				return err
			}
		}
		eth0, _ := netlinksafe.LinkByName("eth0")
		net1, _ := netlinksafe.LinkByName("net1")
		if err := netlink.AddrAdd(eth0, &netlink.Addr{IPNet: mustCIDR(t, "10.244.0.5/24")}); err != nil {
			return err
		}
		if err := netlink.AddrAdd(net1, &netlink.Addr{IPNet: mustCIDR(t, "10.10.1.5/24")}); err != nil {
			return err
		}
		return netlink.RouteAdd(&netlink.Route{LinkIndex: eth0.Attrs().Index, Gw: net.ParseIP("10.244.0.1")})
	})
	if err != nil {
		t.Fatal(err)
	}

	if err := ReplaceDefaultRoutes(podNS, "net1", []netip.Addr{netip.MustParseAddr("10.10.1.254")}); err != nil {
		t.Fatal(err)
	}

	var defaults []netlink.Route
	err = podNS.Do(func(ns.NetNS) error {
		routes, err := netlinksafe.RouteList(nil, netlink.FAMILY_V4)
		for _, r := range routes {
			if isDefault(r) {
				defaults = append(defaults, r)
			}
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(defaults) != 1 {
		t.Fatalf("default routes = %+v, want exactly one", defaults)
	}
	net1 := linkIn(t, podNS, "net1")
	if defaults[0].LinkIndex != net1.Attrs().Index || defaults[0].Gw.String() != "10.10.1.254" {
		t.Errorf("default route = %+v, want via 10.10.1.254 dev net1", defaults[0])
	}
}
