package agentclient

// VMConfigEntry is one element of the GET /vm-cfg/<vm-name> reply: a VMI of
// the virtual-machine as the agent received it from config, before any port
// is bound.
type VMConfigEntry struct {
	// ID is the VMI uuid.
	ID string `json:"id"`
	// VMUUID is the virtual-machine uuid, equal to the pod UID.
	VMUUID string `json:"vm-uuid"`
	// VNID is the virtual-network uuid.
	VNID string `json:"vn-id"`
	// VNName is the virtual-network fq-name, "domain:project:name".
	VNName     string `json:"vn-name"`
	MACAddress string `json:"mac-address"`
	// SubInterface is true when the VMI has a parent VMI (nested mode).
	SubInterface bool `json:"sub-interface"`
	// VLANID is the sub-interface VLAN tag, 65535 when there is none.
	VLANID int `json:"vlan-id"`
	// Annotations are the VMI annotations as "{key:value}" strings; decode
	// them with attachment.ParseAgentAnnotations.
	Annotations []string `json:"annotations,omitempty"`
}

// Port is the GET /port/<vmi-uuid> reply. The address fields of a family are
// empty unless an IPAM subnet of that family holds the VMI's instance-ip.
// The agent reports no prefix length for IPv6.
type Port struct {
	ID          string `json:"id"`
	InstanceID  string `json:"instance-id"`
	VNID        string `json:"vn-id"`
	VMProjectID string `json:"vm-project-id"`
	MACAddress  string `json:"mac-address"`
	// SystemName is the host interface bound to the VMI, empty until a
	// POST /port names one.
	SystemName    string `json:"system-name"`
	RxVLANID      int    `json:"rx-vlan-id"`
	TxVLANID      int    `json:"tx-vlan-id"`
	VhostUserMode int    `json:"vhostuser-mode"`

	IPAddress string `json:"ip-address,omitempty"`
	PrefixLen int    `json:"plen,omitempty"`
	DNSServer string `json:"dns-server,omitempty"`
	Gateway   string `json:"gateway,omitempty"`

	IPv6Address   string `json:"v6-ip-address,omitempty"`
	IPv6DNSServer string `json:"v6-dns-server,omitempty"`
	IPv6Gateway   string `json:"v6-gateway,omitempty"`

	Author string `json:"author,omitempty"`
	Time   string `json:"time,omitempty"`
}

// Port types of PortRequest.Type.
const (
	PortTypeVM        = 0 // a Nova VM port
	PortTypeNamespace = 1 // a port whose host interface leads into a network namespace
	PortTypeRemote    = 2 // an ESXi port
)

// NoVLAN is the rx-vlan-id and tx-vlan-id of a port without a VLAN tag.
const NoVLAN = -1

// PortRequest is the POST /port body that binds a host interface to a VMI.
// The agent requires every field except Author and Time.
type PortRequest struct {
	// ID is the VMI uuid.
	ID string `json:"id"`
	// InstanceID is the virtual-machine uuid.
	InstanceID  string `json:"instance-id"`
	VNID        string `json:"vn-id"`
	VMProjectID string `json:"vm-project-id"`
	// DisplayName is the virtual-machine name.
	DisplayName string `json:"display-name"`
	IPAddress   string `json:"ip-address"`
	// IPv6Address is "" when the VMI has no IPv6 address.
	IPv6Address string `json:"ip6-address"`
	// Type is one of the PortType constants.
	Type int `json:"type"`
	// SystemName is the host interface name.
	SystemName string `json:"system-name"`
	// MACAddress must have the form xx:xx:xx:xx:xx:xx.
	MACAddress string `json:"mac-address"`
	RxVLANID   int    `json:"rx-vlan-id"`
	TxVLANID   int    `json:"tx-vlan-id"`
	// Author and Time are metadata that the agent writes to its port file.
	Author string `json:"author,omitempty"`
	Time   string `json:"time,omitempty"`
}
