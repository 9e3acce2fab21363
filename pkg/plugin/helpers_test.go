package plugin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"
	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/containernetworking/plugins/pkg/testutils"
	"github.com/google/uuid"
	"github.com/vishvananda/netlink"

	"github.com/contrail-vif/contrail-vif/pkg/attachment"
)

const (
	testVN      = "default-domain:proj:blue"
	testNetwork = "blue"
	testMTU     = 1400
)

// syncBuffer is a bytes.Buffer safe for the plugin's logger and the test.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// testEnv is one test's fake agent, host namespace, plugin and state directory.
type testEnv struct {
	t        *testing.T
	agent    *fakeAgent
	hostNS   ns.NetNS
	plugin   *Plugin
	stateDir string
	log      *syncBuffer
}

func newTestEnv(t *testing.T) *testEnv {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to create network namespaces")
	}
	e := &testEnv{t: t, agent: newFakeAgent(t), hostNS: newNS(t), stateDir: t.TempDir(), log: &syncBuffer{}}
	e.plugin = New(e.hostNS, e.log)
	e.plugin.PollInterval = 10 * time.Millisecond
	e.plugin.MaxPollInterval = 50 * time.Millisecond
	e.plugin.AgentRequestTimeout = time.Second
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("plugin log:\n%s", e.log.String())
		}
	})
	return e
}

func newNS(t *testing.T) ns.NetNS {
	t.Helper()
	netns, err := testutils.NewNS()
	if err != nil {
		t.Fatalf("create netns: %v", err)
	}
	t.Cleanup(func() {
		_ = netns.Close()
		_ = testutils.UnmountNS(netns)
	})
	return netns
}

// testPod is one pod with a fresh UID, so that its VMI uuids and tap names
// are unique to the test.
type testPod struct {
	namespace, name, uid string
}

func newTestPod(name string) testPod {
	return testPod{namespace: "default", name: name, uid: uuid.NewString()}
}

func (p testPod) vmName() string {
	return attachment.VMName(attachment.DefaultCluster, p.namespace, p.name)
}

func (p testPod) vmi(ifname string) string { return attachment.VMIUUID(p.uid, ifname) }

func (p testPod) tap(ifname string) string { return attachment.TapName(p.vmi(ifname)) }

func (p testPod) cniArgs() string {
	return fmt.Sprintf("IgnoreUnknown=true;K8S_POD_NAMESPACE=%s;K8S_POD_NAME=%s;K8S_POD_INFRA_CONTAINER_ID=x;K8S_POD_UID=%s",
		p.namespace, p.name, p.uid)
}

// addVMI registers the pod's attachment ifname in the fake agent.
func (e *testEnv) addVMI(p testPod, ifname, ipv4 string) string {
	return e.agent.addVMI(fakeVMI{vmName: p.vmName(), podUID: p.uid, ifname: ifname, vnName: testVN, ipv4: ipv4, plen: 24})
}

// config returns a network config for cniVersion with extra fields merged in.
func (e *testEnv) config(cniVersion string, extra map[string]any) []byte {
	conf := map[string]any{
		"cniVersion":     cniVersion,
		"name":           testNetwork,
		"type":           "contrail-vif",
		"virtualNetwork": testVN,
		"agentURL":       e.agent.URL(),
		"agentTimeout":   "2s",
		"mtu":            testMTU,
		"stateDir":       e.stateDir,
	}
	for k, v := range extra {
		conf[k] = v
	}
	data, err := json.Marshal(conf)
	if err != nil {
		e.t.Fatal(err)
	}
	return data
}

func (e *testEnv) args(p testPod, netns ns.NetNS, containerID, ifname string, conf []byte) *skel.CmdArgs {
	path := ""
	if netns != nil {
		path = netns.Path()
	}
	return &skel.CmdArgs{
		ContainerID: containerID, Netns: path, IfName: ifname, Args: p.cniArgs(), Path: "/opt/cni/bin", StdinData: conf,
	}
}

// add runs ADD and fails the test on error.
func (e *testEnv) add(args *skel.CmdArgs) types.Result {
	e.t.Helper()
	result, err := e.plugin.Add(context.Background(), args)
	if err != nil {
		e.t.Fatalf("Add(%s, %s): %v", args.ContainerID, args.IfName, err)
	}
	e.t.Cleanup(func() { _ = e.plugin.Del(context.Background(), args) })
	return result
}

func (e *testEnv) del(args *skel.CmdArgs) {
	e.t.Helper()
	if err := e.plugin.Del(context.Background(), args); err != nil {
		e.t.Fatalf("Del(%s, %s): %v", args.ContainerID, args.IfName, err)
	}
}

// link returns the link name in netns, or nil when there is none.
func link(t *testing.T, netns ns.NetNS, name string) netlink.Link {
	t.Helper()
	var found netlink.Link
	err := netns.Do(func(ns.NetNS) error {
		l, err := netlinksafe.LinkByName(name)
		var notFound netlink.LinkNotFoundError
		if errors.As(err, &notFound) {
			return nil
		}
		found = l
		return err
	})
	if err != nil {
		t.Fatalf("look up %q in %s: %v", name, netns.Path(), err)
	}
	return found
}

// addresses returns the global addresses of link name in netns as CIDR strings.
func addresses(t *testing.T, netns ns.NetNS, name string) []string {
	t.Helper()
	var out []string
	err := netns.Do(func(ns.NetNS) error {
		l, err := netlinksafe.LinkByName(name)
		if err != nil {
			return err
		}
		addrs, err := netlinksafe.AddrList(l, netlink.FAMILY_ALL)
		if err != nil {
			return err
		}
		for _, a := range addrs {
			if a.IP.IsGlobalUnicast() {
				out = append(out, a.IPNet.String())
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("addresses of %q in %s: %v", name, netns.Path(), err)
	}
	return out
}

// requireCNIError checks that err is a CNI error with code whose message
// contains every one of parts.
func requireCNIError(t *testing.T, err error, code uint, parts ...string) {
	t.Helper()
	var cniErr *types.Error
	if !errors.As(err, &cniErr) {
		t.Fatalf("err = %v (%T), want a CNI error with code %d", err, err, code)
	}
	if cniErr.Code != code {
		t.Errorf("code = %d, want %d; message: %s", cniErr.Code, code, cniErr.Msg)
	}
	for _, part := range parts {
		if !strings.Contains(cniErr.Msg, part) {
			t.Errorf("message %q does not contain %q", cniErr.Msg, part)
		}
	}
}

// resultJSON returns the result as the plugin would print it.
func resultJSON(t *testing.T, r types.Result) map[string]any {
	t.Helper()
	var buf bytes.Buffer
	if err := r.PrintTo(&buf); err != nil {
		t.Fatalf("print result: %v", err)
	}
	var out map[string]any
	if err := json.Unmarshal(buf.Bytes(), &out); err != nil {
		t.Fatalf("decode printed result: %v\n%s", err, buf.String())
	}
	return out
}

// currentResult converts r to the latest result type.
func currentResult(t *testing.T, r types.Result) *current.Result {
	t.Helper()
	res, err := current.NewResultFromResult(r)
	if err != nil {
		t.Fatalf("convert result: %v", err)
	}
	return res
}

func mustMAC(t *testing.T, s string) net.HardwareAddr {
	t.Helper()
	mac, err := net.ParseMAC(s)
	if err != nil {
		t.Fatal(err)
	}
	return mac
}
