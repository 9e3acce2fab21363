//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"net/url"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/contrail-vif/contrail-vif/e2e/framework"
	"github.com/contrail-vif/contrail-vif/pkg/attachment"
	"github.com/contrail-vif/contrail-vif/pkg/vncclient"
)

const crashNamespace = "crash"

// TestControllerKilledMidCreation kills the controller with SIGKILL while it
// creates the objects of 20 attachments, restarts it (or, in pods mode,
// lets kubelet restart it), and checks that every
// pod ends with exactly one VM, VMI and instance-ip, and that deleting the
// pods leaves none.
func TestControllerKilledMidCreation(t *testing.T) {
	ctx := context.Background()
	vnc := vncForTests()
	// A host process in processes mode; in pods mode the container of the
	// controller's pod, which kubelet restarts.
	controller := framework.Controller(cluster.Env, cluster.Client)
	const pods = 20

	if _, err := cluster.Kubectl(ctx, "apply", "-f", examplePath("nad-red.yaml")); err != nil {
		t.Fatal(err)
	}
	createNamespace(t, crashNamespace)

	// Slow every config API call down so that the kill lands while the
	// controller is still creating objects.
	if err := framework.SetConfigAPIFaults(ctx, cluster.Env, `{"latency":"100ms"}`); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = framework.SetConfigAPIFaults(context.Background(), cluster.Env, `{}`) })
	// Pods are created in the background so that the kill below can land
	// while they are still arriving.
	created := make(chan error, 1)
	go func() {
		for i := 0; i < pods; i++ {
			pod := busyboxPod(crashNamespace, fmt.Sprintf("crash-%02d", i), "default/red")
			if _, err := cluster.Client.CoreV1().Pods(crashNamespace).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
				created <- err
				return
			}
		}
		created <- nil
	}()
	t.Cleanup(func() { deletePodsIn(t, crashNamespace) })

	// Kill as soon as the controller has created the first objects.
	err := wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
		return len(ownedObjects(t, vnc, vncclient.TypeVirtualMachine, crashNamespace)) > 0, nil
	})
	if err != nil {
		t.Fatal("the controller created no virtual-machine for the crash pods within 60s")
	}
	before := len(ownedObjects(t, vnc, vncclient.TypeVirtualMachine, crashNamespace))
	if err := controller.Kill(); err != nil {
		t.Fatal(err)
	}
	t.Logf("killed the controller after %d of %d virtual-machines", before, pods)
	if before >= pods {
		t.Errorf("the controller had finished all %d virtual-machines before the kill; the test did not interrupt it", pods)
	}
	if err := controller.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := framework.SetConfigAPIFaults(ctx, cluster.Env, `{}`); err != nil {
		t.Fatal(err)
	}
	if err := <-created; err != nil {
		t.Fatal(err)
	}

	list, err := cluster.Client.CoreV1().Pods(crashNamespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range list.Items {
		if _, err := cluster.WaitPodRunning(ctx, crashNamespace, p.Name, podTimeout); err != nil {
			t.Fatal(err)
		}
	}

	uids := map[string]bool{}
	for _, p := range list.Items {
		uids[string(p.UID)] = true
	}
	for _, typ := range []string{vncclient.TypeVirtualMachine, vncclient.TypeVirtualMachineInterface, vncclient.TypeInstanceIP} {
		perPod := map[string]int{}
		for _, uid := range ownedObjects(t, vnc, typ, crashNamespace) {
			perPod[uid]++
		}
		for uid := range uids {
			if perPod[uid] != 1 {
				t.Errorf("pod %s has %d %s objects, want exactly 1", uid, perPod[uid], typ)
			}
		}
		for uid, n := range perPod {
			if !uids[uid] {
				t.Errorf("%d %s objects belong to no live pod (uid %s)", n, typ, uid)
			}
		}
	}

	deletePodsIn(t, crashNamespace)
	err = wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
		for _, typ := range []string{vncclient.TypeVirtualMachine, vncclient.TypeVirtualMachineInterface, vncclient.TypeInstanceIP} {
			if len(ownedObjects(t, vnc, typ, crashNamespace)) > 0 {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		for _, typ := range []string{vncclient.TypeVirtualMachine, vncclient.TypeVirtualMachineInterface, vncclient.TypeInstanceIP} {
			if n := len(ownedObjects(t, vnc, typ, crashNamespace)); n > 0 {
				t.Errorf("%d %s objects of deleted crash pods remain", n, typ)
			}
		}
	}
}

// ownedObjects lists the pod UIDs of the objects of type typ that
// contrail-vif created for pods in namespace, one entry per object. VMs and
// VMIs carry the annotations; an instance-ip is counted through its VMI.
func ownedObjects(t *testing.T, vnc *vncclient.Client, typ, namespace string) []string {
	t.Helper()
	ctx := context.Background()
	type object struct {
		UUID                        string                   `json:"uuid"`
		Annotations                 *vncclient.KeyValuePairs `json:"annotations"`
		VirtualMachineInterfaceRefs []vncclient.Ref          `json:"virtual_machine_interface_refs"`
	}
	if typ == vncclient.TypeInstanceIP {
		vmiOwner := map[string]string{}
		vmis, err := vncclient.ListDetail[object](ctx, vnc, vncclient.TypeVirtualMachineInterface, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range vmis {
			if ns, _ := v.Annotations.Get(attachment.KeyNamespace); ns == namespace {
				vmiOwner[v.UUID], _ = v.Annotations.Get(attachment.KeyPodUID)
			}
		}
		iips, err := vncclient.ListDetail[object](ctx, vnc, vncclient.TypeInstanceIP, url.Values{"fields": {"virtual_machine_interface_refs"}})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, iip := range iips {
			for _, ref := range iip.VirtualMachineInterfaceRefs {
				if uid, ok := vmiOwner[ref.UUID]; ok {
					out = append(out, uid)
				}
			}
		}
		return out
	}
	objs, err := vncclient.ListDetail[object](ctx, vnc, typ, url.Values{"fields": {"annotations"}})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, o := range objs {
		owner, _ := o.Annotations.Get(attachment.KeyOwner)
		ns, _ := o.Annotations.Get(attachment.KeyNamespace)
		if owner == attachment.OwnerValue && ns == namespace {
			uid, _ := o.Annotations.Get(attachment.KeyPodUID)
			out = append(out, uid)
		}
	}
	return out
}

func createNamespace(t *testing.T, name string) {
	t.Helper()
	ctx := context.Background()
	core := cluster.Client.CoreV1()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if _, err := core.Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("create namespace %s: %v", name, err)
	}
	// kube-controller-manager creates the ServiceAccount that pod
	// admission requires only some time after the namespace, so it may or
	// may not exist yet.
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: name, Name: "default"}}
	if _, err := core.ServiceAccounts(name).Create(ctx, sa, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("create ServiceAccount %s/default: %v", name, err)
	}
}

func deletePodsIn(t *testing.T, namespace string) {
	t.Helper()
	if _, err := cluster.Kubectl(context.Background(), "-n", namespace, "delete", "pods", "--all", "--grace-period=1", "--wait=true", "--timeout=90s"); err != nil {
		t.Error(err)
	}
}

func busyboxPod(namespace, name, networks string) *corev1.Pod {
	return framework.BusyboxPod(cluster.Env.NodeName, namespace, name, networks)
}
