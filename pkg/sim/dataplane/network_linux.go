package dataplane

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"slices"

	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/containernetworking/plugins/pkg/utils/sysctl"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// gatewayMAC is the MAC address of every gateway interface: the vRouter
// agent's default vrrp_mac, which the vRouter uses in ARP replies for the
// subnet gateway. Gateways of different VNs share it safely because each
// sits on a bridge of its own.
var gatewayMAC = net.HardwareAddr{0x00, 0x00, 0x5e, 0x00, 0x01, 0x00}

// gatewaySysctls are set inside every gateway namespace before its
// interface exists, so the interface inherits the "default" values.
// Forwarding makes the gateway reply with ICMP unreachable to traffic for
// destinations outside the VN, since the namespace has no route there. DAD and
// router advertisements are off so that addresses are usable at once and
// nothing but the configured addresses appears.
var gatewaySysctls = [][2]string{
	{"net/ipv4/ip_forward", "1"},
	{"net/ipv6/conf/all/forwarding", "1"},
	{"net/ipv6/conf/all/accept_dad", "0"},
	{"net/ipv6/conf/default/accept_dad", "0"},
	{"net/ipv6/conf/all/accept_ra", "0"},
	{"net/ipv6/conf/default/accept_ra", "0"},
}

// createNetwork creates the gateway namespace of one VN, and in the node
// namespace nodeNetns ("" for the current one) the VN bridge, the veth pair
// to the gateway and, when tunnel is not nil, the VXLAN device. On failure
// it removes what it created.
func createNetwork(nodeNetns string, names Names, tunnel *vxlanSpec) (err error) {
	defer func() {
		if err != nil {
			// Remove the objects created before the failure.
			_, _ = removeNetwork(nodeNetns, names)
		}
	}()

	if err := createNamedNetns(names.Netns); err != nil {
		return fmt.Errorf("create netns %q: %w", names.Netns, err)
	}

	gatewayNS, err := ns.GetNS(NetnsPath(names.Netns))
	if err != nil {
		return fmt.Errorf("open netns %q: %w", names.Netns, err)
	}
	defer gatewayNS.Close()

	err = gatewayNS.Do(func(ns.NetNS) error {
		return prepareGatewayNetns()
	})
	if err != nil {
		return fmt.Errorf("prepare netns %q: %w", names.Netns, err)
	}

	err = inNetns(nodeNetns, func() error {
		bridge, err := createBridge(names.Bridge)
		if err != nil {
			return err
		}
		// With an overlay, the gateway port and the VXLAN port are
		// isolated from each other. So no frame passes between this
		// node's gateway and another node (see the package doc).
		if err := createGatewayVeth(names.Veth, bridge, gatewayNS, tunnel != nil); err != nil {
			return err
		}
		if tunnel != nil {
			return createVXLAN(*tunnel, bridge)
		}
		return nil
	})
	if err != nil {
		return err
	}

	err = gatewayNS.Do(func(ns.NetNS) error {
		return setLinkUp(GatewayIfname)
	})
	if err != nil {
		return fmt.Errorf("set up gateway interface in netns %q: %w", names.Netns, err)
	}
	return nil
}

// createBridge creates a bridge without addresses, with IPv6 disabled and
// multicast snooping off so that IPv6 neighbor discovery floods like ARP,
// and sets it up.
func createBridge(name string) (netlink.Link, error) {
	snooping := false
	bridge := &netlink.Bridge{
		LinkAttrs:         netlink.LinkAttrs{Name: name},
		MulticastSnooping: &snooping,
	}
	if err := netlink.LinkAdd(bridge); err != nil {
		return nil, fmt.Errorf("create bridge %q: %w", name, err)
	}

	if err := disableIPv6(name); err != nil {
		return nil, err
	}

	link, err := netlinksafe.LinkByName(name)
	if err != nil {
		return nil, fmt.Errorf("find bridge %q: %w", name, err)
	}
	if err := netlink.LinkSetUp(link); err != nil {
		return nil, fmt.Errorf("set up bridge %q: %w", name, err)
	}
	return link, nil
}

// prepareGatewayNetns sets the gateway sysctls and the loopback up in the
// current network namespace.
func prepareGatewayNetns() error {
	for _, kv := range gatewaySysctls {
		if _, err := sysctl.Sysctl(kv[0], kv[1]); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("set sysctl %s=%s: %w", kv[0], kv[1], err)
		}
	}
	return setLinkUp("lo")
}

// createGatewayVeth creates the veth pair whose node end hostName is
// enslaved to bridge, and isolated from the bridge's other isolated ports
// when isolated is true, and whose peer is GatewayIfname in gatewayNS.
func createGatewayVeth(hostName string, bridge netlink.Link, gatewayNS ns.NetNS, isolated bool) error {
	veth := &netlink.Veth{
		LinkAttrs:        netlink.LinkAttrs{Name: hostName},
		PeerName:         GatewayIfname,
		PeerHardwareAddr: gatewayMAC,
		PeerNamespace:    netlink.NsFd(int(gatewayNS.Fd())),
	}
	if err := netlink.LinkAdd(veth); err != nil {
		return fmt.Errorf("create veth %q: %w", hostName, err)
	}

	if err := disableIPv6(hostName); err != nil {
		return err
	}

	link, err := netlinksafe.LinkByName(hostName)
	if err != nil {
		return fmt.Errorf("find veth %q: %w", hostName, err)
	}
	if err := netlink.LinkSetMaster(link, bridge); err != nil {
		return fmt.Errorf("enslave veth %q to bridge %q: %w", hostName, bridge.Attrs().Name, err)
	}
	if isolated {
		if err := netlink.LinkSetIsolated(link, true); err != nil {
			return fmt.Errorf("isolate bridge port %q: %w", hostName, err)
		}
	}
	if err := netlink.LinkSetUp(link); err != nil {
		return fmt.Errorf("set up veth %q: %w", hostName, err)
	}
	return nil
}

// setGatewayAddresses makes the global addresses of the gateway interface
// in the namespace netnsName equal to want.
func setGatewayAddresses(netnsName string, want []netip.Prefix) error {
	err := ns.WithNetNSPath(NetnsPath(netnsName), func(ns.NetNS) error {
		link, err := netlinksafe.LinkByName(GatewayIfname)
		if err != nil {
			return fmt.Errorf("find %q: %w", GatewayIfname, err)
		}
		addrs, err := netlinksafe.AddrList(link, netlink.FAMILY_ALL)
		if err != nil {
			return fmt.Errorf("list addresses of %q: %w", GatewayIfname, err)
		}

		var have []netip.Prefix
		for _, a := range addrs {
			p, ok := prefixOf(a.IPNet)
			if !ok || p.Addr().IsLinkLocalUnicast() {
				continue
			}
			if slices.Contains(want, p) {
				have = append(have, p)
				continue
			}
			if err := netlink.AddrDel(link, &a); err != nil {
				return fmt.Errorf("delete address %s from %q: %w", p, GatewayIfname, err)
			}
		}

		for _, p := range want {
			if slices.Contains(have, p) {
				continue
			}
			addr := &netlink.Addr{
				IPNet: &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())},
			}
			if p.Addr().Is6() {
				addr.Flags = unix.IFA_F_NODAD
			}
			if err := netlink.AddrAdd(link, addr); err != nil {
				return fmt.Errorf("add address %s to %q: %w", p, GatewayIfname, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("set gateway addresses in netns %q: %w", netnsName, err)
	}
	return nil
}

// prefixOf converts a kernel address to an address with prefix length.
func prefixOf(n *net.IPNet) (netip.Prefix, bool) {
	if n == nil {
		return netip.Prefix{}, false
	}
	addr, ok := netip.AddrFromSlice(n.IP)
	if !ok {
		return netip.Prefix{}, false
	}
	bits, _ := n.Mask.Size()
	return netip.PrefixFrom(addr.Unmap(), bits), true
}

// enslave makes the link ifname a port of the bridge bridgeName, with IPv6
// disabled so that the host has no address on it, and sets it up.
func enslave(ifname, bridgeName string) error {
	link, err := netlinksafe.LinkByName(ifname)
	if err != nil {
		return fmt.Errorf("find link %q: %w", ifname, err)
	}
	bridge, err := netlinksafe.LinkByName(bridgeName)
	if err != nil {
		return fmt.Errorf("find bridge %q: %w", bridgeName, err)
	}

	if err := disableIPv6(ifname); err != nil {
		return err
	}

	if link.Attrs().MasterIndex != bridge.Attrs().Index {
		if err := netlink.LinkSetMaster(link, bridge); err != nil {
			return fmt.Errorf("enslave %q to bridge %q: %w", ifname, bridgeName, err)
		}
	}
	if err := netlink.LinkSetUp(link); err != nil {
		return fmt.Errorf("set up %q: %w", ifname, err)
	}
	return nil
}

// release removes the link ifname from its bridge when that bridge is one of
// bridges. It returns false without error when the link does not exist or
// is not a port of one of bridges.
func release(ifname string, bridges []string) (bool, error) {
	link, err := netlinksafe.LinkByName(ifname)
	if err != nil {
		if isLinkNotFound(err) {
			return false, nil
		}
		return false, fmt.Errorf("find link %q: %w", ifname, err)
	}
	master := link.Attrs().MasterIndex
	if master == 0 {
		return false, nil
	}
	bridge, err := netlink.LinkByIndex(master)
	if err != nil {
		if isLinkNotFound(err) {
			return false, nil
		}
		return false, fmt.Errorf("find master of %q: %w", ifname, err)
	}
	if !slices.Contains(bridges, bridge.Attrs().Name) {
		return false, nil
	}
	if err := netlink.LinkSetNoMaster(link); err != nil {
		return false, fmt.Errorf("remove %q from bridge %q: %w", ifname, bridge.Attrs().Name, err)
	}
	return true, nil
}

// removeNetwork deletes the veth, VXLAN device and bridge named by names
// in the node namespace nodeNetns ("" for the current one), and the gateway
// namespace, skipping those that do not exist. A node namespace that no
// longer exists took its links with it. It reports whether any object
// existed.
func removeNetwork(nodeNetns string, names Names) (bool, error) {
	var errs []error
	var linksRemoved bool
	err := inNetns(nodeNetns, func() error {
		var err error
		linksRemoved, err = removeLinks(names)
		return err
	})
	if err != nil && !isNetnsGone(err) {
		errs = append(errs, err)
	}
	netnsRemoved, err := DeleteNamedNetns(names.Netns)
	if err != nil {
		errs = append(errs, fmt.Errorf("delete netns %q: %w", names.Netns, err))
	}
	return linksRemoved || netnsRemoved, errors.Join(errs...)
}

// removeLinks deletes the veth, VXLAN device and bridge named by names in
// the current namespace, and reports whether any existed.
func removeLinks(names Names) (bool, error) {
	var errs []error
	var removed bool
	for _, name := range []string{names.Veth, names.VXLAN, names.Bridge} {
		if name == "" {
			continue
		}
		existed, err := deleteLink(name)
		if err != nil {
			errs = append(errs, err)
		}
		removed = removed || existed
	}
	return removed, errors.Join(errs...)
}

// deleteLink deletes the link name and reports whether it existed.
func deleteLink(name string) (bool, error) {
	link, err := netlinksafe.LinkByName(name)
	if err != nil {
		if isLinkNotFound(err) {
			return false, nil
		}
		return false, fmt.Errorf("find link %q: %w", name, err)
	}
	if err := netlink.LinkDel(link); err != nil {
		return false, fmt.Errorf("delete link %q: %w", name, err)
	}
	return true, nil
}

// setLinkUp sets the link name up in the current network namespace.
func setLinkUp(name string) error {
	link, err := netlinksafe.LinkByName(name)
	if err != nil {
		return fmt.Errorf("find link %q: %w", name, err)
	}
	if err := netlink.LinkSetUp(link); err != nil {
		return fmt.Errorf("set up %q: %w", name, err)
	}
	return nil
}

// disableIPv6 disables IPv6 on the link name in the current network
// namespace, so that the kernel gives it no link-local address. A kernel
// without IPv6 has nothing to disable.
func disableIPv6(name string) error {
	key := "net/ipv6/conf/" + name + "/disable_ipv6"
	if _, err := sysctl.Sysctl(key, "1"); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("disable IPv6 on %q: %w", name, err)
	}
	return nil
}

func isLinkNotFound(err error) bool {
	var notFound netlink.LinkNotFoundError
	return errors.As(err, &notFound)
}
