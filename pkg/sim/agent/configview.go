package agent

import "time"

// IPConfig is the addressing of one address family of a VMI, as the agent
// reports it in GET /port and GET /vm: the instance-ip address, the prefix
// length of its subnet, and the subnet's gateway and DNS server addresses.
type IPConfig struct {
	Address   string
	PrefixLen int
	Gateway   string
	DNSServer string
}

// VMIConfig is what the control node pushes to a node's agent about one
// virtual-machine-interface once the node's virtual-router refers to the
// interface's virtual-machine.
type VMIConfig struct {
	UUID        string
	VMUUID      string
	VMName      string
	VNUUID      string
	VNFQName    string // "domain:project:vn"
	ProjectUUID string
	MAC         string
	// Annotations are the VMI's key/value annotations in config order.
	Annotations []KeyValue
	// SubInterface is true when the VMI has a parent VMI (nested mode).
	SubInterface bool
	// VLANID is the sub-interface VLAN tag, 0xFFFF when none.
	VLANID int
	// IPv4 and IPv6 are nil until an instance-ip of that family exists and
	// its address lies in an IPAM subnet of the VN.
	IPv4 *IPConfig
	IPv6 *IPConfig
}

// KeyValue is one entry of a Contrail KeyValuePairs property.
type KeyValue struct {
	Key   string
	Value string
}

// ConfigView is the agent's read access to the config that reaches its node.
// The simulator's config API store implements it; a VM is visible on a node
// only while the node's virtual-router (fq-name
// ["default-global-system-config", node]) has a ref to it.
type ConfigView interface {
	// VMInterfaces returns the VMIs of the VM named vmName, ordered by uuid,
	// and false when the VM is unknown or not linked to node.
	VMInterfaces(node, vmName string) ([]VMIConfig, bool)
	// Interface returns one VMI by uuid, and false when it is unknown or its
	// VM is not linked to node.
	Interface(node, vmiUUID string) (VMIConfig, bool)
}

// VMUUIDView is an optional extension of ConfigView for GET /vm/<vm-uuid>,
// which the agent serves from config by VM uuid. Without it the agent finds
// the VM by the names it has met in config replies (GET /vm-cfg, GET /port)
// and in bindings, so a VM that no request has named yet is not found.
type VMUUIDView interface {
	// VMInterfacesByUUID returns the VMIs of the VM vmUUID, ordered by
	// uuid, and false when the VM is unknown or not linked to node.
	VMInterfacesByUUID(node, vmUUID string) ([]VMIConfig, bool)
}

// configInterfaceLocked returns the VMI vmiUUID from config as it has
// reached the agent, and false also while Faults.ConfigDelay hides it. The caller
// holds s.mu.
func (s *Server) configInterfaceLocked(vmiUUID string) (VMIConfig, bool) {
	cfg, ok := s.Config.Interface(s.Node, vmiUUID)
	if !ok {
		// A VMI created again later waits the full delay again.
		delete(s.firstSeen, vmiUUID)
		return VMIConfig{}, false
	}
	if !s.arrivedLocked(cfg) {
		return VMIConfig{}, false
	}
	return cfg, true
}

// configVMInterfacesLocked returns the VMIs of the VM vmName that have
// reached the agent, and false when config does not have the VM on this
// node. The caller holds s.mu.
func (s *Server) configVMInterfacesLocked(vmName string) ([]VMIConfig, bool) {
	vmis, ok := s.Config.VMInterfaces(s.Node, vmName)
	if !ok {
		return nil, false
	}
	return s.arrivedOnlyLocked(vmis), true
}

// configVMInterfacesByUUIDLocked returns the VMIs of the VM vmUUID that
// have reached the agent. Without a VMUUIDView it finds the VM by the names
// the agent has met for it in config and in bindings, so a VM that no
// request has named yet is not found. The caller holds s.mu.
func (s *Server) configVMInterfacesByUUIDLocked(vmUUID string) []VMIConfig {
	if view, ok := s.Config.(VMUUIDView); ok {
		vmis, _ := view.VMInterfacesByUUID(s.Node, vmUUID)
		return s.arrivedOnlyLocked(vmis)
	}
	for _, name := range s.vmNamesLocked(vmUUID) {
		vmis, _ := s.configVMInterfacesLocked(name)
		var out []VMIConfig
		for _, cfg := range vmis {
			if cfg.VMUUID == vmUUID {
				out = append(out, cfg)
			}
		}
		if len(out) > 0 {
			return out
		}
	}
	return nil
}

// arrivedOnlyLocked returns the VMIs of vmis that have reached the agent.
// The caller holds s.mu.
func (s *Server) arrivedOnlyLocked(vmis []VMIConfig) []VMIConfig {
	out := make([]VMIConfig, 0, len(vmis))
	for _, cfg := range vmis {
		if s.arrivedLocked(cfg) {
			out = append(out, cfg)
		}
	}
	return out
}

// arrivedLocked records that config has cfg and reports whether
// Faults.ConfigDelay has passed since the agent first found it. The caller
// holds s.mu.
func (s *Server) arrivedLocked(cfg VMIConfig) bool {
	if cfg.VMUUID != "" && cfg.VMName != "" {
		s.vmNames[cfg.VMUUID] = cfg.VMName
	}
	now := time.Now()
	first, ok := s.firstSeen[cfg.UUID]
	if !ok {
		s.firstSeen[cfg.UUID] = now
		first = now
	}
	return now.Sub(first) >= s.configDelay()
}
