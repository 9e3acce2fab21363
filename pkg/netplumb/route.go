package netplumb

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netlink"
)

// ReplaceDefaultRoutes makes ifname the pod's default route for the family
// of each gateway: it deletes the existing default routes of that family,
// whichever interface they use, and adds one via the gateway through ifname.
func ReplaceDefaultRoutes(podNS ns.NetNS, ifname string, gateways []netip.Addr) error {
	return podNS.Do(func(ns.NetNS) error {
		link, err := netlinksafe.LinkByName(ifname)
		if err != nil {
			return fmt.Errorf("find %q: %w", ifname, err)
		}
		for _, gw := range gateways {
			family := netlink.FAMILY_V4
			if gw.Is6() {
				family = netlink.FAMILY_V6
			}
			routes, err := netlinksafe.RouteList(nil, family)
			if err != nil {
				return fmt.Errorf("list routes: %w", err)
			}
			for _, r := range routes {
				if isDefault(r) {
					if err := netlink.RouteDel(&r); err != nil {
						return fmt.Errorf("delete default route via %s: %w", r.Gw, err)
					}
				}
			}
			route := netlink.Route{LinkIndex: link.Attrs().Index, Gw: net.IP(gw.AsSlice())}
			if err := netlink.RouteAdd(&route); err != nil {
				return fmt.Errorf("add default route via %s dev %s: %w", gw, ifname, err)
			}
		}
		return nil
	})
}

// isDefault reports whether r is a default route; netlink reports its
// destination as nil or as the zero prefix depending on the version.
func isDefault(r netlink.Route) bool {
	if r.Dst == nil {
		return true
	}
	ones, _ := r.Dst.Mask.Size()
	return ones == 0 && r.Dst.IP.IsUnspecified()
}
