package netconf

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestDecodeRuntimeConfig(t *testing.T) {
	cases := []struct {
		name, runtimeConfig string
		want                RuntimeConfig
		wantErr             string
	}{
		{name: "absent"},
		{name: "null", runtimeConfig: `null`},
		{name: "mac and ips", runtimeConfig: `{"mac":"02:23:45:67:89:01","ips":["10.1.1.11/24","fd00::11"],"portMappings":[]}`,
			want: RuntimeConfig{MAC: "02:23:45:67:89:01", IPs: []string{"10.1.1.11/24", "fd00::11"}}},
		{name: "mac not a string", runtimeConfig: `{"mac":5}`, wantErr: `invalid runtimeConfig "{\"mac\":5}"`},
		{name: "not an object", runtimeConfig: `[]`, wantErr: "invalid runtimeConfig"},
		{name: "mac malformed", runtimeConfig: `{"mac":"02:23"}`, wantErr: `invalid runtimeConfig.mac: invalid MAC address "02:23"`},
		{name: "ip malformed", runtimeConfig: `{"ips":["10.1.1.11","10.1.1"]}`, wantErr: `invalid runtimeConfig.ips[1]: invalid IP address "10.1.1"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			conf := &NetConf{RuntimeConfig: json.RawMessage(c.runtimeConfig)}
			got, err := conf.DecodeRuntimeConfig()
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.MAC != c.want.MAC || strings.Join(got.IPs, ",") != strings.Join(c.want.IPs, ",") {
				t.Errorf("got %+v, want %+v", got, c.want)
			}
		})
	}
}

func TestParseIPRequest(t *testing.T) {
	valid := map[string]string{
		"10.1.1.11":          "10.1.1.11",
		"10.1.1.11/24":       "10.1.1.11/24",
		"fd00::11/64":        "fd00::11/64",
		"::ffff:10.1.1.11":   "10.1.1.11",
		"FD00:0:0:0:0:0:0:1": "fd00::1",
	}
	for in, want := range valid {
		req, err := ParseIPRequest(in)
		if err != nil || req.String() != want {
			t.Errorf("ParseIPRequest(%q) = %v, %v, want %s", in, req, err, want)
		}
	}
	for _, in := range []string{"", "10.1.1", "10.1.1.11/33", "10.1.1.11/0", "10.1.1.11/024", "10.1.1.11/+24",
		"fd00::1/129", "fe80::1%eth0", "0.0.0.0", "::", "10.1.1.11/24/1"} {
		if req, err := ParseIPRequest(in); err == nil {
			t.Errorf("ParseIPRequest(%q) = %v, want an error", in, req)
		} else if !strings.Contains(err.Error(), in) {
			t.Errorf("ParseIPRequest(%q) error %q does not name the input", in, err)
		}
	}
}

func TestParseUnicastMAC(t *testing.T) {
	for _, in := range []string{"02:23:45:67:89:01", "02-23-45-67-89-01", "0223.4567.8901", "00:11:22:33:44:55"} {
		if _, err := ParseUnicastMAC(in); err != nil {
			t.Errorf("ParseUnicastMAC(%q): %v", in, err)
		}
	}
	for in, reason := range map[string]string{
		"02:23:45:67:89":          "6 bytes",
		"02:23:45:ff:fe:67:89:01": "6 bytes",
		"01:00:5e:00:00:01":       "multicast",
		"ff:ff:ff:ff:ff:ff":       "multicast",
		"00:00:00:00:00:00":       "all zeros",
	} {
		_, err := ParseUnicastMAC(in)
		if err == nil || !strings.Contains(err.Error(), in) || !strings.Contains(err.Error(), reason) {
			t.Errorf("ParseUnicastMAC(%q) = %v, want an error naming it and %q", in, err, reason)
		}
	}
}

func TestParseRejectsRelativePaths(t *testing.T) {
	for field, value := range map[string]string{"stateDir": "state", "logFile": "./contrail-vif.log"} {
		in := `{"type":"contrail-vif","virtualNetwork":"a:b:c","` + field + `":"` + value + `"}`
		_, err := Parse([]byte(in))
		if err == nil || !strings.Contains(err.Error(), field) || !strings.Contains(err.Error(), value) {
			t.Errorf("%s %q: err = %v, want one naming the field and value", field, value, err)
		}
	}
}

func TestMarshalKeepsContrailFields(t *testing.T) {
	in := `{"cniVersion":"1.0.0","name":"red","type":"contrail-vif","virtualNetwork":"d:p:red","mtu":1400,
		"agentTimeout":"5s","runtimeConfig":{"mac":"02:00:00:00:00:01"},"subnets":[{"cidr":"10.0.0.0/24"}]}`
	conf, err := Parse([]byte(in))
	if err != nil {
		t.Fatal(err)
	}

	out, err := json.Marshal(conf)
	if err != nil {
		t.Fatal(err)
	}

	for _, want := range []string{`"virtualNetwork":"d:p:red"`, `"mtu":1400`, `"agentTimeout":"5s"`,
		`"runtimeConfig":{"mac":"02:00:00:00:00:01"}`, `"cidr":"10.0.0.0/24"`, `"name":"red"`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("encoding lacks %s: %s", want, out)
		}
	}
	if _, err := Parse(out); err != nil {
		t.Errorf("Parse rejects the encoding: %v", err)
	}
}
