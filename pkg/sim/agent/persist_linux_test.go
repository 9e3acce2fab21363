package agent

import (
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/containernetworking/plugins/pkg/testutils"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// newTestNetns returns a new network namespace that is removed when the
// test ends, with every link in it.
func newTestNetns(t *testing.T) ns.NetNS {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to create a network namespace")
	}
	netns, err := testutils.NewNS()
	if err != nil {
		t.Fatalf("create netns: %v", err)
	}
	t.Cleanup(func() {
		path := netns.Path()
		_ = netns.Close()
		// A lazy unmount, because a fork in a parallel test can hold a copy
		// of the namespace fd for a moment and make a plain unmount fail
		// with EBUSY.
		if err := unix.Unmount(path, unix.MNT_DETACH); err != nil {
			t.Errorf("unmount netns %s: %v", path, err)
		}
		_ = os.Remove(path)
	})
	return netns
}

// addVeth adds a veth pair name and name+"p" to netns. A veth, because
// not every test kernel has the dummy link type.
func addVeth(t *testing.T, netns ns.NetNS, name string) {
	t.Helper()
	err := netns.Do(func(ns.NetNS) error {
		return netlink.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: name}, PeerName: name + "p"})
	})
	if err != nil {
		t.Fatalf("add veth pair %s: %v", name, err)
	}
}

func TestLoadPortsChecksKernelLinks(t *testing.T) {
	netns := newTestNetns(t)
	addVeth(t, netns, "tapkept")
	addVeth(t, netns, "tapgone")

	second := testVMI()
	second.UUID = vmi2UUID
	a := newTestAgent(t, testVMI(), second)
	a.server.PortsDir = t.TempDir()
	a.do(t, http.MethodPost, "/port", toJSON(t, portRequest(t, vmiUUID, "tapkept", nil)))
	a.do(t, http.MethodPost, "/vm", vmRequest(t, vmi2UUID, "tapgone", nil))

	err := netns.Do(func(ns.NetNS) error {
		link, err := netlinksafe.LinkByName("tapgone")
		if err != nil {
			return err
		}
		return netlink.LinkDel(link)
	})
	if err != nil {
		t.Fatalf("delete tapgone: %v", err)
	}

	// A new agent, with LinkExists unset, checks the links in the netns it
	// runs in.
	b := newTestAgent(t)
	b.server.Config = a.server.Config
	b.server.PortsDir = a.server.PortsDir
	err = netns.Do(func(ns.NetNS) error { return b.server.LoadPorts() })
	if err != nil {
		t.Fatalf("LoadPorts: %v", err)
	}

	attached, _ := b.dp.snapshot()
	if attached["tapkept"] != vnUUID || len(attached) != 1 {
		t.Errorf("attached after reload = %v, want only tapkept", attached)
	}
	if _, err := os.Stat(filepath.Join(b.server.PortsDir, "vm", vmName, vmi2UUID)); err != nil {
		t.Errorf("file of the skipped port: %v, want it kept", err)
	}
}
