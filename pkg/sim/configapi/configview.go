package configapi

import (
	"cmp"
	"net/netip"
	"slices"
	"strings"

	"github.com/contrail-vif/contrail-vif/pkg/sim/agent"
)

var _ agent.ConfigView = (*Server)(nil)

// SubnetInfo is one IPAM subnet of a virtual network as the data plane
// needs it. Gateway and DNSServer are the zero Addr when the subnet has
// none.
type SubnetInfo struct {
	Prefix    netip.Prefix
	Gateway   netip.Addr
	DNSServer netip.Addr
}

// VirtualNetworkSubnets returns the subnets of the virtual network vnUUID,
// both those defined on its network_ipam_refs and those of the flat-subnet
// IPAMs it refers to, in allocation order. It returns false when no such
// virtual network exists.
func (s *Server) VirtualNetworkSubnets(vnUUID string) ([]SubnetInfo, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	vn, ok := s.store.lookup(typeVirtualNetwork, vnUUID)
	if !ok {
		return nil, false
	}
	out := []SubnetInfo{}
	for _, sn := range s.store.virtualNetworkSubnets(vn) {
		out = append(out, SubnetInfo{Prefix: sn.prefix, Gateway: sn.gateway, DNSServer: sn.dns})
	}
	return out, true
}

// VMInterfaces returns the VMIs whose virtual_machine_refs point at the
// virtual machine named vmName, ordered by uuid. It returns false when the
// VM is unknown or the virtual router of node has no ref to it.
func (s *Server) VMInterfaces(node, vmName string) ([]agent.VMIConfig, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	vm, ok := s.store.lookupFQName(typeVirtualMachine, []string{vmName})
	if !ok || !s.store.linkedToNode(node, vm.uuid) {
		return nil, false
	}
	out := []agent.VMIConfig{}
	for _, vmi := range s.store.referrers(vm.uuid, typeVMI) {
		out = append(out, s.store.vmiConfig(vmi, vm))
	}
	return out, true
}

// VMInterfacesByUUID returns the VMIs of the virtual machine vmUUID, ordered
// by uuid, and false when the VM is unknown or the virtual router of node has
// no ref to it. The agent answers GET /vm/<vm-uuid> from it.
func (s *Server) VMInterfacesByUUID(node, vmUUID string) ([]agent.VMIConfig, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	vm, ok := s.store.lookup(typeVirtualMachine, vmUUID)
	if !ok || !s.store.linkedToNode(node, vm.uuid) {
		return nil, false
	}
	out := []agent.VMIConfig{}
	for _, vmi := range s.store.referrers(vm.uuid, typeVMI) {
		out = append(out, s.store.vmiConfig(vmi, vm))
	}
	return out, true
}

var _ agent.VMUUIDView = (*Server)(nil)

// Interface returns the VMI vmiUUID, and false when it is unknown or the
// virtual router of node has no ref to its virtual machine.
func (s *Server) Interface(node, vmiUUID string) (agent.VMIConfig, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	vmi, ok := s.store.lookup(typeVMI, vmiUUID)
	if !ok {
		return agent.VMIConfig{}, false
	}
	for _, r := range vmi.refs[typeVirtualMachine] {
		if s.store.linkedToNode(node, r.uuid) {
			return s.store.vmiConfig(vmi, s.store.objects[r.uuid]), true
		}
	}
	return agent.VMIConfig{}, false
}

// linkedToNode reports whether the virtual router
// ["default-global-system-config", node] refers to the VM vmUUID, which is
// what makes the control node send the VM's config to that node's agent.
func (s *store) linkedToNode(node, vmUUID string) bool {
	vr, ok := s.lookupFQName(typeVirtualRouter, []string{defaultGlobalSystemConfig[0], node})
	if !ok {
		return false
	}
	return slices.ContainsFunc(vr.refs[typeVirtualMachine], func(r ref) bool { return r.uuid == vmUUID })
}

func (s *store) vmiConfig(vmi, vm *object) agent.VMIConfig {
	cfg := agent.VMIConfig{
		UUID:   vmi.uuid,
		VMUUID: vm.uuid,
		VMName: vm.fqName[len(vm.fqName)-1],
		VLANID: noVLAN,
	}

	var vn *object
	if r, ok := vmi.firstRef(typeVirtualNetwork); ok {
		vn = s.objects[r.uuid]
	}
	if vn != nil {
		cfg.VNUUID = vn.uuid
		cfg.VNFQName = strings.Join(vn.fqName, ":")
	}
	switch {
	case vmi.parentType == typeProject:
		cfg.ProjectUUID = vmi.parentUUID
	case vn != nil && vn.parentType == typeProject:
		cfg.ProjectUUID = vn.parentUUID
	}

	var macs macAddresses
	if vmi.prop(macAddressesField, &macs) && len(macs.MACAddress) > 0 {
		cfg.MAC = macs.MACAddress[0]
	}
	var annotations struct {
		KeyValuePair []struct {
			Key   string `json:"key"`
			Value string `json:"value"`
		} `json:"key_value_pair"`
	}
	vmi.prop("annotations", &annotations)
	for _, kv := range annotations.KeyValuePair {
		cfg.Annotations = append(cfg.Annotations, agent.KeyValue{Key: kv.Key, Value: kv.Value})
	}

	cfg.SubInterface = len(vmi.refs[typeVMI]) > 0
	var props vmiProperties
	if vmi.prop(vmiPropertiesField, &props) && props.SubInterfaceVLANTag != nil {
		cfg.VLANID = *props.SubInterfaceVLANTag
	}

	if vn != nil {
		cfg.IPv4, cfg.IPv6 = s.vmiAddresses(vmi, vn)
	}
	return cfg
}

// vmiAddresses returns the first-created instance-ip of each family that
// refers to vmi and lies in a subnet of vn.
func (s *store) vmiAddresses(vmi, vn *object) (v4, v6 *agent.IPConfig) {
	iips := s.referrers(vmi.uuid, typeInstanceIP)
	slices.SortFunc(iips, func(a, b *object) int { return cmp.Compare(a.seq, b.seq) })
	subnets := s.virtualNetworkSubnets(vn)

	for _, iip := range iips {
		var text string
		if !iip.prop("instance_ip_address", &text) {
			continue
		}
		addr, err := netip.ParseAddr(text)
		if err != nil {
			continue
		}
		i := slices.IndexFunc(subnets, func(sn subnet) bool { return sn.prefix.Contains(addr) })
		if i < 0 {
			continue
		}
		sn := subnets[i]
		cfg := &agent.IPConfig{Address: addr.String(), PrefixLen: sn.prefix.Bits()}
		if sn.gateway.IsValid() {
			cfg.Gateway = sn.gateway.String()
		}
		if sn.dns.IsValid() {
			cfg.DNSServer = sn.dns.String()
		}
		switch {
		case addr.Is4() && v4 == nil:
			v4 = cfg
		case addr.Is6() && v6 == nil:
			v6 = cfg
		}
	}
	return v4, v6
}
