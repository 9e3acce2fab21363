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

	// version is the POST /syncports count when the port was last added.
	version uint64
	// attachedVN is the VN the data plane attached HostIfname to, "" while
	// it is not attached.
	attachedVN string
}

// postVM handles POST /vm, the container-port binding contrail-k8s-cni
// sends.
func (s *Server) postVM(_ *http.Request, body []byte, _ []string) reply {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.initLocked()

	return s.addVMJSONLocked(body, nil, true)
}

// addVMJSONLocked adds the port of a POST /vm body or port file the way
// the agent's AddVmVnPort does, and returns the reply. When linkExists is
// not nil, a port whose host interface it does not find is rejected. When
// writeFile is true, the port's file is written first. The caller holds
// s.mu.
func (s *Server) addVMJSONLocked(body []byte, linkExists func(string) bool, writeFile bool) reply {
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
	sub, errMsg := parseVMRequest(obj, linkExists)
	if sub == nil {
		s.logger().Warn("rejected vm request", "error", errMsg)
		return errorReply(http.StatusInternalServerError, "{ "+errMsg+" }")
	}

	if err := s.addVMLocked(sub, writeFile); err != nil {
		return errorReply(http.StatusInternalServerError, "{ "+err.Error()+" }")
	}
	return okReply()
}

// parseVMRequest validates one POST /vm object in the agent's order and
// with its messages. When linkExists is not nil, a port whose host
// interface it does not find is invalid. It returns nil and the message
// when the object is invalid.
func parseVMRequest(o jsonObject, linkExists func(string) bool) (*vmSubscription, string) {
	var errMsg string
	sub := &vmSubscription{}
	var ok bool

	if sub.VMUUID, ok = o.uuidMember("vm-uuid", &errMsg); !ok {
		return nil, errMsg
	}
	if sub.HostIfname, ok = o.stringMember("host-ifname", &errMsg); !ok {
		return nil, errMsg
	}
	if linkExists != nil && !linkExists(sub.HostIfname) {
		return nil, "Interface does not exist in OS"
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
// When writeFile is true it first writes the port file, and adds nothing
// when that fails. The caller holds s.mu.
func (s *Server) addVMLocked(sub *vmSubscription, writeFile bool) error {
	if writeFile {
		if err := s.writeVMFile(sub); err != nil {
			// The agent logs the failure, adds nothing and still returns 200.
			s.logger().Error("vm port not added because its file cannot be written", "vm", sub.VMUUID, "vmi", sub.VMIUUID, "error", err)
			return nil
		}
	}
	sub.version = s.version

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
	s.logger().Info("bound vm port", "vm", sub.VMUUID, "vm_name", sub.VMName, "vmi", sub.VMIUUID, "ifname", sub.HostIfname, "version", sub.version)

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
	s.mu.Lock()
	defer s.mu.Unlock()
	s.initLocked()

	s.deleteVMLocked(match[1])
	return okReply()
}

// deleteVMLocked removes every subscription of the VM vmUUID and, when it
// had any, the directory ports/vm/<vm-uuid>. The caller holds s.mu.
//
// The agent writes the files of a VM under ports/vm/<vm-name> but deletes
// under ports/vm/<vm-uuid>, so its own files stay behind and the client
// removes the files it wrote. The simulator does the same (reading of
// DeleteVmVnPort in tf-controller port_ipc_handler.cc). The agent also
// takes the VM's VMIs from config, so it keeps the subscriptions when
// config no longer has the VM. The simulator removes them anyway, so that
// DELETE /vm always unbinds.
func (s *Server) deleteVMLocked(vmUUID string) {
	if vmUUID == nilUUID {
		return
	}
	subs := s.vms[vmUUID]
	delete(s.vms, vmUUID)
	for _, sub := range subs {
		s.releaseLocked(sub.HostIfname)
		s.logger().Info("unbound vm port", "vm", vmUUID, "vmi", sub.VMIUUID, "ifname", sub.HostIfname)
	}
	if len(subs) > 0 {
		s.removeVMDir(vmUUID)
	}
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
// the VM vmUUID on this node, sorted. The caller holds s.mu.
func (s *Server) vmInterfaceUUIDsLocked(vmUUID string) []string {
	vmis := s.configVMInterfacesByUUIDLocked(vmUUID)
	uuids := make([]string, 0, len(vmis))
	for _, cfg := range vmis {
		uuids = append(uuids, cfg.UUID)
	}
	slices.Sort(uuids)
	return slices.Compact(uuids)
}

// vmNamesLocked returns the names that config replies and bindings gave
// for the VM vmUUID. The caller holds s.mu.
func (s *Server) vmNamesLocked(vmUUID string) []string {
	var names []string
	if name, ok := s.vmNames[vmUUID]; ok {
		names = append(names, name)
	}
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
