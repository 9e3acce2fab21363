package dataplane

import (
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"testing"
)

func TestNamesFor(t *testing.T) {
	tests := []struct {
		name   string
		config Config
		vn     string
		want   Names
	}{
		{
			name: "defaults",
			vn:   "1A2B3C4D-0000-4000-8000-000000000001",
			want: Names{Bridge: "cvb1a2b3c4d", Veth: "cvg1a2b3c4d", VXLAN: "cvx1a2b3c4d", Netns: "csim-gw-1a2b3c4d"},
		},
		{
			name:   "custom prefixes",
			config: Config{LinkPrefix: "t1f2e3", NetnsPrefix: "x-"},
			vn:     "0badcafe-0000-4000-8000-000000000001",
			want:   Names{Bridge: "t1f2e3b0badcafe", Veth: "t1f2e3g0badcafe", VXLAN: "t1f2e3x0badcafe", Netns: "x-0badcafe"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NamesFor(tt.config, tt.vn)
			if err != nil {
				t.Fatalf("NamesFor: %v", err)
			}
			if got != tt.want {
				t.Errorf("NamesFor = %+v, want %+v", got, tt.want)
			}
			if len(got.Bridge) > 15 || len(got.Veth) > 15 || len(got.VXLAN) > 15 {
				t.Errorf("link name longer than 15 characters: %+v", got)
			}
		})
	}
}

func TestNamesForInvalid(t *testing.T) {
	tests := []struct {
		name   string
		config Config
		vn     string
		errHas string
	}{
		{name: "not a uuid", vn: "red", errHas: `invalid VN uuid "red"`},
		{name: "long link prefix", config: Config{LinkPrefix: "abcdefg"}, vn: "0badcafe-0000-4000-8000-000000000001", errHas: "longer than 6"},
		{name: "slash in link prefix", config: Config{LinkPrefix: "a/b"}, vn: "0badcafe-0000-4000-8000-000000000001", errHas: "invalid link prefix"},
		{name: "slash in netns prefix", config: Config{NetnsPrefix: "../x"}, vn: "0badcafe-0000-4000-8000-000000000001", errHas: "invalid netns prefix"},
		{name: "slash in node netns", config: Config{Netns: "a/b"}, vn: "0badcafe-0000-4000-8000-000000000001", errHas: "invalid node netns"},
		{name: "overlay without local address", config: Config{Overlay: &Overlay{}}, vn: "0badcafe-0000-4000-8000-000000000001", errHas: "missing local underlay address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NamesFor(tt.config, tt.vn)
			if err == nil {
				t.Fatal("NamesFor returned no error")
			}
			if !strings.Contains(err.Error(), tt.errHas) {
				t.Errorf("error %q does not contain %q", err, tt.errHas)
			}
		})
	}
}

func TestHasShortIDSuffix(t *testing.T) {
	tests := []struct {
		name, prefix string
		want         bool
	}{
		{"cvb1a2b3c4d", "cvb", true},
		{"cvb1a2b3c4", "cvb", false},
		{"cvb1a2b3c4d5", "cvb", false},
		{"cvb1A2B3C4D", "cvb", false},
		{"cvg1a2b3c4d", "cvb", false},
		{"csim-gw-0badcafe", "csim-gw-", true},
	}
	for _, tt := range tests {
		if got := hasShortIDSuffix(tt.name, tt.prefix); got != tt.want {
			t.Errorf("hasShortIDSuffix(%q, %q) = %v, want %v", tt.name, tt.prefix, got, tt.want)
		}
	}
}

func TestGatewayPrefixes(t *testing.T) {
	subnets := []Subnet{
		{Prefix: netip.MustParsePrefix("192.0.2.0/24"), Gateway: netip.MustParseAddr("192.0.2.254")},
		{Prefix: netip.MustParsePrefix("198.51.100.0/24")}, // no gateway
		{Prefix: netip.MustParsePrefix("203.0.113.0/24"), Gateway: netip.MustParseAddr("0.0.0.0")},
		{Prefix: netip.MustParsePrefix("203.0.113.0/25"), Gateway: netip.MustParseAddr("203.0.113.200")}, // outside
		{Prefix: netip.MustParsePrefix("2001:db8:1::/64"), Gateway: netip.MustParseAddr("2001:db8:1::1")},
	}
	got := gatewayPrefixes(subnets, slog.New(slog.DiscardHandler), "vn")
	want := []netip.Prefix{
		netip.MustParsePrefix("192.0.2.254/24"),
		netip.MustParsePrefix("2001:db8:1::1/64"),
	}
	if len(got) != len(want) {
		t.Fatalf("gatewayPrefixes = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("gatewayPrefixes[%d] = %v, want %v", i, got[i], want[i])
		}
	}
}

func TestNewRejectsMissingSource(t *testing.T) {
	if _, err := New(Config{}, nil, nil); err == nil {
		t.Error("New with a nil subnet source returned no error")
	}
}

func TestOverlayDefaults(t *testing.T) {
	local := netip.MustParseAddr("198.18.0.1")
	peer := netip.MustParseAddr("198.18.0.2")
	got, err := (&Overlay{LocalAddr: local, Peers: []netip.Addr{peer}}).withDefaults()
	if err != nil {
		t.Fatalf("withDefaults: %v", err)
	}
	if got.Port != DefaultVXLANPort {
		t.Errorf("Port = %d, want %d", got.Port, DefaultVXLANPort)
	}
	vn := "0badcafe-0000-4000-8000-000000000001"
	if got.VNI == nil || got.VNI(vn) != VNIFromUUID(vn) {
		t.Error("VNI does not default to VNIFromUUID")
	}
}

func TestOverlayInvalid(t *testing.T) {
	local := netip.MustParseAddr("198.18.0.1")
	tests := []struct {
		name    string
		overlay Overlay
		errHas  string
	}{
		{"no local address", Overlay{}, "missing local underlay address"},
		{"peer is local", Overlay{LocalAddr: local, Peers: []netip.Addr{local}}, "is the local address"},
		{"mixed families", Overlay{LocalAddr: local, Peers: []netip.Addr{netip.MustParseAddr("2001:db8::2")}}, "different families"},
		{"zero peer", Overlay{LocalAddr: local, Peers: []netip.Addr{{}}}, "peer 0 has no address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.overlay.withDefaults()
			if err == nil {
				t.Fatal("withDefaults returned no error")
			}
			if !strings.Contains(err.Error(), tt.errHas) {
				t.Errorf("error %q does not contain %q", err, tt.errHas)
			}
		})
	}
}

func TestVNIFromUUID(t *testing.T) {
	seen := map[uint32]string{}
	for i := range 1000 {
		vn := fmt.Sprintf("0badcafe-0000-4000-8000-%012d", i)
		vni := VNIFromUUID(vn)
		if vni == 0 || vni > maxVNI {
			t.Fatalf("VNIFromUUID(%s) = %d, out of range", vn, vni)
		}
		if VNIFromUUID(strings.ToUpper(vn)) != vni {
			t.Errorf("VNIFromUUID depends on the case of %s", vn)
		}
		if other, ok := seen[vni]; ok {
			// 1000 uuids in 2^24 values collide with a probability of
			// about 3%, so a collision here is worth a look but allowed.
			t.Logf("VNI %d of %s also belongs to %s", vni, vn, other)
		}
		seen[vni] = vn
	}
}

func TestOverlayVNIOutOfRange(t *testing.T) {
	o := &Overlay{LocalAddr: netip.MustParseAddr("198.18.0.1"), VNI: func(string) uint32 { return maxVNI + 1 }}
	o, err := o.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := o.vniFor("0badcafe-0000-4000-8000-000000000001"); err == nil {
		t.Error("vniFor accepted a VNI above 2^24-1")
	}
}

func TestTopologyConfigInvalid(t *testing.T) {
	tests := []struct {
		name   string
		config TopologyConfig
		errHas string
	}{
		{"no nodes", TopologyConfig{}, "no nodes"},
		{"bad node name", TopologyConfig{Nodes: []string{"a/b"}}, "invalid node name"},
		{"duplicate node", TopologyConfig{Nodes: []string{"a", "a"}}, "appears twice"},
		{"bad prefix", TopologyConfig{Prefix: "x/", Nodes: []string{"a"}}, "invalid topology prefix"},
		{"small underlay", TopologyConfig{Nodes: []string{"a", "b", "c"}, Underlay: netip.MustParsePrefix("198.18.0.0/30")}, "no room for 3 nodes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.config.withDefaults()
			if err == nil {
				t.Fatal("withDefaults returned no error")
			}
			if !strings.Contains(err.Error(), tt.errHas) {
				t.Errorf("error %q does not contain %q", err, tt.errHas)
			}
		})
	}
}
