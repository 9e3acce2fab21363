package netconf

import (
	"slices"
	"strings"
	"testing"
)

func TestDecodeArgsReadsIPsAndMAC(t *testing.T) {
	conf, err := Parse([]byte(`{"cniVersion":"1.0.0","name":"red","type":"contrail-vif","virtualNetwork":"d:p:red",
		"args":{"cni":{"ips":["10.10.1.77/24","fd00::77"],"mac":"02:00:00:00:00:77","labels":[{"key":"app","value":"web"}]},"other":{"x":1}}}`))
	if err != nil {
		t.Fatal(err)
	}
	args, err := conf.DecodeArgs()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(args.IPs, []string{"10.10.1.77/24", "fd00::77"}) || args.MAC != "02:00:00:00:00:77" {
		t.Errorf("DecodeArgs = %+v", args)
	}
}

func TestDecodeArgsWithoutCNIKeys(t *testing.T) {
	for _, args := range []string{``, `"args":null,`, `"args":{},`, `"args":{"cni":null},`, `"args":{"cni":{"unknown":true}},`} {
		conf, err := Parse([]byte(`{"cniVersion":"1.0.0",` + args + `"name":"red","type":"contrail-vif","virtualNetwork":"d:p:red"}`))
		if err != nil {
			t.Fatalf("%s: %v", args, err)
		}
		got, err := conf.DecodeArgs()
		if err != nil || got.IPs != nil || got.MAC != "" {
			t.Errorf("%s: DecodeArgs = %+v, %v; want no requests", args, got, err)
		}
	}
}

func TestDecodeArgsRejectsMalformedKnownKeys(t *testing.T) {
	for _, c := range []struct{ args, want string }{
		{`[]`, "invalid args"},
		{`{"cni":"ips"}`, "invalid args.cni"},
		{`{"cni":{"ips":"10.1.1.1"}}`, "invalid args.cni.ips"},
		{`{"cni":{"ips":["10.1.1.300"]}}`, "args.cni.ips[0]"},
		{`{"cni":{"mac":7}}`, "invalid args.cni.mac"},
		{`{"cni":{"mac":"ff:ff:ff:ff:ff:ff"}}`, "multicast"},
	} {
		t.Run(c.args, func(t *testing.T) {
			conf, err := Parse([]byte(`{"cniVersion":"1.0.0","name":"red","type":"contrail-vif","virtualNetwork":"d:p:red","args":` + c.args + `}`))
			if err != nil {
				t.Fatalf("Parse must accept any args so that DEL works: %v", err)
			}
			_, err = conf.DecodeArgs()
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("DecodeArgs error = %v, want one containing %q", err, c.want)
			}
		})
	}
}

func TestCNIArgsOverlay(t *testing.T) {
	nad := CNIArgs{IPs: []string{"10.0.0.1"}, MAC: "02:00:00:00:00:01"}
	if got := nad.Overlay(CNIArgs{MAC: "02:00:00:00:00:02"}); !slices.Equal(got.IPs, nad.IPs) || got.MAC != "02:00:00:00:00:02" {
		t.Errorf("overlay of mac = %+v", got)
	}
	if got := nad.Overlay(CNIArgs{IPs: []string{}}); got.IPs == nil || len(got.IPs) != 0 {
		t.Errorf("overlay of an empty ips list = %+v, want the list emptied", got)
	}
}
