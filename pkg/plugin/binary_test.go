package plugin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/containernetworking/cni/pkg/types"
	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/containernetworking/plugins/pkg/ns"
)

// pluginPackage is the main package of the plugin binary.
const pluginPackage = "github.com/contrail-vif/contrail-vif/cmd/contrail-vif"

// buildPlugin builds the plugin binary into a temporary directory of t.
func buildPlugin(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	out := filepath.Join(t.TempDir(), "contrail-vif")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goTool, "build", "-o", out, pluginPackage)
	if output, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pluginPackage, err, output)
	}
	return out
}

// pluginRun is the outcome of one run of the plugin binary.
type pluginRun struct {
	exitCode int
	stdout   string
	stderr   string
}

// runPlugin runs binary with exactly the variables in env and stdin, as a
// runtime does, with hostNS as the namespace the process starts in. The
// run is bounded by 30 s.
func runPlugin(t *testing.T, binary string, hostNS ns.NetNS, env map[string]string, stdin []byte) pluginRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary)
	cmd.Env = []string{}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stdin = bytes.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr

	// The child inherits the namespace of the thread that starts it, and
	// Do runs on a thread locked into hostNS.
	if err := hostNS.Do(func(ns.NetNS) error { return cmd.Start() }); err != nil {
		t.Fatalf("start %s: %v", binary, err)
	}
	err := cmd.Wait()
	run := pluginRun{stdout: stdout.String(), stderr: stderr.String()}
	var exitErr *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exitErr):
		run.exitCode = exitErr.ExitCode()
	default:
		t.Fatalf("run %s: %v", binary, err)
	}
	return run
}

// cniError decodes the error JSON that skel prints on stdout.
func (r pluginRun) cniError(t *testing.T) *types.Error {
	t.Helper()
	var e types.Error
	if err := json.Unmarshal([]byte(r.stdout), &e); err != nil {
		t.Fatalf("stdout is not a CNI error: %v\nstdout: %s\nstderr: %s", err, r.stdout, r.stderr)
	}
	return &e
}

// linkNames returns the names of all links in netns except lo.
func linkNames(t *testing.T, netns ns.NetNS) []string {
	t.Helper()
	var names []string
	err := netns.Do(func(ns.NetNS) error {
		links, err := netlinksafe.LinkList()
		if err != nil {
			return err
		}
		for _, l := range links {
			if l.Attrs().Name != "lo" {
				names = append(names, l.Attrs().Name)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("list links in %s: %v", netns.Path(), err)
	}
	return names
}

// stateFiles returns the attachment records under stateDir.
func stateFiles(t *testing.T, stateDir string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(stateDir, "attachments"))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// hasPanic reports whether stderr shows a Go panic or fatal runtime error.
func hasPanic(stderr string) bool {
	return strings.Contains(stderr, "panic:") || strings.Contains(stderr, "fatal error:") || strings.Contains(stderr, "goroutine ")
}
