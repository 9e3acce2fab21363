package controller

import (
	"context"
	"net/netip"
	"strings"
	"testing"

	"github.com/contrail-vif/contrail-vif/pkg/attachment"
	"github.com/contrail-vif/contrail-vif/pkg/vncclient"
)

func TestReconcileHonoursRequestedMACAndAddresses(t *testing.T) {
	uid := "c1111111-2222-4333-8444-555555555555"
	f := newFixture(t, contrailNAD("dual", "default-domain:demo:dual"),
		testPod("web", uid, `[{"name":"dual","mac":"02:00:00:aa:bb:cc","ips":["10.40.0.10/24","fd00:40::10/64"]}]`))
	if _, err := f.sim.EnsureVirtualNetwork([]string{"default-domain", "demo", "dual"},
		[]netip.Prefix{netip.MustParsePrefix("10.40.0.0/24"), netip.MustParsePrefix("fd00:40::/64")}); err != nil {
		t.Fatal(err)
	}
	f.reconcile("default", "web")

	vmi, ok := f.sim.Interface(testNode, attachment.VMIUUID(uid, "net1"))
	if !ok {
		t.Fatalf("VMI not visible on the node; events: %v", f.events())
	}
	if vmi.MAC != "02:00:00:aa:bb:cc" {
		t.Errorf("VMI MAC = %s, want the requested 02:00:00:aa:bb:cc", vmi.MAC)
	}
	if vmi.IPv4 == nil || vmi.IPv4.Address != "10.40.0.10" {
		t.Errorf("VMI IPv4 = %+v, want 10.40.0.10", vmi.IPv4)
	}
	if vmi.IPv6 == nil || vmi.IPv6.Address != "fd00:40::10" {
		t.Errorf("VMI IPv6 = %+v, want fd00:40::10", vmi.IPv6)
	}
}

func TestReconcileAllocatesBothFamiliesOnDualStackVN(t *testing.T) {
	uid := "c2111111-2222-4333-8444-555555555555"
	f := newFixture(t, contrailNAD("dual", "default-domain:demo:dual"), testPod("web", uid, "dual"))
	if _, err := f.sim.EnsureVirtualNetwork([]string{"default-domain", "demo", "dual"},
		[]netip.Prefix{netip.MustParsePrefix("10.40.0.0/24"), netip.MustParsePrefix("fd00:40::/64")}); err != nil {
		t.Fatal(err)
	}
	f.reconcile("default", "web")
	vmi, ok := f.sim.Interface(testNode, attachment.VMIUUID(uid, "net1"))
	if !ok || vmi.IPv4 == nil || vmi.IPv6 == nil {
		t.Fatalf("VMI = %+v (visible %v), want an IPv4 and an IPv6 address", vmi, ok)
	}
}

func TestReconcileReportsRequestedAddressInUse(t *testing.T) {
	f := newFixture(t, contrailNAD("red", "default-domain:demo:red"),
		testPod("a", "c3111111-2222-4333-8444-555555555555", `[{"name":"red","ips":["10.10.1.20"]}]`),
		testPod("b", "c3222222-2222-4333-8444-555555555555", `[{"name":"red","ips":["10.10.1.20"]}]`))
	f.reconcile("default", "a")
	if _, err := f.r.Reconcile(context.Background(), reqFor("b")); err == nil {
		t.Fatal("a second pod got an address that is in use")
	}
	evs := f.events()
	if len(evs) != 1 || !strings.Contains(evs[0], "AllocateAddressFailed") || !strings.Contains(evs[0], "10.10.1.20") {
		t.Fatalf("events = %v, want one AllocateAddressFailed naming 10.10.1.20", evs)
	}
}

func TestReconcileRejectsInvalidRequests(t *testing.T) {
	for _, c := range []struct{ annotation, want string }{
		{`[{"name":"red","mac":"01:00:5e:00:00:01"}]`, "multicast"},
		{`[{"name":"red","ips":["0.0.0.0"]}]`, "0.0.0.0"},
		{`[{"name":"red","ips":["10.10.1.5","10.10.1.5"]}]`, "twice"},
	} {
		t.Run(c.want, func(t *testing.T) {
			uid := "c4111111-2222-4333-8444-555555555555"
			f := newFixture(t, contrailNAD("red", "default-domain:demo:red"), testPod("web", uid, c.annotation))
			f.reconcile("default", "web")
			evs := f.events()
			if len(evs) != 1 || !strings.Contains(evs[0], "InvalidNetworkRequest") || !strings.Contains(evs[0], c.want) {
				t.Fatalf("events = %v, want one InvalidNetworkRequest naming %s", evs, c.want)
			}
			if f.exists(vncclient.TypeVirtualMachine, uid) {
				t.Error("a VM was created for an invalid request")
			}
			if st := f.podStatus("web"); len(st) != 1 || st[0].State != AttachmentFailed {
				t.Errorf("status = %+v, want one Failed attachment", st)
			}
		})
	}
}

func TestReconcileAppliesSecurityGroupsAndPortSecurity(t *testing.T) {
	uid := "c5111111-2222-4333-8444-555555555555"
	sgNAD := contrailNAD("sg", "default-domain:demo:red")
	sgNAD.Spec.Config = `{"cniVersion":"1.0.0","name":"sg","type":"contrail-vif","virtualNetwork":"default-domain:demo:red","securityGroups":["default-domain:demo:web"]}`
	openNAD := contrailNAD("open", "default-domain:demo:red")
	openNAD.Spec.Config = `{"cniVersion":"1.0.0","name":"open","type":"contrail-vif","virtualNetwork":"default-domain:demo:red","portSecurity":false}`
	f := newFixture(t, sgNAD, openNAD, testPod("web", uid, "sg,open"))
	sg := map[string]any{"fq_name": []string{"default-domain", "demo", "web"}, "parent_type": "project"}
	if err := f.vnc.Create(context.Background(), "security-group", sg); err != nil {
		t.Fatal(err)
	}
	f.reconcile("default", "web")

	withSG := vncclient.VirtualMachineInterface{}
	if err := f.vnc.Read(context.Background(), vncclient.TypeVirtualMachineInterface, attachment.VMIUUID(uid, "net1"), &withSG); err != nil {
		t.Fatalf("read VMI net1: %v; events %v", err, f.events())
	}
	if len(withSG.SecurityGroupRefs) != 1 || strings.Join(withSG.SecurityGroupRefs[0].To, ":") != "default-domain:demo:web" {
		t.Errorf("net1 security_group_refs = %+v, want default-domain:demo:web", withSG.SecurityGroupRefs)
	}
	open := vncclient.VirtualMachineInterface{}
	if err := f.vnc.Read(context.Background(), vncclient.TypeVirtualMachineInterface, attachment.VMIUUID(uid, "net2"), &open); err != nil {
		t.Fatal(err)
	}
	if open.PortSecurityEnabled == nil || *open.PortSecurityEnabled {
		t.Errorf("net2 port_security_enabled = %v, want false", open.PortSecurityEnabled)
	}
}
