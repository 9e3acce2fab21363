package dataplane

import (
	"fmt"
	"hash/fnv"
	"net/netip"
	"slices"
	"strings"
)

// DefaultVXLANPort is the UDP port of the overlay when Overlay.Port is 0:
// the IANA-assigned VXLAN port. The Linux VXLAN driver would otherwise use
// its legacy default, 8472.
const DefaultVXLANPort = 4789

// maxVNI is the largest VXLAN network identifier, which has 24 bits.
const maxVNI = 1<<24 - 1

// Overlay stretches the VNs of one node's data plane to other nodes, the
// way vRouters carry a VN between compute nodes over the IP fabric.
//
// Contrail encapsulates overlay traffic in MPLS over GRE or UDP, with
// labels that each agent allocates, or in VXLAN. With VXLAN, the VNI is the
// VN's virtual_network_network_id, which the config API allocates, while
// the global-vrouter-config's vxlan_network_identifier_mode is "automatic"
// (the default). In mode "configured" it is the vxlan_network_identifier
// that the VN sets. The simulator uses VXLAN, because Linux has a native
// VXLAN device, and one VNI per VN, so a VN is one L2 domain across all
// nodes. Broadcast, unknown unicast and multicast frames go to
// every peer by head-end replication (an all-zeros FDB entry per peer), so
// the underlay needs no multicast.
type Overlay struct {
	// LocalAddr is this node's underlay address: the source address of
	// the VXLAN packets. Required.
	LocalAddr netip.Addr
	// Peers are the underlay addresses of the other nodes, of the same
	// family as LocalAddr.
	Peers []netip.Addr
	// VNI returns the VXLAN network identifier of a VN, between 1 and
	// 2^24-1. Every node must return the same VNI for a VN. VNIFromUUID
	// when nil; pass the VN's virtual_network_network_id from config to
	// number VNs as Contrail does.
	VNI func(vnUUID string) uint32
	// Port is the UDP destination port; DefaultVXLANPort when 0.
	Port uint16
}

// VNIFromUUID derives a VNI from the VN uuid alone, so nodes agree on it
// without shared state: the 32-bit FNV-1a hash of the lowercase uuid,
// folded to 24 bits, with 0 mapped to 1. Two VNs can get the same VNI; a
// data plane rejects the second one.
func VNIFromUUID(vnUUID string) uint32 {
	h := fnv.New32a()
	_, _ = h.Write([]byte(strings.ToLower(vnUUID)))
	sum := h.Sum32()
	vni := (sum >> 24) ^ (sum & maxVNI)
	if vni == 0 {
		vni = 1
	}
	return vni
}

// withDefaults returns a copy of o with the defaults filled in, or an
// error when o is invalid.
func (o *Overlay) withDefaults() (*Overlay, error) {
	out := *o
	out.Peers = slices.Clone(o.Peers)
	if !out.LocalAddr.IsValid() || out.LocalAddr.IsUnspecified() {
		return nil, fmt.Errorf("invalid overlay: missing local underlay address")
	}
	out.LocalAddr = out.LocalAddr.Unmap()
	for i, p := range out.Peers {
		p = p.Unmap()
		if !p.IsValid() || p.IsUnspecified() {
			return nil, fmt.Errorf("invalid overlay: peer %d has no address", i)
		}
		if p.Is4() != out.LocalAddr.Is4() {
			return nil, fmt.Errorf("invalid overlay: peer %s and local address %s are of different families", p, out.LocalAddr)
		}
		if p == out.LocalAddr {
			return nil, fmt.Errorf("invalid overlay: peer %s is the local address", p)
		}
		out.Peers[i] = p
	}
	if out.VNI == nil {
		out.VNI = VNIFromUUID
	}
	if out.Port == 0 {
		out.Port = DefaultVXLANPort
	}
	return &out, nil
}

// vniFor returns the VNI of vnUUID, or an error when the VNI function
// returns a value out of range.
func (o *Overlay) vniFor(vnUUID string) (uint32, error) {
	vni := o.VNI(vnUUID)
	if vni == 0 || vni > maxVNI {
		return 0, fmt.Errorf("invalid VNI %d for VN %s: want 1 to %d", vni, vnUUID, maxVNI)
	}
	return vni, nil
}
