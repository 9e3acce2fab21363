package plugin

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/containernetworking/cni/pkg/types"
)

// badRequestInputs are MAC and address requests from the pod's network
// selection element that the plugin must not ignore. Those that need the
// VMI to compare against register one in the fake agent.
var badRequestInputs = []badInput{
	{name: "runtimeConfig.mac malformed", config: map[string]any{"runtimeConfig": map[string]any{"mac": "02:00:00:00:00"}},
		code: types.ErrInvalidNetworkConfig, parts: []string{"runtimeConfig.mac", `"02:00:00:00:00"`}},
	{name: "runtimeConfig.mac multicast", config: map[string]any{"runtimeConfig": map[string]any{"mac": "03:00:00:00:00:01"}},
		code: types.ErrInvalidNetworkConfig, parts: []string{"runtimeConfig.mac", `"03:00:00:00:00:01"`, "multicast"}},
	{name: "runtimeConfig.mac EUI-64", config: map[string]any{"runtimeConfig": map[string]any{"mac": "02:00:00:ff:fe:00:00:01"}},
		code: types.ErrInvalidNetworkConfig, parts: []string{"runtimeConfig.mac", `"02:00:00:ff:fe:00:00:01"`, "6 bytes"}},
	{name: "runtimeConfig.mac not a string", config: map[string]any{"runtimeConfig": map[string]any{"mac": 5}},
		code: types.ErrInvalidNetworkConfig, parts: []string{"runtimeConfig", `{\"mac\":5}`}},
	{name: "runtimeConfig.ips not a list", config: map[string]any{"runtimeConfig": map[string]any{"ips": "10.77.0.3/24"}},
		code: types.ErrInvalidNetworkConfig, parts: []string{"runtimeConfig", "10.77.0.3/24"}},
	{name: "runtimeConfig.ips bad address", config: map[string]any{"runtimeConfig": map[string]any{"ips": []string{"10.77.0.300/24"}}},
		code: types.ErrInvalidNetworkConfig, parts: []string{"runtimeConfig.ips[0]", `"10.77.0.300/24"`}},
	{name: "runtimeConfig.ips bad prefix", config: map[string]any{"runtimeConfig": map[string]any{"ips": []string{"10.77.0.3/33"}}},
		code: types.ErrInvalidNetworkConfig, parts: []string{"runtimeConfig.ips[0]", `"10.77.0.3/33"`, "prefix length"}},
	{name: "runtimeConfig not an object", config: map[string]any{"runtimeConfig": "mac"},
		code: types.ErrInvalidNetworkConfig, parts: []string{"invalid runtimeConfig", `"\"mac\""`}},
	{name: "runtimeConfig.mac differs from VMI", vmi: true,
		config: map[string]any{"runtimeConfig": map[string]any{"mac": "02:00:00:00:00:01"}},
		code:   types.ErrInvalidNetworkConfig, parts: []string{"runtimeConfig.mac requests MAC 02:00:00:00:00:01", "has MAC 02:"}},
	{name: "runtimeConfig.ips differs from VMI", vmi: true,
		config: map[string]any{"runtimeConfig": map[string]any{"ips": []string{"10.77.0.9/24"}}},
		code:   types.ErrInvalidNetworkConfig, parts: []string{"runtimeConfig.ips requests address 10.77.0.9/24", "10.77.0.3/24"}},
	{name: "runtimeConfig.ips prefix differs from VMI", vmi: true,
		config: map[string]any{"runtimeConfig": map[string]any{"ips": []string{"10.77.0.3/16"}}},
		code:   types.ErrInvalidNetworkConfig, parts: []string{"requests address 10.77.0.3/16", "10.77.0.3/24"}},
	{name: "CNI_ARGS MAC malformed", prepare: func(r *badInputRun) { r.vars["CNI_ARGS"] += ";MAC=zz:zz" },
		code: types.ErrInvalidEnvironmentVariables, parts: []string{"MAC in CNI_ARGS", `"zz:zz"`}},
	{name: "CNI_ARGS IP malformed", prepare: func(r *badInputRun) { r.vars["CNI_ARGS"] += ";IP=10.77.0.300" },
		code: types.ErrInvalidEnvironmentVariables, parts: []string{"IP in CNI_ARGS", `"10.77.0.300"`}},
	{name: "CNI_ARGS IP list with a bad entry", prepare: func(r *badInputRun) { r.vars["CNI_ARGS"] += ";IP=10.77.0.3/24,fd00::zz" },
		code: types.ErrInvalidEnvironmentVariables, parts: []string{"IP in CNI_ARGS", `"fd00::zz"`}},
	{name: "CNI_ARGS MAC differs from VMI", vmi: true, prepare: func(r *badInputRun) { r.vars["CNI_ARGS"] += ";MAC=02:00:00:00:00:01" },
		code: types.ErrInvalidEnvironmentVariables, parts: []string{"CNI_ARGS MAC requests MAC 02:00:00:00:00:01"}},
	{name: "CNI_ARGS IP differs from VMI", vmi: true, prepare: func(r *badInputRun) { r.vars["CNI_ARGS"] += ";IP=10.77.0.9" },
		code: types.ErrInvalidEnvironmentVariables, parts: []string{"CNI_ARGS IP requests address 10.77.0.9,", "10.77.0.3/24"}},
	{name: "runtimeConfig.ips takes precedence over CNI_ARGS IP", vmi: true,
		config:  map[string]any{"runtimeConfig": map[string]any{"ips": []string{"10.77.0.9"}}},
		prepare: func(r *badInputRun) { r.vars["CNI_ARGS"] += ";IP=10.77.0.3" },
		code:    types.ErrInvalidNetworkConfig, parts: []string{"runtimeConfig.ips requests address 10.77.0.9,"}},
}

// agentBody returns a JSON object with the fields of base, overridden by
// set and without the keys in drop.
func agentBody(base, set map[string]any, drop ...string) map[string]any {
	out := map[string]any{}
	for k, v := range base {
		out[k] = v
	}
	for k, v := range set {
		out[k] = v
	}
	for _, k := range drop {
		delete(out, k)
	}
	return out
}

func mustJSON(v any) string {
	data, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(data)
}

// validVMConfig is a /vm-cfg element for net1 of the run's pod; {vmi} and
// {uid} are replaced per run.
var validVMConfig = map[string]any{
	"id": "{vmi}", "vm-uuid": "{uid}", "vn-id": "8c84ff8a-0000-4000-8000-000000000001", "vn-name": testVN,
	"mac-address": "02:aa:bb:cc:dd:01", "sub-interface": false, "vlan-id": 65535,
	"annotations": []string{"{interface:net1}", "{index:0/1}"},
}

// validPort is a /port reply for net1 of the run's pod.
var validPort = map[string]any{
	"id": "{vmi}", "instance-id": "{uid}", "vn-id": "8c84ff8a-0000-4000-8000-000000000001",
	"vm-project-id": "9970147c-33b1-4bf7-8944-8968e708d430", "mac-address": "02:aa:bb:cc:dd:01", "system-name": "",
	"rx-vlan-id": 65535, "tx-vlan-id": 65535, "vhostuser-mode": 0,
	"ip-address": "10.77.0.3", "plen": 24, "gateway": "10.77.0.254", "dns-server": "10.77.0.253",
}

func vmConfigReply(code int, body string) cannedReply {
	return cannedReply{method: http.MethodGet, pathPrefix: "/vm-cfg/", code: code, body: body}
}

func portReply(code int, body string) cannedReply {
	return cannedReply{method: http.MethodGet, pathPrefix: "/port/", code: code, body: body}
}

// badPort is a case whose /port reply is validPort changed by set and drop.
func badPort(name string, set map[string]any, drop []string, parts ...string) badInput {
	return badInput{name: name, vmi: true,
		replies: []cannedReply{portReply(http.StatusOK, mustJSON(agentBody(validPort, set, drop...)))},
		code:    types.ErrDecodingFailure, parts: parts}
}

// badAgentReplies are vRouter agent replies the plugin must reject.
var badAgentReplies = []badInput{
	{name: "vm-cfg truncated JSON", replies: []cannedReply{vmConfigReply(http.StatusOK, `[{"id":"`)},
		code: types.ErrDecodingFailure, parts: []string{"GET", "/vm-cfg/", "unexpected end of JSON input", `"[{\"id\":\""`}},
	{name: "vm-cfg wrong types", replies: []cannedReply{vmConfigReply(http.StatusOK, `[{"id":5}]`)},
		code: types.ErrDecodingFailure, parts: []string{"/vm-cfg/", "VMConfigEntry.id", `"[{\"id\":5}]"`}},
	{name: "vm-cfg object instead of array", replies: []cannedReply{vmConfigReply(http.StatusOK, `{"id":"x"}`)},
		code: types.ErrDecodingFailure, parts: []string{"expected an array", `"{\"id\":\"x\"}"`}},
	{name: "vm-cfg null", replies: []cannedReply{vmConfigReply(http.StatusOK, `null`)},
		code: types.ErrDecodingFailure, parts: []string{"expected an array", `"null"`}},
	{name: "vm-cfg larger than 1 MiB", replies: []cannedReply{vmConfigReply(http.StatusOK, "["+strings.Repeat(" ", 1<<20)+"]")},
		code: types.ErrDecodingFailure, parts: []string{"/vm-cfg/", "larger than 1048576 bytes"}},
	{name: "vm-cfg 500 with error body", replies: []cannedReply{vmConfigReply(http.StatusInternalServerError, `{"error":"{ Agent config not ready }"}`)},
		code: types.ErrTryAgainLater, parts: []string{"timed out after 300ms", "status 500", "{ Agent config not ready }"}},
	{name: "vm-cfg empty array", replies: []cannedReply{vmConfigReply(http.StatusOK, `[]`)},
		code: types.ErrTryAgainLater, parts: []string{"timed out", "lists no VMI for this interface"}},
	{name: "vm-cfg VMI with invalid id",
		replies: []cannedReply{vmConfigReply(http.StatusOK, "["+mustJSON(agentBody(validVMConfig, map[string]any{"id": "VMI-1"}))+"]")},
		code:    types.ErrDecodingFailure, parts: []string{"invalid id", `"VMI-1"`}},
	{name: "VMI without MAC", vmi: true,
		replies: []cannedReply{
			vmConfigReply(http.StatusOK, "["+mustJSON(agentBody(validVMConfig, nil, "mac-address"))+"]"),
			portReply(http.StatusOK, mustJSON(agentBody(validPort, nil, "mac-address"))),
		},
		code: types.ErrDecodingFailure, parts: []string{"mac-address", `invalid MAC address ""`}},
	badPort("port MAC malformed", map[string]any{"mac-address": "02:zz:00:00:00:01"}, nil, `"02:zz:00:00:00:01"`),
	badPort("port MAC multicast", map[string]any{"mac-address": "01:00:5e:00:00:01"}, nil, `"01:00:5e:00:00:01"`, "multicast"),
	badPort("port address not an IP", map[string]any{"ip-address": "10.77.0"}, nil, `invalid address "10.77.0"`),
	badPort("port IPv6 address in ip-address", map[string]any{"ip-address": "fd00:77::3"}, nil, `invalid address "fd00:77::3"`),
	badPort("port plen above 32", map[string]any{"plen": 33}, nil, "invalid prefix length 33"),
	badPort("port plen zero", map[string]any{"plen": 0}, nil, "invalid prefix length 0"),
	badPort("port plen negative", map[string]any{"plen": -1}, nil, "invalid prefix length -1"),
	badPort("port plen a string", map[string]any{"plen": "24"}, nil, "Port.plen", "cannot unmarshal string"),
	badPort("port gateway not an IP", map[string]any{"gateway": "10.77.0.x"}, nil, `invalid gateway "10.77.0.x"`),
	badPort("port gateway of the other family", map[string]any{"gateway": "fd00:77::fe"}, nil, `invalid gateway "fd00:77::fe"`, "families differ"),
	badPort("port IPv6 address malformed", map[string]any{"v6-ip-address": "fd00::zz"}, nil, `invalid address "fd00::zz"`),
	{name: "port truncated JSON", vmi: true, replies: []cannedReply{portReply(http.StatusOK, `{"id":"`)},
		code: types.ErrDecodingFailure, parts: []string{"/port/", "unexpected end of JSON input"}},
	{name: "port null", vmi: true, replies: []cannedReply{portReply(http.StatusOK, `null`)},
		code: types.ErrDecodingFailure, parts: []string{"/port/", "expected an object", `"null"`}},
	{name: "port 500 with error body", vmi: true,
		replies: []cannedReply{portReply(http.StatusInternalServerError, `{"error":"{ Invalid or missing data }"}`)},
		code:    types.ErrTryAgainLater, parts: []string{"timed out after 300ms", "status 500", "{ Invalid or missing data }"}},
	{name: "port binding rejected", vmi: true,
		replies: []cannedReply{{method: http.MethodPost, pathPrefix: "/port", code: http.StatusInternalServerError,
			body: `{"error":"{ Invalid MAC, Use xx:xx:xx:xx:xx:xx format }"}`}},
		code: types.ErrInternal, parts: []string{"rejected the port", "status 500", "Invalid MAC, Use xx:xx:xx:xx:xx:xx format"}},
}

func TestAddAcceptsMatchingRequests(t *testing.T) {
	e := newTestEnv(t)
	podNS := newNS(t)
	pod := newTestPod("web")
	vmi := e.addVMI(pod, "net1", "10.77.0.3")
	mac := e.agent.port(vmi).MACAddress
	conf := e.config("1.1.0", map[string]any{
		"capabilities":  map[string]bool{"mac": true, "ips": true},
		"runtimeConfig": map[string]any{"mac": strings.ToUpper(mac), "ips": []string{"10.77.0.3/24"}},
	})
	args := e.args(pod, podNS, "c1", "net1", conf)
	// Multus also sends the deprecated keys; runtimeConfig takes precedence,
	// so a stale CNI_ARGS value does not matter.
	args.Args += ";MAC=" + mac + ";IP=10.77.0.99"

	result := currentResult(t, e.add(args))

	if got := result.Interfaces[podInterfaceIndex].Mac; got != mac {
		t.Errorf("pod interface MAC = %s, want %s", got, mac)
	}

	// CNI_ARGS alone, with an address without prefix length.
	pod2 := newTestPod("db")
	e.addVMI(pod2, "net1", "10.77.0.4")
	args2 := e.args(pod2, newNS(t), "c2", "net1", e.config("1.1.0", nil))
	args2.Args += ";IP=10.77.0.4"
	if _, err := e.plugin.Add(context.Background(), args2); err != nil {
		t.Fatalf("Add with CNI_ARGS IP equal to the VMI's address: %v", err)
	}
	t.Cleanup(func() { _ = e.plugin.Del(context.Background(), args2) })
}
