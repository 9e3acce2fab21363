package vncclient

import "encoding/json"

// Config API type names, as they appear in URLs and wrapped bodies.
const (
	TypeProject                 = "project"
	TypeVirtualNetwork          = "virtual-network"
	TypeVirtualMachine          = "virtual-machine"
	TypeVirtualMachineInterface = "virtual-machine-interface"
	TypeInstanceIP              = "instance-ip"
	TypeVirtualRouter           = "virtual-router"
)

// GlobalSystemConfig is the parent of every virtual-router's fq-name.
const GlobalSystemConfig = "default-global-system-config"

// Ref is a reference to another object. "to" is mandatory on create; the
// server fills uuid and href on read.
type Ref struct {
	To   []string        `json:"to"`
	UUID string          `json:"uuid,omitempty"`
	Href string          `json:"href,omitempty"`
	Attr json.RawMessage `json:"attr,omitempty"`
}

// KeyValuePair is one Contrail annotation.
type KeyValuePair struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// KeyValuePairs is the Contrail "annotations" property.
type KeyValuePairs struct {
	KeyValuePair []KeyValuePair `json:"key_value_pair"`
}

// Get returns the value of key and whether it is present.
func (k *KeyValuePairs) Get(key string) (string, bool) {
	if k == nil {
		return "", false
	}
	for _, kv := range k.KeyValuePair {
		if kv.Key == key {
			return kv.Value, true
		}
	}
	return "", false
}

// MacAddresses is the virtual_machine_interface_mac_addresses property.
type MacAddresses struct {
	MacAddress []string `json:"mac_address"`
}

// VirtualMachine is the subset of a virtual-machine that contrail-vif uses.
type VirtualMachine struct {
	UUID                            string         `json:"uuid,omitempty"`
	FQName                          []string       `json:"fq_name"`
	ServerType                      string         `json:"server_type,omitempty"`
	Annotations                     *KeyValuePairs `json:"annotations,omitempty"`
	VirtualMachineInterfaceBackRefs []Ref          `json:"virtual_machine_interface_back_refs,omitempty"`
	VirtualRouterBackRefs           []Ref          `json:"virtual_router_back_refs,omitempty"`
}

// VirtualMachineInterface is the subset of a VMI that contrail-vif uses.
type VirtualMachineInterface struct {
	UUID                string         `json:"uuid,omitempty"`
	FQName              []string       `json:"fq_name"`
	ParentType          string         `json:"parent_type,omitempty"`
	VirtualNetworkRefs  []Ref          `json:"virtual_network_refs,omitempty"`
	VirtualMachineRefs  []Ref          `json:"virtual_machine_refs,omitempty"`
	SecurityGroupRefs   []Ref          `json:"security_group_refs,omitempty"`
	MacAddresses        *MacAddresses  `json:"virtual_machine_interface_mac_addresses,omitempty"`
	Annotations         *KeyValuePairs `json:"annotations,omitempty"`
	PortSecurityEnabled *bool          `json:"port_security_enabled,omitempty"`
	InstanceIPBackRefs  []Ref          `json:"instance_ip_back_refs,omitempty"`
}

// InstanceIP is the subset of an instance-ip that contrail-vif uses. Leave
// InstanceIPAddress empty to let the server allocate one.
type InstanceIP struct {
	UUID                        string   `json:"uuid,omitempty"`
	FQName                      []string `json:"fq_name"`
	VirtualNetworkRefs          []Ref    `json:"virtual_network_refs,omitempty"`
	VirtualMachineInterfaceRefs []Ref    `json:"virtual_machine_interface_refs,omitempty"`
	InstanceIPAddress           string   `json:"instance_ip_address,omitempty"`
	InstanceIPFamily            string   `json:"instance_ip_family,omitempty"`
	SubnetUUID                  string   `json:"subnet_uuid,omitempty"`
	// InstanceIPSubnet is the prefix of the address's subnet, which the
	// server fills in.
	InstanceIPSubnet *SubnetPrefix `json:"instance_ip_subnet,omitempty"`
}

// VirtualNetwork is the subset of a virtual-network that contrail-vif reads.
type VirtualNetwork struct {
	UUID   string   `json:"uuid,omitempty"`
	FQName []string `json:"fq_name"`
}
