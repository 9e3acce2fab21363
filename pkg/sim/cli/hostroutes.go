package cli

import (
	"fmt"
	"net/netip"
	"strings"
)

// hostRouteFlags collects the repeated --host-route flag of create-vn.
type hostRouteFlags []string

func (h *hostRouteFlags) String() string { return strings.Join(*h, ",") }

func (h *hostRouteFlags) Set(v string) error {
	*h = append(*h, v)
	return nil
}

// hostRoute is one --host-route value: PREFIX or PREFIX=NEXTHOP.
type hostRoute struct {
	prefix  netip.Prefix
	nextHop netip.Addr // the zero Addr when the route has no next hop
}

func parseHostRoute(s string) (hostRoute, error) {
	prefixText, hopText, hasHop := strings.Cut(s, "=")
	prefix, err := netip.ParsePrefix(prefixText)
	if err != nil || prefix != prefix.Masked() {
		return hostRoute{}, fmt.Errorf("invalid --host-route %q: want PREFIX or PREFIX=NEXTHOP with the host bits of PREFIX zero, such as 10.20.0.0/16=10.10.7.1", s)
	}
	r := hostRoute{prefix: prefix}
	if hasHop {
		hop, err := netip.ParseAddr(hopText)
		if err != nil || hop.Is4() != prefix.Addr().Is4() {
			return hostRoute{}, fmt.Errorf("invalid --host-route %q: NEXTHOP must be an address of the same family as PREFIX", s)
		}
		r.nextHop = hop
	}
	return r, nil
}

// routeType returns the route as Contrail's RouteType.
func (r hostRoute) routeType() map[string]any {
	out := map[string]any{"prefix": r.prefix.String()}
	if r.nextHop.IsValid() {
		out["next_hop"] = r.nextHop.String()
		out["next_hop_type"] = "ip-address"
	}
	return out
}

// assignHostRoutes returns, per subnet, the RouteTableType of the routes
// that go on it: a route goes on the subnet that contains its next hop, or
// else on the first subnet of its address family.
func assignHostRoutes(values []string, subnets []netip.Prefix) ([]map[string]any, error) {
	perSubnet := make([][]any, len(subnets))
	for _, v := range values {
		r, err := parseHostRoute(v)
		if err != nil {
			return nil, err
		}
		target := -1
		for i, s := range subnets {
			if s.Addr().Is4() != r.prefix.Addr().Is4() {
				continue
			}
			if target < 0 {
				target = i
			}
			if r.nextHop.IsValid() && s.Contains(r.nextHop) {
				target = i
				break
			}
		}
		if target < 0 {
			return nil, fmt.Errorf("invalid --host-route %q: the virtual network has no subnet of its address family", v)
		}
		perSubnet[target] = append(perSubnet[target], r.routeType())
	}
	out := make([]map[string]any, len(subnets))
	for i, routes := range perSubnet {
		if len(routes) > 0 {
			out[i] = map[string]any{"route": routes}
		}
	}
	return out, nil
}
