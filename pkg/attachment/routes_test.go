package attachment

import (
	"net/netip"
	"testing"
)

func TestRoutesRoundTrip(t *testing.T) {
	routes := []Route{
		{Dst: netip.MustParsePrefix("10.20.0.0/16"), GW: netip.MustParseAddr("10.10.1.1")},
		{Dst: netip.MustParsePrefix("192.168.5.0/24")},
		{Dst: netip.MustParsePrefix("fd00:20::/64"), GW: netip.MustParseAddr("fd00:10::1")},
	}
	value := FormatRoutes(routes)
	if value != "10.20.0.0/16 via 10.10.1.1,192.168.5.0/24,fd00:20::/64 via fd00:10::1" {
		t.Errorf("FormatRoutes = %q", value)
	}
	got, err := ParseRoutes(value)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(routes) {
		t.Fatalf("ParseRoutes returned %d routes, want %d", len(got), len(routes))
	}
	for i := range routes {
		if got[i] != routes[i] {
			t.Errorf("route %d = %v, want %v", i, got[i], routes[i])
		}
	}
}

func TestRoutesSurviveAgentAnnotation(t *testing.T) {
	// The agent reports annotations as "{key:value}"; IPv6 values hold ':'.
	value := FormatRoutes([]Route{{Dst: netip.MustParsePrefix("fd00:20::/64"), GW: netip.MustParseAddr("fd00:10::1")}})
	parsed := ParseAgentAnnotations([]string{"{" + KeyHostRoutes + ":" + value + "}"})
	if parsed[KeyHostRoutes] != value {
		t.Errorf("annotation value = %q, want %q", parsed[KeyHostRoutes], value)
	}
}

func TestParseRoutesRejectsInvalid(t *testing.T) {
	for _, value := range []string{
		"10.20.0.1/16",
		"10.20.0.0/16 via fd00::1",
		"fd00:20::/64 via 10.0.0.1",
		"not-a-prefix",
		"10.20.0.0/16 via nowhere",
	} {
		if _, err := ParseRoutes(value); err == nil {
			t.Errorf("ParseRoutes(%q) succeeded, want an error", value)
		}
	}
}

func TestParseRoutesEmpty(t *testing.T) {
	got, err := ParseRoutes("")
	if err != nil || got != nil {
		t.Errorf("ParseRoutes(\"\") = %v, %v; want nil, nil", got, err)
	}
}
