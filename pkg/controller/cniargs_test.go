package controller

import (
	"strings"
	"testing"

	"github.com/contrail-vif/contrail-vif/pkg/attachment"
	"github.com/contrail-vif/contrail-vif/pkg/vncclient"
)

func TestReconcileHonoursCNIArgsRequests(t *testing.T) {
	uid := "c7111111-2222-4333-8444-555555555555"
	f := newFixture(t, contrailNAD("red", "default-domain:demo:red"),
		testPod("web", uid, `[{"name":"red","cni-args":{"ips":["10.10.1.77/24"],"mac":"02:00:00:00:00:77","color":"blue"}}]`))
	f.reconcile("default", "web")

	vmi, ok := f.sim.Interface(testNode, attachment.VMIUUID(uid, "net1"))
	if !ok {
		t.Fatalf("VMI not visible on the node; events: %v", f.events())
	}
	if vmi.MAC != "02:00:00:00:00:77" {
		t.Errorf("VMI MAC = %s, want 02:00:00:00:00:77 from cni-args", vmi.MAC)
	}
	if vmi.IPv4 == nil || vmi.IPv4.Address != "10.10.1.77" {
		t.Errorf("VMI IPv4 = %+v, want 10.10.1.77 from cni-args", vmi.IPv4)
	}
	if evs := f.events(); len(evs) != 0 {
		t.Errorf("events = %v, want none: an unknown cni-args key is ignored", evs)
	}
}

func TestReconcileCNIArgsOverNADArgs(t *testing.T) {
	uid := "c7222222-2222-4333-8444-555555555555"
	nad := contrailNAD("red", "default-domain:demo:red")
	nad.Spec.Config = `{"cniVersion":"1.0.0","name":"red","type":"contrail-vif","virtualNetwork":"default-domain:demo:red",` +
		`"args":{"cni":{"ips":["10.10.1.80"],"mac":"02:00:00:00:00:80"}}}`
	f := newFixture(t, nad, testPod("web", uid, `[{"name":"red","cni-args":{"ips":["10.10.1.81"]}}]`))
	f.reconcile("default", "web")

	vmi, ok := f.sim.Interface(testNode, attachment.VMIUUID(uid, "net1"))
	if !ok {
		t.Fatalf("VMI not visible on the node; events: %v", f.events())
	}
	if vmi.IPv4 == nil || vmi.IPv4.Address != "10.10.1.81" {
		t.Errorf("VMI IPv4 = %+v, want 10.10.1.81: cni-args replaces the NAD's args.cni ips", vmi.IPv4)
	}
	if vmi.MAC != "02:00:00:00:00:80" {
		t.Errorf("VMI MAC = %s, want the NAD's args.cni mac 02:00:00:00:00:80", vmi.MAC)
	}
}

func TestReconcileAcceptsAgreeingRequests(t *testing.T) {
	uid := "c7333333-2222-4333-8444-555555555555"
	f := newFixture(t, contrailNAD("red", "default-domain:demo:red"),
		testPod("web", uid, `[{"name":"red","ips":["10.10.1.90/24"],"mac":"02:00:00:00:00:90","cni-args":{"ips":["10.10.1.90"],"mac":"02:00:00:00:00:90"}}]`))
	f.reconcile("default", "web")
	vmi, ok := f.sim.Interface(testNode, attachment.VMIUUID(uid, "net1"))
	if !ok || vmi.IPv4 == nil || vmi.IPv4.Address != "10.10.1.90" || vmi.MAC != "02:00:00:00:00:90" {
		t.Fatalf("VMI = %+v (visible %v), want 10.10.1.90 and 02:00:00:00:00:90; events %v", vmi, ok, f.events())
	}
}

func TestReconcileRejectsConflictingCNIArgs(t *testing.T) {
	for _, c := range []struct{ name, annotation, want string }{
		{"ips differ", `[{"name":"red","ips":["10.10.1.91"],"cni-args":{"ips":["10.10.1.92"]}}]`, `args.cni "ips" [10.10.1.92]`},
		{"mac differs", `[{"name":"red","mac":"02:00:00:00:00:91","cni-args":{"mac":"02:00:00:00:00:92"}}]`, "02:00:00:00:00:92"},
		{"ips malformed", `[{"name":"red","cni-args":{"ips":"10.10.1.93"}}]`, "args.cni.ips"},
		{"mac multicast", `[{"name":"red","cni-args":{"mac":"01:00:5e:00:00:01"}}]`, "multicast"},
		{"ips twice", `[{"name":"red","cni-args":{"ips":["10.10.1.94","10.10.1.94"]}}]`, "twice"},
	} {
		t.Run(c.name, func(t *testing.T) {
			uid := "c7444444-2222-4333-8444-555555555555"
			f := newFixture(t, contrailNAD("red", "default-domain:demo:red"), testPod("web", uid, c.annotation))
			f.reconcile("default", "web")
			evs := f.events()
			if len(evs) != 1 || !strings.Contains(evs[0], "InvalidNetworkRequest") || !strings.Contains(evs[0], c.want) {
				t.Fatalf("events = %v, want one InvalidNetworkRequest containing %s", evs, c.want)
			}
			if f.exists(vncclient.TypeVirtualMachine, uid) {
				t.Error("a VM was created for a conflicting request")
			}
		})
	}
}

func TestReconcileRejectsMalformedNADArgs(t *testing.T) {
	uid := "c7555555-2222-4333-8444-555555555555"
	nad := contrailNAD("red", "default-domain:demo:red")
	nad.Spec.Config = `{"cniVersion":"1.0.0","name":"red","type":"contrail-vif","virtualNetwork":"default-domain:demo:red","args":{"cni":{"mac":"zz"}}}`
	f := newFixture(t, nad, testPod("web", uid, "red"))
	f.reconcile("default", "web")
	evs := f.events()
	if len(evs) != 1 || !strings.Contains(evs[0], "InvalidNetworkConfig") || !strings.Contains(evs[0], "args.cni.mac") {
		t.Fatalf("events = %v, want one InvalidNetworkConfig naming args.cni.mac", evs)
	}
}
