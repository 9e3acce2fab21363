package plugin

import (
	"context"
	"encoding/json"
	"net"
	"testing"

	"github.com/containernetworking/cni/pkg/types"
	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netlink"
)

// withPrevResult returns conf with the printed result as prevResult.
func withPrevResult(t *testing.T, conf []byte, result types.Result) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(conf, &m); err != nil {
		t.Fatal(err)
	}
	m["prevResult"] = resultJSON(t, result)
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestCheck(t *testing.T) {
	for _, version := range []string{"0.4.0", "1.0.0", "1.1.0"} {
		t.Run(version, func(t *testing.T) {
			e := newTestEnv(t)
			podNS := newNS(t)
			pod := newTestPod("web")
			vmi := e.addVMI(pod, "net1", "10.77.0.3")
			args := e.args(pod, podNS, "c1", "net1", e.config(version, nil))
			result := e.add(args)
			checkArgs := *args
			checkArgs.StdinData = withPrevResult(t, args.StdinData, result)

			if err := e.plugin.Check(context.Background(), &checkArgs); err != nil {
				t.Fatalf("Check after ADD: %v", err)
			}

			removeAddress(t, podNS, "net1", "10.77.0.3/24")
			if err := e.plugin.Check(context.Background(), &checkArgs); err == nil {
				t.Error("Check passed after the address was removed")
			}
			if e.agent.boundTo(vmi) == "" {
				t.Error("Check changed the port binding")
			}
		})
	}
}

func TestCheckUnboundPort(t *testing.T) {
	e := newTestEnv(t)
	podNS := newNS(t)
	pod := newTestPod("web")
	vmi := e.addVMI(pod, "net1", "10.77.0.3")
	args := e.args(pod, podNS, "c1", "net1", e.config("1.1.0", nil))
	result := e.add(args)
	checkArgs := *args
	checkArgs.StdinData = withPrevResult(t, args.StdinData, result)

	e.agent.mu.Lock()
	e.agent.ports[vmi].SystemName = ""
	e.agent.mu.Unlock()

	if err := e.plugin.Check(context.Background(), &checkArgs); err == nil {
		t.Error("Check passed with the port unbound in the agent")
	}
}

func TestCheckNeedsPrevResult(t *testing.T) {
	e := newTestEnv(t)
	podNS := newNS(t)
	pod := newTestPod("web")

	err := e.plugin.Check(context.Background(), e.args(pod, podNS, "c1", "net1", e.config("1.1.0", nil)))

	requireCNIError(t, err, types.ErrInvalidNetworkConfig, "prevResult")
}

func removeAddress(t *testing.T, netns ns.NetNS, ifname, cidr string) {
	t.Helper()
	ipAddr, ipNet, err := net.ParseCIDR(cidr)
	if err != nil {
		t.Fatal(err)
	}
	ipNet.IP = ipAddr
	err = netns.Do(func(ns.NetNS) error {
		l, err := netlinksafe.LinkByName(ifname)
		if err != nil {
			return err
		}
		return netlink.AddrDel(l, &netlink.Addr{IPNet: ipNet})
	})
	if err != nil {
		t.Fatalf("remove %s from %s: %v", cidr, ifname, err)
	}
}

func TestStatus(t *testing.T) {
	e := newTestEnv(t)
	args := e.args(newTestPod("web"), nil, "", "", e.config("1.1.0", nil))

	if err := e.plugin.Status(context.Background(), args); err != nil {
		t.Fatalf("Status with the agent up: %v", err)
	}

	e.agent.server.Close()
	err := e.plugin.Status(context.Background(), args)
	requireCNIError(t, err, types.ErrPluginNotAvailable, e.agent.URL())
}
