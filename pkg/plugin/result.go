package plugin

import (
	"fmt"
	"net"

	"github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"

	"github.com/contrail-vif/contrail-vif/pkg/agentclient"
	"github.com/contrail-vif/contrail-vif/pkg/netconf"
)

// ipv6PrefixLen is the prefix length of the pod's IPv6 address.
//
// NOTE: the agent's port reply has "plen" for IPv4 only; for IPv6 it sends
// the address, gateway and DNS server without a prefix length. 64 is the
// usual IPv6 subnet size; a VN with another IPv6 subnet size gets a wrong
// on-link route in the pod.
const ipv6PrefixLen = 64

// addressing is the pod interface configuration that the agent reports for
// a VMI.
type addressing struct {
	mac  net.HardwareAddr
	ipv4 *current.IPConfig
	ipv6 *current.IPConfig
	// nameservers are the subnets' DNS server addresses, IPv4 first.
	nameservers []string
}

// newAddressing reads the addresses of port. The MAC comes from the port,
// or from configMAC (the /vm-cfg entry) when the port has none.
func newAddressing(port *agentclient.Port, configMAC string) (*addressing, error) {
	macText := port.MACAddress
	if macText == "" {
		macText = configMAC
	}
	mac, err := netconf.ParseUnicastMAC(macText)
	if err != nil {
		return nil, fmt.Errorf("VMI %s has an invalid mac-address in the vRouter agent: %w", port.ID, err)
	}
	a := &addressing{mac: mac}

	if port.IPAddress != "" {
		a.ipv4, err = ipConfig(port.IPAddress, port.PrefixLen, port.Gateway, net.IPv4len)
		if err != nil {
			return nil, fmt.Errorf("VMI %s has an invalid IPv4 configuration in the vRouter agent: %w", port.ID, err)
		}
		a.addNameserver(port.DNSServer)
	}
	if port.IPv6Address != "" {
		a.ipv6, err = ipConfig(port.IPv6Address, ipv6PrefixLen, port.IPv6Gateway, net.IPv6len)
		if err != nil {
			return nil, fmt.Errorf("VMI %s has an invalid IPv6 configuration in the vRouter agent: %w", port.ID, err)
		}
		a.addNameserver(port.IPv6DNSServer)
	}
	if a.ipv4 == nil && a.ipv6 == nil {
		return nil, fmt.Errorf("VMI %s has no address in the vRouter agent", port.ID)
	}
	return a, nil
}

// ipConfig parses an address of the family with size bytes, its prefix
// length and its gateway. An empty or unspecified gateway gives none.
func ipConfig(address string, prefixLen int, gateway string, size int) (*current.IPConfig, error) {
	ip := net.ParseIP(address)
	if ip == nil || (size == net.IPv4len) != (ip.To4() != nil) || ip.IsUnspecified() {
		return nil, fmt.Errorf("invalid address %q", address)
	}
	if prefixLen < 1 || prefixLen > 8*size {
		return nil, fmt.Errorf("invalid prefix length %d for address %s", prefixLen, address)
	}
	if size == net.IPv4len {
		ip = ip.To4()
	}
	cfg := &current.IPConfig{
		Interface: current.Int(podInterfaceIndex),
		Address:   net.IPNet{IP: ip, Mask: net.CIDRMask(prefixLen, 8*size)},
	}
	if gateway != "" {
		gw := net.ParseIP(gateway)
		if gw == nil {
			return nil, fmt.Errorf("invalid gateway %q", gateway)
		}
		if (gw.To4() != nil) != (size == net.IPv4len) {
			return nil, fmt.Errorf("invalid gateway %q for address %s: the address families differ", gateway, address)
		}
		if !gw.IsUnspecified() {
			cfg.Gateway = gw
		}
	}
	return cfg, nil
}

func (a *addressing) addNameserver(s string) {
	if ip := net.ParseIP(s); ip != nil && !ip.IsUnspecified() {
		a.nameservers = append(a.nameservers, ip.String())
	}
}

// ips returns the IPv4 and then the IPv6 configuration, where present.
func (a *addressing) ips() []*current.IPConfig {
	var out []*current.IPConfig
	for _, c := range []*current.IPConfig{a.ipv4, a.ipv6} {
		if c != nil {
			out = append(out, c)
		}
	}
	return out
}

// addresses returns the addresses with their prefixes, for the pod interface.
func (a *addressing) addresses() []*net.IPNet {
	var out []*net.IPNet
	for _, c := range a.ips() {
		addr := c.Address
		out = append(out, &addr)
	}
	return out
}

// sameAddresses reports whether port has the addresses of a.
func (a *addressing) sameAddresses(port *agentclient.Port) bool {
	return sameIP(a.ipv4, port.IPAddress) && sameIP(a.ipv6, port.IPv6Address)
}

func sameIP(cfg *current.IPConfig, reported string) bool {
	if cfg == nil {
		return reported == ""
	}
	return cfg.Address.IP.Equal(net.ParseIP(reported))
}

// Indexes of the interfaces in the ADD result.
const (
	hostInterfaceIndex = 0
	podInterfaceIndex  = 1
)

// newResult builds the ADD result: the host tap without a sandbox, the pod
// interface in sandbox netnsPath, the addresses on the pod interface, and
// the subnets' DNS servers. The caller adds the routes.
func newResult(host, pod net.Interface, netnsPath string, a *addressing) *current.Result {
	return &current.Result{
		CNIVersion: current.ImplementedSpecVersion,
		Interfaces: []*current.Interface{
			hostInterfaceIndex: {Name: host.Name, Mac: host.HardwareAddr.String()},
			podInterfaceIndex:  {Name: pod.Name, Mac: pod.HardwareAddr.String(), Mtu: pod.MTU, Sandbox: netnsPath},
		},
		IPs: a.ips(),
		DNS: types.DNS{Nameservers: a.nameservers},
	}
}
