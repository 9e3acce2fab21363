//go:build e2e

package e2e

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/contrail-vif/contrail-vif/e2e/framework"
)

// TestPodReachesOpenStackVM plugs a stand-in OpenStack VM into VN red the
// way Nova's vRouter VIF driver does (POST /port type 0) and checks that a
// pod on red and the VM reach each other.
func TestPodReachesOpenStackVM(t *testing.T) {
	ctx := context.Background()
	if _, err := cluster.Kubectl(ctx, "apply", "-f", examplePath("nad-red.yaml")); err != nil {
		t.Fatal(err)
	}
	if _, err := cluster.Client.CoreV1().Pods("default").Create(ctx, busyboxPod("default", "vm-peer", "red"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = cluster.Kubectl(context.Background(), "delete", "pod", "vm-peer", "--ignore-not-found", "--wait=true", "--timeout=60s")
	})

	vmArgs := []string{"--name", "e2e-vm1", "--config-api", cluster.Env.ConfigAPIURL, "--agent", cluster.Env.AgentURL, "--node", cluster.Env.NodeName}
	out, err := simOutput(ctx, append([]string{"vm", "create", "--vn", "default-domain:demo:red"}, vmArgs...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if out, err := simOutput(context.Background(), append([]string{"vm", "delete"}, vmArgs...)...); err != nil {
			t.Errorf("delete the VM stand-in: %v: %s", err, out)
		}
	})
	var vmAddr, vmNetns string
	for _, line := range strings.Split(out, "\n") {
		key, value, _ := strings.Cut(strings.TrimSpace(line), " ")
		switch {
		case key == "address" && vmAddr == "" && !strings.Contains(value, ":"):
			vmAddr, _, _ = strings.Cut(value, "/")
		case key == "netns":
			vmNetns = value
		}
	}
	if vmAddr == "" || vmNetns == "" {
		t.Fatalf("vm create printed no IPv4 address or netns:\n%s", out)
	}
	if !inSubnet(vmAddr, redSubnet) {
		t.Fatalf("VM address %s is not in %s", vmAddr, redSubnet)
	}

	pod, err := cluster.WaitPodRunning(ctx, "default", "vm-peer", podTimeout)
	if err != nil {
		t.Fatal(err)
	}
	statuses, err := framework.NetworkStatus(pod)
	if err != nil {
		t.Fatal(err)
	}
	st, ok := framework.FindStatus(statuses, "default/red")
	if !ok || len(st.IPs) != 1 {
		t.Fatalf("pod vm-peer network-status for default/red = %+v", st)
	}
	podNetns, err := framework.PodNetnsPath(string(pod.UID))
	if err != nil {
		t.Fatal(err)
	}
	expectPing(t, podNetns, vmAddr, true)
	expectPing(t, vmNetns, st.IPs[0], true)
}

func simOutput(ctx context.Context, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, cluster.Env.SimBinary, args...).CombinedOutput()
	if err != nil {
		return string(out), &simError{args: args, out: string(out), err: err}
	}
	return string(out), nil
}
