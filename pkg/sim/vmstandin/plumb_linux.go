package vmstandin

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netlink"

	"github.com/contrail-vif/contrail-vif/pkg/netplumb"
	"github.com/contrail-vif/contrail-vif/pkg/sim/dataplane"
)

// hostNS opens the namespace of the taps.
func (c *Client) hostNS() (ns.NetNS, error) {
	if c.HostNetns == "" {
		return ns.GetCurrentNS()
	}
	return ns.GetNS(dataplane.NetnsPath(c.HostNetns))
}

// plug creates the VM namespace and the veth pair between the tap in the
// host namespace and GuestIfname, with the VMI's MAC address, in the VM
// namespace.
func (c *Client) plug(vm *VM) error {
	mac, err := hardwareAddr(vm.MAC)
	if err != nil {
		return fmt.Errorf("plug VM %q: %w", vm.Name, err)
	}
	if err := dataplane.CreateNamedNetns(vm.Netns); err != nil {
		return fmt.Errorf("create netns of VM %q: %w", vm.Name, err)
	}

	vmNS, err := ns.GetNS(vm.NetnsPath())
	if err != nil {
		return fmt.Errorf("open netns %s of VM %q: %w", vm.NetnsPath(), vm.Name, err)
	}
	defer vmNS.Close()
	hostNS, err := c.hostNS()
	if err != nil {
		return fmt.Errorf("open host netns %q of the taps: %w", c.HostNetns, err)
	}
	defer hostNS.Close()

	veth := netplumb.Veth{HostName: vm.Tap, PodName: GuestIfname, MTU: guestMTU, PodMAC: mac}
	if _, _, err := netplumb.CreateVeth(hostNS, vmNS, veth); err != nil {
		return fmt.Errorf("create tap %q of VM %q: %w", vm.Tap, vm.Name, err)
	}
	return nil
}

// configureGuest gives GuestIfname in the VM namespace the VM's addresses
// and a default route through each gateway, and sets the loopback up.
func (c *Client) configureGuest(vm *VM) error {
	vmNS, err := ns.GetNS(vm.NetnsPath())
	if err != nil {
		return fmt.Errorf("open netns %s of VM %q: %w", vm.NetnsPath(), vm.Name, err)
	}
	defer vmNS.Close()

	addrs := make([]*net.IPNet, 0, len(vm.Addresses))
	for _, p := range vm.Addresses {
		addrs = append(addrs, ipNet(p))
	}
	if err := netplumb.ConfigureAddresses(vmNS, GuestIfname, addrs); err != nil {
		return fmt.Errorf("configure VM %q: %w", vm.Name, err)
	}

	err = vmNS.Do(func(ns.NetNS) error {
		lo, err := netlinksafe.LinkByName("lo")
		if err != nil {
			return fmt.Errorf("find lo: %w", err)
		}
		if err := netlink.LinkSetUp(lo); err != nil {
			return fmt.Errorf("set up lo: %w", err)
		}
		link, err := netlinksafe.LinkByName(GuestIfname)
		if err != nil {
			return fmt.Errorf("find %q: %w", GuestIfname, err)
		}
		for _, gw := range vm.Gateways {
			dst := netip.PrefixFrom(netip.IPv4Unspecified(), 0)
			if gw.Is6() {
				dst = netip.PrefixFrom(netip.IPv6Unspecified(), 0)
			}
			route := &netlink.Route{LinkIndex: link.Attrs().Index, Dst: ipNet(dst), Gw: gw.AsSlice()}
			if err := netlink.RouteAdd(route); err != nil {
				return fmt.Errorf("add default route via %s: %w", gw, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("configure VM %q in netns %s: %w", vm.Name, vm.NetnsPath(), err)
	}
	return nil
}

// unplug deletes the tap, and with it the guest end, and the VM namespace.
// It reports whether the namespace existed.
func (c *Client) unplug(name, tap string) (bool, error) {
	hostNS, err := c.hostNS()
	switch {
	case netplumb.IsNetnsGone(err):
		// The tap went with its namespace.
	case err != nil:
		return false, fmt.Errorf("open host netns %q of the taps: %w", c.HostNetns, err)
	default:
		_, err := netplumb.DeleteLink(hostNS, tap)
		hostNS.Close()
		if err != nil {
			return false, fmt.Errorf("delete tap %q of VM %q: %w", tap, name, err)
		}
	}

	netnsName := c.netnsName(name)
	existed, err := dataplane.DeleteNamedNetns(netnsName)
	if err != nil {
		return false, fmt.Errorf("delete netns %q of VM %q: %w", netnsName, name, err)
	}
	if existed {
		c.logger().Info("deleted VM netns", "vm", name, "netns", netnsName)
	}
	return existed, nil
}

func ipNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}
