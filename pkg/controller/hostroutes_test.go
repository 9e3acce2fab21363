package controller

import (
	"context"
	"strings"
	"testing"

	"github.com/contrail-vif/contrail-vif/pkg/attachment"
	"github.com/contrail-vif/contrail-vif/pkg/vncclient"
)

// createVNWithHostRoutes creates default-domain:demo:routed with an IPv4
// and an IPv6 subnet that carry host routes, the way an operator sets them
// through the config API.
func createVNWithHostRoutes(t *testing.T, f *fixture) {
	t.Helper()
	vn := map[string]any{
		"fq_name":     []string{"default-domain", "demo", "routed"},
		"parent_type": "project",
		"network_ipam_refs": []any{map[string]any{
			"to": vncclient.DefaultNetworkIpam,
			"attr": map[string]any{
				"ipam_subnets": []any{
					map[string]any{
						"subnet": map[string]any{"ip_prefix": "10.50.0.0", "ip_prefix_len": 24},
						"host_routes": map[string]any{"route": []any{
							map[string]any{"prefix": "10.60.0.0/16", "next_hop": "10.50.0.1"},
							map[string]any{"prefix": "0.0.0.0/0", "next_hop": "10.50.0.254"},
							map[string]any{"prefix": "10.70.0.0/16", "next_hop": "10.50.0.2", "next_hop_type": "service-instance"},
						}},
					},
					map[string]any{
						"subnet": map[string]any{"ip_prefix": "fd00:50::", "ip_prefix_len": 64},
						"host_routes": map[string]any{"route": []any{
							map[string]any{"prefix": "fd00:60::/48", "next_hop": "fd00:50::1"},
						}},
					},
				},
				"host_routes": map[string]any{"route": []any{
					map[string]any{"prefix": "192.168.50.0/24"},
				}},
			},
		}},
	}
	if err := f.vnc.Create(context.Background(), vncclient.TypeVirtualNetwork, vn); err != nil {
		t.Fatal(err)
	}
}

func TestReconcileCopiesIPAMHostRoutesToVMI(t *testing.T) {
	uid := "c6111111-2222-4333-8444-555555555555"
	f := newFixture(t, contrailNAD("routed", "default-domain:demo:routed"), testPod("web", uid, "routed"))
	createVNWithHostRoutes(t, f)
	f.reconcile("default", "web")

	vmi := vncclient.VirtualMachineInterface{}
	if err := f.vnc.Read(context.Background(), vncclient.TypeVirtualMachineInterface, attachment.VMIUUID(uid, "net1"), &vmi); err != nil {
		t.Fatalf("read VMI: %v; events %v", err, f.events())
	}
	value, ok := vmi.Annotations.Get(attachment.KeyHostRoutes)
	if !ok {
		t.Fatalf("VMI has no %s annotation: %+v", attachment.KeyHostRoutes, vmi.Annotations)
	}
	// The default route stays in the list: the plugin decides to skip it.
	// The service-instance next hop cannot be set in a pod and is dropped.
	want := "10.60.0.0/16 via 10.50.0.1,0.0.0.0/0 via 10.50.0.254,fd00:60::/48 via fd00:50::1,192.168.50.0/24"
	if value != want {
		t.Errorf("%s = %q, want %q", attachment.KeyHostRoutes, value, want)
	}

	// The agent view carries the annotation to the plugin.
	cfg, ok := f.sim.Interface(testNode, attachment.VMIUUID(uid, "net1"))
	if !ok {
		t.Fatal("VMI not visible on the node")
	}
	found := false
	for _, kv := range cfg.Annotations {
		found = found || (kv.Key == attachment.KeyHostRoutes && kv.Value == want)
	}
	if !found {
		t.Errorf("agent view annotations = %+v, want %s", cfg.Annotations, attachment.KeyHostRoutes)
	}
}

func TestReconcileWithoutHostRoutesAddsNoAnnotation(t *testing.T) {
	uid := "c6222222-2222-4333-8444-555555555555"
	f := newFixture(t, contrailNAD("red", "default-domain:demo:red"), testPod("web", uid, "red"))
	f.reconcile("default", "web")
	vmi := vncclient.VirtualMachineInterface{}
	if err := f.vnc.Read(context.Background(), vncclient.TypeVirtualMachineInterface, attachment.VMIUUID(uid, "net1"), &vmi); err != nil {
		t.Fatal(err)
	}
	if value, ok := vmi.Annotations.Get(attachment.KeyHostRoutes); ok {
		t.Errorf("VMI has %s = %q on a VN without host routes", attachment.KeyHostRoutes, value)
	}
}

func TestHostRouteParsing(t *testing.T) {
	for _, c := range []struct {
		in   routeType
		want string
		err  string
	}{
		{in: routeType{Prefix: "10.1.0.0/16", NextHop: "10.0.0.1"}, want: "10.1.0.0/16 via 10.0.0.1"},
		{in: routeType{Prefix: "10.1.2.3/16", NextHop: "10.0.0.1", NextHopType: "ip-address"}, want: "10.1.0.0/16 via 10.0.0.1"},
		{in: routeType{Prefix: "10.1.0.0/16", NextHop: "0.0.0.0"}, want: "10.1.0.0/16"},
		{in: routeType{Prefix: "10.1.0.0/16"}, want: "10.1.0.0/16"},
		{in: routeType{Prefix: "10.1.0.0", NextHop: "10.0.0.1"}, err: "not a prefix"},
		{in: routeType{Prefix: "10.1.0.0/16", NextHop: "fd00::1"}, err: "same family"},
		{in: routeType{Prefix: "10.1.0.0/16", NextHop: "default-domain:p:si"}, err: "same family"},
		{in: routeType{Prefix: "10.1.0.0/16", NextHop: "x", NextHopType: "service-instance"}, err: "service-instance"},
	} {
		r, err := c.in.parse()
		switch {
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("parse(%+v) error = %v, want one containing %q", c.in, err, c.err)
		case c.err == "" && err != nil:
			t.Errorf("parse(%+v): %v", c.in, err)
		case c.err == "" && r.String() != c.want:
			t.Errorf("parse(%+v) = %s, want %s", c.in, r, c.want)
		}
	}
}
