//go:build e2e

package e2e

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/contrail-vif/contrail-vif/e2e/framework"
	"github.com/contrail-vif/contrail-vif/pkg/attachment"
	"github.com/contrail-vif/contrail-vif/pkg/vncclient"
)

func TestNADMTU(t *testing.T) {
	ctx := context.Background()
	applyExample(t, "nad-mtu.yaml")
	netns, statuses := startPod(t, "mtu-1", "red-mtu")

	net1, err := framework.InspectLink(netns, "net1")
	if err != nil {
		t.Fatal(err)
	}
	if net1.MTU != 1400 {
		t.Errorf("net1 MTU = %d, want 1400 from the NAD", net1.MTU)
	}
	pod, err := cluster.Client.CoreV1().Pods("default").Get(ctx, "mtu-1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tap := attachment.TapName(attachment.VMIUUID(string(pod.UID), "net1"))
	host, err := net.InterfaceByName(tap)
	if err != nil {
		t.Fatalf("host end %s: %v", tap, err)
	}
	if host.MTU != 1400 {
		t.Errorf("host end %s MTU = %d, want 1400", tap, host.MTU)
	}
	st, ok := framework.FindStatus(statuses, "default/red-mtu")
	if !ok {
		t.Fatalf("no default/red-mtu entry in network-status %+v", statuses)
	}
	if st.Mtu != 1400 {
		t.Errorf("network-status mtu = %d, want 1400", st.Mtu)
	}
}

func TestNADInvalidMTURejected(t *testing.T) {
	ctx := context.Background()
	nad := `{"apiVersion":"k8s.cni.cncf.io/v1","kind":"NetworkAttachmentDefinition","metadata":{"name":"red-badmtu","namespace":"default"},` +
		`"spec":{"config":"{\"cniVersion\":\"1.0.0\",\"name\":\"red-badmtu\",\"type\":\"contrail-vif\",\"virtualNetwork\":\"default-domain:demo:red\",\"mtu\":70000}"}}`
	kubectlApply(t, nad)
	t.Cleanup(func() {
		_, _ = cluster.Kubectl(context.Background(), "delete", "network-attachment-definitions", "red-badmtu", "--ignore-not-found")
	})
	if _, err := cluster.Client.CoreV1().Pods("default").Create(ctx, busyboxPod("default", "badmtu-1", "red-badmtu"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = cluster.Kubectl(context.Background(), "delete", "pod", "badmtu-1", "--ignore-not-found", "--wait=true", "--timeout=60s")
	})
	events := waitForEvent(t, "default", "badmtu-1", "InvalidNetworkConfig", 60*time.Second)
	if !strings.Contains(strings.Join(events, " | "), "invalid mtu 70000") {
		t.Errorf("events = %v, want InvalidNetworkConfig naming invalid mtu 70000", events)
	}
	pod, err := cluster.Client.CoreV1().Pods("default").Get(ctx, "badmtu-1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if pod.Status.Phase == "Running" {
		t.Error("a pod whose NAD has an invalid mtu is Running")
	}

	// DEL reads what it can of the invalid config and succeeds, so the pod
	// goes away without the NAD being fixed first.
	if _, err := cluster.Kubectl(ctx, "delete", "pod", "badmtu-1", "--wait=false"); err != nil {
		t.Fatal(err)
	}
	if err := cluster.WaitPodGone(ctx, "default", "badmtu-1", 60*time.Second); err != nil {
		t.Errorf("pod with an invalid NAD config is not deleted: %v", err)
	}
}

// waitForEvent waits, bounded, for an Event with reason about the pod and
// returns the pod's events.
func waitForEvent(t *testing.T, namespace, name, reason string, timeout time.Duration) []string {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(timeout)
	var events []string
	for {
		pod, err := cluster.Client.CoreV1().Pods(namespace).Get(ctx, name, metav1.GetOptions{})
		if err == nil {
			events, _ = cluster.PodEvents(ctx, pod)
			for _, e := range events {
				if strings.HasPrefix(e, reason+":") {
					return events
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s Event on pod %s/%s after %s; events: %v", reason, namespace, name, timeout, events)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func TestSecurityGroupsAndPortSecurity(t *testing.T) {
	ctx := context.Background()
	vnc := vncForTests()
	sgFQ := []string{"default-domain", "demo", "web"}
	sg := map[string]any{"fq_name": sgFQ, "parent_type": "project"}
	if err := vnc.Create(ctx, "security-group", sg); err != nil && !vncclient.IsConflict(err) {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// The VMIs refer to the group until the controller deletes them.
		id, err := vnc.FQNameToID(context.Background(), "security-group", sgFQ)
		if err != nil {
			return
		}
		deadline := time.Now().Add(30 * time.Second)
		for {
			err := vnc.Delete(context.Background(), "security-group", id)
			if err == nil || vncclient.IsNotFound(err) {
				return
			}
			if time.Now().After(deadline) {
				t.Logf("delete security group %s: %v", strings.Join(sgFQ, ":"), err)
				return
			}
			time.Sleep(500 * time.Millisecond)
		}
	})
	applyExample(t, "nad-security.yaml")
	netns, statuses := startPod(t, "secure-1", "red-web,red-open")

	pod, err := cluster.Client.CoreV1().Pods("default").Get(ctx, "secure-1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	web := vncclient.VirtualMachineInterface{}
	if err := vnc.Read(ctx, vncclient.TypeVirtualMachineInterface, attachment.VMIUUID(string(pod.UID), "net1"), &web); err != nil {
		t.Fatal(err)
	}
	if len(web.SecurityGroupRefs) != 1 || strings.Join(web.SecurityGroupRefs[0].To, ":") != "default-domain:demo:web" {
		t.Errorf("net1 VMI security_group_refs = %+v, want default-domain:demo:web", web.SecurityGroupRefs)
	}
	if web.PortSecurityEnabled != nil && !*web.PortSecurityEnabled {
		t.Error("net1 VMI has port security disabled")
	}
	open := vncclient.VirtualMachineInterface{}
	if err := vnc.Read(ctx, vncclient.TypeVirtualMachineInterface, attachment.VMIUUID(string(pod.UID), "net2"), &open); err != nil {
		t.Fatal(err)
	}
	if open.PortSecurityEnabled == nil || *open.PortSecurityEnabled {
		t.Errorf("net2 VMI port_security_enabled = %v, want false", open.PortSecurityEnabled)
	}
	if len(open.SecurityGroupRefs) != 0 {
		t.Errorf("net2 VMI security_group_refs = %+v, want none", open.SecurityGroupRefs)
	}

	// Both interfaces work.
	for _, c := range []struct{ network, ifname string }{{"default/red-web", "net1"}, {"default/red-open", "net2"}} {
		st, ok := framework.FindStatus(statuses, c.network)
		if !ok || st.Interface != c.ifname || len(st.IPs) != 1 || !inSubnet(st.IPs[0], redSubnet) {
			t.Errorf("network-status %s = %+v, want %s with an address in %s", c.network, st, c.ifname, redSubnet)
		}
	}
	expectPing(t, netns, redGateway, true)
}
