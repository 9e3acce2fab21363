// Package state keeps the plugin's per-attachment records on the node, so
// that DEL, CHECK and GC can undo or verify what ADD did without asking the
// agent or Kubernetes.
//
// Layout under the state directory:
//
//	attachments/<containerID>:<ifname>.json  one Attachment per ADD that succeeded
//	owners/<vmi-uuid>.json                   the Owner of the VMI's tap and port binding
//	owners/<vmi-uuid>.lock                   flock(2) file that serializes changes to that VMI
//
// Container ids and interface names never contain ':' or '/' (the CNI
// library rejects them), so the attachment file name is unambiguous.
package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

const (
	attachmentsDir = "attachments"
	ownersDir      = "owners"
	fileMode       = 0o600
	dirMode        = 0o700
)

// Attachment records one attachment that ADD completed.
type Attachment struct {
	ContainerID string `json:"containerID"`
	IfName      string `json:"ifname"`
	// Network is the CNI network name of the config that ADD ran with.
	Network string `json:"network"`
	// Netns is the CNI_NETNS path of the sandbox.
	Netns        string `json:"netns"`
	PodNamespace string `json:"podNamespace"`
	PodName      string `json:"podName"`
	PodUID       string `json:"podUID"`
	// VMName and VMUUID identify the Contrail virtual-machine of the pod.
	VMName string `json:"vmName"`
	VMUUID string `json:"vmUUID"`
	// VMIUUID is the virtual-machine-interface bound to Tap.
	VMIUUID string `json:"vmiUUID"`
	// VirtualNetwork is the VN fq-name, "domain:project:name".
	VirtualNetwork string `json:"virtualNetwork"`
	// Tap is the host end of the veth pair.
	Tap string `json:"tap"`
	// Result is the ADD result in the latest CNI version the plugin implements.
	Result json.RawMessage `json:"result,omitempty"`
	// Created is when ADD finished.
	Created time.Time `json:"created"`
}

// Owner names the attachment whose ADD last took over a VMI. Only that
// attachment's DEL may delete the VMI's tap or unbind its port, because a
// new sandbox of the same pod gets the same VMI and tap name as the old one.
type Owner struct {
	ContainerID string `json:"containerID"`
	IfName      string `json:"ifname"`
}

// Is reports whether o names the attachment (containerID, ifname).
func (o *Owner) Is(containerID, ifname string) bool {
	return o != nil && o.ContainerID == containerID && o.IfName == ifname
}

// Store reads and writes the records under Dir.
type Store struct {
	Dir string
}

// New returns a Store for the state directory dir.
func New(dir string) *Store {
	return &Store{Dir: dir}
}

// Save writes a atomically, replacing the record of the same attachment.
func (s *Store) Save(a *Attachment) error {
	path, err := s.attachmentPath(a.ContainerID, a.IfName)
	if err != nil {
		return err
	}
	return writeJSON(path, a)
}

// Load reads the record of the attachment (containerID, ifname). It returns
// an error matching fs.ErrNotExist when there is none.
func (s *Store) Load(containerID, ifname string) (*Attachment, error) {
	path, err := s.attachmentPath(containerID, ifname)
	if err != nil {
		return nil, err
	}
	a := &Attachment{}
	if err := readJSON(path, a); err != nil {
		return nil, err
	}
	return a, nil
}

// Remove deletes the record of the attachment (containerID, ifname). A
// missing record is not an error.
func (s *Store) Remove(containerID, ifname string) error {
	path, err := s.attachmentPath(containerID, ifname)
	if err != nil {
		return err
	}
	return removeFile(path)
}

// List returns every attachment record. It skips records it cannot read or
// decode and returns their errors joined, together with the rest.
func (s *Store) List() ([]*Attachment, error) {
	dir := filepath.Join(s.Dir, attachmentsDir)
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list attachment records in %s: %w", dir, err)
	}
	var out []*Attachment
	var errs []error
	for _, e := range entries {
		if !e.Type().IsRegular() || !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		a := &Attachment{}
		if err := readJSON(filepath.Join(dir, e.Name()), a); err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, a)
	}
	return out, errors.Join(errs...)
}

// Owner reads the owner record of the VMI vmiUUID. It returns an error
// matching fs.ErrNotExist when there is none.
func (s *Store) Owner(vmiUUID string) (*Owner, error) {
	path, err := s.ownerPath(vmiUUID, ".json")
	if err != nil {
		return nil, err
	}
	o := &Owner{}
	if err := readJSON(path, o); err != nil {
		return nil, err
	}
	return o, nil
}

// SetOwner writes the owner record of the VMI vmiUUID atomically. Call it
// while holding the VMI's lock.
func (s *Store) SetOwner(vmiUUID string, o Owner) error {
	path, err := s.ownerPath(vmiUUID, ".json")
	if err != nil {
		return err
	}
	return writeJSON(path, &o)
}

// RemoveOwner deletes the owner record of the VMI vmiUUID. A missing record
// is not an error. Call it while holding the VMI's lock.
func (s *Store) RemoveOwner(vmiUUID string) error {
	path, err := s.ownerPath(vmiUUID, ".json")
	if err != nil {
		return err
	}
	return removeFile(path)
}

func (s *Store) attachmentPath(containerID, ifname string) (string, error) {
	if err := checkName("container id", containerID); err != nil {
		return "", err
	}
	if err := checkName("interface name", ifname); err != nil {
		return "", err
	}
	return filepath.Join(s.Dir, attachmentsDir, containerID+":"+ifname+".json"), nil
}

func (s *Store) ownerPath(vmiUUID, suffix string) (string, error) {
	if err := checkName("VMI uuid", vmiUUID); err != nil {
		return "", err
	}
	return filepath.Join(s.Dir, ownersDir, vmiUUID+suffix), nil
}

// checkName rejects values that would not make a single, unambiguous file
// name component.
func checkName(what, value string) error {
	if value == "" || value == "." || value == ".." || strings.ContainsAny(value, "/:") {
		return fmt.Errorf("invalid %s %q: it must be non-empty and contain no '/' or ':'", what, value)
	}
	return nil
}

func readJSON(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read state file: %w", err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("decode state file %s: %w", path, err)
	}
	return nil
}

// writeJSON writes v to path through a temporary file in the same directory
// and a rename, so that a reader sees the old or the new record, never a
// partial one.
func writeJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode state file %s: %w", path, err)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, dirMode); err != nil {
		return fmt.Errorf("create state directory: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return fmt.Errorf("create state file: %w", err)
	}
	committed := false
	defer func() {
		if !committed {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()

	if err := tmp.Chmod(fileMode); err != nil {
		return fmt.Errorf("set mode of %s: %w", tmp.Name(), err)
	}
	if _, err := tmp.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", tmp.Name(), err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("close %s: %w", tmp.Name(), err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("replace state file: %w", err)
	}
	committed = true
	return syncDir(dir)
}

// syncDir makes a rename or removal in dir durable across a node crash.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open state directory: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync state directory %s: %w", dir, err)
	}
	return nil
}

func removeFile(path string) error {
	err := os.Remove(path)
	if err == nil || errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return fmt.Errorf("remove state file: %w", err)
}
