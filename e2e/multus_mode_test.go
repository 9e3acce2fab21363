//go:build e2e

package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/contrail-vif/contrail-vif/e2e/framework"
)

// TestMultusMode checks that the node runs the requested Multus mode
// (MULTUS_MODE, default thin). A thick run that fell back to thin, or to no
// Multus at all, fails here.
func TestMultusMode(t *testing.T) {
	mode := os.Getenv("MULTUS_MODE")
	if mode == "" {
		mode = "thin"
	}
	path := filepath.Join(cluster.Env.ClusterWork, "cni", "net.d", "00-multus.conf")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read the node's CNI config: %v", err)
	}
	var conf struct {
		Type            string `json:"type"`
		DaemonSocketDir string `json:"daemonSocketDir"`
	}
	if err := json.Unmarshal(raw, &conf); err != nil {
		t.Fatalf("decode %s: %v", path, err)
	}

	daemon := framework.Daemon{Env: cluster.Env, Name: "multus-daemon"}
	switch mode {
	case "thin":
		if conf.Type != "multus" {
			t.Errorf("%s has type %q, want multus (thin)", path, conf.Type)
		}
		if pid, err := daemon.PID(); err == nil {
			t.Errorf("multus-daemon runs as PID %d in thin mode", pid)
		}
	case "thick":
		if conf.Type != "multus-shim" {
			t.Errorf("%s has type %q, want multus-shim (thick)", path, conf.Type)
		}
		if conf.DaemonSocketDir == "" {
			t.Errorf("%s names no daemonSocketDir", path)
		}
		if _, err := daemon.PID(); err != nil {
			t.Errorf("multus-daemon is not running: %v", err)
		}
	default:
		t.Fatalf("MULTUS_MODE=%q: expected thin or thick", mode)
	}
}
