package plugin

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/containernetworking/cni/pkg/types"
	"github.com/containernetworking/plugins/pkg/ns"

	"github.com/contrail-vif/contrail-vif/pkg/netplumb"
)

// badInput is one invalid input to ADD, given to the plugin binary the way
// a runtime gives it: environment variables, the network config on stdin,
// and the vRouter agent's replies.
type badInput struct {
	name string
	// env overrides CNI_* variables of a valid ADD; unset removes some.
	env   map[string]string
	unset []string
	// config overrides keys of a valid network config; drop removes some.
	// stdin, when set, replaces the whole config.
	config map[string]any
	drop   []string
	stdin  *string
	// prepare adjusts the run after the fields above are applied, for
	// inputs that depend on the run's pod or namespaces.
	prepare func(r *badInputRun)
	// vmi registers a valid VMI for the pod in the fake agent.
	vmi bool
	// replies are the agent's raw replies; {vmi} and {uid} in a body stand
	// for the pod's VMI uuid and pod UID.
	replies []cannedReply
	// code is the expected CNI error code.
	code uint
	// parts must each appear in the error message or its details.
	parts []string
}

func ptr(s string) *string { return &s }

// badInputEnv is what the runs of TestAddRejectsBadInput share: the plugin
// binary, the host namespace it runs in, and the fake agent with a front
// that listens inside that namespace.
type badInputEnv struct {
	binary string
	e      *testEnv
	front  *agentFront
}

// badInputRun is one run: its pod, its namespace, and the environment and
// config about to be sent.
type badInputRun struct {
	env   *badInputEnv
	pod   testPod
	podNS ns.NetNS
	vars  map[string]string
	conf  map[string]any
	stdin []byte
}

// TestAddRejectsBadInput runs the plugin binary with one invalid input at a
// time and checks the error that a runtime would see. The binary must exit
// with status 1 and print the CNI error JSON with the expected code and a
// message that names the offending value. After each run no link is left in
// the host or the pod namespace, no state record exists, and the binary has
// not panicked.
//
// The expected codes, group by group:
//
//   - Network config: skel rejects stdin that is not a JSON object (6), a
//     missing or invalid name (7) and an unsupported cniVersion (1); the
//     plugin rejects every invalid contrail-vif field with 7.
//   - Environment: a missing or invalid CNI_* variable or CNI_ARGS key is
//     4. skel's messages for an invalid CNI_IFNAME name the rule but not the
//     value, because skel validates before the plugin runs.
//   - Pod requests: contrail-vif takes the MAC and addresses from the VMI
//     that the controller created and cannot honour a request for others.
//     It rejects a malformed request, and one that the VMI does not meet,
//     rather than ignore it: 7 when it comes in runtimeConfig, 4 when it
//     comes in the deprecated CNI_ARGS keys MAC and IP. A request that the
//     VMI meets is accepted (TestAddAcceptsMatchingRequests).
//   - Agent replies: a reply the plugin cannot decode or use (truncated
//     JSON, wrong types, a bad MAC, address or prefix length) fails at once
//     with 6, since retrying does not change it. An error status or a VM
//     without this VMI may be transient, so ADD keeps polling and fails
//     with 11 when agentTimeout runs out, quoting the agent's last reply.
//     An agent that rejects the port binding gives 999, skel's code for an
//     error without a CNI code, with the agent's message.
func TestAddRejectsBadInput(t *testing.T) {
	e := newTestEnv(t)
	env := &badInputEnv{binary: buildPlugin(t), e: e}
	env.front = newAgentFront(t, e.agent, e.hostNS)

	groups := []struct {
		name  string
		cases []badInput
	}{
		{"config", badConfigInputs},
		{"environment", badEnvironmentInputs},
		{"requests", badRequestInputs},
		{"agent", badAgentReplies},
	}
	total := 0
	for _, g := range groups {
		total += len(g.cases)
		t.Run(g.name, func(t *testing.T) {
			for _, bc := range g.cases {
				t.Run(bc.name, func(t *testing.T) { env.run(t, bc) })
			}
		})
	}
	if total < 30 {
		t.Errorf("the table has %d cases, fewer than the 30 it is meant to cover", total)
	}
}

func (env *badInputEnv) run(t *testing.T, bc badInput) {
	r := &badInputRun{env: env, pod: newTestPod("web"), podNS: newNS(t)}
	r.vars = map[string]string{
		"CNI_COMMAND":     "ADD",
		"CNI_CONTAINERID": "c-" + r.pod.uid[:8],
		"CNI_NETNS":       r.podNS.Path(),
		"CNI_IFNAME":      "net1",
		"CNI_ARGS":        r.pod.cniArgs(),
		"CNI_PATH":        "/opt/cni/bin",
	}
	r.conf = map[string]any{
		"cniVersion":     "1.0.0",
		"name":           testNetwork,
		"type":           "contrail-vif",
		"virtualNetwork": testVN,
		"agentURL":       env.front.URL(),
		"agentTimeout":   "300ms",
		"mtu":            testMTU,
		"stateDir":       env.e.stateDir,
	}
	for k, v := range bc.env {
		r.vars[k] = v
	}
	for _, k := range bc.unset {
		delete(r.vars, k)
	}
	for k, v := range bc.config {
		r.conf[k] = v
	}
	for _, k := range bc.drop {
		delete(r.conf, k)
	}
	if bc.vmi {
		env.e.addVMI(r.pod, "net1", "10.77.0.3")
	}
	if len(bc.replies) > 0 {
		replies := make([]cannedReply, len(bc.replies))
		for i, reply := range bc.replies {
			reply.body = strings.NewReplacer("{vmi}", r.pod.vmi("net1"), "{uid}", r.pod.uid).Replace(reply.body)
			replies[i] = reply
		}
		env.front.replyAll(replies...)
		t.Cleanup(func() { env.front.setFault(nil) })
	}
	data, err := json.Marshal(r.conf)
	if err != nil {
		t.Fatal(err)
	}
	r.stdin = data
	if bc.stdin != nil {
		r.stdin = []byte(*bc.stdin)
	}
	if bc.prepare != nil {
		bc.prepare(r)
	}

	run := runPlugin(t, env.binary, env.e.hostNS, r.vars, r.stdin)

	if hasPanic(run.stderr) {
		t.Fatalf("the plugin panicked:\n%s", run.stderr)
	}
	if run.exitCode != 1 {
		t.Errorf("exit status = %d, want 1\nstdout: %s\nstderr: %s", run.exitCode, run.stdout, run.stderr)
	}
	cniErr := run.cniError(t)
	if cniErr.Code != bc.code {
		t.Errorf("code = %d, want %d; msg: %s; details: %s", cniErr.Code, bc.code, cniErr.Msg, cniErr.Details)
	}
	text := cniErr.Msg + "\n" + cniErr.Details
	for _, part := range bc.parts {
		if !strings.Contains(text, part) {
			t.Errorf("error does not name %q:\nmsg: %s\ndetails: %s", part, cniErr.Msg, cniErr.Details)
		}
	}
	if links := linkNames(t, env.e.hostNS); len(links) > 0 {
		t.Errorf("links left in the host namespace: %v", links)
		removeLinks(t, env.e.hostNS, links)
	}
	if links := linkNames(t, r.podNS); len(links) > 0 {
		t.Errorf("links left in the pod namespace: %v", links)
	}
	if files := stateFiles(t, env.e.stateDir); len(files) > 0 {
		t.Errorf("state records left: %v", files)
	}
	if t.Failed() {
		t.Logf("plugin stderr:\n%s", run.stderr)
	}
}

// removeLinks deletes links from netns so that the next case starts clean.
func removeLinks(t *testing.T, netns ns.NetNS, names []string) {
	t.Helper()
	for _, name := range names {
		if _, err := netplumb.DeleteLink(netns, name); err != nil {
			t.Errorf("delete leftover %s: %v", name, err)
		}
	}
}

// badConfigInputs are invalid network configs.
var badConfigInputs = []badInput{
	{name: "stdin not JSON", stdin: ptr(`{"cniVersion":"1.0.0","name":`),
		code: types.ErrDecodingFailure, parts: []string{"network config", "unexpected end of JSON input"}},
	{name: "stdin empty", stdin: ptr(""),
		code: types.ErrDecodingFailure, parts: []string{"network config", "unexpected end of JSON input"}},
	{name: "stdin a JSON array", stdin: ptr(`["contrail-vif"]`),
		code: types.ErrDecodingFailure, parts: []string{"cannot unmarshal array"}},
	{name: "name missing", drop: []string{"name"},
		code: types.ErrInvalidNetworkConfig, parts: []string{"missing network name"}},
	{name: "name invalid", config: map[string]any{"name": "blue net"},
		code: types.ErrInvalidNetworkConfig, parts: []string{"network name", "blue net"}},
	{name: "cniVersion missing", drop: []string{"cniVersion"},
		code: types.ErrIncompatibleCNIVersion, parts: []string{"incompatible CNI versions", `"0.1.0"`}},
	{name: "cniVersion unsupported", config: map[string]any{"cniVersion": "2.0.0"},
		code: types.ErrIncompatibleCNIVersion, parts: []string{"incompatible CNI versions", `"2.0.0"`}},
	{name: "cniVersion too old", config: map[string]any{"cniVersion": "0.2.0"},
		code: types.ErrIncompatibleCNIVersion, parts: []string{`"0.2.0"`}},
	{name: "cniVersion not a string", config: map[string]any{"cniVersion": 1.0},
		code: types.ErrDecodingFailure, parts: []string{"cannot unmarshal number", "cniVersion"}},
	{name: "type of another plugin", config: map[string]any{"type": "bridge"},
		code: types.ErrInvalidNetworkConfig, parts: []string{`"bridge"`, `"contrail-vif"`}},
	{name: "virtualNetwork missing", drop: []string{"virtualNetwork"},
		code: types.ErrInvalidNetworkConfig, parts: []string{"virtualNetwork", `fq-name ""`}},
	{name: "virtualNetwork two parts", config: map[string]any{"virtualNetwork": "demo:blue"},
		code: types.ErrInvalidNetworkConfig, parts: []string{"virtualNetwork", `"demo:blue"`}},
	{name: "virtualNetwork empty part", config: map[string]any{"virtualNetwork": "default-domain::blue"},
		code: types.ErrInvalidNetworkConfig, parts: []string{`"default-domain::blue"`, "empty part"}},
	{name: "virtualNetwork four parts", config: map[string]any{"virtualNetwork": "a:b:c:d"},
		code: types.ErrInvalidNetworkConfig, parts: []string{`"a:b:c:d"`}},
	{name: "virtualNetwork not a string", config: map[string]any{"virtualNetwork": []string{"default-domain", "proj", "blue"}},
		code: types.ErrInvalidNetworkConfig, parts: []string{"virtualNetwork", "cannot unmarshal array"}},
	{name: "unknown field", config: map[string]any{"virtualNetwrk": "a:b:c"},
		code: types.ErrInvalidNetworkConfig, parts: []string{`"virtualNetwrk"`}},
	{name: "mtu a string", config: map[string]any{"mtu": "1400"},
		code: types.ErrInvalidNetworkConfig, parts: []string{"mtu", "cannot unmarshal string"}},
	{name: "mtu too small", config: map[string]any{"mtu": 500},
		code: types.ErrInvalidNetworkConfig, parts: []string{"invalid mtu 500"}},
	{name: "mtu too large", config: map[string]any{"mtu": 70000},
		code: types.ErrInvalidNetworkConfig, parts: []string{"invalid mtu 70000"}},
	{name: "mtu a fraction", config: map[string]any{"mtu": 1400.5},
		code: types.ErrInvalidNetworkConfig, parts: []string{"mtu", "1400.5"}},
	{name: "agentURL without scheme", config: map[string]any{"agentURL": "127.0.0.1:9091"},
		code: types.ErrInvalidNetworkConfig, parts: []string{"agentURL", `"127.0.0.1:9091"`}},
	{name: "agentURL unix scheme", config: map[string]any{"agentURL": "unix:///run/vrouter-agent.sock"},
		code: types.ErrInvalidNetworkConfig, parts: []string{`"unix:///run/vrouter-agent.sock"`}},
	{name: "agentTimeout not a duration", config: map[string]any{"agentTimeout": "soon"},
		code: types.ErrInvalidNetworkConfig, parts: []string{`"soon"`}},
	{name: "agentTimeout a number", config: map[string]any{"agentTimeout": 30},
		code: types.ErrInvalidNetworkConfig, parts: []string{"duration must be a string", "30"}},
	{name: "agentTimeout negative", config: map[string]any{"agentTimeout": "-5s"},
		code: types.ErrInvalidNetworkConfig, parts: []string{"agentTimeout", `"-5s"`}},
	{name: "clusterName with separator", config: map[string]any{"clusterName": "k8s__a"},
		code: types.ErrInvalidNetworkConfig, parts: []string{"clusterName", `"k8s__a"`}},
	{name: "logLevel unknown", config: map[string]any{"logLevel": "loud"},
		code: types.ErrInvalidNetworkConfig, parts: []string{"logLevel", `"loud"`}},
	{name: "stateDir relative", config: map[string]any{"stateDir": "state"},
		code: types.ErrInvalidNetworkConfig, parts: []string{"stateDir", `"state"`, "absolute"}},
	{name: "logFile relative", config: map[string]any{"logFile": "contrail-vif.log"},
		code: types.ErrInvalidNetworkConfig, parts: []string{"logFile", `"contrail-vif.log"`, "absolute"}},
	{name: "capabilities not booleans", config: map[string]any{"capabilities": map[string]any{"mac": "yes"}},
		code: types.ErrInvalidNetworkConfig, parts: []string{"capabilities", "cannot unmarshal string"}},
	{name: "subnet prefix out of range", config: map[string]any{"subnets": []map[string]any{{"cidr": "10.77.0.0/33"}}},
		code: types.ErrInvalidNetworkConfig, parts: []string{"subnets[0].cidr", `"10.77.0.0/33"`}},
}

// badEnvironmentInputs are invalid CNI_* variables and CNI_ARGS.
var badEnvironmentInputs = []badInput{
	{name: "CNI_COMMAND unknown", env: map[string]string{"CNI_COMMAND": "FROB"},
		code: types.ErrInvalidEnvironmentVariables, parts: []string{"CNI_COMMAND", "FROB"}},
	{name: "CNI_CONTAINERID missing", unset: []string{"CNI_CONTAINERID"},
		code: types.ErrInvalidEnvironmentVariables, parts: []string{"CNI_CONTAINERID"}},
	{name: "CNI_CONTAINERID invalid", env: map[string]string{"CNI_CONTAINERID": "bad id!"},
		code: types.ErrInvalidEnvironmentVariables, parts: []string{"containerID", "bad id!"}},
	{name: "CNI_NETNS missing", unset: []string{"CNI_NETNS"},
		code: types.ErrInvalidEnvironmentVariables, parts: []string{"CNI_NETNS"}},
	{name: "CNI_NETNS not found", env: map[string]string{"CNI_NETNS": "/var/run/netns/contrail-vif-test-absent"},
		code: types.ErrInvalidEnvironmentVariables, parts: []string{"CNI_NETNS", `"/var/run/netns/contrail-vif-test-absent"`}},
	{name: "CNI_NETNS not a namespace",
		prepare: func(r *badInputRun) {
			path := filepath.Join(r.env.e.stateDir, "not-a-netns")
			if err := os.WriteFile(path, nil, 0o600); err != nil {
				panic(err)
			}
			r.vars["CNI_NETNS"] = path
		},
		code: types.ErrInvalidEnvironmentVariables, parts: []string{"CNI_NETNS", "not-a-netns"}},
	{name: "CNI_NETNS the host namespace",
		prepare: func(r *badInputRun) { r.vars["CNI_NETNS"] = r.env.e.hostNS.Path() },
		vmi:     true,
		code:    types.ErrInvalidEnvironmentVariables, parts: []string{"CNI_NETNS", "host network namespace"}},
	{name: "CNI_IFNAME missing", unset: []string{"CNI_IFNAME"},
		code: types.ErrInvalidEnvironmentVariables, parts: []string{"CNI_IFNAME"}},
	{name: "CNI_IFNAME over 15 characters", env: map[string]string{"CNI_IFNAME": "net1234567890123"},
		code: types.ErrInvalidEnvironmentVariables, parts: []string{"interface name is too long", "16"}},
	{name: "CNI_IFNAME with slash", env: map[string]string{"CNI_IFNAME": "net/1"},
		code: types.ErrInvalidEnvironmentVariables, parts: []string{"interface name contains /"}},
	{name: "CNI_IFNAME with space", env: map[string]string{"CNI_IFNAME": "net 1"},
		code: types.ErrInvalidEnvironmentVariables, parts: []string{"whitespace"}},
	{name: "CNI_IFNAME dot", env: map[string]string{"CNI_IFNAME": "."},
		code: types.ErrInvalidEnvironmentVariables, parts: []string{"interface name is . or .."}},
	{name: "CNI_PATH missing", unset: []string{"CNI_PATH"},
		code: types.ErrInvalidEnvironmentVariables, parts: []string{"CNI_PATH"}},
	{name: "CNI_ARGS malformed", env: map[string]string{"CNI_ARGS": "K8S_POD_NAME"},
		code: types.ErrInvalidEnvironmentVariables, parts: []string{"invalid CNI_ARGS", "K8S_POD_NAME"}},
	{name: "CNI_ARGS empty", unset: []string{"CNI_ARGS"},
		code: types.ErrInvalidEnvironmentVariables, parts: []string{"CNI_ARGS has no K8S_POD_NAMESPACE"}},
	{name: "K8S_POD_NAMESPACE missing",
		prepare: func(r *badInputRun) { r.vars["CNI_ARGS"] = withoutArg(r.vars["CNI_ARGS"], "K8S_POD_NAMESPACE") },
		code:    types.ErrInvalidEnvironmentVariables, parts: []string{"CNI_ARGS has no K8S_POD_NAMESPACE"}},
	{name: "K8S_POD_NAME missing",
		prepare: func(r *badInputRun) { r.vars["CNI_ARGS"] = withoutArg(r.vars["CNI_ARGS"], "K8S_POD_NAME") },
		code:    types.ErrInvalidEnvironmentVariables, parts: []string{"CNI_ARGS has no K8S_POD_NAME"}},
	{name: "K8S_POD_UID missing",
		prepare: func(r *badInputRun) { r.vars["CNI_ARGS"] = withoutArg(r.vars["CNI_ARGS"], "K8S_POD_UID") },
		code:    types.ErrInvalidEnvironmentVariables, parts: []string{"CNI_ARGS has no K8S_POD_UID"}},
	{name: "K8S_POD_UID not a uuid",
		prepare: func(r *badInputRun) { r.vars["CNI_ARGS"] = withArg(r.vars["CNI_ARGS"], "K8S_POD_UID", "web-1") },
		code:    types.ErrInvalidEnvironmentVariables, parts: []string{"K8S_POD_UID", `"web-1"`}},
	{name: "K8S_POD_UID uppercase",
		prepare: func(r *badInputRun) {
			r.vars["CNI_ARGS"] = withArg(r.vars["CNI_ARGS"], "K8S_POD_UID", strings.ToUpper(r.pod.uid))
		},
		code: types.ErrInvalidEnvironmentVariables, parts: []string{"K8S_POD_UID", "lowercase"}},
	{name: "CNI_ARGS unknown key without IgnoreUnknown",
		prepare: func(r *badInputRun) {
			r.vars["CNI_ARGS"] = "FOO=bar;" + strings.TrimPrefix(r.vars["CNI_ARGS"], "IgnoreUnknown=true;")
		},
		code: types.ErrInvalidEnvironmentVariables, parts: []string{"CNI_ARGS", "FOO"}},
}

// withoutArg removes key from a CNI_ARGS string.
func withoutArg(cniArgs, key string) string {
	var kept []string
	for _, kv := range strings.Split(cniArgs, ";") {
		if !strings.HasPrefix(kv, key+"=") {
			kept = append(kept, kv)
		}
	}
	return strings.Join(kept, ";")
}

// withArg sets key in a CNI_ARGS string.
func withArg(cniArgs, key, value string) string {
	return fmt.Sprintf("%s;%s=%s", withoutArg(cniArgs, key), key, value)
}
