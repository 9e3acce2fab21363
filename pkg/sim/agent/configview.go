package agent

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
// the VM by the names it learned from port bindings, so a VM that was never
// bound is not found.
type VMUUIDView interface {
	// VMInterfacesByUUID returns the VMIs of the VM vmUUID, ordered by
	// uuid, and false when the VM is unknown or not linked to node.
	VMInterfacesByUUID(node, vmUUID string) ([]VMIConfig, bool)
}
