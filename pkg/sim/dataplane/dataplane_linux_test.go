package dataplane

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io/fs"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"slices"
	"sync"
	"testing"

	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/containernetworking/plugins/pkg/testutils"
	"github.com/google/uuid"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Documentation address ranges (RFC 5737, RFC 3849): they exist only inside
// the namespaces these tests create.
var (
	redV4  = Subnet{Prefix: netip.MustParsePrefix("192.0.2.0/24"), Gateway: netip.MustParseAddr("192.0.2.254")}
	redV6  = Subnet{Prefix: netip.MustParsePrefix("2001:db8:1::/64"), Gateway: netip.MustParseAddr("2001:db8:1::fffe")}
	blueV4 = Subnet{Prefix: netip.MustParsePrefix("198.51.100.0/24"), Gateway: netip.MustParseAddr("198.51.100.254")}
)

// fakeSubnets is a SubnetSource backed by a map that tests may change.
type fakeSubnets struct {
	mu   sync.Mutex
	vns  map[string][]Subnet
	seen []string
}

func (f *fakeSubnets) VirtualNetworkSubnets(vnUUID string) ([]Subnet, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seen = append(f.seen, vnUUID)
	s, ok := f.vns[vnUUID]
	return slices.Clone(s), ok
}

func (f *fakeSubnets) set(vnUUID string, subnets ...Subnet) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.vns[vnUUID] = subnets
}

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to create links and network namespaces")
	}
}

// testConfig returns a Config with prefixes unique to this test run, so
// that tests can run beside other suites and each other.
func testConfig(t *testing.T) Config {
	t.Helper()
	b := make([]byte, 2)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	tag := "t" + hex.EncodeToString(b)
	return Config{LinkPrefix: tag, NetnsPrefix: "csim-test-" + tag + "-"}
}

// newTestDataPlane returns a DataPlane that the test closes on exit, and
// that it also sweeps with Cleanup in case Close failed.
func newTestDataPlane(t *testing.T, config Config, subnets SubnetSource) *DataPlane {
	t.Helper()
	dp, err := New(config, subnets, slog.New(slog.NewTextHandler(testWriter{t}, nil)))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		if err := dp.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		if removed, err := Cleanup(config); err != nil || len(removed) > 0 {
			t.Errorf("Cleanup after Close removed %v, error %v", removed, err)
		}
	})
	return dp
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}

// pod is a network namespace with an eth0 whose veth peer hostName sits in
// the host namespace or a node namespace.
type pod struct {
	netns    ns.NetNS
	hostName string
	addrs    []netip.Prefix
}

// newPod creates a namespace and a veth pair whose other end is in the
// host namespace, and gives the pod end addrs. The test removes both on
// exit.
func newPod(t *testing.T, hostName string, addrs ...netip.Prefix) *pod {
	t.Helper()
	return newPodOnNode(t, "", hostName, addrs...)
}

// newPodOnNode is newPod with the other end of the veth pair in the named
// namespace nodeNetns, or in the host namespace when it is empty.
func newPodOnNode(t *testing.T, nodeNetns, hostName string, addrs ...netip.Prefix) *pod {
	t.Helper()
	podNS, err := testutils.NewNS()
	if err != nil {
		t.Fatalf("create pod netns: %v", err)
	}
	t.Cleanup(func() {
		// The link is gone already when the node namespace is.
		_ = inNetns(nodeNetns, func() error {
			if l, err := netlinksafe.LinkByName(hostName); err == nil {
				_ = netlink.LinkDel(l)
			}
			return nil
		})
		path := podNS.Path()
		podNS.Close()
		// A lazy unmount, because a fork in a parallel test can hold a copy
		// of the namespace fd for a moment and make a plain unmount fail
		// with EBUSY.
		if err := unix.Unmount(path, unix.MNT_DETACH); err != nil {
			t.Errorf("unmount pod netns %s: %v", path, err)
		}
		if err := os.Remove(path); err != nil {
			t.Errorf("remove pod netns %s: %v", path, err)
		}
	})

	veth := &netlink.Veth{
		LinkAttrs:     netlink.LinkAttrs{Name: hostName},
		PeerName:      "eth0",
		PeerNamespace: netlink.NsFd(int(podNS.Fd())),
	}
	if err := inNetns(nodeNetns, func() error { return netlink.LinkAdd(veth) }); err != nil {
		t.Fatalf("create veth %q in netns %q: %v", hostName, nodeNetns, err)
	}

	err = podNS.Do(func(ns.NetNS) error {
		link, err := netlinksafe.LinkByName("eth0")
		if err != nil {
			return err
		}
		for _, p := range addrs {
			addr := &netlink.Addr{IPNet: &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}}
			if p.Addr().Is6() {
				addr.Flags = unix.IFA_F_NODAD
			}
			if err := netlink.AddrAdd(link, addr); err != nil {
				return err
			}
		}
		return netlink.LinkSetUp(link)
	})
	if err != nil {
		t.Fatalf("configure pod %q: %v", hostName, err)
	}
	return &pod{netns: podNS, hostName: hostName, addrs: addrs}
}

// addRoute adds dst via gw on the pod's eth0.
func (p *pod) addRoute(t *testing.T, dst netip.Prefix, gw netip.Addr) {
	t.Helper()
	err := p.netns.Do(func(ns.NetNS) error {
		link, err := netlinksafe.LinkByName("eth0")
		if err != nil {
			return err
		}
		return netlink.RouteAdd(&netlink.Route{
			LinkIndex: link.Attrs().Index,
			Dst:       &net.IPNet{IP: dst.Addr().AsSlice(), Mask: net.CIDRMask(dst.Bits(), dst.Addr().BitLen())},
			Gw:        gw.AsSlice(),
		})
	})
	if err != nil {
		t.Fatalf("add route %s via %s: %v", dst, gw, err)
	}
}

// ping sends one echo request with a 1 s timeout from the pod's address of
// the same family as dst, up to attempts times, and returns the last error.
func (p *pod) ping(dst netip.Addr, attempts int) error {
	var src netip.Addr
	for _, a := range p.addrs {
		if a.Addr().Is4() == dst.Is4() {
			src = a.Addr()
		}
	}
	var err error
	for range attempts {
		err = p.netns.Do(func(ns.NetNS) error {
			return testutils.Ping(src.String(), dst.String(), 1)
		})
		if err == nil {
			return nil
		}
	}
	return err
}

func linkExists(t *testing.T, name string) bool {
	t.Helper()
	_, err := netlinksafe.LinkByName(name)
	if err == nil {
		return true
	}
	if !isLinkNotFound(err) {
		t.Fatalf("find link %q: %v", name, err)
	}
	return false
}

func netnsExists(t *testing.T, name string) bool {
	t.Helper()
	_, err := os.Stat(NetnsPath(name))
	if err == nil {
		return true
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("stat netns %q: %v", name, err)
	}
	return false
}

func gatewayAddrs(t *testing.T, netnsName string) []netip.Prefix {
	t.Helper()
	var out []netip.Prefix
	err := ns.WithNetNSPath(NetnsPath(netnsName), func(ns.NetNS) error {
		link, err := netlinksafe.LinkByName(GatewayIfname)
		if err != nil {
			return err
		}
		addrs, err := netlinksafe.AddrList(link, netlink.FAMILY_ALL)
		if err != nil {
			return err
		}
		for _, a := range addrs {
			if p, ok := prefixOf(a.IPNet); ok && !p.Addr().IsLinkLocalUnicast() {
				out = append(out, p)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("list gateway addresses in %q: %v", netnsName, err)
	}
	slices.SortFunc(out, func(a, b netip.Prefix) int { return a.Addr().Compare(b.Addr()) })
	return out
}

func TestDataPlaneSameVNReachesGatewayOtherVNIsolated(t *testing.T) {
	requireRoot(t)
	t.Parallel()

	red, blue := uuid.NewString(), uuid.NewString()
	subnets := &fakeSubnets{vns: map[string][]Subnet{red: {redV4, redV6}, blue: {blueV4}}}
	config := testConfig(t)
	dp := newTestDataPlane(t, config, subnets)

	r1 := newPod(t, config.LinkPrefix+"r1",
		netip.MustParsePrefix("192.0.2.11/24"), netip.MustParsePrefix("2001:db8:1::11/64"))
	r2 := newPod(t, config.LinkPrefix+"r2",
		netip.MustParsePrefix("192.0.2.12/24"), netip.MustParsePrefix("2001:db8:1::12/64"))
	b1 := newPod(t, config.LinkPrefix+"b1", netip.MustParsePrefix("198.51.100.11/24"))

	for _, a := range []struct {
		vn  string
		pod *pod
	}{{red, r1}, {red, r2}, {blue, b1}} {
		if err := dp.Attach(a.vn, a.pod.hostName); err != nil {
			t.Fatalf("Attach(%s, %s): %v", a.vn, a.pod.hostName, err)
		}
	}

	redNames, err := NamesFor(config, red)
	if err != nil {
		t.Fatal(err)
	}
	if !linkExists(t, redNames.Bridge) || !linkExists(t, redNames.Veth) || !netnsExists(t, redNames.Netns) {
		t.Fatalf("red objects %+v missing after Attach", redNames)
	}
	wantGateways := []netip.Prefix{netip.MustParsePrefix("192.0.2.254/24"), netip.MustParsePrefix("2001:db8:1::fffe/64")}
	if got := gatewayAddrs(t, redNames.Netns); !slices.Equal(got, wantGateways) {
		t.Errorf("red gateway addresses = %v, want %v", got, wantGateways)
	}

	reachable := []struct {
		name string
		from *pod
		to   string
	}{
		{"red pod to red pod", r1, "192.0.2.12"},
		{"red pod to red pod v6", r1, "2001:db8:1::12"},
		{"red pod to red gateway", r1, "192.0.2.254"},
		{"second red pod to red gateway", r2, "192.0.2.254"},
		{"red pod to red gateway v6", r2, "2001:db8:1::fffe"},
		{"blue pod to blue gateway", b1, "198.51.100.254"},
	}
	for _, c := range reachable {
		if err := c.from.ping(netip.MustParseAddr(c.to), 3); err != nil {
			t.Errorf("%s: ping %s failed: %v", c.name, c.to, err)
		}
	}

	// Even with a route through its own gateway, a blue pod reaches
	// neither red pods nor the red gateway.
	b1.addRoute(t, redV4.Prefix, blueV4.Gateway)
	for _, to := range []string{"192.0.2.11", "192.0.2.254"} {
		if err := b1.ping(netip.MustParseAddr(to), 1); err == nil {
			t.Errorf("blue pod reached red address %s", to)
		}
	}

	if err := dp.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	for _, vn := range []string{red, blue} {
		names, _ := NamesFor(config, vn)
		if linkExists(t, names.Bridge) || linkExists(t, names.Veth) || netnsExists(t, names.Netns) {
			t.Errorf("objects %+v of VN %s remain after Close", names, vn)
		}
	}
	if !linkExists(t, r1.hostName) {
		t.Errorf("Close deleted the pod link %q it did not create", r1.hostName)
	}
	if err := dp.Attach(red, r1.hostName); err == nil {
		t.Error("Attach after Close returned no error")
	}
}

func TestDataPlaneDetach(t *testing.T) {
	requireRoot(t)
	t.Parallel()

	red := uuid.NewString()
	subnets := &fakeSubnets{vns: map[string][]Subnet{red: {redV4}}}
	config := testConfig(t)
	dp := newTestDataPlane(t, config, subnets)

	r1 := newPod(t, config.LinkPrefix+"r1", netip.MustParsePrefix("192.0.2.11/24"))
	r2 := newPod(t, config.LinkPrefix+"r2", netip.MustParsePrefix("192.0.2.12/24"))
	for _, p := range []*pod{r1, r2} {
		if err := dp.Attach(red, p.hostName); err != nil {
			t.Fatalf("Attach(%s): %v", p.hostName, err)
		}
	}
	// Attaching again is allowed and changes nothing.
	if err := dp.Attach(red, r2.hostName); err != nil {
		t.Fatalf("second Attach(%s): %v", r2.hostName, err)
	}
	if err := r1.ping(netip.MustParseAddr("192.0.2.12"), 3); err != nil {
		t.Fatalf("ping between attached pods failed: %v", err)
	}

	if err := dp.Detach(r2.hostName); err != nil {
		t.Fatalf("Detach: %v", err)
	}
	link, err := netlinksafe.LinkByName(r2.hostName)
	if err != nil {
		t.Fatal(err)
	}
	if link.Attrs().MasterIndex != 0 {
		t.Errorf("%s still has master index %d after Detach", r2.hostName, link.Attrs().MasterIndex)
	}
	if err := r1.ping(netip.MustParseAddr("192.0.2.12"), 1); err == nil {
		t.Error("ping to a detached pod succeeded")
	}

	if err := dp.Detach(r2.hostName); err != nil {
		t.Errorf("second Detach: %v", err)
	}
	if err := dp.Detach(config.LinkPrefix + "none"); err != nil {
		t.Errorf("Detach of a missing link: %v", err)
	}
}

func TestDataPlaneAttachErrors(t *testing.T) {
	requireRoot(t)
	t.Parallel()

	red := uuid.NewString()
	subnets := &fakeSubnets{vns: map[string][]Subnet{red: {redV4}, "not-a-uuid": {redV4}}}
	config := testConfig(t)
	dp := newTestDataPlane(t, config, subnets)
	r1 := newPod(t, config.LinkPrefix+"r1", netip.MustParsePrefix("192.0.2.11/24"))

	if err := dp.Attach(uuid.NewString(), r1.hostName); err == nil {
		t.Error("Attach to an unknown VN returned no error")
	}
	if err := dp.Attach("not-a-uuid", r1.hostName); err == nil {
		t.Error("Attach to a VN with an invalid uuid returned no error")
	}
	if err := dp.Attach(red, config.LinkPrefix+"none"); err == nil {
		t.Error("Attach of a missing link returned no error")
	}
}

func TestDataPlaneUpdatesGatewayAddresses(t *testing.T) {
	requireRoot(t)
	t.Parallel()

	red := uuid.NewString()
	subnets := &fakeSubnets{vns: map[string][]Subnet{red: {redV4}}}
	config := testConfig(t)
	dp := newTestDataPlane(t, config, subnets)
	r1 := newPod(t, config.LinkPrefix+"r1", netip.MustParsePrefix("192.0.2.11/24"))

	if err := dp.Attach(red, r1.hostName); err != nil {
		t.Fatal(err)
	}
	names, _ := NamesFor(config, red)

	subnets.set(red, redV6)
	if err := dp.Attach(red, r1.hostName); err != nil {
		t.Fatal(err)
	}
	want := []netip.Prefix{netip.MustParsePrefix("2001:db8:1::fffe/64")}
	if got := gatewayAddrs(t, names.Netns); !slices.Equal(got, want) {
		t.Errorf("gateway addresses after subnet change = %v, want %v", got, want)
	}
}

func TestCleanupRemovesLeftovers(t *testing.T) {
	requireRoot(t)
	t.Parallel()

	red := uuid.NewString()
	subnets := &fakeSubnets{vns: map[string][]Subnet{red: {redV4}}}
	config := testConfig(t)
	r1 := newPod(t, config.LinkPrefix+"r1", netip.MustParsePrefix("192.0.2.11/24"))

	// A data plane that is never closed, like one of a killed process.
	leftover, err := New(config, subnets, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := leftover.Attach(red, r1.hostName); err != nil {
		t.Fatal(err)
	}
	names, _ := NamesFor(config, red)

	// A new data plane with the same names replaces the leftovers.
	dp := newTestDataPlane(t, config, subnets)
	if err := dp.Attach(red, r1.hostName); err != nil {
		t.Fatalf("Attach over leftovers: %v", err)
	}
	if err := r1.ping(redV4.Gateway, 3); err != nil {
		t.Errorf("ping gateway after replacing leftovers: %v", err)
	}

	removed, err := Cleanup(config)
	if err != nil {
		t.Fatalf("Cleanup: %v", err)
	}
	want := []string{names.Veth, names.Bridge, NetnsPath(names.Netns)}
	if !slices.Equal(removed, want) {
		t.Errorf("Cleanup removed %v, want %v", removed, want)
	}
	if linkExists(t, names.Bridge) || netnsExists(t, names.Netns) {
		t.Error("objects remain after Cleanup")
	}
	if !linkExists(t, r1.hostName) {
		t.Error("Cleanup deleted a link that does not match the prefixes")
	}
}
