package controller

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/go-logr/logr"
	nadv1 "github.com/k8snetworkplumbingwg/network-attachment-definition-client/pkg/apis/k8s.cni.cncf.io/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/contrail-vif/contrail-vif/pkg/attachment"
	"github.com/contrail-vif/contrail-vif/pkg/sim/configapi"
	"github.com/contrail-vif/contrail-vif/pkg/vncclient"
)

const testNode = "node-a"

// fixture is a reconciler wired to a fake Kubernetes client and a real
// simulated config API on loopback.
type fixture struct {
	t        *testing.T
	sim      *configapi.Server
	kube     client.Client
	recorder *events.FakeRecorder
	r        *Reconciler
	vnc      *vncclient.Client
}

func newFixture(t *testing.T, objs ...client.Object) *fixture {
	t.Helper()
	sim := configapi.NewServer(slog.New(slog.NewTextHandler(io.Discard, nil)))
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)

	if _, err := sim.EnsureVirtualRouter(testNode); err != nil {
		t.Fatal(err)
	}
	if _, err := sim.EnsureVirtualNetwork([]string{"default-domain", "demo", "red"}, []netip.Prefix{netip.MustParsePrefix("10.10.1.0/24")}); err != nil {
		t.Fatal(err)
	}

	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	if err := nadv1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	kube := fake.NewClientBuilder().WithScheme(scheme).WithObjects(objs...).
		WithIndex(&corev1.Pod{}, podNADIndex, podNADKeys).Build()
	recorder := events.NewFakeRecorder(100)
	f := &fixture{t: t, sim: sim, kube: kube, recorder: recorder, vnc: vncclient.New(srv.URL, 0)}
	f.r = f.newReconciler(srv.URL)
	return f
}

func (f *fixture) newReconciler(url string) *Reconciler {
	return &Reconciler{
		Client:      f.kube,
		VNC:         vncclient.New(url, 0),
		Recorder:    f.recorder,
		ClusterName: "k8s",
		Log:         logr.Discard(),
	}
}

func (f *fixture) reconcile(ns, name string) ctrl.Result {
	f.t.Helper()
	res, err := f.r.Reconcile(context.Background(), ctrl.Request{NamespacedName: types.NamespacedName{Namespace: ns, Name: name}})
	if err != nil {
		f.t.Fatalf("reconcile %s/%s: %v", ns, name, err)
	}
	return res
}

func (f *fixture) events() []string {
	var out []string
	for {
		select {
		case e := <-f.recorder.Events:
			out = append(out, e)
		default:
			return out
		}
	}
}

func (f *fixture) exists(typ, uuid string) bool {
	f.t.Helper()
	err := f.vnc.Read(context.Background(), typ, uuid, &struct{}{})
	if err != nil && !vncclient.IsNotFound(err) {
		f.t.Fatalf("read %s %s: %v", typ, uuid, err)
	}
	return err == nil
}

func contrailNAD(name, vn string) *nadv1.NetworkAttachmentDefinition {
	return &nadv1.NetworkAttachmentDefinition{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name},
		Spec:       nadv1.NetworkAttachmentDefinitionSpec{Config: `{"cniVersion":"1.0.0","name":"` + name + `","type":"contrail-vif","virtualNetwork":"` + vn + `"}`},
	}
}

func bridgeNAD(name string) *nadv1.NetworkAttachmentDefinition {
	return &nadv1.NetworkAttachmentDefinition{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name},
		Spec:       nadv1.NetworkAttachmentDefinitionSpec{Config: `{"cniVersion":"1.0.0","name":"` + name + `","type":"bridge"}`},
	}
}

func testPod(name, uid, networks string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Namespace:   "default",
			Name:        name,
			UID:         types.UID(uid),
			Annotations: map[string]string{podNetworksAnnotation: networks},
		},
		Spec: corev1.PodSpec{NodeName: testNode},
	}
}

func TestReconcileCreatesObjectsForContrailAttachmentsOnly(t *testing.T) {
	uid := "11111111-2222-4333-8444-555555555555"
	f := newFixture(t, contrailNAD("red", "default-domain:demo:red"), bridgeNAD("other"),
		testPod("web", uid, "other,red"))

	f.reconcile("default", "web")

	if !f.exists(vncclient.TypeVirtualMachine, uid) {
		t.Fatal("virtual-machine with the pod UID was not created")
	}
	// "red" is the second element, so Multus names it net2.
	vmis, ok := f.sim.VMInterfaces(testNode, attachment.VMName("k8s", "default", "web"))
	if !ok || len(vmis) != 1 {
		t.Fatalf("agent view of node %s has %d VMIs (visible %v), want 1", testNode, len(vmis), ok)
	}
	vmi := vmis[0]
	if vmi.UUID != attachment.VMIUUID(uid, "net2") {
		t.Errorf("VMI uuid = %s, want the uuid derived from pod UID and net2", vmi.UUID)
	}
	annotations := map[string]string{}
	for _, kv := range vmi.Annotations {
		annotations[kv.Key] = kv.Value
	}
	for key, want := range map[string]string{
		attachment.KeyInterface: "net2",
		attachment.KeyNetwork:   "default/red",
		attachment.KeyPodUID:    uid,
		attachment.KeyOwner:     attachment.OwnerValue,
		attachment.KeyIndex:     "0/1",
	} {
		if annotations[key] != want {
			t.Errorf("VMI annotation %s = %q, want %q", key, annotations[key], want)
		}
	}
	if vmi.VNFQName != "default-domain:demo:red" {
		t.Errorf("VMI VN = %s, want default-domain:demo:red", vmi.VNFQName)
	}
	if vmi.IPv4 == nil || !netip.MustParsePrefix("10.10.1.0/24").Contains(netip.MustParseAddr(vmi.IPv4.Address)) {
		t.Errorf("VMI IPv4 = %+v, want an address in 10.10.1.0/24", vmi.IPv4)
	}
	if evs := f.events(); len(evs) != 0 {
		t.Errorf("unexpected events: %v", evs)
	}
}

func TestReconcileIsIdempotentAcrossRestarts(t *testing.T) {
	uid := "21111111-2222-4333-8444-555555555555"
	f := newFixture(t, contrailNAD("red", "default-domain:demo:red"), testPod("web", uid, "red"))
	f.reconcile("default", "web")

	// A new controller (after a crash) finds what the first one made.
	f.r = f.newReconciler(f.vnc.BaseURL)
	f.reconcile("default", "web")
	f.reconcile("default", "web")

	vmis, _ := f.sim.VMInterfaces(testNode, attachment.VMName("k8s", "default", "web"))
	if len(vmis) != 1 {
		t.Fatalf("VMIs after three reconciles = %d, want 1", len(vmis))
	}
	iips, err := vncclient.ListDetail[vncclient.InstanceIP](context.Background(), f.vnc, vncclient.TypeInstanceIP, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(iips) != 1 {
		t.Errorf("instance-ips after three reconciles = %d, want 1", len(iips))
	}
	if evs := f.events(); len(evs) != 0 {
		t.Errorf("unexpected events: %v", evs)
	}
}

func TestReconcileReportsMissingVirtualNetwork(t *testing.T) {
	uid := "31111111-2222-4333-8444-555555555555"
	f := newFixture(t, contrailNAD("green", "default-domain:demo:green"), testPod("web", uid, "green"))

	res := f.reconcile("default", "web")
	if res.RequeueAfter == 0 {
		t.Error("a missing VN must requeue the pod")
	}
	evs := f.events()
	if len(evs) != 1 || !strings.Contains(evs[0], "VirtualNetworkNotFound") || !strings.Contains(evs[0], "default-domain:demo:green") {
		t.Fatalf("events = %v, want one VirtualNetworkNotFound naming default-domain:demo:green", evs)
	}
	if f.exists(vncclient.TypeVirtualMachine, uid) {
		t.Error("a VM was created although the VN is missing")
	}

	if _, err := f.sim.EnsureVirtualNetwork([]string{"default-domain", "demo", "green"}, []netip.Prefix{netip.MustParsePrefix("10.10.3.0/24")}); err != nil {
		t.Fatal(err)
	}
	f.reconcile("default", "web")
	if !f.exists(vncclient.TypeVirtualMachineInterface, attachment.VMIUUID(uid, "net1")) {
		t.Error("VMI not created once the VN exists")
	}
}

func TestReconcileDeletesObjectsOfDeletedPod(t *testing.T) {
	uid := "41111111-2222-4333-8444-555555555555"
	pod := testPod("web", uid, "red")
	f := newFixture(t, contrailNAD("red", "default-domain:demo:red"), pod)
	f.reconcile("default", "web")

	if err := f.kube.Delete(context.Background(), pod); err != nil {
		t.Fatal(err)
	}
	f.reconcile("default", "web")

	for typ, id := range map[string]string{
		vncclient.TypeVirtualMachine:          uid,
		vncclient.TypeVirtualMachineInterface: attachment.VMIUUID(uid, "net1"),
		vncclient.TypeInstanceIP:              attachment.InstanceIPUUID(uid, "net1"),
	} {
		if f.exists(typ, id) {
			t.Errorf("%s %s still exists after the pod was deleted", typ, id)
		}
	}
}

func TestReconcileReplacesObjectsOfRecreatedPod(t *testing.T) {
	oldUID := "51111111-2222-4333-8444-555555555555"
	newUID := "52222222-2222-4333-8444-555555555555"
	old := testPod("web", oldUID, "red")
	f := newFixture(t, contrailNAD("red", "default-domain:demo:red"), old)
	f.reconcile("default", "web")

	if err := f.kube.Delete(context.Background(), old); err != nil {
		t.Fatal(err)
	}
	if err := f.kube.Create(context.Background(), testPod("web", newUID, "red")); err != nil {
		t.Fatal(err)
	}
	f.reconcile("default", "web")

	if f.exists(vncclient.TypeVirtualMachine, oldUID) {
		t.Error("VM of the old pod still exists")
	}
	if !f.exists(vncclient.TypeVirtualMachineInterface, attachment.VMIUUID(newUID, "net1")) {
		t.Error("VMI of the new pod was not created")
	}
}

func TestSweepDeletesOnlyOwnedObjectsOfGonePods(t *testing.T) {
	uid := "61111111-2222-4333-8444-555555555555"
	liveUID := "62222222-2222-4333-8444-555555555555"
	pod := testPod("gone", uid, "red")
	f := newFixture(t, contrailNAD("red", "default-domain:demo:red"), pod, testPod("live", liveUID, "red"))
	f.reconcile("default", "gone")
	f.reconcile("default", "live")

	// A VM of another cluster must survive the sweep.
	foreign := vncclient.VirtualMachine{
		UUID:   "63333333-2222-4333-8444-555555555555",
		FQName: []string{"other__default__x"},
		Annotations: &vncclient.KeyValuePairs{KeyValuePair: []vncclient.KeyValuePair{
			{Key: attachment.KeyOwner, Value: attachment.OwnerValue},
			{Key: attachment.KeyCluster, Value: "other"},
		}},
	}
	if err := f.vnc.Create(context.Background(), vncclient.TypeVirtualMachine, foreign); err != nil {
		t.Fatal(err)
	}

	// The pod goes while the controller is down; a new controller sweeps.
	if err := f.kube.Delete(context.Background(), pod); err != nil {
		t.Fatal(err)
	}
	f.r = f.newReconciler(f.vnc.BaseURL)
	if err := f.r.Sweep(context.Background()); err != nil {
		t.Fatal(err)
	}

	if f.exists(vncclient.TypeVirtualMachine, uid) {
		t.Error("sweep left the VM of a deleted pod")
	}
	if f.exists(vncclient.TypeVirtualMachineInterface, attachment.VMIUUID(uid, "net1")) {
		t.Error("sweep left the VMI of a deleted pod")
	}
	if !f.exists(vncclient.TypeVirtualMachine, liveUID) {
		t.Error("sweep deleted the VM of a live pod")
	}
	if !f.exists(vncclient.TypeVirtualMachine, foreign.UUID) {
		t.Error("sweep deleted a VM of another cluster")
	}
}

func TestReconcileReportsExhaustedSubnet(t *testing.T) {
	f := newFixture(t, contrailNAD("tiny", "default-domain:demo:tiny"))
	// 10.20.0.0/29: .6 is the gateway and .5 the DNS address, so .1-.4 remain.
	if _, err := f.sim.EnsureVirtualNetwork([]string{"default-domain", "demo", "tiny"}, []netip.Prefix{netip.MustParsePrefix("10.20.0.0/29")}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		name := "p" + string(rune('0'+i))
		uid := "7111111" + string(rune('0'+i)) + "-2222-4333-8444-555555555555"
		if err := f.kube.Create(context.Background(), testPod(name, uid, "tiny")); err != nil {
			t.Fatal(err)
		}
		_, err := f.r.Reconcile(context.Background(), ctrl.Request{NamespacedName: types.NamespacedName{Namespace: "default", Name: name}})
		if i < 4 && err != nil {
			t.Fatalf("pod %s: %v", name, err)
		}
		if i == 4 && err == nil {
			t.Fatal("the fifth pod on a /29 got an address")
		}
	}
	evs := f.events()
	if len(evs) != 1 || !strings.Contains(evs[0], "AllocateAddressFailed") || !strings.Contains(evs[0], "default-domain:demo:tiny") {
		t.Fatalf("events = %v, want one AllocateAddressFailed naming the VN", evs)
	}
}

func TestReconcileReportsInvalidNetworkConfig(t *testing.T) {
	nad := contrailNAD("bad", "not-an-fq-name")
	f := newFixture(t, nad, testPod("web", "81111111-2222-4333-8444-555555555555", "bad"))
	f.reconcile("default", "web")
	evs := f.events()
	if len(evs) != 1 || !strings.Contains(evs[0], "InvalidNetworkConfig") || !strings.Contains(evs[0], "not-an-fq-name") {
		t.Fatalf("events = %v, want one InvalidNetworkConfig naming the value", evs)
	}
}

func (f *fixture) podStatus(name string) []attachmentStatus {
	f.t.Helper()
	pod := &corev1.Pod{}
	if err := f.kube.Get(context.Background(), types.NamespacedName{Namespace: "default", Name: name}, pod); err != nil {
		f.t.Fatal(err)
	}
	var out []attachmentStatus
	if err := json.Unmarshal([]byte(pod.Annotations[AttachmentStatusAnnotation]), &out); err != nil {
		f.t.Fatalf("pod %s status annotation %q: %v", name, pod.Annotations[AttachmentStatusAnnotation], err)
	}
	return out
}

func TestPodStatusAnnotationTracksState(t *testing.T) {
	uid := "a1111111-2222-4333-8444-555555555555"
	f := newFixture(t, contrailNAD("red", "default-domain:demo:red"), contrailNAD("green", "default-domain:demo:green"),
		testPod("web", uid, "red,green"))
	f.reconcile("default", "web")

	st := f.podStatus("web")
	if len(st) != 2 {
		t.Fatalf("status has %d entries, want 2: %+v", len(st), st)
	}
	if st[0].Interface != "net1" || st[0].State != AttachmentPending {
		t.Errorf("red attachment = %+v, want net1 Pending (created, node not linked yet)", st[0])
	}
	if st[1].Interface != "net2" || st[1].State != AttachmentFailed || !strings.Contains(st[1].LastError, "default-domain:demo:green") {
		t.Errorf("green attachment = %+v, want net2 Failed naming the missing VN", st[1])
	}

	if _, err := f.sim.EnsureVirtualNetwork([]string{"default-domain", "demo", "green"}, []netip.Prefix{netip.MustParsePrefix("10.10.3.0/24")}); err != nil {
		t.Fatal(err)
	}
	f.reconcile("default", "web")
	for _, s := range f.podStatus("web") {
		if s.State != AttachmentConfigured || s.LastError != "" {
			t.Errorf("attachment %s = %+v, want Configured without error", s.Interface, s)
		}
	}
}

func TestReconcileRejectsMalformedSelection(t *testing.T) {
	for _, annotation := range []string{`[null]`, `[{}]`, `[1]`} {
		t.Run(annotation, func(t *testing.T) {
			f := newFixture(t, contrailNAD("red", "default-domain:demo:red"), testPod("web", "b1111111-2222-4333-8444-555555555555", annotation))
			f.reconcile("default", "web")
			evs := f.events()
			if len(evs) != 1 || !strings.Contains(evs[0], "InvalidNetworksAnnotation") || !strings.Contains(evs[0], "element 0") {
				t.Fatalf("events = %v, want one InvalidNetworksAnnotation naming element 0", evs)
			}
			if reqs := f.r.podsForNAD(context.Background(), contrailNAD("red", "default-domain:demo:red")); len(reqs) != 0 {
				t.Errorf("podsForNAD = %v, want none for a malformed annotation", reqs)
			}
		})
	}
}

func reqFor(name string) ctrl.Request {
	return ctrl.Request{NamespacedName: types.NamespacedName{Namespace: "default", Name: name}}
}
