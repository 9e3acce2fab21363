package dataplane

import (
	"net/netip"
	"os"
	"slices"
	"testing"

	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/containernetworking/plugins/pkg/testutils"
	"github.com/google/uuid"
	"github.com/vishvananda/netlink"
)

// newTestTopology creates a topology of nodes with namespace names unique
// to this test run, and removes it when the test ends. Register data
// planes after it, so that they close before it does.
func newTestTopology(t *testing.T, nodes ...string) (*Topology, TopologyConfig) {
	t.Helper()
	config := TopologyConfig{Prefix: "csim-test-" + testConfig(t).LinkPrefix + "-", Nodes: nodes}
	topo, err := NewTopology(config, nil)
	if err != nil {
		t.Fatalf("NewTopology: %v", err)
	}
	t.Cleanup(func() {
		if err := topo.Close(); err != nil {
			t.Errorf("Topology.Close: %v", err)
		}
		if removed, err := CleanupTopology(config); err != nil || len(removed) > 0 {
			t.Errorf("CleanupTopology after Close removed %v, error %v", removed, err)
		}
	})
	return topo, config
}

// nodeDataPlane returns the data plane of the node named name, closed when
// the test ends.
func nodeDataPlane(t *testing.T, topo *Topology, name, linkPrefix string, subnets SubnetSource) (*DataPlane, Config) {
	t.Helper()
	config, err := topo.NodeConfig(name, linkPrefix)
	if err != nil {
		t.Fatal(err)
	}
	return newTestDataPlane(t, config, subnets), config
}

// pingFromNetns sends one echo request with a 1 s timeout from src to dst
// inside the named namespace, up to attempts times, and returns the last
// error.
func pingFromNetns(netnsName string, src, dst netip.Addr, attempts int) error {
	var err error
	for range attempts {
		err = inNetns(netnsName, func() error {
			return testutils.Ping(src.String(), dst.String(), 1)
		})
		if err == nil {
			return nil
		}
	}
	return err
}

// bridgePortIsolated returns the isolated flag of the bridge port name in
// the named namespace.
func bridgePortIsolated(t *testing.T, netnsName, name string) bool {
	t.Helper()
	var isolated bool
	err := inNetns(netnsName, func() error {
		link, err := netlinksafe.LinkByName(name)
		if err != nil {
			return err
		}
		info, err := netlinksafe.LinkGetProtinfo(link)
		if err != nil {
			return err
		}
		isolated = info.Isolated
		return nil
	})
	if err != nil {
		t.Fatalf("read bridge port flags of %q in netns %q: %v", name, netnsName, err)
	}
	return isolated
}

// setGatewayUp sets the gateway interface of the gateway namespace up or
// down.
func setGatewayUp(t *testing.T, netnsName string, up bool) {
	t.Helper()
	err := inNetns(netnsName, func() error {
		link, err := netlinksafe.LinkByName(GatewayIfname)
		if err != nil {
			return err
		}
		if up {
			return netlink.LinkSetUp(link)
		}
		return netlink.LinkSetDown(link)
	})
	if err != nil {
		t.Fatalf("set gateway in netns %q up=%v: %v", netnsName, up, err)
	}
}

func TestTopologyConnectsNodes(t *testing.T) {
	requireRoot(t)
	t.Parallel()

	topo, config := newTestTopology(t, "a", "b", "c")

	if len(topo.Nodes) != 3 {
		t.Fatalf("topology has %d nodes, want 3", len(topo.Nodes))
	}
	for i, node := range topo.Nodes {
		want := netip.AddrFrom4([4]byte{198, 18, 0, byte(i + 1)})
		if node.Address != want {
			t.Errorf("node %s address = %s, want %s", node.Name, node.Address, want)
		}
		if !netnsExists(t, node.Netns) {
			t.Errorf("netns %s of node %s missing", node.Netns, node.Name)
		}
	}
	if !netnsExists(t, topo.UnderlayNetns) {
		t.Errorf("underlay netns %s missing", topo.UnderlayNetns)
	}

	a, c := topo.Nodes[0], topo.Nodes[2]
	if err := pingFromNetns(a.Netns, a.Address, c.Address, 3); err != nil {
		t.Errorf("ping node c from node a over the underlay: %v", err)
	}

	cfg, err := topo.NodeConfig("b", "t")
	if err != nil {
		t.Fatal(err)
	}
	wantPeers := []netip.Addr{a.Address, c.Address}
	if cfg.Netns != topo.Nodes[1].Netns || cfg.Overlay == nil || cfg.Overlay.LocalAddr != topo.Nodes[1].Address || !slices.Equal(cfg.Overlay.Peers, wantPeers) {
		t.Errorf("NodeConfig(b) = %+v, overlay %+v; want netns %s, local %s, peers %v", cfg, cfg.Overlay, topo.Nodes[1].Netns, topo.Nodes[1].Address, wantPeers)
	}
	if _, err := topo.NodeConfig("d", "t"); err == nil {
		t.Error("NodeConfig of an unknown node returned no error")
	}

	// A second topology with the same names replaces the first one's
	// namespaces, as after a crash.
	again, err := NewTopology(config, nil)
	if err != nil {
		t.Fatalf("NewTopology over leftovers: %v", err)
	}
	if err := pingFromNetns(a.Netns, a.Address, c.Address, 3); err != nil {
		t.Errorf("ping over the replaced underlay: %v", err)
	}
	if err := again.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	for _, name := range []string{a.Netns, c.Netns, topo.UnderlayNetns} {
		if netnsExists(t, name) {
			t.Errorf("netns %s remains after Close", name)
		}
	}
}

func TestOverlayStretchesVNAcrossNodes(t *testing.T) {
	requireRoot(t)
	t.Parallel()

	topo, _ := newTestTopology(t, "a", "b")
	nodeA, nodeB := topo.Nodes[0], topo.Nodes[1]

	red, blue := uuid.NewString(), uuid.NewString()
	subnets := &fakeSubnets{vns: map[string][]Subnet{red: {redV4, redV6}, blue: {blueV4}}}
	linkPrefix := testConfig(t).LinkPrefix
	dpA, configA := nodeDataPlane(t, topo, "a", linkPrefix, subnets)
	dpB, configB := nodeDataPlane(t, topo, "b", linkPrefix, subnets)

	redA1 := newPodOnNode(t, nodeA.Netns, linkPrefix+"r1",
		netip.MustParsePrefix("192.0.2.11/24"), netip.MustParsePrefix("2001:db8:1::11/64"))
	redA2 := newPodOnNode(t, nodeA.Netns, linkPrefix+"r2", netip.MustParsePrefix("192.0.2.12/24"))
	redB := newPodOnNode(t, nodeB.Netns, linkPrefix+"r3",
		netip.MustParsePrefix("192.0.2.21/24"), netip.MustParsePrefix("2001:db8:1::21/64"))
	blueB := newPodOnNode(t, nodeB.Netns, linkPrefix+"b1", netip.MustParsePrefix("198.51.100.21/24"))

	for _, a := range []struct {
		dp  *DataPlane
		vn  string
		pod *pod
	}{{dpA, red, redA1}, {dpA, red, redA2}, {dpB, red, redB}, {dpB, blue, blueB}} {
		if err := a.dp.Attach(a.vn, a.pod.hostName); err != nil {
			t.Fatalf("Attach(%s, %s): %v", a.vn, a.pod.hostName, err)
		}
	}

	redNamesA, err := NamesFor(configA, red)
	if err != nil {
		t.Fatal(err)
	}
	redNamesB, err := NamesFor(configB, red)
	if err != nil {
		t.Fatal(err)
	}
	if redNamesA.Netns == redNamesB.Netns {
		t.Fatalf("nodes share the gateway netns name %s", redNamesA.Netns)
	}
	for _, c := range []struct{ netns, port string }{
		{nodeA.Netns, redNamesA.Veth}, {nodeA.Netns, redNamesA.VXLAN}, {nodeB.Netns, redNamesB.VXLAN},
	} {
		if !bridgePortIsolated(t, c.netns, c.port) {
			t.Errorf("bridge port %s in netns %s is not isolated", c.port, c.netns)
		}
	}
	if !dpA.LinkExists(redA1.hostName) || dpA.LinkExists(redB.hostName) {
		t.Errorf("LinkExists on node a = %v for its pod and %v for node b's pod, want true and false",
			dpA.LinkExists(redA1.hostName), dpA.LinkExists(redB.hostName))
	}
	if bridgePortIsolated(t, nodeA.Netns, redA1.hostName) {
		t.Errorf("pod port %s is isolated, so it cannot reach the gateway", redA1.hostName)
	}

	reachable := []struct {
		name string
		from *pod
		to   string
	}{
		{"red pod on a to red pod on b", redA1, "192.0.2.21"},
		{"red pod on b to red pod on a", redB, "192.0.2.11"},
		{"red pod on a to red pod on b v6", redA1, "2001:db8:1::21"},
		{"red pods on a", redA1, "192.0.2.12"},
		{"red pod on a to its gateway", redA1, "192.0.2.254"},
		{"red pod on b to its gateway", redB, "192.0.2.254"},
		{"red pod on b to its gateway v6", redB, "2001:db8:1::fffe"},
		{"blue pod on b to its gateway", blueB, "198.51.100.254"},
	}
	for _, c := range reachable {
		if err := c.from.ping(netip.MustParseAddr(c.to), 3); err != nil {
			t.Errorf("%s: ping %s failed: %v", c.name, c.to, err)
		}
	}

	// A blue pod reaches no red pod, on its node or another, even with a
	// route through its gateway.
	blueB.addRoute(t, redV4.Prefix, blueV4.Gateway)
	for _, to := range []string{"192.0.2.11", "192.0.2.21"} {
		if err := blueB.ping(netip.MustParseAddr(to), 1); err == nil {
			t.Errorf("blue pod on b reached red address %s", to)
		}
	}

	// Each node's gateway replies to its own ports only. With node a's red
	// gateway down, node b's gateway does not step in.
	setGatewayUp(t, redNamesA.Netns, false)
	if err := redA1.ping(redV4.Gateway, 3); err == nil {
		t.Error("red pod on a reached a gateway while node a's gateway is down")
	}
	if err := redB.ping(redV4.Gateway, 1); err != nil {
		t.Errorf("red pod on b lost its own gateway: %v", err)
	}
	setGatewayUp(t, redNamesA.Netns, true)

	if err := dpA.Close(); err != nil {
		t.Fatalf("Close node a: %v", err)
	}
	err = inNetns(nodeA.Netns, func() error {
		for _, name := range []string{redNamesA.Bridge, redNamesA.VXLAN, redNamesA.Veth} {
			if _, err := netlinksafe.LinkByName(name); !isLinkNotFound(err) {
				t.Errorf("link %s remains in node netns after Close, lookup error %v", name, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if netnsExists(t, redNamesA.Netns) {
		t.Errorf("gateway netns %s remains after Close", redNamesA.Netns)
	}
	if err := redB.ping(netip.MustParseAddr("192.0.2.11"), 1); err == nil {
		t.Error("red pod on b reached a pod on a after node a's data plane closed")
	}
}

func TestDataPlaneInMissingNodeNetns(t *testing.T) {
	requireRoot(t)
	t.Parallel()

	red := uuid.NewString()
	subnets := &fakeSubnets{vns: map[string][]Subnet{red: {redV4}}}
	config := testConfig(t)
	config.Netns = config.NetnsPrefix + "missing-node"
	dp := newTestDataPlane(t, config, subnets)

	if err := dp.Attach(red, "eth0"); err == nil {
		t.Error("Attach in a node netns that does not exist returned no error")
	}
	names, _ := NamesFor(config, red)
	if netnsExists(t, names.Netns) {
		t.Errorf("gateway netns %s left after a failed Attach", names.Netns)
	}
	if _, err := os.Stat(NetnsPath(config.Netns)); err == nil {
		t.Errorf("Attach created the node netns %s", config.Netns)
	}
	if err := dp.Detach("eth0"); err != nil {
		t.Errorf("Detach in a missing node netns: %v", err)
	}
}
