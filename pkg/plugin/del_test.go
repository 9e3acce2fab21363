package plugin

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/containernetworking/cni/pkg/types"
	"github.com/containernetworking/plugins/pkg/testutils"

	"github.com/contrail-vif/contrail-vif/pkg/state"
)

func TestDelAfterAdd(t *testing.T) {
	e := newTestEnv(t)
	podNS := newNS(t)
	pod := newTestPod("web")
	vmi := e.addVMI(pod, "net1", "10.77.0.3")
	args := e.args(pod, podNS, "c1", "net1", e.config("1.1.0", nil))
	e.add(args)

	e.del(args)

	if link(t, e.hostNS, pod.tap("net1")) != nil {
		t.Error("tap still exists")
	}
	if link(t, podNS, "net1") != nil {
		t.Error("net1 still exists")
	}
	if n := e.agent.deleteCount(vmi); n != 1 {
		t.Errorf("DELETE /port calls = %d, want 1", n)
	}
	if e.agent.boundTo(vmi) != "" {
		t.Error("port still bound")
	}
	store := state.New(e.stateDir)
	if _, err := store.Load("c1", "net1"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("state record: %v, want none", err)
	}
	if _, err := store.Owner(vmi); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("owner record: %v, want none", err)
	}
	if _, err := os.Stat(filepath.Join(e.stateDir, "owners", vmi+".lock")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("lock file: %v, want none", err)
	}
}

func TestDelTwice(t *testing.T) {
	e := newTestEnv(t)
	podNS := newNS(t)
	pod := newTestPod("web")
	e.addVMI(pod, "net1", "10.77.0.3")
	args := e.args(pod, podNS, "c1", "net1", e.config("1.1.0", nil))
	e.add(args)

	e.del(args)
	e.del(args)
}

func TestDelWithoutAdd(t *testing.T) {
	e := newTestEnv(t)
	podNS := newNS(t)
	pod := newTestPod("web")

	e.del(e.args(pod, podNS, "c1", "net1", e.config("1.1.0", nil)))

	if n := e.agent.deleteCount(pod.vmi("net1")); n != 1 {
		t.Errorf("DELETE /port calls for the derived VMI = %d, want 1", n)
	}

	// Without CNI_ARGS there is no VMI to name, and DEL still succeeds.
	args := e.args(pod, podNS, "c2", "net1", e.config("1.1.0", nil))
	args.Args = ""
	e.del(args)
}

func TestDelNetnsGone(t *testing.T) {
	e := newTestEnv(t)
	pod := newTestPod("web")
	vmi := e.addVMI(pod, "net1", "10.77.0.3")
	podNS, err := testutils.NewNS()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Already unmounted when the test gets that far.
		_ = podNS.Close()
		_ = testutils.UnmountNS(podNS)
	})
	args := e.args(pod, podNS, "c1", "net1", e.config("1.1.0", nil))
	e.add(args)

	_ = podNS.Close()
	if err := testutils.UnmountNS(podNS); err != nil {
		t.Fatal(err)
	}
	e.del(args)

	if link(t, e.hostNS, pod.tap("net1")) != nil {
		t.Error("tap still exists")
	}
	if n := e.agent.deleteCount(vmi); n != 1 {
		t.Errorf("DELETE /port calls = %d, want 1", n)
	}
	if _, err := state.New(e.stateDir).Load("c1", "net1"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("state record: %v, want none", err)
	}

	// Without a netns path at all (CNI_NETNS is optional for DEL).
	args.Netns = ""
	e.del(args)
}

func TestDelAgentDown(t *testing.T) {
	e := newTestEnv(t)
	podNS := newNS(t)
	pod := newTestPod("web")
	e.addVMI(pod, "net1", "10.77.0.3")
	args := e.args(pod, podNS, "c1", "net1", e.config("1.1.0", nil))
	e.add(args)
	e.agent.server.Close()

	e.del(args)

	if link(t, e.hostNS, pod.tap("net1")) != nil {
		t.Error("tap still exists")
	}
	if _, err := state.New(e.stateDir).Load("c1", "net1"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("state record: %v, want none", err)
	}
}

func TestLateDelOfOlderSandbox(t *testing.T) {
	e := newTestEnv(t)
	pod := newTestPod("web")
	vmi := e.addVMI(pod, "net1", "10.77.0.3")
	tap := pod.tap("net1")
	conf := e.config("1.1.0", nil)
	oldNS, newerNS := newNS(t), newNS(t)
	oldArgs := e.args(pod, oldNS, "old", "net1", conf)
	newArgs := e.args(pod, newerNS, "new", "net1", conf)
	e.add(oldArgs)

	// The runtime recreates the sandbox before the old sandbox's DEL runs.
	e.add(newArgs)
	e.del(oldArgs)

	if link(t, e.hostNS, tap) == nil {
		t.Error("late DEL deleted the newer sandbox's tap")
	}
	if link(t, newerNS, "net1") == nil {
		t.Error("late DEL deleted the newer sandbox's net1")
	}
	if e.agent.boundTo(vmi) != tap {
		t.Error("late DEL unbound the newer sandbox's port")
	}
	if n := e.agent.deleteCount(vmi); n != 0 {
		t.Errorf("DELETE /port calls = %d, want 0", n)
	}
	store := state.New(e.stateDir)
	if _, err := store.Load("old", "net1"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("old state record: %v, want none", err)
	}
	if _, err := store.Load("new", "net1"); err != nil {
		t.Errorf("new state record: %v", err)
	}
	if owner, err := store.Owner(vmi); err != nil || !owner.Is("new", "net1") {
		t.Errorf("owner = %+v, %v, want new/net1", owner, err)
	}

	e.del(newArgs)
	if link(t, e.hostNS, tap) != nil {
		t.Error("DEL of the newer sandbox left its tap")
	}
	if n := e.agent.deleteCount(vmi); n != 1 {
		t.Errorf("DELETE /port calls = %d, want 1", n)
	}
}

func TestLateDelWithoutStateKeepsNewerSandbox(t *testing.T) {
	e := newTestEnv(t)
	pod := newTestPod("web")
	vmi := e.addVMI(pod, "net1", "10.77.0.3")
	newerNS := newNS(t)
	e.add(e.args(pod, newerNS, "new", "net1", e.config("1.1.0", nil)))

	// A DEL for a sandbox whose ADD never recorded anything.
	e.del(e.args(pod, newNS(t), "old", "net1", e.config("1.1.0", nil)))

	if e.agent.boundTo(vmi) != pod.tap("net1") || e.agent.deleteCount(vmi) != 0 {
		t.Error("DEL without state unbound the port of the owning sandbox")
	}
	if link(t, newerNS, "net1") == nil {
		t.Error("DEL without state deleted the owning sandbox's net1")
	}
}

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

func TestDelInvalidConfig(t *testing.T) {
	e := newTestEnv(t)
	pod := newTestPod("web")
	args := e.args(pod, nil, "c1", "net1", e.config("1.1.0", map[string]any{"mtu": 10}))

	if err := e.plugin.Del(context.Background(), args); err == nil {
		t.Fatal("Del accepted an invalid config")
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
