package agent

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Port types of POST /port ("type").
const (
	PortTypeVM        = 0 // VMPORT: a Nova VM's tap
	PortTypeNamespace = 1 // NAMESPACE: a netns interface, what contrail-vif sends
	PortTypeRemote    = 2 // REMOTE_PORT: an ESXi port, with no host interface
)

// invalidVLANID is the agent's kInvalidVlanId: a VLAN id of -1 stored in 16
// bits, reported when a port has no VLAN.
const invalidVLANID = 0xFFFF

// portSubscription is one POST /port body after validation: a VMI-keyed
// binding of a host interface.
type portSubscription struct {
	VMIUUID       string
	InstanceUUID  string
	VNUUID        string
	ProjectUUID   string
	DisplayName   string
	IPv4          netip.Addr
	IPv6          netip.Addr
	Type          int
	SystemName    string
	MAC           string
	RxVLANID      uint16
	TxVLANID      uint16
	VhostuserMode int
	LinkState     int

	// version is the POST /syncports count when the port was last added.
	version uint64
	// attachedVN is the VN the data plane attached SystemName to, "" while
	// it is not attached.
	attachedVN string
}

// postPort handles POST /port: one port object, or an array of them that
// is added all or none.
func (s *Server) postPort(_ *http.Request, body []byte, _ []string) reply {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.initLocked()

	return s.addPortsJSONLocked(body, nil, true)
}

// addPortsJSONLocked adds the ports of a POST /port body or port file the
// way the agent's AddPortFromJson does, and returns the reply. When
// linkExists is not nil, a port whose host interface it does not find is
// rejected. When writeFile is true, each port's file is written first. The
// caller holds s.mu.
func (s *Server) addPortsJSONLocked(body []byte, linkExists func(string) bool, writeFile bool) reply {
	v, ok := decodeJSON(body)
	if !ok {
		return errorReply(http.StatusInternalServerError, "{ Invalid Json string ==> "+string(body)+" }")
	}

	var subs []*portSubscription
	switch doc := v.(type) {
	case map[string]any:
		sub, errMsg := parsePortRequest(jsonObject(doc), linkExists)
		if sub == nil {
			s.logger().Warn("rejected port request", "error", errMsg)
			return errorReply(http.StatusInternalServerError, "{ "+errMsg+" }")
		}
		subs = append(subs, sub)
	case []any:
		// The agent validates every element first and adds none when one
		// is invalid, yet still returns 200.
		for _, elem := range doc {
			obj, ok := asObject(elem)
			if !ok {
				s.logger().Warn("ignored port array with a non-object element")
				return okReply()
			}
			sub, errMsg := parsePortRequest(obj, linkExists)
			if sub == nil {
				s.logger().Warn("ignored port array with an invalid element", "error", errMsg)
				return okReply()
			}
			subs = append(subs, sub)
		}
	default:
		return errorReply(http.StatusInternalServerError, "{ Unexpected Json string ==> "+string(body)+" }")
	}

	var failures []string
	for _, sub := range subs {
		if err := s.addPortLocked(sub, writeFile); err != nil {
			failures = append(failures, err.Error())
		}
	}
	if len(failures) > 0 {
		// NOTE: the real agent has no data plane step that can fail here;
		// the simulator returns the failure so that the client learns of it.
		return errorReply(http.StatusInternalServerError, "{ "+strings.Join(failures, "; ")+" }")
	}
	return okReply()
}

// parsePortRequest validates one POST /port object in the agent's order and
// with its messages. When linkExists is not nil, a port other than a remote
// port whose host interface it does not find is invalid. It returns nil and
// the message when the object is invalid.
func parsePortRequest(o jsonObject, linkExists func(string) bool) (*portSubscription, string) {
	var errMsg string
	sub := &portSubscription{LinkState: 1}
	var ok bool

	if sub.VMIUUID, ok = o.uuidMember("id", &errMsg); !ok {
		return nil, errMsg
	}
	if sub.InstanceUUID, ok = o.uuidMember("instance-id", &errMsg); !ok {
		return nil, errMsg
	}
	if sub.VNUUID, ok = o.uuidMember("vn-id", &errMsg); !ok {
		return nil, errMsg
	}
	if sub.ProjectUUID, ok = o.uuidMember("vm-project-id", &errMsg); !ok {
		return nil, errMsg
	}
	if sub.DisplayName, ok = o.stringMember("display-name", &errMsg); !ok {
		return nil, errMsg
	}

	ip4, ok := o.stringMember("ip-address", &errMsg)
	if !ok {
		return nil, errMsg
	}
	// Addresses that do not parse become 0.0.0.0 and ::, as in the agent.
	sub.IPv4 = netip.IPv4Unspecified()
	if a, err := netip.ParseAddr(ip4); err == nil && a.Is4() {
		sub.IPv4 = a
	}
	ip6, ok := o.stringMember("ip6-address", &errMsg)
	if !ok {
		return nil, errMsg
	}
	sub.IPv6 = netip.IPv6Unspecified()
	if a, err := netip.ParseAddr(ip6); err == nil && a.Is6() {
		sub.IPv6 = a
	}

	portType, ok := o.intMember("type", &errMsg)
	if !ok {
		return nil, errMsg
	}
	switch portType {
	case PortTypeNamespace:
		sub.Type = PortTypeNamespace
	case PortTypeRemote:
		sub.Type = PortTypeRemote
		sub.LinkState = 0
	default:
		sub.Type = PortTypeVM
	}
	if sub.Type == PortTypeVM && sub.VNUUID == nilUUID {
		return nil, "Invalid VN uuid"
	}

	if sub.SystemName, ok = o.stringMember("system-name", &errMsg); !ok {
		return nil, errMsg
	}
	if sub.Type != PortTypeRemote && linkExists != nil && !linkExists(sub.SystemName) {
		return nil, "Interface does not exist in OS"
	}
	if sub.MAC, ok = o.stringMember("mac-address", &errMsg); !ok {
		return nil, errMsg
	}
	if !validMAC(sub.MAC) {
		return nil, "Invalid MAC, Use xx:xx:xx:xx:xx:xx format"
	}

	rx, ok := o.intMember("rx-vlan-id", &errMsg)
	if !ok {
		return nil, errMsg
	}
	tx, ok := o.intMember("tx-vlan-id", &errMsg)
	if !ok {
		return nil, errMsg
	}
	// The agent compares the values as 32-bit unsigned integers, so -1
	// (0xFFFFFFFF) passes, then stores them in 16 bits.
	if uint32(rx) != invalidVLANID && uint32(tx) == invalidVLANID-1 {
		return nil, "Invalid request. RX (isolated) vlan set, but TX vlan not set"
	}
	sub.RxVLANID, sub.TxVLANID = uint16(rx), uint16(tx)

	if mode, ok := o.intMember("vhostuser-mode", nil); ok {
		sub.VhostuserMode = int(mode)
	}
	if state, ok := o.intMember("link-state", nil); ok {
		sub.LinkState = int(state)
	}
	return sub, ""
}

// validMAC reports whether mac has exactly five colons and parses to a
// non-zero address, the agent's test.
func validMAC(mac string) bool {
	if strings.Count(mac, ":") != 5 {
		return false
	}
	hw, err := net.ParseMAC(mac)
	if err != nil {
		// The agent's parser reads a malformed MAC as all zeros.
		return false
	}
	for _, b := range hw {
		if b != 0 {
			return true
		}
	}
	return false
}

// addPortLocked subscribes sub and attaches its host interface. When
// writeFile is true it first writes the port file, and adds nothing when
// that fails. The caller holds s.mu.
//
// Like the agent, a port added again for the same VM keeps its first
// subscription, with the new version only, and a port added for another VM
// replaces the old one (reading of PortSubscribeTable::AddVmi in
// tf-controller port_subscribe_table.cc).
func (s *Server) addPortLocked(sub *portSubscription, writeFile bool) error {
	if writeFile {
		if err := s.writePortFile(sub, false); err != nil {
			// The agent logs the failure, adds nothing and still returns 200,
			// because AddPortFromJson ignores the result of AddVmiUuidEntry.
			s.logger().Error("port not added because its file cannot be written", "vmi", sub.VMIUUID, "error", err)
			return nil
		}
	}

	sub.version = s.version
	if old, ok := s.ports[sub.VMIUUID]; ok {
		if old.InstanceUUID == sub.InstanceUUID {
			old.version = sub.version
			sub = old
		} else {
			delete(s.ports, sub.VMIUUID)
			if old.SystemName != sub.SystemName {
				s.releaseLocked(old.SystemName)
			}
		}
	}
	s.ports[sub.VMIUUID] = sub
	s.logger().Info("bound port", "vmi", sub.VMIUUID, "vm", sub.InstanceUUID, "ifname", sub.SystemName, "type", sub.Type, "version", sub.version)

	if sub.Type == PortTypeRemote {
		// A remote port has no host interface.
		return nil
	}
	vn, err := s.attachLocked(sub.VMIUUID, sub.VNUUID, sub.SystemName)
	if err != nil {
		delete(s.ports, sub.VMIUUID)
		return err
	}
	sub.attachedVN = vn
	return nil
}

// deletePort handles DELETE /port/<uuid>. The agent always returns 200.
func (s *Server) deletePort(_ *http.Request, _ []byte, match []string) reply {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.initLocked()

	s.deletePortLocked(match[1])
	return okReply()
}

// deletePortLocked unsubscribes the port vmiUUID and removes its file, which
// the agent does even when it has no such port. The caller holds s.mu.
func (s *Server) deletePortLocked(vmiUUID string) {
	if vmiUUID == nilUUID {
		return
	}
	if sub, ok := s.ports[vmiUUID]; ok {
		delete(s.ports, vmiUUID)
		s.releaseLocked(sub.SystemName)
		s.logger().Info("unbound port", "vmi", vmiUUID, "ifname", sub.SystemName)
	}
	s.removePortFile(vmiUUID)
}

// getPort handles GET /port/<uuid>: the port as the agent reports it, a
// bare object, or 404 until config has the VMI with an address.
func (s *Server) getPort(_ *http.Request, _ []byte, match []string) reply {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.initLocked()

	info, ok := s.portInfoLocked(match[1])
	if !ok {
		return errorReply(http.StatusNotFound, "{ Not Found }")
	}
	return reply{status: http.StatusOK, body: prettyJSON(info)}
}
