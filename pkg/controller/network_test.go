package controller

import (
	"context"
	"encoding/json"
	"net/netip"
	"strings"
	"testing"

	"github.com/go-logr/logr"
	nadv1 "github.com/k8snetworkplumbingwg/network-attachment-definition-client/pkg/apis/k8s.cni.cncf.io/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/contrail-vif/contrail-vif/pkg/attachment"
	"github.com/contrail-vif/contrail-vif/pkg/vncclient"
)

func managedNAD(name, vn, subnets string) *nadv1.NetworkAttachmentDefinition {
	return &nadv1.NetworkAttachmentDefinition{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name, UID: types.UID("nad-uid-" + name)},
		Spec: nadv1.NetworkAttachmentDefinitionSpec{Config: `{"cniVersion":"1.0.0","name":"` + name +
			`","type":"contrail-vif","virtualNetwork":"` + vn + `","subnets":` + subnets + `}`},
	}
}

func (f *fixture) networkReconciler() *NetworkReconciler {
	return &NetworkReconciler{Client: f.kube, VNC: f.r.VNC, Recorder: f.recorder, ClusterName: "k8s", Log: logr.Discard(), Pods: f.r}
}

func (f *fixture) reconcileNAD(n *NetworkReconciler, name string) ctrl.Result {
	f.t.Helper()
	res, err := n.Reconcile(context.Background(), ctrl.Request{NamespacedName: types.NamespacedName{Namespace: "default", Name: name}})
	if err != nil {
		f.t.Fatalf("reconcile NAD %s: %v", name, err)
	}
	return res
}

func (f *fixture) nad(name string) *nadv1.NetworkAttachmentDefinition {
	f.t.Helper()
	nad := &nadv1.NetworkAttachmentDefinition{}
	if err := f.kube.Get(context.Background(), types.NamespacedName{Namespace: "default", Name: name}, nad); err != nil {
		f.t.Fatalf("get NAD %s: %v", name, err)
	}
	return nad
}

func (f *fixture) networkStatus(name string) networkStatus {
	f.t.Helper()
	var st networkStatus
	if err := json.Unmarshal([]byte(f.nad(name).Annotations[NetworkStatusAnnotation]), &st); err != nil {
		f.t.Fatalf("NAD %s status annotation: %v", name, err)
	}
	return st
}

func TestNetworkCreatedForNAD(t *testing.T) {
	f := newFixture(t, managedNAD("green", "default-domain:k8s-green:green", `[{"cidr":"10.30.0.0/24","gateway":"10.30.0.1"}]`))
	n := f.networkReconciler()
	f.reconcileNAD(n, "green")

	id, err := f.vnc.FQNameToID(context.Background(), vncclient.TypeVirtualNetwork, []string{"default-domain", "k8s-green", "green"})
	if err != nil {
		t.Fatalf("VN not created: %v", err)
	}
	vn := vncclient.Network{}
	if err := f.vnc.Read(context.Background(), vncclient.TypeVirtualNetwork, id, &vn); err != nil {
		t.Fatal(err)
	}
	if uid, _ := vn.Annotations.Get(KeyNADUID); uid != "nad-uid-green" {
		t.Errorf("VN nad_uid annotation = %q, want nad-uid-green", uid)
	}
	if owner, _ := vn.Annotations.Get(attachment.KeyOwner); owner != attachment.OwnerValue {
		t.Errorf("VN owner annotation = %q", owner)
	}
	subnets, ok := f.sim.VirtualNetworkSubnets(id)
	if !ok || len(subnets) != 1 || subnets[0].Prefix != netip.MustParsePrefix("10.30.0.0/24") || subnets[0].Gateway != netip.MustParseAddr("10.30.0.1") {
		t.Errorf("VN subnets = %+v, want 10.30.0.0/24 with gateway 10.30.0.1", subnets)
	}
	if !controllerutil.ContainsFinalizer(f.nad("green"), NetworkFinalizer) {
		t.Error("NAD has no finalizer")
	}
	st := f.networkStatus("green")
	if st.UUID != id || !st.Managed || st.State != networkReady {
		t.Errorf("NAD status = %+v, want uuid %s, managed, Ready", st, id)
	}

	// A second reconcile changes nothing and reports nothing new.
	f.events()
	f.reconcileNAD(n, "green")
	if evs := f.events(); len(evs) != 0 {
		t.Errorf("second reconcile emitted events: %v", evs)
	}
}

func TestNetworkMismatchLeavesVNAlone(t *testing.T) {
	f := newFixture(t, managedNAD("red", "default-domain:demo:red", `[{"cidr":"10.99.0.0/24"}]`))
	n := f.networkReconciler()
	f.reconcileNAD(n, "red")

	evs := f.events()
	if len(evs) != 1 || !strings.Contains(evs[0], "VirtualNetworkMismatch") || !strings.Contains(evs[0], "10.99.0.0/24") {
		t.Fatalf("events = %v, want one VirtualNetworkMismatch naming the subnets", evs)
	}
	st := f.networkStatus("red")
	if st.Managed || st.LastError == "" {
		t.Errorf("status = %+v, want unmanaged with the difference as last error", st)
	}

	// Deleting the NAD never deletes a VN it did not create.
	if err := f.kube.Delete(context.Background(), f.nad("red")); err != nil {
		t.Fatal(err)
	}
	f.reconcileNAD(n, "red")
	if _, err := f.vnc.FQNameToID(context.Background(), vncclient.TypeVirtualNetwork, []string{"default-domain", "demo", "red"}); err != nil {
		t.Errorf("the pre-existing VN was deleted: %v", err)
	}
}

func TestNetworkDeletedOnlyWhenUnused(t *testing.T) {
	uid := "91111111-2222-4333-8444-555555555555"
	pod := testPod("web", uid, "green")
	f := newFixture(t, managedNAD("green", "default-domain:k8s-green:green", `[{"cidr":"10.30.0.0/24"}]`), pod)
	n := f.networkReconciler()
	f.reconcileNAD(n, "green")
	f.reconcile("default", "web")
	if !f.exists(vncclient.TypeVirtualMachineInterface, attachment.VMIUUID(uid, "net1")) {
		t.Fatal("pod attachment on the created VN was not made")
	}

	if err := f.kube.Delete(context.Background(), f.nad("green")); err != nil {
		t.Fatal(err)
	}
	res := f.reconcileNAD(n, "green")
	if res.RequeueAfter == 0 {
		t.Error("deleting a NAD whose VN is in use must requeue")
	}
	st := f.networkStatus("green")
	if st.State != networkDeleting {
		t.Errorf("status state = %q, want %s", st.State, networkDeleting)
	}
	if !strings.Contains(st.LastError, "(virtual-machine-interfaces: 1, instance-ips: 1)") {
		t.Errorf("status last error = %q, want the VMI and instance-ip counts", st.LastError)
	}
	// Retries that find the same users record no new Event.
	f.reconcileNAD(n, "green")
	var inUse int
	for _, ev := range f.events() {
		if strings.Contains(ev, "VirtualNetworkInUse") {
			inUse++
		}
	}
	if inUse != 1 {
		t.Errorf("VirtualNetworkInUse Events after two reconciles = %d, want 1", inUse)
	}

	// The pod goes, the controller deletes its objects, then the VN can go.
	if err := f.kube.Delete(context.Background(), pod); err != nil {
		t.Fatal(err)
	}
	f.reconcile("default", "web")
	f.reconcileNAD(n, "green")
	if _, err := f.vnc.FQNameToID(context.Background(), vncclient.TypeVirtualNetwork, []string{"default-domain", "k8s-green", "green"}); !vncclient.IsNotFound(err) {
		t.Errorf("VN still exists after its NAD and users are gone (err %v)", err)
	}
	nad := &nadv1.NetworkAttachmentDefinition{}
	if err := f.kube.Get(context.Background(), types.NamespacedName{Namespace: "default", Name: "green"}, nad); err == nil {
		t.Errorf("NAD still exists with finalizers %v", nad.Finalizers)
	}
}

func TestNetworkInvalidSubnetsReported(t *testing.T) {
	f := newFixture(t, managedNAD("bad", "default-domain:demo:bad", `[{"cidr":"10.30.0.1/24"}]`))
	f.reconcileNAD(f.networkReconciler(), "bad")
	evs := f.events()
	if len(evs) != 1 || !strings.Contains(evs[0], "InvalidNetworkConfig") || !strings.Contains(evs[0], "10.30.0.1/24") {
		t.Fatalf("events = %v, want one InvalidNetworkConfig naming the CIDR", evs)
	}
	if st := f.networkStatus("bad"); st.State != networkError {
		t.Errorf("status state = %q, want %s", st.State, networkError)
	}
}
