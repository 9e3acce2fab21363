package attachment

import (
	"fmt"
	"net/netip"
	"strings"
)

// KeyHostRoutes lists the host routes of the VN's IPAM subnets that the
// controller copied onto the VMI, in the form FormatRoutes writes. It is
// absent when the subnets have none.
//
// The controller copies them because the plugin has no config API
// credentials and the agent's port API reports no routes. GET /vm-cfg
// returns a VMI's annotations but not its properties, and GET /port returns
// only the address, gateway and DNS server of each family.
const KeyHostRoutes = "host_routes"

// Route is a route to Dst, via GW or, when GW is the zero Addr, directly
// through the interface.
type Route struct {
	Dst netip.Prefix
	GW  netip.Addr
}

// String returns "dst" or "dst via gw", as ip-route prints a route.
func (r Route) String() string {
	if !r.GW.IsValid() {
		return r.Dst.String()
	}
	return r.Dst.String() + " via " + r.GW.String()
}

// FormatRoutes returns the KeyHostRoutes value for routes: their String
// forms separated by ",".
func FormatRoutes(routes []Route) string {
	parts := make([]string, 0, len(routes))
	for _, r := range routes {
		parts = append(parts, r.String())
	}
	return strings.Join(parts, ",")
}

// ParseRoutes reads a value that FormatRoutes wrote. It rejects a
// destination with host bits set and a gateway of another address family
// than its destination.
func ParseRoutes(value string) ([]Route, error) {
	if strings.TrimSpace(value) == "" {
		return nil, nil
	}
	var out []Route
	for _, part := range strings.Split(value, ",") {
		dstText, gwText, hasGW := strings.Cut(strings.TrimSpace(part), " via ")
		dst, err := netip.ParsePrefix(strings.TrimSpace(dstText))
		if err != nil || dst != dst.Masked() {
			return nil, fmt.Errorf("invalid route %q: expected \"<prefix>\" or \"<prefix> via <gateway>\" with the host bits of the prefix zero", part)
		}
		r := Route{Dst: dst}
		if hasGW {
			gw, err := netip.ParseAddr(strings.TrimSpace(gwText))
			if err != nil || gw.Is4() != dst.Addr().Is4() || gw.Zone() != "" {
				return nil, fmt.Errorf("invalid route %q: the gateway must be an address of the same family as %s", part, dst)
			}
			r.GW = gw
		}
		out = append(out, r)
	}
	return out, nil
}
