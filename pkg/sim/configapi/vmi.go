package configapi

import (
	"net"
	"net/http"
)

const (
	macAddressesField  = "virtual_machine_interface_mac_addresses"
	vmiPropertiesField = "virtual_machine_interface_properties"
	// maxVLANTag is the highest sub_interface_vlan_tag the schema allows.
	maxVLANTag = 4094
	// noVLAN is the VLAN id the agent reports for a VMI that is not a
	// sub-interface (kInvalidVlanId).
	noVLAN = 0xFFFF
)

type macAddresses struct {
	MACAddress []string `json:"mac_address"`
}

type vmiProperties struct {
	SubInterfaceVLANTag *int `json:"sub_interface_vlan_tag"`
}

// prepareVMI checks a new virtual-machine-interface and gives it a MAC
// address when the client sent none.
func prepareVMI(vmi *object) error {
	if len(vmi.refs[typeVirtualNetwork]) == 0 {
		// The API server reads virtual_network_refs[0] unguarded, so a VMI
		// without one fails with an unhandled exception.
		return errorf(http.StatusInternalServerError,
			"Internal Server Error: virtual-machine-interface %s has no virtual_network_refs, which create requires", pyList(vmi.fqName))
	}
	if err := checkVLANTag(vmi, "create"); err != nil {
		return err
	}

	var macs macAddresses
	vmi.prop(macAddressesField, &macs)
	if len(macs.MACAddress) == 0 {
		vmi.setProp(macAddressesField, macAddresses{MACAddress: []string{macFromUUID(vmi.uuid)}})
		return nil
	}
	return checkMACs(macs)
}

// prepareVMIUpdate checks an updated VMI and keeps its MAC address when the
// update clears it.
func prepareVMIUpdate(old, vmi *object) error {
	if err := checkVLANTag(vmi, "update"); err != nil {
		return err
	}
	var macs macAddresses
	vmi.prop(macAddressesField, &macs)
	if len(macs.MACAddress) == 0 {
		vmi.props[macAddressesField] = old.props[macAddressesField]
		return nil
	}
	return checkMACs(macs)
}

// macFromUUID returns the MAC address the API server gives a VMI without
// one: "02" followed by uuid characters [0:2], [2:4], [4:6], [6:8] and
// [9:11].
func macFromUUID(id string) string {
	return "02:" + id[0:2] + ":" + id[2:4] + ":" + id[4:6] + ":" + id[6:8] + ":" + id[9:11]
}

func checkMACs(macs macAddresses) error {
	for _, mac := range macs.MACAddress {
		hw, err := net.ParseMAC(mac)
		if err != nil || len(hw) != 6 {
			return badRequest("Bad property %s: invalid MAC address %q, expected xx:xx:xx:xx:xx:xx", macAddressesField, mac)
		}
	}
	return nil
}

func checkVLANTag(vmi *object, operation string) error {
	var props vmiProperties
	if !vmi.prop(vmiPropertiesField, &props) || props.SubInterfaceVLANTag == nil {
		return nil
	}
	if tag := *props.SubInterfaceVLANTag; tag < 0 || tag > maxVLANTag {
		return badRequest("Bad property in %s: sub_interface_vlan_tag: value must be between 0 and %d, got %d", operation, maxVLANTag, tag)
	}
	return nil
}
