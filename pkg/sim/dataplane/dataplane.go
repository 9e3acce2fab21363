// Package dataplane gives the simulator's bound ports a real kernel data
// plane, standing in for the vRouter forwarding of one compute node.
//
// Each virtual network (VN) gets one Linux bridge in the node's network
// namespace and one "gateway" network namespace attached to that bridge by a
// veth pair. The node namespace is the host namespace for a single-node
// simulator, or a namespace of its own (Config.Netns) when several simulated
// nodes share the machine. The gateway namespace holds the gateway address
// of every subnet of the VN, so it replies to ARP, neighbor solicitations and
// ping for the gateway the way the vRouter does. It has no route out of the
// VN, so traffic aimed at another VN gets ICMP unreachable and never leaves
// the machine. The node has no address on the bridges and IPv6 is disabled
// on every node-side link the data plane touches, so VNs are separate L2
// domains that the node does not route between.
//
// With an Overlay, each VN bridge also gets a VXLAN device that carries the
// VN to the other nodes (see Overlay). Every node has a gateway for every VN
// it carries, with the same addresses and MAC address, as every vRouter is
// the gateway of its local ports. The gateway veth and the VXLAN device are
// then both "isolated" bridge ports, and the bridge forwards no frame from
// one isolated port to another. So a node's gateway exchanges frames with
// its local ports only, and the duplicate gateways never meet on the
// stretched L2 domain.
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

	"github.com/containernetworking/plugins/pkg/netlinksafe"
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
	// LinkPrefix starts the name of every link created in the node
	// namespace: the VN bridge is LinkPrefix+"b"+<8 hex digits of the VN
	// uuid>, the node end of the gateway veth is LinkPrefix+"g"+<same> and
	// the VXLAN device of the overlay is LinkPrefix+"x"+<same>. At most 6
	// characters; DefaultLinkPrefix when empty.
	LinkPrefix string
	// NetnsPrefix starts the name of every gateway network namespace,
	// NetnsPrefix+<8 hex digits of the VN uuid>, visible as
	// /run/netns/<name>. DefaultNetnsPrefix when empty. Data planes of
	// different nodes on one machine need different prefixes.
	NetnsPrefix string
	// Netns is the name of the node namespace, /run/netns/<Netns>, which
	// holds the VN bridges and the node ends of the ports that Attach
	// receives. Empty means the namespace of the calling process, the
	// host namespace of a single-node simulator. The namespace must exist
	// before the first Attach.
	Netns string
	// Overlay, when not nil, connects each VN to the same VN on other
	// nodes over VXLAN.
	Overlay *Overlay
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
	if c.Netns != "" {
		if err := checkNetnsName(c.Netns); err != nil {
			return c, fmt.Errorf("invalid node netns: %w", err)
		}
	}
	if c.Overlay != nil {
		overlay, err := c.Overlay.withDefaults()
		if err != nil {
			return c, err
		}
		c.Overlay = overlay
	}
	return c, nil
}

// Names are the names of the kernel objects that carry one VN.
type Names struct {
	Bridge string // bridge in the node namespace
	Veth   string // node end of the veth pair to the gateway namespace
	VXLAN  string // VXLAN device in the node namespace, only with an overlay
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
		VXLAN:  c.LinkPrefix + "x" + short,
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
	vni    uint32 // 0 without an overlay
}

// DataPlane attaches the node ends of ports to per-VN bridges in the node
// namespace. It is safe for concurrent use. Call Close to remove everything
// it created.
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

// Attach connects the interface hostIfname of the node namespace to the VN
// vnUUID: it creates the VN's bridge, gateway namespace and, with an
// overlay, VXLAN device on first use, sets the gateway addresses to the
// VN's current subnets, enslaves the interface to the bridge and sets it up.
// Attaching an interface that is attached to another VN moves it. Attaching
// it again to the same VN is a no-op apart from the gateway address update.
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

	err = inNetns(d.config.Netns, func() error {
		return enslave(hostIfname, nw.names.Bridge)
	})
	if err != nil {
		return fmt.Errorf("attach %q to VN %s: %w", hostIfname, vnUUID, err)
	}

	d.ports[hostIfname] = vnUUID
	d.logger.Info("attached port", "ifname", hostIfname, "vn", vnUUID, "bridge", nw.names.Bridge, "node_netns", d.config.Netns)
	return nil
}

// Detach removes the interface hostIfname of the node namespace from the
// bridge it was attached to. A link that no longer exists, or that is not
// enslaved to a bridge of this data plane, is left alone and is not an
// error.
func (d *DataPlane) Detach(hostIfname string) error {
	d.mu.Lock()
	defer d.mu.Unlock()

	vnUUID, known := d.ports[hostIfname]
	delete(d.ports, hostIfname)

	bridges := make([]string, 0, len(d.networks))
	for _, nw := range d.networks {
		bridges = append(bridges, nw.names.Bridge)
	}
	var detached bool
	err := inNetns(d.config.Netns, func() error {
		var err error
		detached, err = release(hostIfname, bridges)
		return err
	})
	if err != nil && !isNetnsGone(err) {
		return fmt.Errorf("detach %q: %w", hostIfname, err)
	}
	if detached || known {
		d.logger.Info("detached port", "ifname", hostIfname, "vn", vnUUID, "released", detached)
	}
	return nil
}

// LinkExists reports whether the node namespace has a link named ifname,
// for a caller that checks a port's host interface the way the agent does
// with if_nametoindex. Any failure, such as a missing node namespace, counts
// as missing.
func (d *DataPlane) LinkExists(ifname string) bool {
	var found bool
	_ = inNetns(d.config.Netns, func() error {
		_, err := netlinksafe.LinkByName(ifname)
		found = err == nil
		return nil
	})
	return found
}

// Close removes every bridge, veth, VXLAN device and gateway namespace that
// this data plane created, and makes later Attach calls fail. It tries
// every object and returns all the errors it met. Links in a node namespace
// that no longer exists are gone with it.
func (d *DataPlane) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()

	d.closed = true
	var errs []error
	for vnUUID, nw := range d.networks {
		if _, err := removeNetwork(d.config.Netns, nw.names); err != nil {
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

	var tunnel *vxlanSpec
	var vni uint32
	if o := d.config.Overlay; o != nil {
		if vni, err = o.vniFor(vnUUID); err != nil {
			return nil, err
		}
		for other, nw := range d.networks {
			if nw.vni == vni {
				return nil, fmt.Errorf("VNI %d is already used by VN %s", vni, other)
			}
		}
		tunnel = &vxlanSpec{name: names.VXLAN, vni: vni, local: o.LocalAddr, peers: o.Peers, port: o.Port}
	}

	removed, err := removeNetwork(d.config.Netns, names)
	if err != nil {
		return nil, fmt.Errorf("remove leftovers of an earlier run: %w", err)
	}
	if removed {
		d.logger.Warn("removed leftover bridge or namespace of an earlier run", "vn", vnUUID, "bridge", names.Bridge, "netns", names.Netns)
	}

	if err := createNetwork(d.config.Netns, names, tunnel); err != nil {
		return nil, err
	}
	nw := &network{vnUUID: vnUUID, names: names, vni: vni}
	d.networks[vnUUID] = nw
	if tunnel != nil {
		d.logger.Info("created VN data plane", "vn", vnUUID, "bridge", names.Bridge, "veth", names.Veth, "netns", names.Netns,
			"node_netns", d.config.Netns, "vxlan", names.VXLAN, "vni", vni, "peers", tunnel.peers)
	} else {
		d.logger.Info("created VN data plane", "vn", vnUUID, "bridge", names.Bridge, "veth", names.Veth, "netns", names.Netns, "node_netns", d.config.Netns)
	}
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
