//go:build e2e

package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/contrail-vif/contrail-vif/e2e/framework"
)

// startPod creates a busybox pod in default with the networks annotation
// and waits until it runs. The pod is deleted at the end of the test.
func startPod(t *testing.T, name, networks string) (netns string, statuses []nadStatus) {
	t.Helper()
	ctx := context.Background()
	if _, err := cluster.Client.CoreV1().Pods("default").Create(ctx, busyboxPod("default", name, networks), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = cluster.Kubectl(context.Background(), "delete", "pod", name, "--ignore-not-found", "--wait=true", "--timeout=60s")
	})
	return waitPodNetworks(t, name)
}

// startExamplePod applies examples/<file>, which defines the pod name in
// default, and waits until the pod runs. The pod is deleted at the end of
// the test.
func startExamplePod(t *testing.T, file, name string) (netns string, statuses []nadStatus) {
	t.Helper()
	applyExample(t, file)
	return waitPodNetworks(t, name)
}

// waitPodNetworks waits until the pod name in default runs and returns its
// network namespace and network-status.
func waitPodNetworks(t *testing.T, name string) (netns string, statuses []nadStatus) {
	t.Helper()
	pod := waitRunning(t, name)
	statuses, err := framework.NetworkStatus(pod)
	if err != nil {
		t.Fatal(err)
	}
	netns, err = framework.PodNetnsPath(string(pod.UID))
	if err != nil {
		t.Fatal(err)
	}
	return netns, statuses
}

func applyRed(t *testing.T) {
	t.Helper()
	if _, err := cluster.Kubectl(context.Background(), "apply", "-f", examplePath("nad-red.yaml")); err != nil {
		t.Fatal(err)
	}
}

func TestRequestedMACAddressAndInterface(t *testing.T) {
	applyRed(t)
	if _, err := cluster.Kubectl(context.Background(), "apply", "-f", examplePath("pod-requests.yaml")); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = cluster.Kubectl(context.Background(), "delete", "--ignore-not-found", "--wait=true", "--timeout=60s", "-f", examplePath("pod-requests.yaml"))
	})
	pod := waitRunning(t, "fixed-1")
	checkRedAttachment(t, pod, "red0", "02:00:00:00:10:20", "10.10.1.20/24")
}

// waitRunning waits until the pod name in default runs, and fails the test
// with the pod's events when it does not.
func waitRunning(t *testing.T, name string) *corev1.Pod {
	t.Helper()
	ctx := context.Background()
	pod, err := cluster.WaitPodRunning(ctx, "default", name, podTimeout)
	if err != nil {
		events, _ := cluster.PodEvents(ctx, pod)
		t.Fatalf("%v; events: %s", err, strings.Join(events, " | "))
	}
	return pod
}

// checkRedAttachment checks that the pod's default/red attachment is
// interface ifname with MAC mac and the one address cidr, both in
// network-status and on the link, and returns the pod's netns path.
func checkRedAttachment(t *testing.T, pod *corev1.Pod, ifname, mac, cidr string) string {
	t.Helper()
	statuses, err := framework.NetworkStatus(pod)
	if err != nil {
		t.Fatal(err)
	}
	st, ok := framework.FindStatus(statuses, "default/red")
	if !ok {
		t.Fatalf("no default/red entry in %+v", statuses)
	}
	ip, _, _ := strings.Cut(cidr, "/")
	if st.Interface != ifname || st.Mac != mac || len(st.IPs) != 1 || st.IPs[0] != ip {
		t.Errorf("network-status = %+v, want %s with %s and %s", st, ifname, mac, ip)
	}

	netns, err := framework.PodNetnsPath(string(pod.UID))
	if err != nil {
		t.Fatal(err)
	}
	link, err := framework.InspectLink(netns, ifname)
	if err != nil {
		t.Fatal(err)
	}
	if link.MAC != mac || len(link.Addresses) != 1 || link.Addresses[0].String() != cidr {
		t.Errorf("%s = %+v, want MAC %s and %s", ifname, link, mac, cidr)
	}
	return netns
}

// TestSameNADTwice starts examples/pod-same-nad-twice.yaml: red as red0,
// a name the pod requests, and red again as net2, the name Multus gives the
// second element of the list.
func TestSameNADTwice(t *testing.T) {
	applyRed(t)
	netns, statuses := startExamplePod(t, "pod-same-nad-twice.yaml", "twice-1")
	var ifaces []string
	for _, s := range statuses {
		if s.Name == "default/red" {
			ifaces = append(ifaces, s.Interface)
		}
	}
	if strings.Join(ifaces, ",") != "red0,net2" {
		t.Fatalf("default/red entries on interfaces %v, want red0 and net2", ifaces)
	}
	for _, ifname := range []string{"red0", "net2"} {
		if _, err := framework.InspectLink(netns, ifname); err != nil {
			t.Error(err)
		}
	}
	expectPing(t, netns, redGateway, true)
}

// TestDefaultRouteMovesToAttachment starts examples/pod-default-route.yaml,
// which moves the default route to net1 through the red gateway.
func TestDefaultRouteMovesToAttachment(t *testing.T) {
	applyRed(t)
	netns, _ := startExamplePod(t, "pod-default-route.yaml", "default-route-1")
	net1, err := framework.InspectLink(netns, "net1")
	if err != nil {
		t.Fatal(err)
	}
	if net1.DefaultGateway == nil || net1.DefaultGateway.String() != redGateway {
		t.Errorf("net1 default gateway = %v, want %s", net1.DefaultGateway, redGateway)
	}
	eth0, err := framework.InspectLink(netns, "eth0")
	if err != nil {
		t.Fatal(err)
	}
	if eth0.DefaultGateway != nil {
		t.Errorf("eth0 still has the default route via %s", eth0.DefaultGateway)
	}
	if len(eth0.Addresses) == 0 || !inSubnet(eth0.Addresses[0].IP.String(), primaryCIDR) {
		t.Errorf("eth0 lost its address: %v", eth0.Addresses)
	}
}

// TestDualStackAttachment creates the VN of examples/nad-dual-stack.yaml as
// its header says and starts examples/pod-dual-stack.yaml.
func TestDualStackAttachment(t *testing.T) {
	ctx := context.Background()
	createVNWithCleanup(t, nil, "default-domain:demo:dual", "10.10.6.0/24", "fd00:10:6::/64")
	applyExample(t, "nad-dual-stack.yaml")
	netns, statuses := startExamplePod(t, "pod-dual-stack.yaml", "dual-1")
	st, ok := framework.FindStatus(statuses, "default/dual")
	if !ok || len(st.IPs) != 2 {
		t.Fatalf("network-status for default/dual = %+v, want an IPv4 and an IPv6 address", st)
	}
	var v4, v6 string
	for _, ip := range st.IPs {
		if strings.Contains(ip, ":") {
			v6 = ip
		} else {
			v4 = ip
		}
	}
	if !inSubnet(v4, "10.10.6.0/24") || !inSubnet(v6, "fd00:10:6::/64") {
		t.Errorf("addresses %v are not in 10.10.6.0/24 and fd00:10:6::/64", st.IPs)
	}
	link, err := framework.InspectLink(netns, "net1")
	if err != nil {
		t.Fatal(err)
	}
	if len(link.Addresses) != 2 {
		t.Errorf("net1 addresses = %v, want two", link.Addresses)
	}
	expectPing(t, netns, "10.10.6.254", true)
	// Neighbour discovery can take a moment on a fresh interface.
	deadline := time.Now().Add(5 * time.Second)
	for {
		ok, out := framework.Ping(ctx, netns, "fd00:10:6::ffff:ffff:ffff:fffe")
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("ping the IPv6 gateway: %s", out)
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// kubectlApply applies a manifest given as a string.
func kubectlApply(t *testing.T, manifest string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "manifest.json")
	if err := os.WriteFile(path, []byte(manifest), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := cluster.Kubectl(context.Background(), "apply", "-f", path); err != nil {
		t.Fatal(err)
	}
}
