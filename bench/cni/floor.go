package main

import (
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/containernetworking/plugins/pkg/ip"
	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netlink"
)

// floorAddress and floorGateway configure the pod end in the floor rounds.
// They live only in the round's own namespace.
var (
	floorAddress = &net.IPNet{IP: net.IPv4(10, 79, 0, 2), Mask: net.CIDRMask(24, 32)}
	floorGateway = net.IPv4(10, 79, 0, 1)
)

// floorClassic is the classic plugin sequence: create the veth pair in the
// host namespace, move one end into the pod namespace, rename it, add its
// address, set it up, add a route, and set the host end up. It returns the
// time the steps took and the host end's name, which the caller deletes.
//
// Moving a link to another namespace waits for an RCU grace period in the
// kernel, which makes this sequence slow; plugins built on
// containernetworking/plugins pkg/ip avoid the move, so the benchmark's
// floor is floorSteps and this one is reported for comparison.
func floorClassic(hostNS, podNS ns.NetNS, ifname string) (time.Duration, string, error) {
	hostName, err := ip.RandomVethName()
	if err != nil {
		return 0, "", err
	}
	peerName, err := ip.RandomVethName()
	if err != nil {
		return 0, "", err
	}

	start := time.Now()
	err = hostNS.Do(func(ns.NetNS) error {
		attrs := netlink.NewLinkAttrs()
		attrs.Name = hostName
		if err := netlink.LinkAdd(&netlink.Veth{LinkAttrs: attrs, PeerName: peerName}); err != nil {
			return fmt.Errorf("create veth pair: %w", err)
		}
		peer, err := netlinksafe.LinkByName(peerName)
		if err != nil {
			return fmt.Errorf("look up %s: %w", peerName, err)
		}
		if err := netlink.LinkSetNsFd(peer, int(podNS.Fd())); err != nil {
			return fmt.Errorf("move %s to pod namespace: %w", peerName, err)
		}
		return nil
	})
	if err != nil {
		return 0, hostName, err
	}
	err = podNS.Do(func(ns.NetNS) error {
		return configurePodEnd(peerName, ifname)
	})
	if err != nil {
		return 0, hostName, err
	}
	err = hostNS.Do(func(ns.NetNS) error {
		return setUp(hostName)
	})
	return time.Since(start), hostName, err
}

// floorSteps are the netlink steps that any veth plugin needs, in their
// shortest form: the pair is created from inside the pod namespace with its
// pod end already named ifname and its host end placed in the host
// namespace (IFLA_NET_NS_FD), as containernetworking/plugins pkg/ip does,
// so the move and the rename are part of the create. Then the address, link
// up, a route, and the host end up. It returns the time the steps took and
// the host end's name, which the caller deletes.
func floorSteps(hostNS, podNS ns.NetNS, ifname string) (time.Duration, string, error) {
	hostName, err := ip.RandomVethName()
	if err != nil {
		return 0, "", err
	}

	start := time.Now()
	err = podNS.Do(func(ns.NetNS) error {
		attrs := netlink.NewLinkAttrs()
		attrs.Name = ifname
		veth := &netlink.Veth{LinkAttrs: attrs, PeerName: hostName, PeerNamespace: netlink.NsFd(int(hostNS.Fd()))}
		if err := netlink.LinkAdd(veth); err != nil {
			return fmt.Errorf("create veth pair: %w", err)
		}
		return configurePodEnd(ifname, ifname)
	})
	if err != nil {
		return 0, hostName, err
	}
	err = hostNS.Do(func(ns.NetNS) error {
		return setUp(hostName)
	})
	return time.Since(start), hostName, err
}

// configurePodEnd renames the link name to ifname (when they differ), adds
// floorAddress, sets it up and adds a default route via floorGateway. It
// runs inside the pod namespace.
func configurePodEnd(name, ifname string) error {
	link, err := netlinksafe.LinkByName(name)
	if err != nil {
		return fmt.Errorf("look up %s: %w", name, err)
	}
	if name != ifname {
		if err := netlink.LinkSetName(link, ifname); err != nil {
			return fmt.Errorf("rename %s to %s: %w", name, ifname, err)
		}
	}
	if err := netlink.AddrAdd(link, &netlink.Addr{IPNet: floorAddress}); err != nil {
		return fmt.Errorf("add address to %s: %w", ifname, err)
	}
	if err := netlink.LinkSetUp(link); err != nil {
		return fmt.Errorf("set %s up: %w", ifname, err)
	}
	route := &netlink.Route{LinkIndex: link.Attrs().Index, Gw: floorGateway}
	if err := netlink.RouteAdd(route); err != nil {
		return fmt.Errorf("add default route via %s: %w", floorGateway, err)
	}
	return nil
}

func setUp(name string) error {
	link, err := netlinksafe.LinkByName(name)
	if err != nil {
		return fmt.Errorf("look up %s: %w", name, err)
	}
	if err := netlink.LinkSetUp(link); err != nil {
		return fmt.Errorf("set %s up: %w", name, err)
	}
	return nil
}

// deleteHostLink deletes the host end of a floor pair, and with it the pair.
func deleteHostLink(hostNS ns.NetNS, name string) error {
	if name == "" {
		return nil
	}
	return hostNS.Do(func(ns.NetNS) error {
		if err := ip.DelLinkByName(name); err != nil && !errors.Is(err, ip.ErrLinkNotFound) {
			return fmt.Errorf("delete %s: %w", name, err)
		}
		return nil
	})
}
