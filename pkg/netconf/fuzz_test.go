package netconf

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// FuzzParse checks that Parse never panics, that every config it accepts
// passes Validate, and that an accepted config survives a round trip
// through its own JSON encoding, which the controller and Multus both do.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		`{"cniVersion":"1.0.0","name":"blue","type":"contrail-vif","virtualNetwork":"default-domain:demo:blue"}`,
		`{"cniVersion":"1.1.0","name":"red","type":"contrail-vif","virtualNetwork":"d:p:red","agentTimeout":"5s","mtu":1400,
		  "runtimeConfig":{"mac":"02:00:00:00:00:01","ips":["10.1.1.11/24"]},"args":{"cni":{"x":"y"}},
		  "capabilities":{"mac":true},"prevResult":{"cniVersion":"1.1.0"},"cni.dev/valid-attachments":[{"containerID":"c","ifname":"net1"}]}`,
		`{"cniVersion":"1.0.0","name":"m","type":"contrail-vif","virtualNetwork":"d:p:m","forwardingMode":"l2",
		  "subnets":[{"cidr":"10.10.3.0/24","gateway":"10.10.3.1","allocationPools":[{"start":"10.10.3.10","end":"10.10.3.20"}]}]}`,
		`{"name":"x","type":"contrail-vif","virtualNetwork":"a:b:c","agentURL":"https://[::1]:9091","stateDir":"/s","logFile":"/l","logLevel":"debug"}`,
		`{"type":"contrail-vif","virtualNetwork":"a::c"}`,
		`{"type":"contrail-vif","virtualNetwork":"a:b:c","agentTimeout":"-1s"}`,
		`{"type":`,
		`[]`,
		`null`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		conf, err := Parse(data)
		if err != nil {
			if conf != nil {
				t.Fatalf("Parse returned a config with error %v", err)
			}
			return
		}
		if err := conf.Validate(); err != nil {
			t.Fatalf("Parse accepted a config that Validate rejects: %v", err)
		}
		if conf.AgentTimeout.Duration <= 0 {
			t.Fatalf("agentTimeout %s is not positive", conf.AgentTimeout)
		}
		// Runtime config errors are ADD's to report; decoding must not panic.
		_, _ = conf.DecodeRuntimeConfig()
		_, _ = conf.DecodeArgs()
		if routes := conf.ParsedRoutes(); len(routes) != len(conf.Routes) {
			t.Fatalf("Parse accepted routes %+v but ParsedRoutes returns %v", conf.Routes, routes)
		}

		encoded, err := json.Marshal(conf)
		if err != nil {
			t.Fatalf("encode accepted config: %v", err)
		}
		again, err := Parse(encoded)
		if err != nil {
			t.Fatalf("Parse rejects the encoding of a config it accepted: %v\ninput: %q\nencoded: %s", err, data, encoded)
		}
		if !reflect.DeepEqual(fieldsOf(conf), fieldsOf(again)) {
			t.Fatalf("round trip changed the config:\nfirst:  %+v\nsecond: %+v", fieldsOf(conf), fieldsOf(again))
		}
	})
}

// fieldsOf returns the contrail-vif fields of c, which a round trip must
// keep. runtimeConfig is compared decoded, because encoding may escape
// characters such as '&' differently.
func fieldsOf(c *NetConf) []any {
	var runtimeConfig, args any
	if len(c.RuntimeConfig) > 0 {
		_ = json.Unmarshal(c.RuntimeConfig, &runtimeConfig)
	}
	if len(c.Args) > 0 {
		_ = json.Unmarshal(c.Args, &args)
	}
	// An empty list encodes as no list at all, because the fields are
	// omitempty, so it compares equal to none.
	subnets, routes := c.Subnets, c.Routes
	if len(subnets) == 0 {
		subnets = nil
	}
	if len(routes) == 0 {
		routes = nil
	}
	return []any{c.CNIVersion, c.Name, c.Type, c.VirtualNetwork, c.ClusterName, c.AgentURL, c.AgentTimeout.Duration,
		c.MTU, c.StateDir, c.LogFile, c.LogLevel, subnets, c.ForwardingMode, runtimeConfig, routes, args}
}

// FuzzParseFQName checks that an accepted fq-name has three non-empty
// parts that join back to the input.
func FuzzParseFQName(f *testing.F) {
	for _, seed := range []string{"default-domain:demo:blue", "a:b", "a::c", ":::", "a:b:c:d", ""} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		parts, err := ParseFQName(s)
		if err != nil {
			return
		}
		if len(parts) != 3 || strings.Join(parts, ":") != s {
			t.Fatalf("ParseFQName(%q) = %q", s, parts)
		}
		for _, p := range parts {
			if p == "" || strings.Contains(p, ":") {
				t.Fatalf("ParseFQName(%q) has part %q", s, p)
			}
		}
	})
}

// FuzzParseIPRequest checks that an accepted request has a valid address
// without zone, a prefix length within its family, and a String form that
// parses to the same request.
func FuzzParseIPRequest(f *testing.F) {
	for _, seed := range []string{"10.1.1.11", "10.1.1.11/24", "fd00::11/64", "::ffff:10.0.0.1/96", "fe80::1%eth0",
		"0.0.0.0", "10.0.0.1/33", "10.0.0.1/024", "10.0.0.1/", "/24", "1.2.3.4/+8"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		req, err := ParseIPRequest(s)
		if err != nil {
			return
		}
		if !req.Addr.IsValid() || req.Addr.Zone() != "" || req.Addr.IsUnspecified() || req.Addr.Is4In6() {
			t.Fatalf("ParseIPRequest(%q) accepted address %v", s, req.Addr)
		}
		if req.PrefixLen < -1 || req.PrefixLen == 0 || req.PrefixLen > req.Addr.BitLen() {
			t.Fatalf("ParseIPRequest(%q) accepted prefix length %d", s, req.PrefixLen)
		}
		again, err := ParseIPRequest(req.String())
		if err != nil || again != req {
			t.Fatalf("ParseIPRequest(%q) = %v, but its String %q parses to %v, %v", s, req, req.String(), again, err)
		}
	})
}

// FuzzParseUnicastMAC checks that an accepted MAC has 6 bytes, is unicast
// and is not all zeros.
func FuzzParseUnicastMAC(f *testing.F) {
	for _, seed := range []string{"02:00:00:00:00:01", "02-00-00-00-00-01", "0200.0000.0001", "03:00:00:00:00:01",
		"00:00:00:00:00:00", "02:00:00:ff:fe:00:00:01", "zz:zz"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		mac, err := ParseUnicastMAC(s)
		if err != nil {
			return
		}
		if len(mac) != 6 || mac[0]&1 != 0 || mac.String() == "00:00:00:00:00:00" {
			t.Fatalf("ParseUnicastMAC(%q) accepted %v", s, mac)
		}
	})
}
