package plugin

import (
	"context"
	"testing"

	"github.com/containernetworking/cni/pkg/types"

	"github.com/contrail-vif/contrail-vif/pkg/state"
)

func TestDelOneOfTwoAttachments(t *testing.T) {
	e := newTestEnv(t)
	podNS := newNS(t)
	pod := newTestPod("web")
	vmi1 := e.addVMI(pod, "net1", "10.77.0.3")
	vmi2 := e.addVMI(pod, "net2", "10.77.0.4")
	conf := e.config("1.1.0", nil)
	args1 := e.args(pod, podNS, "c1", "net1", conf)
	args2 := e.args(pod, podNS, "c1", "net2", conf)
	e.add(args1)
	e.add(args2)

	e.del(args1)

	if link(t, podNS, "net1") != nil || link(t, e.hostNS, pod.tap("net1")) != nil {
		t.Error("net1 or its tap still exists")
	}
	if link(t, podNS, "net2") == nil || link(t, e.hostNS, pod.tap("net2")) == nil {
		t.Error("DEL of net1 removed net2 or its tap")
	}
	if e.agent.boundTo(vmi2) != pod.tap("net2") {
		t.Error("DEL of net1 unbound net2's port")
	}
	if e.agent.deleteCount(vmi1) != 1 || e.agent.deleteCount(vmi2) != 0 {
		t.Errorf("DELETE /port calls: net1 %d, net2 %d, want 1 and 0", e.agent.deleteCount(vmi1), e.agent.deleteCount(vmi2))
	}
	if _, err := state.New(e.stateDir).Load("c1", "net2"); err != nil {
		t.Errorf("net2 state record: %v", err)
	}
}

// TestDelInvalidConfig edits the config to an invalid one after ADD, as a
// NAD edit would: DEL must still remove the tap, the binding and the record.
func TestDelInvalidConfig(t *testing.T) {
	e := newTestEnv(t)
	podNS := newNS(t)
	pod := newTestPod("web")
	vmi := e.addVMI(pod, "net1", "10.77.0.3")
	e.add(e.args(pod, podNS, "c1", "net1", e.config("1.1.0", nil)))

	bad := e.args(pod, podNS, "c1", "net1", e.config("1.1.0", map[string]any{"mtu": 10, "virtualNetwork": "no-colons"}))
	if err := e.plugin.Del(context.Background(), bad); err != nil {
		t.Fatalf("Del with an invalid config: %v", err)
	}

	if link(t, e.hostNS, pod.tap("net1")) != nil {
		t.Error("tap still exists")
	}
	if e.agent.deleteCount(vmi) != 1 {
		t.Errorf("DELETE /port calls = %d, want 1", e.agent.deleteCount(vmi))
	}
	if _, err := state.New(e.stateDir).Load("c1", "net1"); err == nil {
		t.Error("state record still exists")
	}
}

func TestDelConfigNotJSONObject(t *testing.T) {
	e := newTestEnv(t)
	pod := newTestPod("web")
	args := e.args(pod, nil, "c1", "net1", []byte(`["not", "an", "object"]`))

	if err := e.plugin.Del(context.Background(), args); err == nil {
		t.Fatal("Del accepted a config that is not a JSON object")
	}
}

func TestDelInvalidCNIArgs(t *testing.T) {
	e := newTestEnv(t)
	podNS := newNS(t)
	pod := newTestPod("web")
	e.addVMI(pod, "net1", "10.77.0.3")
	args := e.args(pod, podNS, "c1", "net1", e.config("1.1.0", nil))
	e.add(args)

	args.Args = "K8S_POD_NAME"
	e.del(args)

	if link(t, e.hostNS, pod.tap("net1")) != nil {
		t.Error("DEL with invalid CNI_ARGS left the tap")
	}
}

func TestDelWaitsForVMILock(t *testing.T) {
	e := newTestEnv(t)
	podNS := newNS(t)
	pod := newTestPod("web")
	e.addVMI(pod, "net1", "10.77.0.3")
	args := e.args(pod, podNS, "c1", "net1", e.config("1.1.0", nil))
	e.add(args)
	lock, err := state.New(e.stateDir).LockVMI(context.Background(), pod.vmi("net1"))
	if err != nil {
		t.Fatal(err)
	}

	delArgs := *args
	delArgs.StdinData = e.config("1.1.0", map[string]any{"agentTimeout": "200ms"})
	err = e.plugin.Del(context.Background(), &delArgs)
	requireCNIError(t, err, types.ErrTryAgainLater, "lock")
	if link(t, e.hostNS, pod.tap("net1")) == nil {
		t.Error("DEL deleted the tap without holding the VMI lock")
	}

	if err := lock.Unlock(); err != nil {
		t.Fatal(err)
	}
	e.del(args)
}
