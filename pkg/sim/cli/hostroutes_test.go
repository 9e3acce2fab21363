package cli

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/contrail-vif/contrail-vif/pkg/vncclient"
)

func TestCreateVNWithHostRoutes(t *testing.T) {
	sim := startSim(t, ServeOptions{NoDataPlane: true})
	url := "http://" + sim.ConfigAPIAddr()
	if code, _, stderr := runCLI(t, "create-project", "--config-api", url, "default-domain:cli"); code != 0 {
		t.Fatalf("create-project: %s", stderr)
	}
	code, vnUUID, stderr := runCLI(t, "create-vn", "--config-api", url,
		"--host-route", "10.60.0.0/16=10.10.8.1", "--host-route", "192.168.60.0/24",
		"--host-route", "10.70.0.0/16=10.10.9.1", "--host-route", "fd00:60::/48=fd00:10:7::1",
		"default-domain:cli:routed", "10.10.7.0/24", "10.10.8.0/24", "fd00:10:7::/64")
	if code != 0 {
		t.Fatalf("create-vn = %d, stderr %q", code, stderr)
	}

	var vn struct {
		NetworkIpamRefs []struct {
			Attr struct {
				IpamSubnets []struct {
					HostRoutes json.RawMessage `json:"host_routes"`
				} `json:"ipam_subnets"`
			} `json:"attr"`
		} `json:"network_ipam_refs"`
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := vncclient.New(url, 5*time.Second).Read(ctx, vncclient.TypeVirtualNetwork, vnUUID, &vn); err != nil {
		t.Fatal(err)
	}
	if len(vn.NetworkIpamRefs) != 1 || len(vn.NetworkIpamRefs[0].Attr.IpamSubnets) != 3 {
		t.Fatalf("virtual network refs = %+v, want one ref with three subnets", vn.NetworkIpamRefs)
	}
	subnets := vn.NetworkIpamRefs[0].Attr.IpamSubnets
	// 10.70.0.0/16 has a next hop in no subnet, so it goes on the first
	// IPv4 subnet, with the route without next hop.
	want := []string{
		`{"route":[{"next_hop":"10.10.8.1","next_hop_type":"ip-address","prefix":"10.60.0.0/16"}]}`,
		`{"route":[{"prefix":"192.168.60.0/24"},{"next_hop":"10.10.9.1","next_hop_type":"ip-address","prefix":"10.70.0.0/16"}]}`,
		`{"route":[{"next_hop":"fd00:10:7::1","next_hop_type":"ip-address","prefix":"fd00:60::/48"}]}`,
	}
	for i, j := range []int{1, 0, 2} {
		if got := string(subnets[j].HostRoutes); got != want[i] {
			t.Errorf("subnet %d host_routes = %s, want %s", j, got, want[i])
		}
	}
}

func TestCreateVNHostRouteErrors(t *testing.T) {
	sim := startSim(t, ServeOptions{NoDataPlane: true})
	url := "http://" + sim.ConfigAPIAddr()
	for _, c := range []struct{ route, want string }{
		{"10.60.0.1/16=10.10.7.1", "host bits"},
		{"10.60.0.0/16=fd00::1", "same family"},
		{"fd00:60::/48", "no subnet of its address family"},
	} {
		code, _, stderr := runCLI(t, "create-vn", "--config-api", url, "--host-route", c.route, "default-domain:demo:routed", "10.10.7.0/24")
		if code != 2 || !strings.Contains(stderr, c.want) {
			t.Errorf("--host-route %s: exit %d, stderr %q; want exit 2 containing %q", c.route, code, stderr, c.want)
		}
	}
}
