//go:build e2e

package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/contrail-vif/contrail-vif/e2e/framework"
)

// TestNamesThatStressNaming attaches pods whose names contain dots or are 63
// characters long, and two pods with one name in different namespaces: the
// VM name <cluster>__<namespace>__<pod> and the agent's /vm-cfg lookup must
// keep them apart.
func TestNamesThatStressNaming(t *testing.T) {
	ctx := context.Background()
	applyRed(t)
	createNamespace(t, "naming")
	t.Cleanup(func() { deletePodsIn(t, "naming") })

	long := strings.Repeat("a", 55) + "-long-63"
	pods := []struct{ namespace, name, networks string }{
		{"default", "web.v1.dotted", "red"},
		{"default", long, "red"},
		{"default", "twin", "red"},
		{"naming", "twin", "default/red"},
	}
	if len(long) != 63 {
		t.Fatalf("long name has %d characters, want 63", len(long))
	}
	for _, p := range pods {
		if _, err := cluster.Client.CoreV1().Pods(p.namespace).Create(ctx, busyboxPod(p.namespace, p.name, p.networks), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if p.namespace == "default" {
			name := p.name
			t.Cleanup(func() {
				_, _ = cluster.Kubectl(context.Background(), "delete", "pod", name, "--ignore-not-found", "--wait=true", "--timeout=60s")
			})
		}
	}
	addresses := map[string]string{}
	for _, p := range pods {
		pod, err := cluster.WaitPodRunning(ctx, p.namespace, p.name, podTimeout)
		if err != nil {
			events, _ := cluster.PodEvents(ctx, pod)
			t.Fatalf("%v; events: %s", err, strings.Join(events, " | "))
		}
		statuses, err := framework.NetworkStatus(pod)
		if err != nil {
			t.Fatal(err)
		}
		st, ok := framework.FindStatus(statuses, "default/red")
		if !ok || len(st.IPs) != 1 {
			t.Fatalf("pod %s/%s network-status = %+v", p.namespace, p.name, statuses)
		}
		if other, dup := addresses[st.IPs[0]]; dup {
			t.Errorf("pods %s and %s/%s share address %s", other, p.namespace, p.name, st.IPs[0])
		}
		addresses[st.IPs[0]] = p.namespace + "/" + p.name
	}
}

// TestPodRecreatedUnderSameName deletes a pod and creates one with the same
// name at once: the new pod (new UID) must get its own objects and start,
// and the old pod's objects must go.
func TestPodRecreatedUnderSameName(t *testing.T) {
	ctx := context.Background()
	applyRed(t)
	first := busyboxPod("default", "reborn", "red")
	created, err := cluster.Client.CoreV1().Pods("default").Create(ctx, first, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = cluster.Kubectl(context.Background(), "delete", "pod", "reborn", "--ignore-not-found", "--wait=true", "--timeout=60s")
	})
	if _, err := cluster.WaitPodRunning(ctx, "default", "reborn", podTimeout); err != nil {
		t.Fatal(err)
	}
	if _, err := cluster.Kubectl(ctx, "delete", "pod", "reborn", "--wait=true", "--timeout=60s"); err != nil {
		t.Fatal(err)
	}
	second, err := cluster.Client.CoreV1().Pods("default").Create(ctx, busyboxPod("default", "reborn", "red"), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if second.UID == created.UID {
		t.Fatal("the recreated pod has the old UID")
	}
	pod, err := cluster.WaitPodRunning(ctx, "default", "reborn", podTimeout)
	if err != nil {
		events, _ := cluster.PodEvents(ctx, pod)
		t.Fatalf("%v; events: %s", err, strings.Join(events, " | "))
	}
	expectNoLeftoversEventually(t, created)
}

// expectNoLeftoversEventually is expectNoLeftovers for a pod that is gone.
func expectNoLeftoversEventually(t *testing.T, pod *corev1.Pod) {
	t.Helper()
	time.Sleep(time.Second)
	expectNoLeftovers(t, vncForTests(), pod)
}
