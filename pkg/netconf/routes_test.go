package netconf

import (
	"strings"
	"testing"
)

func parseWithRoutes(routes string) (*NetConf, error) {
	return Parse([]byte(`{"cniVersion":"1.0.0","name":"red","type":"contrail-vif","virtualNetwork":"d:p:red","routes":` + routes + `}`))
}

func TestParseRoutesBothFamilies(t *testing.T) {
	conf, err := parseWithRoutes(`[{"dst":"10.20.0.0/16","gw":"10.10.1.1"},{"dst":"fd00:20::/64","gw":"fd00:10::1"},{"dst":"192.168.7.0/24"}]`)
	if err != nil {
		t.Fatal(err)
	}
	got := conf.ParsedRoutes()
	want := []string{"10.20.0.0/16 via 10.10.1.1", "fd00:20::/64 via fd00:10::1", "192.168.7.0/24"}
	if len(got) != len(want) {
		t.Fatalf("ParsedRoutes = %v, want %v", got, want)
	}
	for i := range want {
		if got[i].String() != want[i] {
			t.Errorf("route %d = %s, want %s", i, got[i], want[i])
		}
	}
}

func TestParseRejectsInvalidRoutes(t *testing.T) {
	for _, c := range []struct{ routes, want string }{
		{`[{"dst":"10.20.0.1/16"}]`, "use 10.20.0.0/16"},
		{`[{"dst":"10.20.0.0"}]`, "not a prefix"},
		{`[{"dst":"0.0.0.0/0","gw":"10.10.1.1"}]`, "default-route"},
		{`[{"dst":"::/0"}]`, "default-route"},
		{`[{"dst":"10.20.0.0/16","gw":"fd00::1"}]`, "same address family"},
		{`[{"dst":"fd00:20::/64","gw":"10.0.0.1"}]`, "same address family"},
		{`[{"dst":"10.20.0.0/16","gw":"0.0.0.0"}]`, "not a unicast address"},
		{`[{"dst":"10.20.0.0/16","gw":"gateway"}]`, "not a unicast address"},
		{`[{"dst":"10.20.0.0/16"},{"dst":"10.20.0.0/16","gw":"10.10.1.1"}]`, "routes[0] has the same dst"},
		{`[{"dst":"10.20.0.0/16","mtu":1400}]`, "unknown field"},
		{`[{"gw":"10.10.1.1"}]`, "not a prefix"},
	} {
		t.Run(c.routes, func(t *testing.T) {
			_, err := parseWithRoutes(c.routes)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error = %v, want one containing %q", err, c.want)
			}
		})
	}
}
