package plugin

import (
	"errors"
	"net"
	"testing"

	"github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"

	"github.com/contrail-vif/contrail-vif/pkg/agentclient"
	"github.com/contrail-vif/contrail-vif/pkg/netconf"
)

// FuzzNewAddressing decodes arbitrary /port replies and checks that every
// addressing that newAddressing accepts is one the plugin can configure. It
// must have a unicast MAC and at least one address, each of the right
// family with a prefix length and gateway of that family. sameAddresses
// must match it against the reply it came from.
func FuzzNewAddressing(f *testing.F) {
	for _, seed := range []struct{ port, configMAC string }{
		{`{"id":"v","mac-address":"02:5b:2a:7f:1c:11","ip-address":"10.47.255.250","plen":12,"gateway":"10.47.255.254","dns-server":"10.47.255.253"}`, ""},
		{`{"id":"v","ip-address":"10.0.0.3","plen":24,"v6-ip-address":"fd00::3","v6-gateway":"fd00::1","v6-dns-server":"fd00::2"}`, "02:00:00:00:00:01"},
		{`{"id":"v","mac-address":"02:00:00:00:00:01","v6-ip-address":"::ffff:10.0.0.3"}`, ""},
		{`{"id":"v","mac-address":"02:00:00:00:00:01","ip-address":"::ffff:10.0.0.3","plen":24}`, ""},
		{`{"id":"v","mac-address":"01:00:5e:00:00:01","ip-address":"10.0.0.3","plen":24}`, ""},
		{`{"id":"v","ip-address":"10.0.0.3","plen":33,"gateway":"0.0.0.0"}`, "02:00:00:00:00:01"},
		{`{"id":"v","ip-address":"0.0.0.0","plen":8}`, "02:00:00:00:00:01"},
		{`{"id":"v","ip-address":"10.0.0.3","plen":24,"gateway":"fd00::1"}`, "02:00:00:00:00:01"},
	} {
		f.Add([]byte(seed.port), seed.configMAC)
	}
	f.Fuzz(func(t *testing.T, body []byte, configMAC string) {
		port, err := agentclient.DecodePort(body)
		if err != nil {
			return
		}
		a, err := newAddressing(port, configMAC)
		if err != nil {
			return
		}
		if len(a.mac) != 6 || a.mac[0]&1 != 0 {
			t.Fatalf("accepted MAC %v", a.mac)
		}
		if a.ipv4 == nil && a.ipv6 == nil {
			t.Fatal("accepted a port without addresses")
		}
		checkIPConfig(t, a.ipv4, net.IPv4len)
		checkIPConfig(t, a.ipv6, net.IPv6len)
		if !a.sameAddresses(port) {
			t.Fatalf("sameAddresses rejects the reply the addressing came from: %+v", port)
		}
		for _, s := range a.nameservers {
			if net.ParseIP(s) == nil {
				t.Fatalf("accepted nameserver %q", s)
			}
		}
	})
}

// checkIPConfig checks an address of the family with size bytes.
func checkIPConfig(t *testing.T, cfg *current.IPConfig, size int) {
	t.Helper()
	if cfg == nil {
		return
	}
	if len(cfg.Address.IP) != size {
		t.Fatalf("accepted address %v of %d bytes, want %d", cfg.Address.IP, len(cfg.Address.IP), size)
	}
	if ones, bits := cfg.Address.Mask.Size(); bits != 8*size || ones < 1 {
		t.Fatalf("accepted prefix %v for %v", cfg.Address.Mask, cfg.Address.IP)
	}
	if cfg.Gateway != nil && (cfg.Gateway.IsUnspecified() || (cfg.Gateway.To4() != nil) != (size == net.IPv4len)) {
		t.Fatalf("accepted gateway %v for address %v", cfg.Gateway, cfg.Address.IP)
	}
	if cfg.Interface == nil || *cfg.Interface != podInterfaceIndex {
		t.Fatalf("address %v is not on the pod interface", cfg.Address.IP)
	}
}

// FuzzPodRequests parses arbitrary CNI_ARGS and runtimeConfig and checks
// that the plugin rejects bad input with code 4 or 7 and never panics, and
// that the requests it accepts are well formed.
func FuzzPodRequests(f *testing.F) {
	for _, seed := range []struct{ cniArgs, runtimeConfig string }{
		{"IgnoreUnknown=true;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web;K8S_POD_UID=5b2a7f1c-1111-2222-3333-444455556666", ""},
		{"IgnoreUnknown=true;MAC=02:00:00:00:00:01;IP=10.1.1.11/24,fd00::11/64", ""},
		{"IgnoreUnknown=true;IP=10.1.1.11,", `{"ips":["10.1.1.12"],"mac":"02:00:00:00:00:02"}`},
		{"MAC=zz", `{"mac":5}`},
		{"K8S_POD_NAME", `"mac"`},
		{"IgnoreUnknown=1;K8S_POD_UID=X", `{"ips":["fe80::1%eth0"]}`},
		{"", `null`},
	} {
		f.Add(seed.cniArgs, []byte(seed.runtimeConfig))
	}
	f.Fuzz(func(t *testing.T, cniArgs string, runtimeConfig []byte) {
		pod, err := loadPodArgs(cniArgs)
		if err != nil {
			requireCode(t, err, types.ErrInvalidEnvironmentVariables)
			return
		}
		if err := pod.requireAll(); err != nil {
			requireCode(t, err, types.ErrInvalidEnvironmentVariables)
		}
		c := &call{conf: &netconf.NetConf{RuntimeConfig: runtimeConfig}, pod: pod}
		reqs, err := loadRequests(c)
		if err != nil {
			var cniErr *types.Error
			if !errors.As(err, &cniErr) || (cniErr.Code != types.ErrInvalidEnvironmentVariables && cniErr.Code != types.ErrInvalidNetworkConfig) {
				t.Fatalf("loadRequests error %v is not a CNI error with code 4 or 7", err)
			}
			return
		}
		for _, m := range reqs.macs {
			if len(m.mac) != 6 || m.mac[0]&1 != 0 {
				t.Fatalf("accepted MAC request %v", m.mac)
			}
		}
		for _, req := range reqs.ips {
			for _, ip := range req.ips {
				if !ip.Addr.IsValid() || ip.Addr.Zone() != "" {
					t.Fatalf("accepted address request %v", ip)
				}
			}
		}
	})
}

func requireCode(t *testing.T, err error, code uint) {
	t.Helper()
	var cniErr *types.Error
	if !errors.As(err, &cniErr) || cniErr.Code != code {
		t.Fatalf("error %v is not a CNI error with code %d", err, code)
	}
}
