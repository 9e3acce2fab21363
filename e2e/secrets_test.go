//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/contrail-vif/contrail-vif/e2e/framework"
	"github.com/contrail-vif/contrail-vif/pkg/vncclient"
)

const secretsNamespace = "secrets"

// secretsMissingNAD selects a virtual network that does not exist, so that
// the controller reports an error on the pod that selects it. The short
// agentTimeout ends the pod's pending ADD soon, so that deleting the pod
// does not wait the default 30 s for it.
const secretsMissingNAD = `apiVersion: k8s.cni.cncf.io/v1
kind: NetworkAttachmentDefinition
metadata:
  name: secrets-missing
  namespace: secrets
spec:
  config: |
    {
      "cniVersion": "1.0.0",
      "name": "secrets-missing",
      "type": "contrail-vif",
      "virtualNetwork": "default-domain:demo:secrets-missing",
      "agentTimeout": "3s"
    }
`

// TestKeystonePasswordNotInLogs checks that the controller's Keystone
// password, which it reads from its Secret, appears in no log of the run
// and in no Kubernetes or Contrail object that users read. It searches
// kubelet's pod logs, the daemon logs under $CLUSTER_WORK/logs, Events,
// pods (annotations and status messages), NADs, ConfigMaps, and the config
// API's objects. It first makes the controller succeed once and fail once,
// so that both paths have written their logs and Events.
func TestKeystonePasswordNotInLogs(t *testing.T) {
	if framework.Components(cluster.Env) != framework.ComponentsPods {
		t.Skip("processes mode: contrail-sim runs without Keystone, so there is no password to look for; run with CVIF_COMPONENTS=pods")
	}
	ctx := context.Background()
	password := readKeystonePassword(t)
	needles := map[string][]byte{
		"the password":            []byte(password),
		"the password in base64":  []byte(base64.StdEncoding.EncodeToString([]byte(password))),
		"the password URL-quoted": []byte(url.QueryEscape(password)),
	}

	makeControllerWork(t)

	var leaks []string
	report := func(where string, data []byte) {
		for desc, needle := range needles {
			if bytes.Contains(data, needle) {
				leaks = append(leaks, fmt.Sprintf("%s contains %s", where, desc))
			}
		}
	}

	// Logs on disk: kubelet's container logs, and the logs of the cluster
	// daemons, Multus and the CNI plugin.
	podLogs := filepath.Join(cluster.Env.ClusterWork, "kubelet", "pod-logs")
	daemonLogs := filepath.Join(cluster.Env.ClusterWork, "logs")
	scanned := map[string]int64{}
	for _, dir := range []string{podLogs, daemonLogs} {
		n, found := scanLogDir(t, dir, needles)
		scanned[dir] = n
		leaks = append(leaks, found...)
	}
	if scanned[podLogs] == 0 || scanned[daemonLogs] == 0 {
		t.Errorf("scanned %d bytes of pod logs and %d bytes of daemon logs; expected both to have content", scanned[podLogs], scanned[daemonLogs])
	}
	controllerLogs, _ := filepath.Glob(filepath.Join(podLogs, framework.DeployNamespace(cluster.Env)+"_contrail-vif-controller-*", "controller", "*.log"))
	if len(controllerLogs) == 0 {
		t.Errorf("no log of the controller container under %s; the scan did not cover the controller", podLogs)
	}
	t.Logf("scanned %d bytes under %s and %d bytes under %s", scanned[podLogs], podLogs, scanned[daemonLogs], daemonLogs)

	// Kubernetes objects that users and tools read.
	core := cluster.Client.CoreV1()
	events, err := core.Events(metav1.NamespaceAll).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(events.Items) == 0 {
		t.Error("no Events in the cluster; expected at least the controller's")
	}
	report(fmt.Sprintf("one of %d Events", len(events.Items)), mustJSON(t, events))
	pods, err := core.Pods(metav1.NamespaceAll).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	report(fmt.Sprintf("one of %d pods (annotations or status)", len(pods.Items)), mustJSON(t, pods))
	configMaps, err := core.ConfigMaps(metav1.NamespaceAll).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	report("a ConfigMap", mustJSON(t, configMaps))
	nads, err := cluster.Kubectl(ctx, "get", "network-attachment-definitions", "--all-namespaces", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	report("a NetworkAttachmentDefinition", []byte(nads))

	// Contrail objects that the controller wrote, with their annotations.
	for _, typ := range []string{vncclient.TypeVirtualMachine, vncclient.TypeVirtualMachineInterface, vncclient.TypeInstanceIP, vncclient.TypeVirtualNetwork} {
		objs, err := vncclient.ListDetail[map[string]any](ctx, vncForTests(), typ, nil)
		if err != nil {
			t.Fatalf("list %s objects: %v", typ, err)
		}
		report(fmt.Sprintf("a config API %s object", typ), mustJSON(t, objs))
	}

	for _, leak := range leaks {
		t.Error(leak)
	}
}

// readKeystonePassword returns the test password that e2e/run.sh put into
// the controller's Secret.
func readKeystonePassword(t *testing.T) string {
	t.Helper()
	file := framework.KeystonePasswordFile(cluster.Env)
	if file == "" {
		t.Fatal("pods mode, but the cluster env names no CONTRAIL_SIM_KEYSTONE_PASSWORD_FILE")
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	password, _, _ := strings.Cut(string(data), "\n")
	password = strings.TrimSpace(password)
	// A short password could match by chance and make the test flaky.
	if len(password) < 16 {
		t.Fatalf("the test password in %s has %d characters; expected at least 16", file, len(password))
	}
	return password
}

// makeControllerWork runs a pod on the red network and a pod whose network
// does not exist, and waits until the first runs and the controller has
// reported the missing network on the second.
func makeControllerWork(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	if _, err := cluster.Kubectl(ctx, "apply", "-f", examplePath("nad-red.yaml")); err != nil {
		t.Fatal(err)
	}
	createNamespace(t, secretsNamespace)
	nadFile := filepath.Join(t.TempDir(), "nad.yaml")
	if err := os.WriteFile(nadFile, []byte(secretsMissingNAD), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := cluster.Kubectl(ctx, "apply", "-f", nadFile); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		deletePodsIn(t, secretsNamespace)
		_, _ = cluster.Kubectl(context.Background(), "delete", "--ignore-not-found", "-f", nadFile)
	})

	pods := cluster.Client.CoreV1().Pods(secretsNamespace)
	ok := busyboxPod(secretsNamespace, "secrets-ok", "default/red")
	missing := busyboxPod(secretsNamespace, "secrets-missing", "secrets-missing")
	if _, err := pods.Create(ctx, ok, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	created, err := pods.Create(ctx, missing, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cluster.WaitPodRunning(ctx, secretsNamespace, ok.Name, podTimeout); err != nil {
		t.Fatal(err)
	}
	err = wait.PollUntilContextTimeout(ctx, time.Second, 60*time.Second, true, func(ctx context.Context) (bool, error) {
		events, _ := cluster.PodEvents(ctx, created)
		return strings.Contains(strings.Join(events, "\n"), "secrets-missing"), nil
	})
	if err != nil {
		t.Fatalf("the controller reported no Event naming the missing network on pod %s/%s within 60s", secretsNamespace, missing.Name)
	}
}

// scanLogDir searches every regular file under dir for the needles and
// returns the bytes it read and one line per file that contains a needle.
// It reads files in blocks, keeping the end of the previous block, so that
// a needle that spans two blocks is found too.
func scanLogDir(t *testing.T, dir string, needles map[string][]byte) (int64, []string) {
	t.Helper()
	longest := 0
	for _, n := range needles {
		longest = max(longest, len(n))
	}
	var total int64
	var leaks []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			// A log that kubelet rotated away during the walk.
			if os.IsNotExist(err) {
				return nil
			}
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		f, err := os.Open(path)
		if err != nil {
			if os.IsNotExist(err) {
				return nil
			}
			return err
		}
		defer f.Close()
		found := map[string]bool{}
		r := bufio.NewReaderSize(f, 1<<20)
		block := make([]byte, 1<<20)
		var carry []byte
		for {
			n, readErr := io.ReadFull(r, block)
			total += int64(n)
			window := append(carry, block[:n]...)
			for desc, needle := range needles {
				if bytes.Contains(window, needle) {
					found[desc] = true
				}
			}
			if keep := longest - 1; len(window) > keep {
				carry = append(carry[:0], window[len(window)-keep:]...)
			} else {
				carry = append(carry[:0], window...)
			}
			if readErr == io.EOF || readErr == io.ErrUnexpectedEOF {
				break
			}
			if readErr != nil {
				return fmt.Errorf("read %s: %w", path, readErr)
			}
		}
		for desc := range found {
			leaks = append(leaks, fmt.Sprintf("log file %s contains %s", path, desc))
		}
		return nil
	})
	if err != nil && !os.IsNotExist(err) {
		t.Fatalf("scan %s: %v", dir, err)
	}
	return total, leaks
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
