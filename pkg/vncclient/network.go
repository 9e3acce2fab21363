package vncclient

// DefaultNetworkIpam is the fq-name of the IPAM that every Contrail installation
// has; VNs that the controller creates take their subnets from it.
var DefaultNetworkIpam = []string{"default-domain", "default-project", "default-network-ipam"}

// IpamRef is a virtual-network's network_ipam_refs entry, whose attr
// (VnSubnetsType) carries the subnets.
type IpamRef struct {
	To   []string   `json:"to"`
	UUID string     `json:"uuid,omitempty"`
	Attr *VnSubnets `json:"attr,omitempty"`
}

// VnSubnets is the attr of a network_ipam_refs entry.
type VnSubnets struct {
	IpamSubnets []IpamSubnet `json:"ipam_subnets"`
}

// IpamSubnet is Contrail's IpamSubnetType.
type IpamSubnet struct {
	Subnet           *SubnetPrefix    `json:"subnet,omitempty"`
	DefaultGateway   string           `json:"default_gateway,omitempty"`
	DNSServerAddress string           `json:"dns_server_address,omitempty"`
	SubnetUUID       string           `json:"subnet_uuid,omitempty"`
	AllocationPools  []AllocationPool `json:"allocation_pools,omitempty"`
	AddrFromStart    *bool            `json:"addr_from_start,omitempty"`
	EnableDHCP       *bool            `json:"enable_dhcp,omitempty"`
}

// SubnetPrefix is Contrail's SubnetType.
type SubnetPrefix struct {
	IPPrefix    string `json:"ip_prefix"`
	IPPrefixLen int    `json:"ip_prefix_len"`
}

// AllocationPool is Contrail's AllocationPoolType.
type AllocationPool struct {
	Start string `json:"start"`
	End   string `json:"end"`
}

// VirtualNetworkProperties is the virtual_network_properties property.
type VirtualNetworkProperties struct {
	ForwardingMode string `json:"forwarding_mode,omitempty"`
}

// Network is a virtual-network with the properties and refs that the
// controller writes and reads when it manages a VN for a NAD.
type Network struct {
	UUID                            string                    `json:"uuid,omitempty"`
	FQName                          []string                  `json:"fq_name"`
	ParentType                      string                    `json:"parent_type,omitempty"`
	NetworkIpamRefs                 []IpamRef                 `json:"network_ipam_refs,omitempty"`
	Properties                      *VirtualNetworkProperties `json:"virtual_network_properties,omitempty"`
	Annotations                     *KeyValuePairs            `json:"annotations,omitempty"`
	VirtualMachineInterfaceBackRefs []Ref                     `json:"virtual_machine_interface_back_refs,omitempty"`
	InstanceIPBackRefs              []Ref                     `json:"instance_ip_back_refs,omitempty"`
}

// Project is the subset of a project that the controller creates.
type Project struct {
	UUID        string         `json:"uuid,omitempty"`
	FQName      []string       `json:"fq_name"`
	ParentType  string         `json:"parent_type,omitempty"`
	Annotations *KeyValuePairs `json:"annotations,omitempty"`
}
