package agent

import (
	"fmt"
	"net/http"
	"strings"
)

// portInfo is the body of GET /port/<uuid> and an element of GET /vm,
// with the fields in the agent's order.
type portInfo struct {
	ID            string `json:"id"`
	InstanceID    string `json:"instance-id"`
	VNID          string `json:"vn-id"`
	ProjectID     string `json:"vm-project-id"`
	MAC           string `json:"mac-address"`
	SystemName    string `json:"system-name"`
	RxVLANID      int    `json:"rx-vlan-id"`
	TxVLANID      int    `json:"tx-vlan-id"`
	VhostuserMode int    `json:"vhostuser-mode"`
	IPAddress     string `json:"ip-address,omitempty"`
	PrefixLen     *int   `json:"plen,omitempty"`
	DNSServer     string `json:"dns-server,omitempty"`
	Gateway       string `json:"gateway,omitempty"`
	V6IPAddress   string `json:"v6-ip-address,omitempty"`
	V6DNSServer   string `json:"v6-dns-server,omitempty"`
	V6Gateway     string `json:"v6-gateway,omitempty"`
	Author        string `json:"author"`
	Time          string `json:"time"`
}

// vmConfigInfo is an element of GET /vm-cfg/<vm-name>.
type vmConfigInfo struct {
	ID           string   `json:"id"`
	VMUUID       string   `json:"vm-uuid"`
	VNID         string   `json:"vn-id"`
	VNName       string   `json:"vn-name"`
	MAC          string   `json:"mac-address"`
	SubInterface bool     `json:"sub-interface"`
	VLANID       int      `json:"vlan-id"`
	Annotations  []string `json:"annotations,omitempty"`
}

// getVMConfig handles GET /vm-cfg/<vm-name>: the VM's interfaces from
// config, available before any port is bound.
func (s *Server) getVMConfig(_ *http.Request, _ []byte, match []string) reply {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.initLocked()

	vmis, ok := s.configVMInterfacesLocked(match[1])
	if !ok || len(vmis) == 0 {
		return errorReply(http.StatusNotFound, "{ Not Found }")
	}
	out := make([]vmConfigInfo, 0, len(vmis))
	for _, cfg := range vmis {
		if cfg.VNUUID == "" {
			// The agent fails the whole request when one VMI has no VN.
			return errorReply(http.StatusNotFound, "{ Not Found }")
		}
		info := vmConfigInfo{
			ID:           cfg.UUID,
			VMUUID:       cfg.VMUUID,
			VNID:         cfg.VNUUID,
			VNName:       cfg.VNFQName,
			MAC:          cfg.MAC,
			SubInterface: cfg.SubInterface,
			VLANID:       cfg.VLANID,
		}
		for _, kv := range cfg.Annotations {
			info.Annotations = append(info.Annotations, "{"+kv.Key+":"+kv.Value+"}")
		}
		out = append(out, info)
	}
	return reply{status: http.StatusOK, body: prettyArray(out)}
}

// portInfoLocked builds the agent's view of the VMI vmiUUID, and false
// when config does not have it on this node with a VN and an address. The
// caller holds s.mu.
func (s *Server) portInfoLocked(vmiUUID string) (portInfo, bool) {
	cfg, ok := s.configInterfaceLocked(vmiUUID)
	if !ok || cfg.VNUUID == "" || (cfg.IPv4 == nil && cfg.IPv6 == nil) {
		return portInfo{}, false
	}
	s.followConfigLocked(cfg)

	info := portInfo{
		ID:         cfg.UUID,
		InstanceID: cfg.VMUUID,
		VNID:       cfg.VNUUID,
		ProjectID:  orNilUUID(cfg.ProjectUUID),
		MAC:        formatMAC(cfg.MAC),
		RxVLANID:   invalidVLANID,
		TxVLANID:   invalidVLANID,
		Author:     programName,
		Time:       s.timestamp(),
	}
	if sub, ok := s.ports[vmiUUID]; ok {
		info.SystemName = sub.SystemName
		info.RxVLANID = int(sub.RxVLANID)
		info.TxVLANID = int(sub.TxVLANID)
		info.VhostuserMode = sub.VhostuserMode
	} else if sub := s.vmSubscriptionLocked(vmiUUID); sub != nil {
		info.SystemName = sub.HostIfname
	}

	if ip := cfg.IPv4; ip != nil {
		plen := ip.PrefixLen
		info.IPAddress = ip.Address
		info.PrefixLen = &plen
		info.DNSServer = orDefault(ip.DNSServer, "0.0.0.0")
		info.Gateway = orDefault(ip.Gateway, "0.0.0.0")
	}
	if ip := cfg.IPv6; ip != nil {
		info.V6IPAddress = ip.Address
		info.V6DNSServer = orDefault(ip.DNSServer, "::")
		info.V6Gateway = orDefault(ip.Gateway, "::")
	}
	return info, true
}

// vmSubscriptionLocked returns the POST /vm subscription of vmiUUID, or
// nil. The caller holds s.mu.
func (s *Server) vmSubscriptionLocked(vmiUUID string) *vmSubscription {
	for _, vm := range s.vms {
		if sub, ok := vm[vmiUUID]; ok {
			return sub
		}
	}
	return nil
}

// attachLocked attaches ifname to the VN of the VMI vmiUUID: the VN in
// config when the VMI is visible on this node, else requestVN. It returns
// the VN attached to, or "" when there is no data plane or no VN is known
// yet. The caller holds s.mu.
func (s *Server) attachLocked(vmiUUID, requestVN, ifname string) (string, error) {
	if s.DataPlane == nil || ifname == "" {
		return "", nil
	}
	vn := requestVN
	if cfg, ok := s.configInterfaceLocked(vmiUUID); ok && cfg.VNUUID != "" {
		vn = cfg.VNUUID
	}
	if vn == "" || vn == nilUUID {
		s.logger().Info("port not attached yet because its VMI is not in config and the request names no VN", "vmi", vmiUUID, "ifname", ifname)
		return "", nil
	}
	if err := s.DataPlane.Attach(vn, ifname); err != nil {
		s.logger().Error("failed to attach port", "vmi", vmiUUID, "vn", vn, "ifname", ifname, "error", err)
		return "", fmt.Errorf("attach %q of VMI %s to VN %s: %w", ifname, vmiUUID, vn, err)
	}
	return vn, nil
}

// followConfigLocked attaches the bound interfaces of cfg again when config
// now puts the VMI in another VN than the one they are attached to, or when
// they could not be attached at bind time for want of config. The real
// agent does this as config arrives; the simulator does it when a client
// reads the port. The caller holds s.mu.
func (s *Server) followConfigLocked(cfg VMIConfig) {
	if s.DataPlane == nil {
		return
	}
	if sub, ok := s.ports[cfg.UUID]; ok && sub.Type != PortTypeRemote && sub.attachedVN != cfg.VNUUID {
		if vn, err := s.attachLocked(cfg.UUID, cfg.VNUUID, sub.SystemName); err == nil {
			sub.attachedVN = vn
		}
	}
	if sub := s.vmSubscriptionLocked(cfg.UUID); sub != nil && sub.attachedVN != cfg.VNUUID {
		if vn, err := s.attachLocked(cfg.UUID, cfg.VNUUID, sub.HostIfname); err == nil {
			sub.attachedVN = vn
		}
	}
}

// releaseLocked detaches ifname from the data plane unless another
// subscription still binds it. The caller holds s.mu.
func (s *Server) releaseLocked(ifname string) {
	if s.DataPlane == nil || ifname == "" {
		return
	}
	for _, sub := range s.ports {
		if sub.SystemName == ifname {
			return
		}
	}
	for _, vm := range s.vms {
		for _, sub := range vm {
			if sub.HostIfname == ifname {
				return
			}
		}
	}
	if err := s.DataPlane.Detach(ifname); err != nil {
		s.logger().Error("failed to detach port", "ifname", ifname, "error", err)
	}
}

func orNilUUID(s string) string { return orDefault(s, nilUUID) }

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// formatMAC returns mac in the agent's form, lowercase with colons, and
// all zeros when config has none.
func formatMAC(mac string) string {
	if mac == "" {
		return "00:00:00:00:00:00"
	}
	return strings.ToLower(mac)
}
