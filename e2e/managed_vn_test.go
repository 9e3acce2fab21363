//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/contrail-vif/contrail-vif/e2e/framework"
	"github.com/contrail-vif/contrail-vif/pkg/vncclient"
)

func TestNADCreatesAndDeletesVirtualNetwork(t *testing.T) {
	ctx := context.Background()
	vnc := vncForTests()
	fq := []string{"default-domain", "k8s-apps", "purple"}

	for _, f := range []string{"nad-managed.yaml", "pod-purple.yaml"} {
		if _, err := cluster.Kubectl(ctx, "apply", "-f", examplePath(f)); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		ctx := context.Background()
		_, _ = cluster.Kubectl(ctx, "delete", "--ignore-not-found", "--wait=true", "--timeout=60s", "-f", examplePath("pod-purple.yaml"))
		_, _ = cluster.Kubectl(ctx, "delete", "--ignore-not-found", "--wait=true", "--timeout=60s", "-f", examplePath("nad-managed.yaml"))
	})

	pod := waitRunning(t, "purple-1")
	statuses, err := framework.NetworkStatus(pod)
	if err != nil {
		t.Fatal(err)
	}
	st, ok := framework.FindStatus(statuses, "default/purple")
	if !ok || len(st.IPs) != 1 || !inSubnet(st.IPs[0], "10.10.4.0/24") {
		t.Fatalf("network-status for default/purple = %+v, want one address in 10.10.4.0/24", st)
	}
	netns, err := framework.PodNetnsPath(string(pod.UID))
	if err != nil {
		t.Fatal(err)
	}
	expectPing(t, netns, "10.10.4.1", true)

	vnUUID, err := vnc.FQNameToID(ctx, vncclient.TypeVirtualNetwork, fq)
	if err != nil {
		t.Fatalf("the NAD's virtual network does not exist: %v", err)
	}
	nad, err := cluster.Kubectl(ctx, "get", "network-attachment-definitions", "purple", "-o", "jsonpath={.metadata.annotations.contrail-vif\\.io/virtual-network-status}")
	if err != nil {
		t.Fatal(err)
	}
	var nadStatus struct {
		UUID    string `json:"uuid"`
		Managed bool   `json:"managed"`
		State   string `json:"state"`
	}
	if err := json.Unmarshal([]byte(nad), &nadStatus); err != nil || nadStatus.UUID != vnUUID || !nadStatus.Managed || nadStatus.State != "Ready" {
		t.Errorf("NAD status annotation = %q (decode error %v), want uuid %s, managed, Ready", nad, err, vnUUID)
	}

	// The NAD goes first: its finalizer keeps it while the pod uses the VN.
	if _, err := cluster.Kubectl(ctx, "delete", "--wait=false", "-f", examplePath("nad-managed.yaml")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second)
	if _, err := vnc.FQNameToID(ctx, vncclient.TypeVirtualNetwork, fq); err != nil {
		t.Fatalf("the VN was deleted while a pod still uses it: %v", err)
	}

	if _, err := cluster.Kubectl(ctx, "delete", "--wait=true", "--timeout=60s", "-f", examplePath("pod-purple.yaml")); err != nil {
		t.Fatal(err)
	}
	err = wait.PollUntilContextTimeout(ctx, time.Second, 60*time.Second, true, func(ctx context.Context) (bool, error) {
		_, err := vnc.FQNameToID(ctx, vncclient.TypeVirtualNetwork, fq)
		return vncclient.IsNotFound(err), nil
	})
	if err != nil {
		t.Fatalf("the VN still exists after its NAD and pod are gone")
	}
	err = wait.PollUntilContextTimeout(ctx, time.Second, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		out, err := cluster.Kubectl(ctx, "get", "network-attachment-definitions", "purple", "--ignore-not-found", "-o", "name")
		return err == nil && strings.TrimSpace(out) == "", nil
	})
	if err != nil {
		t.Errorf("NAD purple still exists after its VN was deleted")
	}
}
