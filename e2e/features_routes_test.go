//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	current "github.com/containernetworking/cni/pkg/types/100"
	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netlink"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/contrail-vif/contrail-vif/e2e/framework"
	"github.com/contrail-vif/contrail-vif/pkg/netconf"
	"github.com/contrail-vif/contrail-vif/pkg/state"
)

// The virtual network of examples/nad-routes.yaml, created by the test.
const (
	routedVN        = "default-domain:demo:routed"
	routedSubnet4   = "10.10.7.0/24"
	routedSubnet6   = "fd00:10:7::/64"
	routedDNS4      = "10.10.7.253"
	routedDNS6      = "fd00:10:7:0:ffff:ffff:ffff:fffd"
	routedDefaultGW = "10.10.7.254"
)

func TestRoutesFromNADAndIPAM(t *testing.T) {
	ctx := context.Background()
	createVNWithCleanup(t, []string{"--host-route", "10.20.0.0/16=10.10.7.1", "--host-route", "fd00:20::/48=fd00:10:7::1",
		"--host-route", "0.0.0.0/0=" + routedDefaultGW}, routedVN, routedSubnet4, routedSubnet6)
	applyExample(t, "nad-routes.yaml")

	netns, statuses := startPod(t, "routes-1", "routed")

	// The NAD's routes and the IPAM host routes are on net1; the IPAM's
	// default route is not, so eth0 keeps the default route.
	want := []string{
		"10.30.0.0/16 via 10.10.7.254", "fd00:30::/64 via fd00:10:7::1", "192.168.30.0/24",
		"10.20.0.0/16 via 10.10.7.1", "fd00:20::/48 via fd00:10:7::1",
	}
	got := podRoutes(t, netns, "net1")
	for _, r := range want {
		if !slices.Contains(got, r) {
			t.Errorf("route %q is not on net1; net1 has %v", r, got)
		}
	}
	if slices.Contains(got, "0.0.0.0/0 via "+routedDefaultGW) {
		t.Errorf("net1 has the IPAM's default route; it must stay on eth0: %v", got)
	}
	eth0, err := framework.InspectLink(netns, "eth0")
	if err != nil {
		t.Fatal(err)
	}
	if eth0.DefaultGateway == nil {
		t.Error("eth0 lost its default route")
	}

	// The CNI result that Multus received lists the same routes and the
	// subnets' DNS servers; network-status shows the DNS servers.
	pod, err := cluster.Client.CoreV1().Pods("default").Get(ctx, "routes-1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	result := attachmentResult(t, pod, "net1")
	var resultRoutes []string
	for _, r := range result.Routes {
		s := r.Dst.String()
		if r.GW != nil {
			s += " via " + r.GW.String()
		}
		resultRoutes = append(resultRoutes, s)
	}
	if !slices.Equal(resultRoutes, want) {
		t.Errorf("CNI result routes = %v, want %v", resultRoutes, want)
	}
	wantDNS := []string{routedDNS4, routedDNS6}
	if !slices.Equal(result.DNS.Nameservers, wantDNS) {
		t.Errorf("CNI result DNS nameservers = %v, want %v", result.DNS.Nameservers, wantDNS)
	}
	st, ok := framework.FindStatus(statuses, "default/routed")
	if !ok {
		t.Fatalf("no default/routed entry in network-status %+v", statuses)
	}
	if !slices.Equal(st.DNS.Nameservers, wantDNS) {
		t.Errorf("network-status dns nameservers = %v, want %v", st.DNS.Nameservers, wantDNS)
	}
}

// createVNWithCleanup runs contrail-sim create-vn with flags for the network
// vn with subnets cidrs, and deletes the network when the test ends, after
// its pods are gone.
func createVNWithCleanup(t *testing.T, flags []string, vn string, cidrs ...string) {
	t.Helper()
	args := append(append([]string{"create-vn", "--config-api", cluster.Env.ConfigAPIURL}, flags...), vn)
	if err := runSim(context.Background(), append(args, cidrs...)...); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// The controller deletes the pods' interfaces shortly after the
		// pods; until then the config API refuses to delete the network.
		deadline := time.Now().Add(30 * time.Second)
		for {
			err := runSim(context.Background(), "delete-vn", "--config-api", cluster.Env.ConfigAPIURL, vn)
			if err == nil {
				return
			}
			if time.Now().After(deadline) {
				t.Logf("delete virtual network %s: %v", vn, err)
				return
			}
			time.Sleep(500 * time.Millisecond)
		}
	})
}

// applyExample applies examples/<name> and deletes what it created when the
// test ends.
func applyExample(t *testing.T, name string) {
	t.Helper()
	if _, err := cluster.Kubectl(context.Background(), "apply", "-f", examplePath(name)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = cluster.Kubectl(context.Background(), "delete", "--ignore-not-found", "--wait=true", "--timeout=60s", "-f", examplePath(name))
	})
}

// podRoutes returns the routes through ifname in the pod's namespace, both
// families, as "dst via gw" or "dst", without the kernel's subnet,
// link-local and multicast routes.
func podRoutes(t *testing.T, netnsPath, ifname string) []string {
	t.Helper()
	var out []string
	err := ns.WithNetNSPath(netnsPath, func(ns.NetNS) error {
		link, err := netlinksafe.LinkByName(ifname)
		if err != nil {
			return err
		}
		routes, err := netlinksafe.RouteList(link, netlink.FAMILY_ALL)
		if err != nil {
			return err
		}
		for _, r := range routes {
			if r.Protocol == netlink.RouteProtocol(2) || (r.Dst != nil && (r.Dst.IP.IsLinkLocalUnicast() || r.Dst.IP.IsMulticast())) {
				continue // added by the kernel for an address, or link-local
			}
			s := "0.0.0.0/0"
			if r.Dst != nil {
				s = r.Dst.String()
			}
			if r.Gw != nil {
				s += " via " + r.Gw.String()
			}
			out = append(out, s)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("list routes of %s in %s: %v", ifname, netnsPath, err)
	}
	return out
}

// attachmentResult returns the CNI result of the pod's contrail-vif
// attachment ifname, from the plugin's state record on this node.
func attachmentResult(t *testing.T, pod *corev1.Pod, ifname string) *current.Result {
	t.Helper()
	records, err := state.New(netconf.DefaultStateDir).List()
	if err != nil {
		t.Fatalf("list the plugin's state records: %v", err)
	}
	for _, rec := range records {
		if rec.PodUID != string(pod.UID) || rec.IfName != ifname {
			continue
		}
		result := &current.Result{}
		if err := json.Unmarshal(rec.Result, result); err != nil {
			t.Fatalf("decode the CNI result of %s/%s %s: %v", pod.Namespace, pod.Name, ifname, err)
		}
		return result
	}
	t.Fatalf("no state record for %s of pod %s/%s in %s", ifname, pod.Namespace, pod.Name, netconf.DefaultStateDir)
	return nil
}
