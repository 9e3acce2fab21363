package plugin

import (
	"strings"
	"testing"

	"github.com/containernetworking/cni/pkg/types"
)

// badCNIArgsInputs are requests in args.cni, where Multus puts the
// "cni-args" of the pod's network selection element. Other args.cni keys
// are ignored; these two are checked like runtimeConfig.
var badCNIArgsInputs = []badInput{
	{name: "args.cni.mac malformed", config: map[string]any{"args": map[string]any{"cni": map[string]any{"mac": "02:00:00:00:00"}}},
		code: types.ErrInvalidNetworkConfig, parts: []string{"args.cni.mac", `"02:00:00:00:00"`}},
	{name: "args.cni.ips not a list", config: map[string]any{"args": map[string]any{"cni": map[string]any{"ips": "10.77.0.3/24"}}},
		code: types.ErrInvalidNetworkConfig, parts: []string{"args.cni.ips", "10.77.0.3/24", "expected a list"}},
	{name: "args.cni not an object", config: map[string]any{"args": map[string]any{"cni": []string{"ips"}}},
		code: types.ErrInvalidNetworkConfig, parts: []string{"invalid args.cni", "expected an object"}},
	{name: "args.cni.mac differs from VMI", vmi: true,
		config: map[string]any{"args": map[string]any{"cni": map[string]any{"mac": "02:00:00:00:00:01", "color": "blue"}}},
		code:   types.ErrInvalidNetworkConfig, parts: []string{"args.cni.mac requests MAC 02:00:00:00:00:01", "has MAC 02:", `"cni-args"`}},
	{name: "args.cni.ips differs from VMI", vmi: true,
		config: map[string]any{"args": map[string]any{"cni": map[string]any{"ips": []string{"10.77.0.9/24"}}}},
		code:   types.ErrInvalidNetworkConfig, parts: []string{"args.cni.ips requests address 10.77.0.9/24", "10.77.0.3/24", `"cni-args"`}},
	{name: "args.cni.ips differs while runtimeConfig.ips matches", vmi: true,
		config: map[string]any{
			"runtimeConfig": map[string]any{"ips": []string{"10.77.0.3/24"}},
			"args":          map[string]any{"cni": map[string]any{"ips": []string{"10.77.0.8"}}},
		},
		code: types.ErrInvalidNetworkConfig, parts: []string{"args.cni.ips requests address 10.77.0.8,", "10.77.0.3/24"}},
	{name: "runtimeConfig.mac differs while args.cni.mac matches", vmi: true,
		config: map[string]any{"runtimeConfig": map[string]any{"mac": "02:00:00:00:00:02"}},
		prepare: func(r *badInputRun) {
			r.conf["args"] = map[string]any{"cni": map[string]any{"mac": r.env.e.agent.port(r.pod.vmi("net1")).MACAddress}}
			r.stdin = []byte(mustJSON(r.conf))
		},
		code: types.ErrInvalidNetworkConfig, parts: []string{"runtimeConfig.mac requests MAC 02:00:00:00:00:02"}},
}

func TestAddRejectsBadCNIArgs(t *testing.T) {
	e := newTestEnv(t)
	env := &badInputEnv{binary: buildPlugin(t), e: e}
	env.front = newAgentFront(t, e.agent, e.hostNS)
	for _, bc := range badCNIArgsInputs {
		t.Run(bc.name, func(t *testing.T) { env.run(t, bc) })
	}
}

func TestAddAcceptsMatchingCNIArgs(t *testing.T) {
	e := newTestEnv(t)
	pod := newTestPod("web")
	vmi := e.addVMI(pod, "net1", "10.77.0.3")
	mac := e.agent.port(vmi).MACAddress
	conf := e.config("1.0.0", map[string]any{
		"args": map[string]any{"cni": map[string]any{
			"ips": []string{"10.77.0.3"}, "mac": strings.ToUpper(mac), "labels": []any{map[string]string{"key": "app", "value": "web"}},
		}},
	})
	args := e.args(pod, newNS(t), "c1", "net1", conf)
	// args.cni carries the same keys, so the plugin ignores the stale
	// CNI_ARGS values, as the CNI conventions require.
	args.Args += ";MAC=02:00:00:00:00:99;IP=10.77.0.99"

	result := currentResult(t, e.add(args))
	if got := result.Interfaces[podInterfaceIndex].Mac; got != mac {
		t.Errorf("pod interface MAC = %s, want %s", got, mac)
	}
}

func TestLoadRequestsSources(t *testing.T) {
	for _, c := range []struct {
		name     string
		conf     string
		cniArgs  string
		wantMACs []string
		wantIPs  []string
	}{
		{name: "CNI_ARGS alone", cniArgs: "MAC=02:00:00:00:00:01;IP=10.0.0.1",
			wantMACs: []string{"CNI_ARGS MAC"}, wantIPs: []string{"CNI_ARGS IP"}},
		{name: "args.cni replaces CNI_ARGS", conf: `"args":{"cni":{"mac":"02:00:00:00:00:02","ips":["10.0.0.2"]}}`, cniArgs: "MAC=02:00:00:00:00:01;IP=10.0.0.1",
			wantMACs: []string{"args.cni.mac"}, wantIPs: []string{"args.cni.ips"}},
		{name: "empty args.cni.ips still replaces CNI_ARGS IP", conf: `"args":{"cni":{"ips":[]}}`, cniArgs: "IP=10.0.0.1"},
		{name: "runtimeConfig and args.cni both", conf: `"runtimeConfig":{"mac":"02:00:00:00:00:03","ips":["10.0.0.3"]},"args":{"cni":{"mac":"02:00:00:00:00:03","ips":["10.0.0.3"]}}`,
			cniArgs:  "MAC=02:00:00:00:00:01",
			wantMACs: []string{"runtimeConfig.mac", "args.cni.mac"}, wantIPs: []string{"runtimeConfig.ips", "args.cni.ips"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			conf, err := parseConfig([]byte(`{"cniVersion":"1.0.0","name":"n","type":"contrail-vif","virtualNetwork":"d:p:n"` + prefixComma(c.conf) + `}`))
			if err != nil {
				t.Fatal(err)
			}
			pod, err := loadPodArgs(c.cniArgs)
			if err != nil {
				t.Fatal(err)
			}
			reqs, err := loadRequests(&call{conf: conf, pod: pod})
			if err != nil {
				t.Fatal(err)
			}
			var macs, ips []string
			for _, m := range reqs.macs {
				macs = append(macs, m.source.key)
			}
			for _, r := range reqs.ips {
				ips = append(ips, r.source.key)
			}
			if strings.Join(macs, ",") != strings.Join(c.wantMACs, ",") || strings.Join(ips, ",") != strings.Join(c.wantIPs, ",") {
				t.Errorf("sources = MAC %v, IP %v; want MAC %v, IP %v", macs, ips, c.wantMACs, c.wantIPs)
			}
		})
	}
}

func prefixComma(s string) string {
	if s == "" {
		return ""
	}
	return "," + s
}
