package agent

import (
	"net/http"
	"slices"
)

// vmSubscription is one POST /vm body after validation: a container port
// keyed by VM and VMI.
type vmSubscription struct {
	VMUUID      string
	VMName      string
	HostIfname  string
	VMID        string
	VMIfname    string
	VMNamespace string
	VNUUID      string
	VMIUUID     string

	// attachedVN is the VN the data plane attached HostIfname to, "" while
	// it is not attached.
	attachedVN string
}

// postVM handles POST /vm, the container-port binding contrail-k8s-cni
// sends.
func (s *Server) postVM(_ *http.Request, body []byte, _ []string) reply {
	v, ok := decodeJSON(body)
	if !ok {
		return errorReply(http.StatusInternalServerError, "{ Invalid Json string ==> "+string(body)+" }")
	}
	// An array is rejected here too: the agent tests for an object before
	// its "Arrays not supported" check, so that check never runs.
	obj, ok := asObject(v)
	if !ok {
		return errorReply(http.StatusInternalServerError, "{ Unexpected Json string ==> "+string(body)+" }")
	}
	sub, errMsg := parseVMRequest(obj)
	if sub == nil {
		s.logger().Warn("rejected vm request", "error", errMsg)
		return errorReply(http.StatusInternalServerError, "{ "+errMsg+" }")
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	s.initLocked()

	if err := s.addVMLocked(sub); err != nil {
		return errorReply(http.StatusInternalServerError, "{ "+err.Error()+" }")
	}
	return okReply()
}

// parseVMRequest validates one POST /vm object in the agent's order and
// with its messages. It returns nil and the message when the object is
// invalid.
func parseVMRequest(o jsonObject) (*vmSubscription, string) {
	var errMsg string
	sub := &vmSubscription{}
	var ok bool

	if sub.VMUUID, ok = o.uuidMember("vm-uuid", &errMsg); !ok {
		return nil, errMsg
	}
	if sub.HostIfname, ok = o.stringMember("host-ifname", &errMsg); !ok {
		return nil, errMsg
	}
	if sub.VMName, ok = o.stringMember("vm-name", &errMsg); !ok {
		return nil, errMsg
	}
	sub.VMID, _ = o.stringMember("vm-id", nil)
	sub.VMIfname, _ = o.stringMember("vm-ifname", nil)
	sub.VMNamespace, _ = o.stringMember("vm-namespace", nil)
	if sub.VNUUID, ok = o.uuidMember("vn-uuid", &errMsg); !ok {
		return nil, errMsg
	}
	if sub.VMIUUID, ok = o.uuidMember("vmi-uuid", &errMsg); !ok {
		return nil, errMsg
	}
	return sub, ""
}

// addVMLocked records sub, replacing an earlier subscription of the same
// VMI under any VM, and attaches its host interface when it names a VMI.
// The caller holds s.mu.
func (s *Server) addVMLocked(sub *vmSubscription) error {
	var oldIfnames []string
	for vmUUID, vm := range s.vms {
		if old, ok := vm[sub.VMIUUID]; ok {
			delete(vm, sub.VMIUUID)
			if len(vm) == 0 {
				delete(s.vms, vmUUID)
			}
			oldIfnames = append(oldIfnames, old.HostIfname)
		}
	}
	for _, ifname := range oldIfnames {
		if ifname != sub.HostIfname {
			s.releaseLocked(ifname)
		}
	}

	if s.vms[sub.VMUUID] == nil {
		s.vms[sub.VMUUID] = map[string]*vmSubscription{}
	}
	s.vms[sub.VMUUID][sub.VMIUUID] = sub
	s.logger().Info("bound vm port", "vm", sub.VMUUID, "vm_name", sub.VMName, "vmi", sub.VMIUUID, "ifname", sub.HostIfname)

	// The agent binds the host interface only to a named VMI.
	if sub.VMIUUID == nilUUID {
		return nil
	}
	vn, err := s.attachLocked(sub.VMIUUID, sub.VNUUID, sub.HostIfname)
	if err != nil {
		delete(s.vms[sub.VMUUID], sub.VMIUUID)
		if len(s.vms[sub.VMUUID]) == 0 {
			delete(s.vms, sub.VMUUID)
		}
		return err
	}
	sub.attachedVN = vn
	return nil
}

// deleteVM handles DELETE /vm/<vm-uuid>, which removes every subscription
// of the VM. The agent ignores the body and always returns 200.
func (s *Server) deleteVM(_ *http.Request, _ []byte, match []string) reply {
	vmUUID := match[1]

	s.mu.Lock()
	defer s.mu.Unlock()
	s.initLocked()

	subs := s.vms[vmUUID]
	delete(s.vms, vmUUID)
	for _, sub := range subs {
		s.releaseLocked(sub.HostIfname)
		s.logger().Info("unbound vm port", "vm", vmUUID, "vmi", sub.VMIUUID, "ifname", sub.HostIfname)
	}
	return okReply()
}

// getVM handles GET /vm/<vm-uuid> and GET /vm/<vm-uuid>/<vmi-uuid>: an
// array with the port view of every VMI of the VM, or of the one VMI. Like
// the agent, the second form does not check that the VMI belongs to the VM.
func (s *Server) getVM(_ *http.Request, _ []byte, match []string) reply {
	vmUUID := match[1]

	s.mu.Lock()
	defer s.mu.Unlock()
	s.initLocked()

	var vmiUUIDs []string
	if len(match) > 2 {
		vmiUUIDs = []string{match[2]}
	} else {
		vmiUUIDs = s.vmInterfaceUUIDsLocked(vmUUID)
	}
	if len(vmiUUIDs) == 0 {
		return errorReply(http.StatusNotFound, "{ Not Found }")
	}

	out := make([]portInfo, 0, len(vmiUUIDs))
	for _, vmiUUID := range vmiUUIDs {
		info, ok := s.portInfoLocked(vmiUUID)
		if !ok {
			// The agent fails the whole request when one VMI is not ready.
			return errorReply(http.StatusNotFound, "{ Not Found }")
		}
		out = append(out, info)
	}
	return reply{status: http.StatusOK, body: prettyArray(out)}
}

// vmInterfaceUUIDsLocked returns the uuids of the VMIs that config has for
// the VM vmUUID on this node, sorted. Without a VMUUIDView it looks the VM
// up by the names that port bindings gave for it. The caller holds s.mu.
func (s *Server) vmInterfaceUUIDsLocked(vmUUID string) []string {
	var vmis []VMIConfig
	if view, ok := s.Config.(VMUUIDView); ok {
		vmis, _ = view.VMInterfacesByUUID(s.Node, vmUUID)
	} else {
		for _, name := range s.vmNamesLocked(vmUUID) {
			found, _ := s.Config.VMInterfaces(s.Node, name)
			for _, cfg := range found {
				if cfg.VMUUID == vmUUID {
					vmis = append(vmis, cfg)
				}
			}
			if len(vmis) > 0 {
				break
			}
		}
	}

	uuids := make([]string, 0, len(vmis))
	for _, cfg := range vmis {
		uuids = append(uuids, cfg.UUID)
	}
	slices.Sort(uuids)
	return slices.Compact(uuids)
}

// vmNamesLocked returns the names that bindings give for the VM vmUUID.
// The caller holds s.mu.
func (s *Server) vmNamesLocked(vmUUID string) []string {
	var names []string
	for _, sub := range s.vms[vmUUID] {
		names = append(names, sub.VMName)
	}
	for _, sub := range s.ports {
		if sub.InstanceUUID != vmUUID {
			continue
		}
		if cfg, ok := s.Config.Interface(s.Node, sub.VMIUUID); ok {
			names = append(names, cfg.VMName)
		}
		names = append(names, sub.DisplayName)
	}
	slices.Sort(names)
	return slices.Compact(names)
}
