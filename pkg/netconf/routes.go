package netconf

import (
	"fmt"
	"net/netip"

	"github.com/contrail-vif/contrail-vif/pkg/attachment"
)

// Route is one entry of the config's "routes": a route to Dst through the
// pod interface, via GW when it is set.
type Route struct {
	// Dst is the destination prefix, for example "10.20.0.0/16" or
	// "fd00:20::/64".
	Dst string `json:"dst"`
	// GW is the next hop, an address of the same family as Dst. Empty
	// makes the route go directly through the interface.
	GW string `json:"gw,omitempty"`
}

// validateRoutes checks each route and rejects two routes to the same
// destination.
func (c *NetConf) validateRoutes() error {
	seen := map[netip.Prefix]int{}
	for i, r := range c.Routes {
		parsed, err := r.parse()
		if err != nil {
			return fmt.Errorf("invalid routes[%d]: %w", i, err)
		}
		if j, ok := seen[parsed.Dst]; ok {
			return fmt.Errorf("invalid routes[%d]: routes[%d] has the same dst %s; keep one of them", i, j, parsed.Dst)
		}
		seen[parsed.Dst] = i
	}
	return nil
}

// parse checks r and converts it.
func (r Route) parse() (attachment.Route, error) {
	dst, err := netip.ParsePrefix(r.Dst)
	if err != nil || dst.Addr().Zone() != "" {
		return attachment.Route{}, fmt.Errorf("dst %q is not a prefix such as 10.20.0.0/16 or fd00:20::/64", r.Dst)
	}
	if dst != dst.Masked() {
		return attachment.Route{}, fmt.Errorf("dst %q has host bits set; use %s", r.Dst, dst.Masked())
	}
	if dst.Bits() == 0 {
		return attachment.Route{}, fmt.Errorf("dst %q is a default route; request a default route with \"default-route\" in the pod's network selection element instead, because eth0 has one", r.Dst)
	}
	out := attachment.Route{Dst: dst}
	if r.GW == "" {
		return out, nil
	}
	gw, err := netip.ParseAddr(r.GW)
	if err != nil || gw.Zone() != "" || gw.IsUnspecified() {
		return attachment.Route{}, fmt.Errorf("gw %q of dst %s is not a unicast address", r.GW, r.Dst)
	}
	if gw.Is4() != dst.Addr().Is4() {
		return attachment.Route{}, fmt.Errorf("gw %q is not of the same address family as dst %s", r.GW, r.Dst)
	}
	out.GW = gw
	return out, nil
}

// ParsedRoutes returns the config's routes. Call it on a config that Parse
// or Validate accepted; it skips routes that fail validation.
func (c *NetConf) ParsedRoutes() []attachment.Route {
	out := make([]attachment.Route, 0, len(c.Routes))
	for _, r := range c.Routes {
		if parsed, err := r.parse(); err == nil {
			out = append(out, parsed)
		}
	}
	return out
}
