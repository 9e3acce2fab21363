// Package netplumb creates, configures, checks and deletes the veth pair
// that connects a pod network namespace to the vRouter: the host end (the
// tap that the agent binds to a VMI) and the pod end (CNI_IFNAME).
//
// Every function takes the namespaces it works in explicitly and does no
// network I/O other than netlink inside them.
package netplumb

import (
	"errors"
	"fmt"
	"net"

	"github.com/containernetworking/plugins/pkg/ip"
	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// ErrLinkExists is returned by CreateVeth when the pod interface name is
// already used in the pod namespace.
var ErrLinkExists = errors.New("link already exists")

// Veth describes the pair CreateVeth makes.
type Veth struct {
	// HostName is the host end, created in the host namespace.
	HostName string
	// PodName is the pod end, created in the pod namespace.
	PodName string
	// MTU of both ends.
	MTU int
	// PodMAC is the MAC address of the pod end.
	PodMAC net.HardwareAddr
}

// CreateVeth creates v with its host end in hostNS (up, IPv6 router
// advertisements ignored) and its pod end in podNS (down, no addresses).
// It returns the interfaces as created. It fails with an error matching
// ErrLinkExists when podNS already has a link named v.PodName. A link named
// v.HostName in hostNS also makes it fail, so delete a leftover one first.
func CreateVeth(hostNS, podNS ns.NetNS, v Veth) (host, pod net.Interface, err error) {
	err = podNS.Do(func(ns.NetNS) error {
		_, lookupErr := netlinksafe.LinkByName(v.PodName)
		if lookupErr == nil {
			return fmt.Errorf("interface %q in netns %s: %w", v.PodName, podNS.Path(), ErrLinkExists)
		}
		if !isLinkNotFound(lookupErr) {
			return fmt.Errorf("look up interface %q in netns %s: %w", v.PodName, podNS.Path(), lookupErr)
		}

		var setupErr error
		host, pod, setupErr = ip.SetupVethWithName(v.PodName, v.HostName, v.MTU, v.PodMAC.String(), hostNS)
		if setupErr != nil {
			return fmt.Errorf("create veth pair %q (pod) and %q (host): %w", v.PodName, v.HostName, setupErr)
		}
		return nil
	})
	return host, pod, err
}

// ConfigureAddresses adds addrs to the link ifname in podNS and sets it up.
// The kernel then adds the on-link subnet routes; no other route is added.
// IPv6 addresses skip duplicate address detection, because the VMI address
// is unique in the virtual network and the vRouter replies for the subnet.
func ConfigureAddresses(podNS ns.NetNS, ifname string, addrs []*net.IPNet) error {
	return podNS.Do(func(ns.NetNS) error {
		link, err := netlinksafe.LinkByName(ifname)
		if err != nil {
			return fmt.Errorf("look up interface %q in netns %s: %w", ifname, podNS.Path(), err)
		}
		for _, a := range addrs {
			addr := &netlink.Addr{IPNet: a}
			if a.IP.To4() == nil {
				addr.Flags = unix.IFA_F_NODAD
			}
			if err := netlink.AddrAdd(link, addr); err != nil {
				return fmt.Errorf("add address %s to interface %q in netns %s: %w", a, ifname, podNS.Path(), err)
			}
		}
		if err := netlink.LinkSetUp(link); err != nil {
			return fmt.Errorf("set interface %q up in netns %s: %w", ifname, podNS.Path(), err)
		}
		return nil
	})
}

// LinkExists reports whether netns has a link named name.
func LinkExists(netns ns.NetNS, name string) (bool, error) {
	var found bool
	err := netns.Do(func(ns.NetNS) error {
		_, err := netlinksafe.LinkByName(name)
		if isLinkNotFound(err) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("look up interface %q in netns %s: %w", name, netns.Path(), err)
		}
		found = true
		return nil
	})
	return found, err
}

// DeleteLink deletes the link name in netns and reports whether it existed.
// Deleting either end of a veth pair deletes both.
func DeleteLink(netns ns.NetNS, name string) (bool, error) {
	deleted := false
	err := netns.Do(func(ns.NetNS) error {
		err := ip.DelLinkByName(name)
		if errors.Is(err, ip.ErrLinkNotFound) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("delete interface %q in netns %s: %w", name, netns.Path(), err)
		}
		deleted = true
		return nil
	})
	return deleted, err
}

// DeleteLinkAt deletes the link name in the namespace at netnsPath and
// reports whether it existed. An empty path, or one that is no longer a
// namespace, means that the link is gone with its namespace.
func DeleteLinkAt(netnsPath, name string) (bool, error) {
	if netnsPath == "" {
		return false, nil
	}
	netns, err := ns.GetNS(netnsPath)
	if IsNetnsGone(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("open netns %s: %w", netnsPath, err)
	}
	defer netns.Close()
	return DeleteLink(netns, name)
}

// IsNetnsGone reports whether err from ns.GetNS means that the path no
// longer refers to a network namespace.
func IsNetnsGone(err error) bool {
	var notExist ns.NSPathNotExistErr
	var notNS ns.NSPathNotNSErr
	return errors.As(err, &notExist) || errors.As(err, &notNS)
}

func isLinkNotFound(err error) bool {
	var notFound netlink.LinkNotFoundError
	return errors.As(err, &notFound)
}
