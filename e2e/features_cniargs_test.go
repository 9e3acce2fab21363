//go:build e2e

package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/contrail-vif/contrail-vif/pkg/attachment"
)

// TestCNIArgsRequests starts examples/pod-cni-args.yaml, which requests its
// address and MAC on red only through "cni-args", next to a key that
// contrail-vif does not know.
func TestCNIArgsRequests(t *testing.T) {
	applyRed(t)
	applyExample(t, "pod-cni-args.yaml")
	pod := waitRunning(t, "cni-args-1")
	netns := checkRedAttachment(t, pod, "net1", "02:00:00:00:10:77", "10.10.1.77/24")

	vmi, ok := readVMIAddress(t, string(pod.UID), "net1")
	if !ok || vmi != "10.10.1.77" {
		t.Errorf("the VMI's instance-ip is %q, want 10.10.1.77 as cni-args requests", vmi)
	}
	expectPing(t, netns, redGateway, true)
}

// readVMIAddress returns the address of the first instance-ip of the
// attachment's VMI in the config API.
func readVMIAddress(t *testing.T, podUID, ifname string) (string, bool) {
	t.Helper()
	var iip struct {
		InstanceIPAddress string `json:"instance_ip_address"`
	}
	err := vncForTests().Read(context.Background(), "instance-ip", attachment.InstanceIPUUID(podUID, ifname), &iip)
	if err != nil {
		t.Errorf("read instance-ip of %s: %v", ifname, err)
		return "", false
	}
	return iip.InstanceIPAddress, true
}

func TestConflictingCNIArgsRejected(t *testing.T) {
	ctx := context.Background()
	// The plugin waits agentTimeout for a VMI that never comes, and the pod
	// is deleted only after that wait. A short timeout keeps the test short.
	nad := `{"apiVersion":"k8s.cni.cncf.io/v1","kind":"NetworkAttachmentDefinition","metadata":{"name":"red-fast","namespace":"default"},` +
		`"spec":{"config":"{\"cniVersion\":\"1.0.0\",\"name\":\"red-fast\",\"type\":\"contrail-vif\",\"virtualNetwork\":\"default-domain:demo:red\",\"agentTimeout\":\"3s\"}"}}`
	kubectlApply(t, nad)
	t.Cleanup(func() {
		_, _ = cluster.Kubectl(context.Background(), "delete", "network-attachment-definitions", "red-fast", "--ignore-not-found")
	})
	networks := `[{"name":"red-fast","ips":["10.10.1.78/24"],"cni-args":{"ips":["10.10.1.79/24"]}}]`
	if _, err := cluster.Client.CoreV1().Pods("default").Create(ctx, busyboxPod("default", "cni-args-2", networks), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = cluster.Kubectl(context.Background(), "delete", "pod", "cni-args-2", "--ignore-not-found", "--wait=true", "--timeout=60s")
	})
	events := waitForEvent(t, "default", "cni-args-2", "InvalidNetworkRequest", 60*time.Second)
	text := strings.Join(events, " | ")
	if !strings.Contains(text, "10.10.1.78") || !strings.Contains(text, "10.10.1.79") {
		t.Errorf("events = %v, want InvalidNetworkRequest naming both 10.10.1.78 and 10.10.1.79", events)
	}
	pod, err := cluster.Client.CoreV1().Pods("default").Get(ctx, "cni-args-2", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if pod.Status.Phase == "Running" {
		t.Error("a pod with conflicting address requests is Running")
	}
}
