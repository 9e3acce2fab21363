package plugin

import (
	"net"
	"net/netip"
	"strings"

	"github.com/containernetworking/cni/pkg/types"

	"github.com/contrail-vif/contrail-vif/pkg/agentclient"
	"github.com/contrail-vif/contrail-vif/pkg/attachment"
)

// defaultRouteRequest returns the gateways of the pod's "default-route"
// request that the controller recorded on the VMI.
func defaultRouteRequest(vmi *agentclient.VMConfigEntry) ([]netip.Addr, error) {
	value := attachment.ParseAgentAnnotations(vmi.Annotations)[attachment.KeyDefaultRoute]
	if value == "" {
		return nil, nil
	}
	var out []netip.Addr
	for _, s := range strings.Split(value, ",") {
		gw, err := netip.ParseAddr(strings.TrimSpace(s))
		if err != nil {
			return nil, errorf(types.ErrDecodingFailure, "VMI %s has an invalid %s annotation %q in the vRouter agent: %v",
				vmi.ID, attachment.KeyDefaultRoute, value, err)
		}
		out = append(out, gw)
	}
	return out, nil
}

// defaultRoute is the result route for a default gateway.
func defaultRoute(gw netip.Addr) *types.Route {
	dst := net.IPNet{IP: net.IPv4zero.To4(), Mask: net.CIDRMask(0, 32)}
	if gw.Is6() {
		dst = net.IPNet{IP: net.IPv6zero, Mask: net.CIDRMask(0, 128)}
	}
	return &types.Route{Dst: dst, GW: net.IP(gw.AsSlice())}
}
