package plugin

import (
	"context"
	"net"
	"slices"
	"strings"
	"testing"

	"github.com/containernetworking/cni/pkg/types"
	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netlink"

	"github.com/contrail-vif/contrail-vif/pkg/attachment"
)

// annotate adds the annotation key:value to the VMI vmi of VM vmName, as
// the controller writes it and the agent reports it.
func (a *fakeAgent) annotate(vmName, vmi, key, value string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for i := range a.vms[vmName] {
		if a.vms[vmName][i].ID == vmi {
			a.vms[vmName][i].Annotations = append(a.vms[vmName][i].Annotations, "{"+key+":"+value+"}")
		}
	}
}

// addDualStackVMI registers a VMI with 10.77.0.3/24 and fd00:77::3/64.
func (e *testEnv) addDualStackVMI(p testPod, ifname string) string {
	return e.agent.addVMI(fakeVMI{vmName: p.vmName(), podUID: p.uid, ifname: ifname, vnName: testVN,
		ipv4: "10.77.0.3", plen: 24, ipv6: "fd00:77::3"})
}

// routeStrings returns the routes of result as "dst via gw" or "dst".
func routeStrings(routes []*types.Route) []string {
	var out []string
	for _, r := range routes {
		s := r.Dst.String()
		if r.GW != nil {
			s += " via " + r.GW.String()
		}
		out = append(out, s)
	}
	return out
}

// linkRoutes returns the routes through ifname in netns, both families,
// without the kernel's subnet and link-local routes.
func linkRoutes(t *testing.T, netns ns.NetNS, ifname string) []string {
	t.Helper()
	var out []string
	err := netns.Do(func(ns.NetNS) error {
		link, err := netlinksafe.LinkByName(ifname)
		if err != nil {
			return err
		}
		routes, err := netlinksafe.RouteList(link, netlink.FAMILY_ALL)
		if err != nil {
			return err
		}
		for _, r := range routes {
			if r.Dst == nil || r.Protocol == netlink.RouteProtocol(2) || r.Dst.IP.IsLinkLocalUnicast() || r.Dst.IP.IsMulticast() {
				continue // kernel routes: subnets, fe80::/64, multicast
			}
			s := r.Dst.String()
			if r.Gw != nil {
				s += " via " + r.Gw.String()
			}
			out = append(out, s)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("list routes of %s: %v", ifname, err)
	}
	return out
}

func TestAddInstallsConfigAndHostRoutes(t *testing.T) {
	e := newTestEnv(t)
	podNS := newNS(t)
	pod := newTestPod("web")
	vmi := e.addDualStackVMI(pod, "net1")
	e.agent.annotate(pod.vmName(), vmi, attachment.KeyHostRoutes,
		"10.60.0.0/16 via 10.77.0.1,0.0.0.0/0 via 10.77.0.254,10.70.0.0/16 via 10.88.0.1,fd00:60::/48 via fd00:77::1,192.168.50.0/24")
	conf := e.config("1.1.0", map[string]any{"routes": []map[string]string{
		{"dst": "10.20.0.0/16", "gw": "10.77.0.254"},
		{"dst": "fd00:20::/64", "gw": "fd00:77::fe"},
		{"dst": "10.60.0.0/16", "gw": "10.77.0.2"},
	}})
	args := e.args(pod, podNS, "c1", "net1", conf)

	result := currentResult(t, e.add(args))

	// Config routes first, then the host routes that fit: the default
	// route, the route of another subnet and the host route that a config
	// route replaces are skipped.
	want := []string{"10.20.0.0/16 via 10.77.0.254", "fd00:20::/64 via fd00:77::fe", "10.60.0.0/16 via 10.77.0.2",
		"fd00:60::/48 via fd00:77::1", "192.168.50.0/24"}
	if got := routeStrings(result.Routes); !slices.Equal(got, want) {
		t.Errorf("result routes = %v, want %v", got, want)
	}
	installed := linkRoutes(t, podNS, "net1")
	for _, r := range want {
		if !slices.Contains(installed, r) {
			t.Errorf("route %q is not on net1; net1 has %v", r, installed)
		}
	}
	for _, r := range []string{"0.0.0.0/0 via 10.77.0.254", "10.70.0.0/16 via 10.88.0.1", "10.60.0.0/16 via 10.77.0.1"} {
		if slices.Contains(installed, r) {
			t.Errorf("route %q is on net1, want it skipped", r)
		}
	}
	if got := result.DNS.Nameservers; !slices.Equal(got, []string{"10.77.0.253", "fd00:77::fd"}) {
		t.Errorf("result DNS nameservers = %v, want the subnets' DNS servers 10.77.0.253 and fd00:77::fd", got)
	}

	// CHECK verifies the routes of the result.
	checkArgs := *args
	checkArgs.StdinData = withPrevResult(t, args.StdinData, result)
	if err := e.plugin.Check(context.Background(), &checkArgs); err != nil {
		t.Fatalf("Check after ADD: %v", err)
	}
	delRoute(t, podNS, "10.20.0.0/16")
	if err := e.plugin.Check(context.Background(), &checkArgs); err == nil || !strings.Contains(err.Error(), "10.20.0.0") {
		t.Errorf("Check after the route was deleted: %v, want an error naming 10.20.0.0", err)
	}
}

func delRoute(t *testing.T, netns ns.NetNS, dst string) {
	t.Helper()
	err := netns.Do(func(ns.NetNS) error {
		_, ipn, err := net.ParseCIDR(dst)
		if err != nil {
			return err
		}
		return netlink.RouteDel(&netlink.Route{Dst: ipn})
	})
	if err != nil {
		t.Fatalf("delete route %s: %v", dst, err)
	}
}

func TestAddRejectsRoutesThatDoNotFit(t *testing.T) {
	for _, c := range []struct {
		name  string
		route map[string]string
		parts []string
	}{
		{"no address of the family", map[string]string{"dst": "fd00:20::/64", "gw": "fd00:77::fe"},
			[]string{"routes[0] fd00:20::/64 via fd00:77::fe", "no address of the family"}},
		{"gateway outside the subnet", map[string]string{"dst": "10.20.0.0/16", "gw": "10.88.0.1"},
			[]string{"routes[0]", "gateway 10.88.0.1 is outside the interface's subnet 10.77.0.0/24"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newTestEnv(t)
			podNS := newNS(t)
			pod := newTestPod("web")
			e.addVMI(pod, "net1", "10.77.0.3")
			args := e.args(pod, podNS, "c1", "net1", e.config("1.0.0", map[string]any{"routes": []map[string]string{c.route}}))
			_, err := e.plugin.Add(context.Background(), args)
			requireCNIError(t, err, types.ErrInvalidNetworkConfig, c.parts...)
			if exists, _ := linkExists(podNS, "net1"); exists {
				t.Error("net1 exists after a rejected ADD")
			}
		})
	}
}

func linkExists(netns ns.NetNS, name string) (bool, error) {
	found := false
	err := netns.Do(func(ns.NetNS) error {
		_, err := netlinksafe.LinkByName(name)
		found = err == nil
		return nil
	})
	return found, err
}

func TestAddRejectsInvalidHostRoutesAnnotation(t *testing.T) {
	e := newTestEnv(t)
	podNS := newNS(t)
	pod := newTestPod("web")
	vmi := e.addVMI(pod, "net1", "10.77.0.3")
	e.agent.annotate(pod.vmName(), vmi, attachment.KeyHostRoutes, "10.60.0.1/16 via 10.77.0.1")
	_, err := e.plugin.Add(context.Background(), e.args(pod, podNS, "c1", "net1", e.config("1.0.0", nil)))
	requireCNIError(t, err, types.ErrDecodingFailure, attachment.KeyHostRoutes, "10.60.0.1/16")
}

func TestAddLeavesExistingRouteAlone(t *testing.T) {
	e := newTestEnv(t)
	podNS := newNS(t)
	pod := newTestPod("web")
	e.addVMI(pod, "net1", "10.77.0.3")
	// The pod already routes 10.20.0.0/16 through another interface.
	err := podNS.Do(func(ns.NetNS) error {
		other := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "other0"}, PeerName: "other1"}
		if err := netlink.LinkAdd(other); err != nil {
			return err
		}
		if err := netlink.LinkSetUp(other); err != nil {
			return err
		}
		_, ipn, _ := net.ParseCIDR("10.20.0.0/16")
		return netlink.RouteAdd(&netlink.Route{LinkIndex: other.Attrs().Index, Dst: ipn})
	})
	if err != nil {
		t.Fatal(err)
	}
	conf := e.config("1.0.0", map[string]any{"routes": []map[string]string{
		{"dst": "10.20.0.0/16", "gw": "10.77.0.254"}, {"dst": "10.30.0.0/16", "gw": "10.77.0.254"},
	}})

	result := currentResult(t, e.add(e.args(pod, podNS, "c1", "net1", conf)))

	if got := routeStrings(result.Routes); !slices.Equal(got, []string{"10.30.0.0/16 via 10.77.0.254"}) {
		t.Errorf("result routes = %v, want only the route the plugin added", got)
	}
	if !strings.Contains(e.log.String(), "already has a route") {
		t.Errorf("the log does not mention the skipped route:\n%s", e.log.String())
	}
}

func TestResultRouteConversion(t *testing.T) {
	routes, err := attachment.ParseRoutes("10.1.0.0/16 via 10.0.0.1,fd00:1::/64")
	if err != nil {
		t.Fatal(err)
	}
	if got := routeStrings([]*types.Route{resultRoute(routes[0]), resultRoute(routes[1])}); !slices.Equal(got, []string{"10.1.0.0/16 via 10.0.0.1", "fd00:1::/64"}) {
		t.Errorf("converted routes = %v", got)
	}
	if ip := resultRoute(routes[0]).Dst.IP; len(ip) != net.IPv4len {
		t.Errorf("IPv4 destination has %d bytes, want 4 so that it prints in dotted form", len(ip))
	}
}
