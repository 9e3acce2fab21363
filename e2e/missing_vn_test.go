//go:build e2e

package e2e

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/contrail-vif/contrail-vif/e2e/framework"
)

const (
	greenVN     = "default-domain:demo:green"
	greenSubnet = "10.10.3.0/24"
)

func TestPodWaitsForMissingVirtualNetwork(t *testing.T) {
	ctx := context.Background()
	for _, f := range []string{"nad-green.yaml", "pod-green.yaml"} {
		if _, err := cluster.Kubectl(ctx, "apply", "-f", examplePath(f)); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		ctx := context.Background()
		_, _ = cluster.Kubectl(ctx, "delete", "--ignore-not-found", "--wait=true", "--timeout=60s", "-f", examplePath("pod-green.yaml"))
		_, _ = cluster.Kubectl(ctx, "delete", "--ignore-not-found", "-f", examplePath("nad-green.yaml"))
		_ = runSim(ctx, "delete-vn", "--config-api", cluster.Env.ConfigAPIURL, greenVN)
	})

	// The controller reports the missing VN on the pod, by name, while
	// kubelet keeps the pod in ContainerCreating.
	var pod *corev1.Pod
	var events []string
	err := wait.PollUntilContextTimeout(ctx, time.Second, 60*time.Second, true, func(ctx context.Context) (bool, error) {
		p, err := cluster.Client.CoreV1().Pods("default").Get(ctx, "green-1", metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		pod = p
		events, _ = cluster.PodEvents(ctx, p)
		named := false
		for _, e := range events {
			named = named || strings.Contains(e, greenVN)
		}
		return named && containerWaitingReason(p) == "ContainerCreating", nil
	})
	if err != nil {
		reason := ""
		if pod != nil {
			reason = containerWaitingReason(pod)
		}
		t.Fatalf("pod green-1 has no Event naming %s while waiting in ContainerCreating (waiting reason %q); events: %s",
			greenVN, reason, strings.Join(events, " | "))
	}
	if pod.Status.Phase != corev1.PodPending {
		t.Fatalf("pod green-1 phase = %s, want Pending while its VN is missing", pod.Status.Phase)
	}

	// Once the VN exists the pod starts, without being recreated.
	if err := runSim(ctx, "create-vn", "--config-api", cluster.Env.ConfigAPIURL, greenVN, greenSubnet); err != nil {
		t.Fatal(err)
	}
	running, err := cluster.WaitPodRunning(ctx, "default", "green-1", 3*time.Minute)
	if err != nil {
		events, _ := cluster.PodEvents(ctx, running)
		t.Fatalf("%v; events: %s", err, strings.Join(events, " | "))
	}
	if running.UID != pod.UID {
		t.Errorf("pod green-1 was recreated (uid %s, was %s)", running.UID, pod.UID)
	}
	statuses, err := framework.NetworkStatus(running)
	if err != nil {
		t.Fatal(err)
	}
	st, ok := framework.FindStatus(statuses, "default/green")
	if !ok || len(st.IPs) != 1 || !inSubnet(st.IPs[0], greenSubnet) {
		t.Fatalf("pod green-1 network-status for default/green = %+v, want one address in %s", st, greenSubnet)
	}
}

func containerWaitingReason(pod *corev1.Pod) string {
	for _, cs := range pod.Status.ContainerStatuses {
		if cs.State.Waiting != nil {
			return cs.State.Waiting.Reason
		}
	}
	return ""
}

func runSim(ctx context.Context, args ...string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, cluster.Env.SimBinary, args...).CombinedOutput()
	if err != nil {
		return &simError{args: args, out: string(out), err: err}
	}
	return nil
}

type simError struct {
	args []string
	out  string
	err  error
}

func (e *simError) Error() string {
	return "contrail-sim " + strings.Join(e.args, " ") + ": " + e.err.Error() + ": " + e.out
}

func (e *simError) Unwrap() error { return e.err }
