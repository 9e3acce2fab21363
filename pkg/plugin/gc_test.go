package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"testing"

	"github.com/containernetworking/cni/pkg/types"

	"github.com/contrail-vif/contrail-vif/pkg/state"
)

// gcConfig returns conf with the GC keys that libcni sends.
func gcConfig(t *testing.T, conf []byte, valid []types.GCAttachment, keys ...string) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(conf, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		m[k] = valid
	}
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestGCRemovesUnlistedAttachments(t *testing.T) {
	e := newTestEnv(t)
	kept, removed := newTestPod("kept"), newTestPod("removed")
	keptVMI := e.addVMI(kept, "net1", "10.77.0.3")
	removedVMI := e.addVMI(removed, "net1", "10.77.0.4")
	conf := e.config("1.1.0", nil)
	e.add(e.args(kept, newNS(t), "ckept", "net1", conf))
	e.add(e.args(removed, newNS(t), "cremoved", "net1", conf))

	valid := []types.GCAttachment{{ContainerID: "ckept", IfName: "net1"}, {ContainerID: "elsewhere", IfName: "eth0"}}
	gcArgs := e.args(kept, nil, "", "", gcConfig(t, conf, valid, validAttachmentsKey, attachmentsKey))
	if err := e.plugin.GC(context.Background(), gcArgs); err != nil {
		t.Fatalf("GC: %v", err)
	}

	if link(t, e.hostNS, removed.tap("net1")) != nil {
		t.Error("GC left the unlisted attachment's tap")
	}
	if e.agent.deleteCount(removedVMI) != 1 {
		t.Error("GC did not unbind the unlisted attachment's port")
	}
	store := state.New(e.stateDir)
	if _, err := store.Load("cremoved", "net1"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("unlisted state record: %v, want none", err)
	}
	if link(t, e.hostNS, kept.tap("net1")) == nil || e.agent.boundTo(keptVMI) == "" {
		t.Error("GC removed a listed attachment")
	}
	if _, err := store.Load("ckept", "net1"); err != nil {
		t.Errorf("listed state record: %v", err)
	}
}

func TestGCEmptyListAndOtherNetwork(t *testing.T) {
	e := newTestEnv(t)
	pod := newTestPod("web")
	e.addVMI(pod, "net1", "10.77.0.3")
	conf := e.config("1.1.0", nil)
	e.add(e.args(pod, newNS(t), "c1", "net1", conf))

	// GC of another network must not touch this network's attachments.
	other := e.config("1.1.0", map[string]any{"name": "red"})
	if err := e.plugin.GC(context.Background(), e.args(pod, nil, "", "", gcConfig(t, other, nil, validAttachmentsKey))); err != nil {
		t.Fatalf("GC of another network: %v", err)
	}
	if link(t, e.hostNS, pod.tap("net1")) == nil {
		t.Fatal("GC of another network removed this network's tap")
	}

	// The old key alone, with an empty list, removes everything.
	if err := e.plugin.GC(context.Background(), e.args(pod, nil, "", "", gcConfig(t, conf, []types.GCAttachment{}, attachmentsKey))); err != nil {
		t.Fatalf("GC: %v", err)
	}
	if link(t, e.hostNS, pod.tap("net1")) != nil {
		t.Error("GC with an empty list left the tap")
	}
}

func TestGCWithoutList(t *testing.T) {
	e := newTestEnv(t)

	err := e.plugin.GC(context.Background(), e.args(newTestPod("web"), nil, "", "", e.config("1.1.0", nil)))

	requireCNIError(t, err, types.ErrInvalidNetworkConfig, validAttachmentsKey)
}
