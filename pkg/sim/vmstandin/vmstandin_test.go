package vmstandin

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/contrail-vif/contrail-vif/pkg/sim/configapi"
	"github.com/contrail-vif/contrail-vif/pkg/vncclient"
)

func TestTapName(t *testing.T) {
	if got, want := TapName("93c2c386-6e79-485e-bfa4-b9daa713133b"), "tap93c2c386-6e"; got != want {
		t.Errorf("TapName = %q, want %q", got, want)
	}
}

func TestNetnsName(t *testing.T) {
	if got, want := NetnsName("", "vm1"), "csim-vm-vm1"; got != want {
		t.Errorf("NetnsName default prefix = %q, want %q", got, want)
	}
	if got, want := NetnsName("x", "vm1"), "x-vm-vm1"; got != want {
		t.Errorf("NetnsName = %q, want %q", got, want)
	}
}

func TestCheckName(t *testing.T) {
	// Dots are allowed even as the whole name: the namespace name has a
	// prefix, so ".." cannot leave /run/netns.
	for _, name := range []string{"vm1", "web-01.example", "a_b", ".."} {
		if err := CheckName(name); err != nil {
			t.Errorf("CheckName(%q): %v", name, err)
		}
	}
	for _, name := range []string{"", "a/b", "a b", strings.Repeat("a", 65)} {
		if err := CheckName(name); err == nil {
			t.Errorf("CheckName(%q) returned no error", name)
		}
	}
}

func TestIDsForAreStableAndDistinct(t *testing.T) {
	a, b := idsFor("csim-vm-vm1"), idsFor("csim-vm-vm1")
	if a != b {
		t.Errorf("idsFor is not stable: %+v and %+v", a, b)
	}
	ids := []string{a.vm, a.vmi, a.iip4, a.iip6, idsFor("csim-vm-vm2").vm, idsFor("other-vm-vm1").vmi}
	slices.Sort(ids)
	if len(slices.Compact(ids)) != 6 {
		t.Errorf("idsFor gives equal uuids: %+v", a)
	}
}

func TestCreateRejectsInvalidRequests(t *testing.T) {
	c := &Client{ConfigAPI: "http://127.0.0.1:1", Agent: "http://127.0.0.1:1", Node: "n"}
	tests := []struct {
		name   string
		client *Client
		req    CreateRequest
		errHas string
	}{
		{"missing node", &Client{ConfigAPI: "x", Agent: "y"}, CreateRequest{Name: "vm1"}, "missing node name"},
		{"bad name", c, CreateRequest{Name: "a/b"}, "invalid VM name"},
		{"short VN fq-name", c, CreateRequest{Name: "vm1", VirtualNetwork: []string{"d", "p"}}, "invalid virtual network fq-name"},
		{"bad project", c, CreateRequest{Name: "vm1", VirtualNetwork: []string{"d", "p", "n"}, Project: []string{"p"}}, "invalid project fq-name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.client.Create(context.Background(), tt.req)
			if err == nil {
				t.Fatal("Create returned no error")
			}
			if !strings.Contains(err.Error(), tt.errHas) {
				t.Errorf("error %q does not contain %q", err, tt.errHas)
			}
		})
	}
}

// newConfigAPI serves the simulator's config API for one test.
func newConfigAPI(t *testing.T) (*configapi.Server, *configClient) {
	t.Helper()
	cfg := configapi.NewServer(slog.New(slog.DiscardHandler))
	srv := httptest.NewServer(cfg.Handler())
	t.Cleanup(srv.Close)
	return cfg, &configClient{api: vncclient.New(srv.URL, 0)}
}

func TestVirtualNetworkSubnetsOnRefs(t *testing.T) {
	cfg, api := newConfigAPI(t)
	vn, err := cfg.EnsureVirtualNetwork([]string{"d", "p", "red"},
		[]netip.Prefix{netip.MustParsePrefix("192.0.2.0/24"), netip.MustParsePrefix("2001:db8:1::/64")})
	if err != nil {
		t.Fatal(err)
	}

	got, err := api.virtualNetworkSubnets(context.Background(), vn)
	if err != nil {
		t.Fatalf("virtualNetworkSubnets: %v", err)
	}
	want := []subnet{
		{prefix: netip.MustParsePrefix("192.0.2.0/24"), gateway: netip.MustParseAddr("192.0.2.254")},
		{prefix: netip.MustParsePrefix("2001:db8:1::/64"), gateway: netip.MustParseAddr("2001:db8:1::ffff:ffff:ffff:fffe")},
	}
	if !slices.Equal(got, want) {
		t.Errorf("virtualNetworkSubnets = %+v, want %+v", got, want)
	}
}

func TestVirtualNetworkSubnetsOfFlatSubnetIPAM(t *testing.T) {
	cfg, api := newConfigAPI(t)
	ctx := context.Background()
	if _, err := cfg.EnsureProject([]string{"d", "p"}); err != nil {
		t.Fatal(err)
	}
	ipamFQName := []string{"d", "p", "pod-ipam"}
	err := api.create(ctx, "network-ipam", map[string]any{
		"fq_name": ipamFQName, "parent_type": "project", "ipam_subnet_method": "flat-subnet",
		"ipam_subnets": map[string]any{"subnets": []any{
			map[string]any{"subnet": map[string]any{"ip_prefix": "198.51.100.0", "ip_prefix_len": 24}},
		}},
	})
	if err != nil {
		t.Fatalf("create flat-subnet IPAM: %v", err)
	}
	vnFQName := []string{"d", "p", "pods"}
	err = api.create(ctx, "virtual-network", map[string]any{
		"fq_name": vnFQName, "parent_type": "project", "address_allocation_mode": "flat-subnet-only",
		"network_ipam_refs": []any{map[string]any{"to": ipamFQName, "attr": map[string]any{"ipam_subnets": []any{}}}},
	})
	if err != nil {
		t.Fatalf("create VN: %v", err)
	}
	vn, err := api.fqNameToID(ctx, "virtual-network", vnFQName)
	if err != nil {
		t.Fatal(err)
	}

	got, err := api.virtualNetworkSubnets(ctx, vn)
	if err != nil {
		t.Fatalf("virtualNetworkSubnets: %v", err)
	}
	want := []subnet{{prefix: netip.MustParsePrefix("198.51.100.0/24"), gateway: netip.MustParseAddr("198.51.100.254")}}
	if !slices.Equal(got, want) {
		t.Errorf("virtualNetworkSubnets = %+v, want %+v", got, want)
	}
}

func TestParseSubnet(t *testing.T) {
	tests := []struct {
		name   string
		prefix string
		bits   int
		gw     string
		want   subnet
		ok     bool
	}{
		{"with gateway", "192.0.2.0", 24, "192.0.2.1", subnet{netip.MustParsePrefix("192.0.2.0/24"), netip.MustParseAddr("192.0.2.1")}, true},
		{"gateway outside", "192.0.2.0", 25, "192.0.2.200", subnet{prefix: netip.MustParsePrefix("192.0.2.0/25")}, true},
		{"unspecified gateway", "192.0.2.0", 24, "0.0.0.0", subnet{prefix: netip.MustParsePrefix("192.0.2.0/24")}, true},
		{"bad prefix", "x", 24, "", subnet{}, false},
		{"bad length", "192.0.2.0", 33, "", subnet{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var e ipamSubnet
			e.Subnet = &struct {
				IPPrefix    string `json:"ip_prefix"`
				IPPrefixLen int    `json:"ip_prefix_len"`
			}{tt.prefix, tt.bits}
			e.DefaultGateway = tt.gw
			got, ok := parseSubnet(e)
			if ok != tt.ok || got != tt.want {
				t.Errorf("parseSubnet = %+v, %v; want %+v, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
	if _, ok := parseSubnet(ipamSubnet{}); ok {
		t.Error("parseSubnet accepted an entry without a subnet")
	}
}
