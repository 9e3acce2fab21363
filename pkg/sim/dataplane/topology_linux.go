package dataplane

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"slices"
	"strconv"

	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// DefaultTopologyPrefix starts the namespace names of a Topology whose
// config sets no prefix.
const DefaultTopologyPrefix = "csim-"

// DefaultUnderlay is the underlay subnet of a Topology whose config sets
// none. It is part of 198.18.0.0/15, which RFC 2544 reserves for network
// benchmark tests, so it is unlikely to clash with a network the machine
// uses. The addresses exist only inside the topology's namespaces either
// way.
var DefaultUnderlay = netip.MustParsePrefix("198.18.0.0/24")

// UnderlayIfname is the name of a node's underlay interface inside its
// node namespace.
const UnderlayIfname = "ul0"

// underlayBridge is the name of the bridge inside the underlay namespace
// that connects the nodes.
const underlayBridge = "br0"

// underlayMTU fits a 1500-byte overlay frame in VXLAN over IPv6 (70 bytes
// of overhead) and so also over IPv4 (50 bytes).
const underlayMTU = vxlanMTU + 70

// TopologyConfig describes a set of simulated compute nodes on one machine.
type TopologyConfig struct {
	// Prefix starts the name of every namespace of the topology: the
	// underlay is Prefix+"underlay", node N is Prefix+"node-"+N, and
	// NodeConfig puts the gateways of node N at Prefix+"gw-"+N+"-"+<8 hex
	// digits of the VN uuid>. DefaultTopologyPrefix when empty.
	Prefix string
	// Nodes are the node names, at least one. A name has at most 64
	// letters, digits, '-', '_' and '.', like a host name.
	Nodes []string
	// Underlay is the subnet of the nodes' underlay addresses: node i
	// (from 0) gets the subnet address + i + 1. DefaultUnderlay when
	// invalid (zero).
	Underlay netip.Prefix
}

// withDefaults returns c with the defaults filled in, or an error when c is
// invalid.
func (c TopologyConfig) withDefaults() (TopologyConfig, error) {
	if c.Prefix == "" {
		c.Prefix = DefaultTopologyPrefix
	}
	if err := checkNetnsName(c.Prefix + "underlay"); err != nil {
		return c, fmt.Errorf("invalid topology prefix %q: %w", c.Prefix, err)
	}
	if !c.Underlay.IsValid() {
		c.Underlay = DefaultUnderlay
	}
	c.Underlay = c.Underlay.Masked()
	if len(c.Nodes) == 0 {
		return c, errors.New("invalid topology: no nodes")
	}
	c.Nodes = slices.Clone(c.Nodes)
	for i, name := range c.Nodes {
		if err := checkNodeName(name); err != nil {
			return c, err
		}
		if slices.Contains(c.Nodes[:i], name) {
			return c, fmt.Errorf("invalid topology: node %q appears twice", name)
		}
	}
	// The subnet must hold the network address, one address per node and,
	// for IPv4, the broadcast address.
	hostBits := c.Underlay.Addr().BitLen() - c.Underlay.Bits()
	if hostBits < 63 && len(c.Nodes)+2 > 1<<hostBits {
		return c, fmt.Errorf("invalid topology: underlay %s has no room for %d nodes", c.Underlay, len(c.Nodes))
	}
	return c, nil
}

// checkNodeName returns an error unless name is a valid node name.
func checkNodeName(name string) error {
	if name == "" || len(name) > 64 {
		return fmt.Errorf("invalid node name %q: want 1 to 64 characters", name)
	}
	for _, c := range name {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.'
		if !ok {
			return fmt.Errorf("invalid node name %q: want letters, digits, '-', '_' and '.'", name)
		}
	}
	return nil
}

// Node is one simulated compute node of a Topology.
type Node struct {
	// Name is the node name from TopologyConfig.Nodes.
	Name string
	// Netns is the name of the node namespace, /run/netns/<Netns>.
	Netns string
	// Address is the node's underlay address, on UnderlayIfname in Netns.
	Address netip.Addr
	// gatewayPrefix is the NetnsPrefix of the node's data plane.
	gatewayPrefix string
}

// Topology is a set of node namespaces connected by an underlay: a bridge
// in a namespace of its own, with one veth pair to each node. Each node
// then runs its own DataPlane (see NodeConfig), and the data planes stretch
// VNs between nodes with VXLAN over the underlay. Close removes it.
type Topology struct {
	// UnderlayNetns is the name of the underlay namespace.
	UnderlayNetns string
	// Nodes are the nodes in the order of TopologyConfig.Nodes.
	Nodes []Node

	logger *slog.Logger
}

// topologyNames returns the underlay namespace and the nodes of config,
// which has its defaults.
func topologyNames(config TopologyConfig) (string, []Node) {
	nodes := make([]Node, 0, len(config.Nodes))
	addr := config.Underlay.Addr()
	for _, name := range config.Nodes {
		addr = addr.Next()
		nodes = append(nodes, Node{
			Name:          name,
			Netns:         config.Prefix + "node-" + name,
			Address:       addr,
			gatewayPrefix: config.Prefix + "gw-" + name + "-",
		})
	}
	return config.Prefix + "underlay", nodes
}

// NewTopology creates the namespaces and links of config: first it removes
// namespaces with the same names that an earlier run left behind. On
// failure it removes what it created.
func NewTopology(config TopologyConfig, logger *slog.Logger) (_ *Topology, err error) {
	config, err = config.withDefaults()
	if err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}

	removed, err := CleanupTopology(config)
	if err != nil {
		return nil, fmt.Errorf("remove leftovers of an earlier run: %w", err)
	}
	if len(removed) > 0 {
		logger.Warn("removed leftover namespaces of an earlier run", "removed", removed)
	}

	underlay, nodes := topologyNames(config)
	t := &Topology{UnderlayNetns: underlay, logger: logger}
	defer func() {
		if err != nil {
			_ = t.Close()
		}
	}()

	if err := createNamedNetns(underlay); err != nil {
		return nil, fmt.Errorf("create underlay netns %q: %w", underlay, err)
	}
	err = inNetns(underlay, func() error {
		if err := setLinkUp("lo"); err != nil {
			return err
		}
		_, err := createBridge(underlayBridge)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("create underlay bridge in netns %q: %w", underlay, err)
	}

	for i, node := range nodes {
		if err := createNamedNetns(node.Netns); err != nil {
			return nil, fmt.Errorf("create netns %q of node %q: %w", node.Netns, node.Name, err)
		}
		t.Nodes = append(t.Nodes, node)
		if err := connectNode(underlay, i, node, config.Underlay.Bits()); err != nil {
			return nil, fmt.Errorf("connect node %q to the underlay: %w", node.Name, err)
		}
	}
	logger.Info("created topology", "underlay_netns", underlay, "underlay", config.Underlay, "nodes", len(nodes))
	return t, nil
}

// connectNode creates the veth pair between the underlay bridge and
// UnderlayIfname in the node namespace, and gives the node its address.
func connectNode(underlay string, index int, node Node, bits int) error {
	nodeNS, err := ns.GetNS(NetnsPath(node.Netns))
	if err != nil {
		return fmt.Errorf("open netns %q: %w", node.Netns, err)
	}
	defer nodeNS.Close()

	err = inNetns(underlay, func() error {
		port := "node" + strconv.Itoa(index)
		veth := &netlink.Veth{
			LinkAttrs:     netlink.LinkAttrs{Name: port, MTU: underlayMTU},
			PeerName:      UnderlayIfname,
			PeerMTU:       underlayMTU,
			PeerNamespace: netlink.NsFd(int(nodeNS.Fd())),
		}
		if err := netlink.LinkAdd(veth); err != nil {
			return fmt.Errorf("create veth %q: %w", port, err)
		}
		return enslave(port, underlayBridge)
	})
	if err != nil {
		return err
	}

	return nodeNS.Do(func(ns.NetNS) error {
		if err := setLinkUp("lo"); err != nil {
			return err
		}
		link, err := netlinksafe.LinkByName(UnderlayIfname)
		if err != nil {
			return fmt.Errorf("find %q: %w", UnderlayIfname, err)
		}
		ipNet := &net.IPNet{IP: node.Address.AsSlice(), Mask: net.CIDRMask(bits, node.Address.BitLen())}
		addr := &netlink.Addr{IPNet: ipNet}
		if node.Address.Is6() {
			addr.Flags = unix.IFA_F_NODAD
		}
		if err := netlink.AddrAdd(link, addr); err != nil {
			return fmt.Errorf("add address %s to %q: %w", ipNet, UnderlayIfname, err)
		}
		return netlink.LinkSetUp(link)
	})
}

// Node returns the node named name, and false when there is none.
func (t *Topology) Node(name string) (Node, bool) {
	i := slices.IndexFunc(t.Nodes, func(n Node) bool { return n.Name == name })
	if i < 0 {
		return Node{}, false
	}
	return t.Nodes[i], true
}

// NodeConfig returns the data plane config of the node named name. Its
// bridges and port links are in the node namespace, its gateways in
// namespaces of the node (see TopologyConfig.Prefix), and its links are
// named with linkPrefix. Its overlay reaches every other node of the
// topology and uses the VNIs of VNIFromUUID.
func (t *Topology) NodeConfig(name, linkPrefix string) (Config, error) {
	node, ok := t.Node(name)
	if !ok {
		return Config{}, fmt.Errorf("node %q not found in the topology", name)
	}
	overlay := &Overlay{LocalAddr: node.Address}
	for _, other := range t.Nodes {
		if other.Name != name {
			overlay.Peers = append(overlay.Peers, other.Address)
		}
	}
	return Config{
		LinkPrefix:  linkPrefix,
		NetnsPrefix: node.gatewayPrefix,
		Netns:       node.Netns,
		Overlay:     overlay,
	}, nil
}

// Close removes the node and underlay namespaces, and with them every link
// in them. Close the nodes' data planes first, since their gateway
// namespaces are not part of the topology. It returns all the errors it
// met.
func (t *Topology) Close() error {
	var errs []error
	for _, node := range t.Nodes {
		if _, err := DeleteNamedNetns(node.Netns); err != nil {
			errs = append(errs, fmt.Errorf("delete netns %q of node %q: %w", node.Netns, node.Name, err))
		}
	}
	if _, err := DeleteNamedNetns(t.UnderlayNetns); err != nil {
		errs = append(errs, fmt.Errorf("delete underlay netns %q: %w", t.UnderlayNetns, err))
	}
	t.Nodes = nil
	t.logger.Info("removed topology", "underlay_netns", t.UnderlayNetns)
	return errors.Join(errs...)
}

// CleanupTopology removes the namespaces of config, the underlay and the
// nodes, and the gateway namespaces that data planes from NodeConfig
// created, whichever process created them. It returns the paths it
// removed.
func CleanupTopology(config TopologyConfig) ([]string, error) {
	config, err := config.withDefaults()
	if err != nil {
		return nil, err
	}
	underlay, nodes := topologyNames(config)

	entries, err := os.ReadDir(NetnsDir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("list %s: %w", NetnsDir, err)
	}
	var names []string
	for _, e := range entries {
		for _, node := range nodes {
			if hasShortIDSuffix(e.Name(), node.gatewayPrefix) {
				names = append(names, e.Name())
			}
		}
	}
	for _, node := range nodes {
		names = append(names, node.Netns)
	}
	names = append(names, underlay)

	var removed []string
	var errs []error
	for _, name := range names {
		existed, err := DeleteNamedNetns(name)
		if err != nil {
			errs = append(errs, fmt.Errorf("delete netns %q: %w", name, err))
			continue
		}
		if existed {
			removed = append(removed, NetnsPath(name))
		}
	}
	return removed, errors.Join(errs...)
}
