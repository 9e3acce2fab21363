// Package dataplane gives the simulator's bound ports a real kernel data
// plane, standing in for the vRouter forwarding of one compute node.
//
// Each virtual network (VN) gets one Linux bridge in the host network
// namespace and one "gateway" network namespace attached to that bridge by a
// veth pair. The gateway namespace holds the gateway address of every subnet
// of the VN, so it replies to ARP, neighbor solicitations and ping for the
// gateway the way the vRouter does. It has no route out of the VN, so traffic aimed at
// another VN gets ICMP unreachable and never leaves the machine. The host has
// no address on the bridges and IPv6 is disabled on every host-side link the
// data plane touches, so VNs are separate L2 domains that the host does not
// route between.
//
// Linux VRF devices would be the closer match to a vRouter VRF, but the
// kernels this project runs on do not always have them.
//
// NOTE: when the br_netfilter module is loaded with
// net.bridge.bridge-nf-call-iptables=1, bridged traffic also passes the host's
// iptables FORWARD chain, so a host firewall that drops forwarded traffic
// also drops traffic between ports of one VN.
package dataplane

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"sync"

	"github.com/google/uuid"
)

// Default name prefixes of the links and namespaces a DataPlane creates.
const (
	DefaultLinkPrefix  = "cv"
	DefaultNetnsPrefix = "csim-gw-"
)

// maxLinkPrefix is the longest LinkPrefix that keeps a link name within the
// kernel's 15-character limit (IFNAMSIZ - 1): prefix, one role letter and
// 8 hex digits of the VN uuid.
const maxLinkPrefix = 15 - 1 - shortIDLen

// shortIDLen is the number of hex digits of the VN uuid in the names.
const shortIDLen = 8

// GatewayIfname is the name of the gateway's interface inside a gateway
// namespace.
const GatewayIfname = "gw0"

// Config sets the names of what a DataPlane creates. A process that shares
// the machine with another simulator or test gives each one its own prefixes.
type Config struct {
	// LinkPrefix starts the name of every link created in the host
	// namespace: the VN bridge is LinkPrefix+"b"+<8 hex digits of the VN
	// uuid> and the host end of the gateway veth is LinkPrefix+"g"+<same>.
	// At most 6 characters; DefaultLinkPrefix when empty.
	LinkPrefix string
	// NetnsPrefix starts the name of every gateway network namespace,
	// NetnsPrefix+<8 hex digits of the VN uuid>, visible as
	// /run/netns/<name>. DefaultNetnsPrefix when empty.
	NetnsPrefix string
}

// withDefaults returns c with empty prefixes replaced by the defaults, or an
// error when a prefix cannot form valid names.
func (c Config) withDefaults() (Config, error) {
	if c.LinkPrefix == "" {
		c.LinkPrefix = DefaultLinkPrefix
	}
	if c.NetnsPrefix == "" {
		c.NetnsPrefix = DefaultNetnsPrefix
	}
	if len(c.LinkPrefix) > maxLinkPrefix {
		return c, fmt.Errorf("invalid link prefix %q: longer than %d characters", c.LinkPrefix, maxLinkPrefix)
	}
	if strings.ContainsAny(c.LinkPrefix, "/: \t\n") {
		return c, fmt.Errorf("invalid link prefix %q: contains '/', ':' or white space", c.LinkPrefix)
	}
	if strings.ContainsAny(c.NetnsPrefix, "/ \t\n") || strings.HasPrefix(c.NetnsPrefix, ".") {
		return c, fmt.Errorf("invalid netns prefix %q: contains '/' or white space, or starts with '.'", c.NetnsPrefix)
	}
	return c, nil
}

// Names are the names of the kernel objects that carry one VN.
type Names struct {
	Bridge string // bridge in the host namespace
	Veth   string // host end of the veth pair to the gateway namespace
	Netns  string // gateway namespace, /run/netns/<Netns>
}

// NamesFor returns the names the data plane with config c uses for the VN
// vnUUID, or an error when vnUUID is not a uuid or a prefix is invalid.
func NamesFor(c Config, vnUUID string) (Names, error) {
	c, err := c.withDefaults()
	if err != nil {
		return Names{}, err
	}
	id, err := uuid.Parse(vnUUID)
	if err != nil {
		return Names{}, fmt.Errorf("invalid VN uuid %q: %w", vnUUID, err)
	}
	short := id.String()[:shortIDLen]
	return Names{
		Bridge: c.LinkPrefix + "b" + short,
		Veth:   c.LinkPrefix + "g" + short,
		Netns:  c.NetnsPrefix + short,
	}, nil
}

// Subnet is one IPAM subnet of a VN and its gateway address. An invalid
// (zero) Gateway means the subnet has no gateway.
type Subnet struct {
	Prefix  netip.Prefix
	Gateway netip.Addr
}

// SubnetSource returns the subnets of a VN from config.
type SubnetSource interface {
	// VirtualNetworkSubnets returns the subnets of the VN, and false when
	// the VN does not exist.
	VirtualNetworkSubnets(vnUUID string) ([]Subnet, bool)
}

// SubnetSourceFunc adapts a function to SubnetSource.
type SubnetSourceFunc func(vnUUID string) ([]Subnet, bool)

// VirtualNetworkSubnets calls f.
func (f SubnetSourceFunc) VirtualNetworkSubnets(vnUUID string) ([]Subnet, bool) {
	return f(vnUUID)
}

// network is the state of one VN that this data plane carries.
type network struct {
	vnUUID string
	names  Names
}

// DataPlane attaches host interfaces to per-VN bridges. It is safe for
// concurrent use. Call Close to remove everything it created.
type DataPlane struct {
	config  Config
	subnets SubnetSource
	logger  *slog.Logger

	mu       sync.Mutex
	networks map[string]*network // by VN uuid
	ports    map[string]string   // host interface name -> VN uuid
	closed   bool
}

// New returns a DataPlane that names its objects after config and reads VN
// subnets from subnets. It creates nothing until the first Attach.
func New(config Config, subnets SubnetSource, logger *slog.Logger) (*DataPlane, error) {
	config, err := config.withDefaults()
	if err != nil {
		return nil, err
	}
	if subnets == nil {
		return nil, errors.New("missing subnet source")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &DataPlane{
		config:   config,
		subnets:  subnets,
		logger:   logger,
		networks: map[string]*network{},
		ports:    map[string]string{},
	}, nil
}

// Attach connects the host interface hostIfname to the VN vnUUID: it creates
// the VN's bridge and gateway namespace on first use, sets the gateway
// addresses to the VN's current subnets, enslaves the interface to the bridge
// and sets it up. Attaching an interface that is attached to another VN moves
// it. Attaching it again to the same VN is a no-op apart from the gateway
// address update.
func (d *DataPlane) Attach(vnUUID, hostIfname string) error {
	d.mu.Lock()
	defer d.mu.Unlock()

	if d.closed {
		return fmt.Errorf("attach %q to VN %s: data plane is closed", hostIfname, vnUUID)
	}

	subnets, ok := d.subnets.VirtualNetworkSubnets(vnUUID)
	if !ok {
		return fmt.Errorf("attach %q to VN %s: VN not found in config", hostIfname, vnUUID)
	}

	nw, err := d.ensureNetwork(vnUUID)
	if err != nil {
		return fmt.Errorf("attach %q to VN %s: %w", hostIfname, vnUUID, err)
	}

	if err := setGatewayAddresses(nw.names.Netns, gatewayPrefixes(subnets, d.logger, vnUUID)); err != nil {
		return fmt.Errorf("attach %q to VN %s: %w", hostIfname, vnUUID, err)
	}

	if err := enslave(hostIfname, nw.names.Bridge); err != nil {
		return fmt.Errorf("attach %q to VN %s: %w", hostIfname, vnUUID, err)
	}

	d.ports[hostIfname] = vnUUID
	d.logger.Info("attached port", "ifname", hostIfname, "vn", vnUUID, "bridge", nw.names.Bridge)
	return nil
}

// Detach removes the host interface hostIfname from the bridge it was
// attached to. A link that no longer exists, or that is not enslaved to a
// bridge of this data plane, is left alone and is not an error.
func (d *DataPlane) Detach(hostIfname string) error {
	d.mu.Lock()
	defer d.mu.Unlock()

	vnUUID, known := d.ports[hostIfname]
	delete(d.ports, hostIfname)

	bridges := make([]string, 0, len(d.networks))
	for _, nw := range d.networks {
		bridges = append(bridges, nw.names.Bridge)
	}
	detached, err := release(hostIfname, bridges)
	if err != nil {
		return fmt.Errorf("detach %q: %w", hostIfname, err)
	}
	if detached || known {
		d.logger.Info("detached port", "ifname", hostIfname, "vn", vnUUID, "released", detached)
	}
	return nil
}

// Close removes every bridge, veth and gateway namespace that this data
// plane created, and makes later Attach calls fail. It tries every object
// and returns all the errors it met.
func (d *DataPlane) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()

	d.closed = true
	var errs []error
	for vnUUID, nw := range d.networks {
		if _, err := removeNetwork(nw.names); err != nil {
			errs = append(errs, fmt.Errorf("remove VN %s: %w", vnUUID, err))
			continue
		}
		d.logger.Info("removed VN data plane", "vn", vnUUID, "bridge", nw.names.Bridge, "netns", nw.names.Netns)
	}
	d.networks = map[string]*network{}
	d.ports = map[string]string{}
	return errors.Join(errs...)
}

// ensureNetwork returns the network of vnUUID, creating its kernel objects
// when this data plane has not created them yet. Objects with the same names
// left by an earlier process are removed first. The caller holds d.mu.
func (d *DataPlane) ensureNetwork(vnUUID string) (*network, error) {
	if nw, ok := d.networks[vnUUID]; ok {
		return nw, nil
	}

	names, err := NamesFor(d.config, vnUUID)
	if err != nil {
		return nil, err
	}
	for other, nw := range d.networks {
		if nw.names.Bridge == names.Bridge {
			return nil, fmt.Errorf("bridge name %q is already used by VN %s because both uuids start with the same %d hex digits", names.Bridge, other, shortIDLen)
		}
	}

	removed, err := removeLeftovers(names)
	if err != nil {
		return nil, fmt.Errorf("remove leftovers of an earlier run: %w", err)
	}
	if removed {
		d.logger.Warn("removed leftover bridge or namespace of an earlier run", "vn", vnUUID, "bridge", names.Bridge, "netns", names.Netns)
	}

	if err := createNetwork(names); err != nil {
		return nil, err
	}
	nw := &network{vnUUID: vnUUID, names: names}
	d.networks[vnUUID] = nw
	d.logger.Info("created VN data plane", "vn", vnUUID, "bridge", names.Bridge, "veth", names.Veth, "netns", names.Netns)
	return nw, nil
}

// gatewayPrefixes returns the gateway address of each subnet with the
// subnet's prefix length, skipping subnets without a valid gateway inside
// the subnet.
func gatewayPrefixes(subnets []Subnet, logger *slog.Logger, vnUUID string) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range subnets {
		if !s.Gateway.IsValid() || s.Gateway.IsUnspecified() {
			continue
		}
		if !s.Prefix.Contains(s.Gateway) {
			logger.Warn("skipped subnet gateway outside its subnet", "vn", vnUUID, "subnet", s.Prefix, "gateway", s.Gateway)
			continue
		}
		out = append(out, netip.PrefixFrom(s.Gateway, s.Prefix.Bits()))
	}
	return out
}
