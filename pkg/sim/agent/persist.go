package agent

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// vmDirName is the subdirectory of PortsDir that holds the POST /vm files,
// one directory per VM name.
const vmDirName = "vm"

// File modes of what the agent creates under PortsDir, those the agent
// gets from the usual umask 022.
const (
	portsDirMode  = 0o755
	portsFileMode = 0o644
)

// portFile is the content of a POST /port file: the request fields in the
// order the agent writes them, plus author and time.
type portFile struct {
	ID            string `json:"id"`
	InstanceID    string `json:"instance-id"`
	DisplayName   string `json:"display-name"`
	IPAddress     string `json:"ip-address"`
	IP6Address    string `json:"ip6-address"`
	VNID          string `json:"vn-id"`
	ProjectID     string `json:"vm-project-id"`
	MAC           string `json:"mac-address"`
	SystemName    string `json:"system-name"`
	Type          int    `json:"type"`
	RxVLANID      int    `json:"rx-vlan-id"`
	TxVLANID      int    `json:"tx-vlan-id"`
	VhostuserMode int    `json:"vhostuser-mode"`
	// LinkState is written for remote ports only, which have no host
	// interface to take the state from.
	LinkState *int   `json:"link-state,omitempty"`
	Author    string `json:"author"`
	Time      string `json:"time"`
}

// vmFile is the content of a POST /vm file, in the order the agent writes
// it.
type vmFile struct {
	VMUUID      string `json:"vm-uuid"`
	VNUUID      string `json:"vn-uuid"`
	VMIUUID     string `json:"vmi-uuid"`
	VMID        string `json:"vm-id"`
	VMName      string `json:"vm-name"`
	HostIfname  string `json:"host-ifname"`
	VMIfname    string `json:"vm-ifname"`
	VMNamespace string `json:"vm-namespace"`
	Author      string `json:"author"`
	Time        string `json:"time"`
}

// writePortFile writes the file PortsDir/<vmi-uuid> of sub. Without
// overwrite, an existing file is kept as it is, as the agent does for
// POST /port. Enable-port and disable-port overwrite.
func (s *Server) writePortFile(sub *portSubscription, overwrite bool) error {
	if s.PortsDir == "" {
		return nil
	}
	content := portFile{
		ID:            sub.VMIUUID,
		InstanceID:    sub.InstanceUUID,
		DisplayName:   sub.DisplayName,
		IPAddress:     sub.IPv4.String(),
		IP6Address:    sub.IPv6.String(),
		VNID:          sub.VNUUID,
		ProjectID:     sub.ProjectUUID,
		MAC:           sub.MAC,
		SystemName:    sub.SystemName,
		Type:          sub.Type,
		RxVLANID:      int(sub.RxVLANID),
		TxVLANID:      int(sub.TxVLANID),
		VhostuserMode: sub.VhostuserMode,
		Author:        programName,
		Time:          s.timestamp(),
	}
	if sub.Type == PortTypeRemote {
		state := sub.LinkState
		content.LinkState = &state
	}
	path := filepath.Join(s.PortsDir, sub.VMIUUID)
	return writeFile(path, []byte(prettyJSON(content)), overwrite)
}

// writeVMFile writes the file PortsDir/vm/<vm-name>/<vmi-uuid> of sub,
// creating the VM's directory. An existing file is kept as it is: the CNI
// writes the same file before it sends POST /vm.
func (s *Server) writeVMFile(sub *vmSubscription) error {
	if s.PortsDir == "" {
		return nil
	}
	// NOTE: the agent would also write for a name with a slash, or for "."
	// and "..", outside the VM's directory. The simulator refuses.
	if sub.VMName == "" || sub.VMName == "." || sub.VMName == ".." || strings.ContainsAny(sub.VMName, "/\x00") {
		return fmt.Errorf("invalid vm-name %q for a port file directory", sub.VMName)
	}
	dir := filepath.Join(s.PortsDir, vmDirName, sub.VMName)
	if err := os.MkdirAll(dir, portsDirMode); err != nil {
		return fmt.Errorf("create directory %s: %w", dir, err)
	}
	content := vmFile{
		VMUUID:      sub.VMUUID,
		VNUUID:      sub.VNUUID,
		VMIUUID:     sub.VMIUUID,
		VMID:        sub.VMID,
		VMName:      sub.VMName,
		HostIfname:  sub.HostIfname,
		VMIfname:    sub.VMIfname,
		VMNamespace: sub.VMNamespace,
		Author:      programName,
		Time:        s.timestamp(),
	}
	return writeFile(filepath.Join(dir, sub.VMIUUID), []byte(prettyJSON(content)), false)
}

// writeFile writes data to path. Without overwrite, an existing file is
// left alone and is not an error. A partly written new file is removed.
func writeFile(path string, data []byte, overwrite bool) error {
	flags := os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	if !overwrite {
		flags = os.O_WRONLY | os.O_CREATE | os.O_EXCL
	}
	f, err := os.OpenFile(path, flags, portsFileMode)
	if err != nil {
		if !overwrite && errors.Is(err, fs.ErrExist) {
			return nil
		}
		return fmt.Errorf("open port file: %w", err)
	}
	_, err = f.Write(data)
	if closeErr := f.Close(); err == nil {
		err = closeErr
	}
	if err != nil {
		_ = os.Remove(path)
		return fmt.Errorf("write port file %s: %w", path, err)
	}
	return nil
}

// removePortFile removes the file PortsDir/<vmi-uuid> when it is a regular
// file.
func (s *Server) removePortFile(vmiUUID string) {
	if s.PortsDir == "" {
		return
	}
	path := filepath.Join(s.PortsDir, vmiUUID)
	info, err := os.Stat(path)
	if err != nil || !info.Mode().IsRegular() {
		return
	}
	if err := os.Remove(path); err != nil {
		s.logger().Error("failed to delete port file", "path", path, "error", err)
	}
}

// removeVMDir removes the directory PortsDir/vm/<vm-uuid> and everything in
// it, which is where the agent looks for a VM's files on DELETE /vm.
func (s *Server) removeVMDir(vmUUID string) {
	if s.PortsDir == "" {
		return
	}
	path := filepath.Join(s.PortsDir, vmDirName, vmUUID)
	if err := os.RemoveAll(path); err != nil {
		s.logger().Error("failed to delete vm port directory", "path", path, "error", err)
	}
}

// LoadPorts creates PortsDir and PortsDir/vm when they are missing, then
// adds every port of the files in them, as the agent does when it starts:
// first each PortsDir/<uuid> as if it were a POST /port body, then each
// PortsDir/vm/<vm-name>/<uuid> as if it were a POST /vm body. Files whose
// name is not a uuid are ignored. A port whose host interface no longer
// exists (LinkExists) is skipped and logged, and its file is kept: the
// agent does not delete it either (reading of ReloadAllPorts in
// tf-controller port_ipc_handler.cc). Nothing is written back.
//
// LoadPorts returns an error only when it cannot create or read the
// directories. It does nothing when PortsDir is empty.
func (s *Server) LoadPorts() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.initLocked()
	return s.loadPortsLocked()
}

// loadPortsLocked is LoadPorts. The caller holds s.mu.
func (s *Server) loadPortsLocked() error {
	if s.PortsDir == "" {
		return nil
	}
	vmDir := filepath.Join(s.PortsDir, vmDirName)
	if err := os.MkdirAll(vmDir, portsDirMode); err != nil {
		return fmt.Errorf("create ports directory: %w", err)
	}
	linkExists := s.LinkExists
	if linkExists == nil {
		linkExists = s.kernelLinkExists
	}

	files, err := uuidFiles(s.PortsDir)
	if err != nil {
		return err
	}
	for _, path := range files {
		s.loadFileLocked(path, func(body []byte) reply { return s.addPortsJSONLocked(body, linkExists, false) })
	}

	entries, err := os.ReadDir(vmDir)
	if err != nil {
		return fmt.Errorf("read ports directory: %w", err)
	}
	for _, entry := range entries {
		dir := filepath.Join(vmDir, entry.Name())
		if info, err := os.Stat(dir); err != nil || !info.IsDir() {
			continue
		}
		files, err := uuidFiles(dir)
		if err != nil {
			s.logger().Error("failed to read vm port directory", "path", dir, "error", err)
			continue
		}
		for _, path := range files {
			s.loadFileLocked(path, func(body []byte) reply { return s.addVMJSONLocked(body, linkExists, false) })
		}
	}
	return nil
}

// loadFileLocked reads the port file path and adds its port with add. The
// caller holds s.mu.
func (s *Server) loadFileLocked(path string, add func(body []byte) reply) {
	body, err := os.ReadFile(path)
	if err != nil {
		s.logger().Error("failed to read port file", "path", path, "error", err)
		return
	}
	rep := add(body)
	if rep.status != 200 {
		s.logger().Warn("skipped port file", "path", path, "status", rep.status, "reply", rep.body)
		return
	}
	s.logger().Info("loaded port file", "path", path)
}

// uuidFiles returns the paths of the regular files in dir whose name is a
// uuid, sorted by name.
func uuidFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read ports directory: %w", err)
	}
	var paths []string
	for _, entry := range entries {
		if parseUUID(entry.Name()) == nilUUID {
			continue
		}
		path := filepath.Join(dir, entry.Name())
		if info, err := os.Stat(path); err != nil || !info.Mode().IsRegular() {
			continue
		}
		paths = append(paths, path)
	}
	return paths, nil
}
