package plugin

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"

	"github.com/containernetworking/cni/pkg/types"
	"github.com/containernetworking/plugins/pkg/ip"
	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/containernetworking/plugins/pkg/ns"
	"golang.org/x/sys/unix"

	"github.com/contrail-vif/contrail-vif/pkg/agentclient"
	"github.com/contrail-vif/contrail-vif/pkg/attachment"
)

// podRoutes returns the routes of the pod interface: the config's routes,
// then the host routes of the VN's IPAM subnets that the controller
// recorded on the VMI.
//
// A config route must fit the interface: its family needs an address on
// the interface, and its gateway must lie in that address's subnet,
// because the kernel accepts only an on-link gateway. A host route that
// does not fit is skipped instead, because the controller records the host
// routes of every subnet of the VN, and a VMI has an address in at most one
// subnet per family. Host routes to a default destination are skipped too,
// since the default route stays on eth0 unless the pod requests
// "default-route", and so are host routes to a destination that a config
// route already covers.
func podRoutes(c *call, vmi *agentclient.VMConfigEntry, a *addressing) ([]attachment.Route, error) {
	var out []attachment.Route
	fromConfig := map[netip.Prefix]bool{}
	for i, r := range c.conf.ParsedRoutes() {
		if err := a.fits(r); err != nil {
			return nil, errorf(types.ErrInvalidNetworkConfig, "invalid routes[%d] %s for interface %q of VMI %s: %v; fix routes in the NetworkAttachmentDefinition",
				i, r, c.args.IfName, vmi.ID, err)
		}
		fromConfig[r.Dst] = true
		out = append(out, r)
	}

	value := attachment.ParseAgentAnnotations(vmi.Annotations)[attachment.KeyHostRoutes]
	hostRoutes, err := attachment.ParseRoutes(value)
	if err != nil {
		return nil, errorf(types.ErrDecodingFailure, "VMI %s has an invalid %s annotation %q in the vRouter agent: %v",
			vmi.ID, attachment.KeyHostRoutes, value, err)
	}
	for _, r := range hostRoutes {
		switch err := a.fits(r); {
		case r.Dst.Bits() == 0:
			c.log.Info("skipping IPAM host route to a default destination; request \"default-route\" to move the default route", "route", r.String())
		case fromConfig[r.Dst]:
			c.log.Info("skipping IPAM host route; the network config has a route to the same destination", "route", r.String())
		case err != nil:
			c.log.Debug("skipping IPAM host route of another subnet", "route", r.String(), "reason", err.Error())
		default:
			out = append(out, r)
		}
	}
	return out, nil
}

// fits returns why route r cannot go through an interface with addressing
// a, or nil when it can.
func (a *addressing) fits(r attachment.Route) error {
	cfg := a.ipv4
	if r.Dst.Addr().Is6() {
		cfg = a.ipv6
	}
	if cfg == nil {
		return fmt.Errorf("the interface has no address of the family of %s", r.Dst)
	}
	if !r.GW.IsValid() {
		return nil
	}
	subnet := net.IPNet{IP: cfg.Address.IP.Mask(cfg.Address.Mask), Mask: cfg.Address.Mask}
	if !subnet.Contains(net.IP(r.GW.AsSlice())) {
		return fmt.Errorf("gateway %s is outside the interface's subnet %s", r.GW, subnet.String())
	}
	return nil
}

// addRoutes adds routes through ifname in podNS and returns those it added.
// A route whose destination the namespace already has, for example through
// eth0 or through another attachment of the same network, is left as it is,
// logged, and not returned, so the CNI result lists only the plugin's own
// routes.
func addRoutes(podNS ns.NetNS, ifname string, routes []attachment.Route, log *slog.Logger) ([]*types.Route, error) {
	var added []*types.Route
	err := podNS.Do(func(ns.NetNS) error {
		link, err := netlinksafe.LinkByName(ifname)
		if err != nil {
			return fmt.Errorf("look up interface %q in netns %s: %w", ifname, podNS.Path(), err)
		}
		for _, r := range routes {
			route := resultRoute(r)
			err := ip.AddRoute(&route.Dst, route.GW, link)
			if errors.Is(err, unix.EEXIST) {
				log.Warn("the pod already has a route to this destination; leaving it", "route", r.String())
				continue
			}
			if err != nil {
				return fmt.Errorf("add route %s dev %s in netns %s: %w", r, ifname, podNS.Path(), err)
			}
			added = append(added, route)
		}
		return nil
	})
	return added, err
}

// resultRoute converts r to a CNI result route.
func resultRoute(r attachment.Route) *types.Route {
	out := &types.Route{Dst: net.IPNet{IP: net.IP(r.Dst.Addr().AsSlice()), Mask: net.CIDRMask(r.Dst.Bits(), r.Dst.Addr().BitLen())}}
	if r.GW.IsValid() {
		out.GW = net.IP(r.GW.AsSlice())
	}
	return out
}
