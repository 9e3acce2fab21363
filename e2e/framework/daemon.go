package framework

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"k8s.io/client-go/kubernetes"
)

// Daemon is a process that e2e/cluster/lib.sh started with start_daemon:
// its PID and command line are in $CLUSTER_WORK/pids/<name>.{pid,cmdline}.
type Daemon struct {
	Env  *Env
	Name string
}

func (d Daemon) pidDir() string { return filepath.Join(d.Env.ClusterWork, "pids") }

// PID returns the daemon's PID after checking that the process still runs
// the recorded command line, so that a recycled PID is never signalled.
func (d Daemon) PID() (int, error) {
	raw, err := os.ReadFile(filepath.Join(d.pidDir(), d.Name+".pid"))
	if err != nil {
		return 0, fmt.Errorf("read PID file of %s: %w", d.Name, err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	if err != nil {
		return 0, fmt.Errorf("PID file of %s holds %q: %w", d.Name, raw, err)
	}
	want, err := os.ReadFile(filepath.Join(d.pidDir(), d.Name+".cmdline"))
	if err != nil {
		return 0, fmt.Errorf("read command line of %s: %w", d.Name, err)
	}
	have, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || !bytes.Equal(have, want) {
		return 0, fmt.Errorf("%s (PID %d) is not running its recorded command", d.Name, pid)
	}
	return pid, nil
}

// Kill sends SIGKILL to the daemon and waits, bounded, until it is gone.
func (d Daemon) Kill() error {
	pid, err := d.PID()
	if err != nil {
		return err
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		return fmt.Errorf("kill %s (PID %d): %w", d.Name, pid, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := d.PID(); err != nil {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("%s (PID %d) still runs 10s after SIGKILL", d.Name, pid)
}

// Start starts the daemon again with its recorded command line, through
// lib.sh's start_daemon so that e2e/run.sh can stop it as usual.
func (d Daemon) Start(ctx context.Context) error {
	raw, err := os.ReadFile(filepath.Join(d.pidDir(), d.Name+".cmdline"))
	if err != nil {
		return fmt.Errorf("read command line of %s: %w", d.Name, err)
	}
	args := strings.Split(strings.TrimSuffix(string(raw), "\x00"), "\x00")
	logFile := filepath.Join(d.Env.ClusterWork, "logs", d.Name+".log")
	script := `. "$1/e2e/cluster/lib.sh" && name=$2 && log=$3 && shift 3 && start_daemon "$name" "$log" "$@"`
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", append([]string{"-c", script, "bash", d.Env.Root, d.Name, logFile}, args...)...)
	cmd.Env = append(os.Environ(), "CLUSTER_WORK="+d.Env.ClusterWork)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("start %s: %w: %s", d.Name, err, out)
	}
	return nil
}

// SetConfigAPIFaults replaces the simulator's injected config API faults,
// for example `{"latency":"30ms"}` or `{"unavailable":true}`; `{}` clears them.
// The simulator serves /_sim/faults without a token, but over TLS in pods
// mode.
func SetConfigAPIFaults(ctx context.Context, env *Env, faults string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, env.ConfigAPIURL+"/_sim/faults", strings.NewReader(faults))
	if err != nil {
		return err
	}
	client, err := ConfigAPIHTTPClient(env, 10*time.Second)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("set config API faults %s: %w", faults, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		return fmt.Errorf("set config API faults %s: %d %s", faults, resp.StatusCode, body)
	}
	return nil
}

// Component is a contrail-vif component that a test crashes and brings
// back: a Daemon in processes mode, a PodContainer in pods mode.
type Component interface {
	// Kill sends SIGKILL to the component's process and waits until it is
	// gone.
	Kill() error
	// Start brings the component back after Kill and waits until it runs.
	Start(ctx context.Context) error
}

// Controller returns the contrail-vif controller of the mode that
// e2e/run.sh runs.
func Controller(env *Env, client kubernetes.Interface) Component {
	if Components(env) == ComponentsPods {
		return &PodContainer{
			Env:       env,
			Client:    client,
			Namespace: DeployNamespace(env),
			Selector:  "app.kubernetes.io/name=contrail-vif-controller",
			Container: "controller",
			Command:   "/contrail-vif-controller",
		}
	}
	return Daemon{Env: env, Name: "contrail-vif-controller"}
}
