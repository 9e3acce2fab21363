package controller

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/contrail-vif/contrail-vif/pkg/attachment"
	"github.com/contrail-vif/contrail-vif/pkg/vncclient"
)

// vnIPAMView is the part of a virtual-network that vnInfo reads: the
// subnets on its network_ipam_refs (VnSubnetsType) with their host routes.
// Contrail has host routes on each IpamSubnetType and on the VnSubnetsType
// that holds them. Those of the VnSubnetsType apply to every subnet of the
// ref.
type vnIPAMView struct {
	NetworkIpamRefs []struct {
		Attr *struct {
			IpamSubnets []struct {
				Subnet     *vncclient.SubnetPrefix `json:"subnet"`
				HostRoutes *routeTable             `json:"host_routes"`
			} `json:"ipam_subnets"`
			HostRoutes *routeTable `json:"host_routes"`
		} `json:"attr"`
	} `json:"network_ipam_refs"`
}

// routeTable is Contrail's RouteTableType.
type routeTable struct {
	Route []routeType `json:"route"`
}

// routeType is the part of Contrail's RouteType that a host route uses.
// next_hop_type names what next_hop is; it is an IP address when the type
// is empty or "ip-address".
type routeType struct {
	Prefix      string `json:"prefix"`
	NextHop     string `json:"next_hop"`
	NextHopType string `json:"next_hop_type"`
}

// NOTE: host routes on the network-ipam object itself are not read: neither
// those of a flat-subnet IPAM's ipam_subnets nor network_ipam_mgmt.host_routes.
// A VN whose subnets live on a flat-subnet IPAM gives its pods no host routes.

// hostRoutes returns the host routes of the VN's IPAM subnets, each route
// once. It also describes the routes it cannot use. Their prefix or next hop
// does not parse, or the next hop is of another family or not an IP address.
func (v *vnIPAMView) hostRoutes() (routes []attachment.Route, skipped []string) {
	seen := map[attachment.Route]bool{}
	add := func(table *routeTable) {
		if table == nil {
			return
		}
		for _, rt := range table.Route {
			r, err := rt.parse()
			if err != nil {
				skipped = append(skipped, err.Error())
				continue
			}
			if !seen[r] {
				seen[r] = true
				routes = append(routes, r)
			}
		}
	}
	for _, ref := range v.NetworkIpamRefs {
		if ref.Attr == nil {
			continue
		}
		for _, sub := range ref.Attr.IpamSubnets {
			add(sub.HostRoutes)
		}
		add(ref.Attr.HostRoutes)
	}
	return routes, skipped
}

func (rt routeType) parse() (attachment.Route, error) {
	if rt.NextHopType != "" && rt.NextHopType != "ip-address" {
		return attachment.Route{}, fmt.Errorf("host route %s has next_hop_type %q; only ip-address next hops can be set in a pod", rt.Prefix, rt.NextHopType)
	}
	dst, err := netip.ParsePrefix(strings.TrimSpace(rt.Prefix))
	if err != nil {
		return attachment.Route{}, fmt.Errorf("host route prefix %q is not a prefix", rt.Prefix)
	}
	r := attachment.Route{Dst: dst.Masked()}
	if strings.TrimSpace(rt.NextHop) == "" {
		return r, nil
	}
	gw, err := netip.ParseAddr(strings.TrimSpace(rt.NextHop))
	if err != nil || gw.Zone() != "" || gw.Is4() != dst.Addr().Is4() {
		return attachment.Route{}, fmt.Errorf("host route %s has next_hop %q, which is not an address of the same family", rt.Prefix, rt.NextHop)
	}
	if !gw.IsUnspecified() {
		r.GW = gw
	}
	return r, nil
}
