package netconf

import (
	"fmt"
	"net/netip"
)

// Subnet is one IPAM subnet of a virtual network that the controller creates
// for a NAD.
type Subnet struct {
	// CIDR is the subnet, for example "10.10.3.0/24" or "fd00:10::/64".
	CIDR string `json:"cidr"`
	// Gateway is the default gateway address. Empty lets Contrail choose,
	// which is the subnet's highest address minus one (.254 in a /24).
	Gateway string `json:"gateway,omitempty"`
	// AllocationPools limit the addresses Contrail hands out.
	AllocationPools []AllocationPool `json:"allocationPools,omitempty"`
}

// AllocationPool is an inclusive address range inside a subnet.
type AllocationPool struct {
	Start string `json:"start"`
	End   string `json:"end"`
}

// Forwarding modes of a Contrail virtual network
// (virtual_network_properties.forwarding_mode).
var forwardingModes = map[string]bool{"l2_l3": true, "l2": true, "l3": true}

// ManagesNetwork reports whether the NAD asks the controller to create its
// virtual network when it does not exist.
func (c *NetConf) ManagesNetwork() bool {
	return len(c.Subnets) > 0
}

// validateNetwork checks the fields that describe a VN to create.
func (c *NetConf) validateNetwork() error {
	if c.ForwardingMode != "" && !forwardingModes[c.ForwardingMode] {
		return fmt.Errorf("invalid forwardingMode %q: expected l2_l3, l2 or l3", c.ForwardingMode)
	}
	if c.ForwardingMode != "" && len(c.Subnets) == 0 {
		return fmt.Errorf("forwardingMode %q is set but subnets is empty; forwardingMode applies only to a network the controller creates", c.ForwardingMode)
	}
	var seen []netip.Prefix
	for i, s := range c.Subnets {
		prefix, err := netip.ParsePrefix(s.CIDR)
		if err != nil {
			return fmt.Errorf("invalid subnets[%d].cidr %q: %w", i, s.CIDR, err)
		}
		if prefix != prefix.Masked() {
			return fmt.Errorf("invalid subnets[%d].cidr %q: host bits are set; use %s", i, s.CIDR, prefix.Masked())
		}
		for _, other := range seen {
			if other.Overlaps(prefix) {
				return fmt.Errorf("invalid subnets[%d].cidr %q: it overlaps %s", i, s.CIDR, other)
			}
		}
		seen = append(seen, prefix)
		if s.Gateway != "" {
			gw, err := netip.ParseAddr(s.Gateway)
			if err != nil || !prefix.Contains(gw) {
				return fmt.Errorf("invalid subnets[%d].gateway %q: it must be an address inside %s", i, s.Gateway, s.CIDR)
			}
		}
		for j, p := range s.AllocationPools {
			start, err1 := netip.ParseAddr(p.Start)
			end, err2 := netip.ParseAddr(p.End)
			if err1 != nil || err2 != nil || !prefix.Contains(start) || !prefix.Contains(end) || end.Less(start) {
				return fmt.Errorf("invalid subnets[%d].allocationPools[%d] %s-%s: start and end must be addresses inside %s with start <= end",
					i, j, p.Start, p.End, s.CIDR)
			}
		}
	}
	return nil
}
