package dataplane

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// vxlanMTU is the MTU of the VXLAN devices, so that pods with the usual
// 1500-byte MTU fit. The underlay must carry 1500 bytes plus the VXLAN
// overhead: 50 bytes over IPv4, 70 over IPv6.
const vxlanMTU = 1500

// vxlanSpec is the VXLAN device of one VN on one node.
type vxlanSpec struct {
	name  string
	vni   uint32
	local netip.Addr
	peers []netip.Addr
	port  uint16
}

// createVXLAN creates the VXLAN device of spec in the current namespace and
// enslaves it to bridge as an isolated port. It adds one all-zeros FDB entry
// per peer, so that broadcast and unknown unicast frames reach every peer
// (head-end replication), and sets the device up. The device learns the
// peers behind remote MAC addresses from the packets it receives.
func createVXLAN(spec vxlanSpec, bridge netlink.Link) error {
	vxlan := &netlink.Vxlan{
		LinkAttrs: netlink.LinkAttrs{Name: spec.name, MTU: vxlanMTU},
		VxlanId:   int(spec.vni),
		SrcAddr:   net.IP(spec.local.AsSlice()),
		Port:      int(spec.port),
		Learning:  true,
	}
	if err := netlink.LinkAdd(vxlan); err != nil {
		return fmt.Errorf("create VXLAN device %q with VNI %d: %w", spec.name, spec.vni, err)
	}

	if err := disableIPv6(spec.name); err != nil {
		return err
	}

	link, err := netlinksafe.LinkByName(spec.name)
	if err != nil {
		return fmt.Errorf("find VXLAN device %q: %w", spec.name, err)
	}
	if err := netlink.LinkSetMaster(link, bridge); err != nil {
		return fmt.Errorf("enslave VXLAN device %q to bridge %q: %w", spec.name, bridge.Attrs().Name, err)
	}
	if err := netlink.LinkSetIsolated(link, true); err != nil {
		return fmt.Errorf("isolate bridge port %q: %w", spec.name, err)
	}

	for _, peer := range spec.peers {
		entry := &netlink.Neigh{
			LinkIndex:    link.Attrs().Index,
			Family:       unix.AF_BRIDGE,
			State:        netlink.NUD_PERMANENT,
			Flags:        netlink.NTF_SELF,
			IP:           net.IP(peer.AsSlice()),
			HardwareAddr: make(net.HardwareAddr, 6),
		}
		if err := netlink.NeighAppend(entry); err != nil {
			return fmt.Errorf("add flood entry for peer %s to VXLAN device %q: %w", peer, spec.name, err)
		}
	}

	if err := netlink.LinkSetUp(link); err != nil {
		return fmt.Errorf("set up VXLAN device %q: %w", spec.name, err)
	}
	return nil
}
