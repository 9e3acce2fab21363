//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/contrail-vif/contrail-vif/pkg/agentclient"
	"github.com/contrail-vif/contrail-vif/pkg/netconf"
	"github.com/contrail-vif/contrail-vif/pkg/state"
)

// verbsNAD is a NAD of its own, so that GC, which acts on every attachment
// of one network name on the node, touches only this test's pod.
const verbsNAD = `{"apiVersion":"k8s.cni.cncf.io/v1","kind":"NetworkAttachmentDefinition",` +
	`"metadata":{"name":"verbs-red","namespace":"default"},` +
	`"spec":{"config":"{\"cniVersion\":\"1.1.0\",\"name\":\"verbs-red\",\"type\":\"contrail-vif\",\"virtualNetwork\":\"default-domain:demo:red\"}"}}`

// pluginRun is the outcome of one direct call of the node's plugin binary.
type pluginRun struct {
	exitCode int
	stdout   string
	stderr   string
}

// cniCode returns the CNI error code of a failed call, 0 after success.
func (r pluginRun) cniCode(t *testing.T) int {
	t.Helper()
	if r.exitCode == 0 {
		return 0
	}
	var e struct {
		Code int `json:"code"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &e); err != nil {
		t.Fatalf("plugin exited with %d and printed no CNI error: %q (stderr %q)", r.exitCode, r.stdout, r.stderr)
	}
	return e.Code
}

// runPlugin calls the contrail-vif binary in the cluster's CNI bin dir,
// the one Multus runs, with the CNI environment env and stdin.
func runPlugin(t *testing.T, env map[string]string, stdin []byte) pluginRun {
	t.Helper()
	binDir := filepath.Join(cluster.Env.ClusterWork, "cni", "bin")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(binDir, "contrail-vif"))
	cmd.Env = append(os.Environ(), "CNI_PATH="+binDir)
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stdin = bytes.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	run := pluginRun{stdout: stdout.String(), stderr: stderr.String()}
	var exitErr *exec.ExitError
	switch {
	case errors.As(err, &exitErr):
		run.exitCode = exitErr.ExitCode()
	case err != nil:
		t.Fatalf("run plugin: %v", err)
	}
	return run
}

// withFields returns the JSON object conf with the given keys set.
func withFields(t *testing.T, conf []byte, fields map[string]any) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(conf, &m); err != nil {
		t.Fatal(err)
	}
	for k, v := range fields {
		m[k] = v
	}
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// findRecord returns the plugin's state record of the pod's interface.
func findRecord(t *testing.T, store *state.Store, podName, ifname string) *state.Attachment {
	t.Helper()
	records, err := store.List()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range records {
		if r.PodNamespace == "default" && r.PodName == podName && r.IfName == ifname {
			return r
		}
	}
	t.Fatalf("no state record for default/%s %s among %d records", podName, ifname, len(records))
	return nil
}

// TestPluginVerbsDirectly calls CHECK, STATUS and GC of the node's plugin
// on a real attachment, as a node health check would, because Multus sends
// none of them to a NAD's network.
func TestPluginVerbsDirectly(t *testing.T) {
	kubectlApply(t, verbsNAD)
	t.Cleanup(func() {
		_, _ = cluster.Kubectl(context.Background(), "delete", "network-attachment-definitions", "verbs-red", "--ignore-not-found")
	})
	startPod(t, "verbs-1", "verbs-red")

	raw, err := cluster.Kubectl(context.Background(), "get", "network-attachment-definitions", "verbs-red", "-o", "jsonpath={.spec.config}")
	if err != nil {
		t.Fatal(err)
	}
	conf := []byte(raw)
	parsed, err := netconf.Parse(conf)
	if err != nil {
		t.Fatal(err)
	}
	store := state.New(parsed.StateDir)
	rec := findRecord(t, store, "verbs-1", "net1")
	checkEnv := map[string]string{
		"CNI_COMMAND": "CHECK", "CNI_CONTAINERID": rec.ContainerID, "CNI_NETNS": rec.Netns, "CNI_IFNAME": "net1",
	}

	t.Run("CHECK passes for the live attachment", func(t *testing.T) {
		run := runPlugin(t, checkEnv, withFields(t, conf, map[string]any{"prevResult": json.RawMessage(rec.Result)}))
		if code := run.cniCode(t); code != 0 {
			t.Fatalf("CHECK failed with code %d: %s", code, run.stdout)
		}
	})

	t.Run("CHECK reports a different MAC", func(t *testing.T) {
		var result map[string]any
		if err := json.Unmarshal(rec.Result, &result); err != nil {
			t.Fatal(err)
		}
		for _, iface := range result["interfaces"].([]any) {
			entry := iface.(map[string]any)
			if entry["name"] == "net1" {
				entry["mac"] = "02:00:00:00:99:99"
			}
		}
		run := runPlugin(t, checkEnv, withFields(t, conf, map[string]any{"prevResult": result}))
		if code := run.cniCode(t); code != 999 {
			t.Fatalf("CHECK with a wrong MAC: code %d, want 999: %s", code, run.stdout)
		}
		if !strings.Contains(run.stdout, "02:00:00:00:99:99") {
			t.Errorf("CHECK error does not name the expected MAC: %s", run.stdout)
		}
	})

	t.Run("STATUS passes while the agent runs", func(t *testing.T) {
		run := runPlugin(t, map[string]string{"CNI_COMMAND": "STATUS"}, conf)
		if code := run.cniCode(t); code != 0 {
			t.Fatalf("STATUS failed with code %d: %s", code, run.stdout)
		}
	})

	t.Run("STATUS reports an unreachable agent", func(t *testing.T) {
		// A loopback port that was just free, so no process listens on it.
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		deadURL := "http://" + l.Addr().String()
		l.Close()
		run := runPlugin(t, map[string]string{"CNI_COMMAND": "STATUS"}, withFields(t, conf, map[string]any{"agentURL": deadURL}))
		if code := run.cniCode(t); code != 50 {
			t.Fatalf("STATUS with no agent: code %d, want 50: %s", code, run.stdout)
		}
		if !strings.Contains(run.stdout, deadURL) {
			t.Errorf("STATUS error does not name %s: %s", deadURL, run.stdout)
		}
	})

	gcEnv := map[string]string{"CNI_COMMAND": "GC"}
	t.Run("GC keeps a valid attachment", func(t *testing.T) {
		valid := []map[string]string{{"containerID": rec.ContainerID, "ifname": "net1"}}
		run := runPlugin(t, gcEnv, withFields(t, conf, map[string]any{"cni.dev/valid-attachments": valid}))
		if code := run.cniCode(t); code != 0 {
			t.Fatalf("GC failed with code %d: %s", code, run.stdout)
		}
		if _, err := store.Load(rec.ContainerID, "net1"); err != nil {
			t.Errorf("GC removed the state record of a valid attachment: %v", err)
		}
		if _, err := netlink.LinkByName(rec.Tap); err != nil {
			t.Errorf("GC removed tap %s of a valid attachment: %v", rec.Tap, err)
		}
	})

	t.Run("GC removes an attachment missing from the list", func(t *testing.T) {
		run := runPlugin(t, gcEnv, withFields(t, conf, map[string]any{"cni.dev/valid-attachments": []any{}}))
		if code := run.cniCode(t); code != 0 {
			t.Fatalf("GC failed with code %d: %s", code, run.stdout)
		}
		if _, err := store.Load(rec.ContainerID, "net1"); err == nil {
			t.Error("GC left the state record")
		}
		if _, err := netlink.LinkByName(rec.Tap); err == nil {
			t.Errorf("GC left tap %s", rec.Tap)
		}
		agent := agentclient.New(parsed.AgentURL, 5*time.Second)
		// The agent reports a VMI from its config also without a port,
		// so what must be gone is the binding to the tap.
		port, err := agent.Port(context.Background(), rec.VMIUUID)
		if err != nil && !errors.Is(err, agentclient.ErrNotFound) {
			t.Errorf("read agent port of VMI %s: %v", rec.VMIUUID, err)
		}
		if err == nil && port.SystemName == rec.Tap {
			t.Errorf("agent still binds VMI %s to tap %s after GC", rec.VMIUUID, rec.Tap)
		}
		run = runPlugin(t, checkEnv, withFields(t, conf, map[string]any{"prevResult": json.RawMessage(rec.Result)}))
		if code := run.cniCode(t); code == 0 {
			t.Error("CHECK passes after GC removed the attachment")
		}
	})
}
