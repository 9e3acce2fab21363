package main

import (
	"bytes"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain runs main instead of the tests when the test binary is started
// by TestProcess with runMainEnv set, so that the command can be tested as
// a process without building it separately.
const runMainEnv = "CONTRAIL_VIF_INSTALL_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) == "1" {
		os.Args = append([]string{"contrail-vif-install"}, strings.Fields(os.Getenv(runMainEnv+"_ARGS"))...)
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// newInstaller returns an installer of a source file with content into an
// empty bin dir, both under a temporary directory.
func newInstaller(t *testing.T, content string) *Installer {
	t.Helper()
	dir := t.TempDir()
	src := filepath.Join(dir, "image", "contrail-vif")
	bin := filepath.Join(dir, "bin")
	for _, d := range []string{filepath.Dir(src), bin} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(src, []byte(content), 0o755); err != nil {
		t.Fatal(err)
	}
	return &Installer{Source: src, BinDir: bin, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestInstallCopiesBinary(t *testing.T) {
	in := newInstaller(t, "plugin v1")
	if err := in.Install(); err != nil {
		t.Fatalf("Install: %v", err)
	}

	if got := in.Dest(); got != filepath.Join(in.BinDir, "contrail-vif") {
		t.Errorf("Dest() = %s, expected the source file name in the bin dir", got)
	}
	if got := readFile(t, in.Dest()); got != "plugin v1" {
		t.Errorf("installed content %q, expected %q", got, "plugin v1")
	}
	info, err := os.Stat(in.Dest())
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != binaryMode {
		t.Errorf("installed mode %s, expected %s", info.Mode().Perm(), binaryMode)
	}
	if err := in.Check(); err != nil {
		t.Errorf("Check after Install: %v", err)
	}
	entries, err := os.ReadDir(in.BinDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("bin dir holds %d entries after Install, expected only the plugin: %v", len(entries), entries)
	}
}

func TestInstallReplacesOlderBinary(t *testing.T) {
	in := newInstaller(t, "plugin v2")
	if err := os.WriteFile(in.Dest(), []byte("plugin v1"), 0o755); err != nil {
		t.Fatal(err)
	}
	// A process that runs the old binary keeps its inode; a rename leaves
	// it alone while a rewrite in place would change what it runs.
	before, err := os.Stat(in.Dest())
	if err != nil {
		t.Fatal(err)
	}

	if err := in.Install(); err != nil {
		t.Fatalf("Install: %v", err)
	}
	if got := readFile(t, in.Dest()); got != "plugin v2" {
		t.Errorf("installed content %q, expected %q", got, "plugin v2")
	}
	after, err := os.Stat(in.Dest())
	if err != nil {
		t.Fatal(err)
	}
	if os.SameFile(before, after) {
		t.Error("Install rewrote the old file in place; expected a new file renamed over it")
	}
}

func TestInstallKeepsIdenticalBinary(t *testing.T) {
	in := newInstaller(t, "plugin v1")
	if err := in.Install(); err != nil {
		t.Fatalf("first Install: %v", err)
	}
	before, err := os.Stat(in.Dest())
	if err != nil {
		t.Fatal(err)
	}

	if err := in.Install(); err != nil {
		t.Fatalf("second Install: %v", err)
	}
	after, err := os.Stat(in.Dest())
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(before, after) {
		t.Error("second Install replaced an identical binary")
	}
}

func TestInstallRemovesStaleTemporaryFiles(t *testing.T) {
	in := newInstaller(t, "plugin v1")
	stale := filepath.Join(in.BinDir, ".contrail-vif.tmp-123")
	if err := os.WriteFile(stale, []byte("half a binary"), 0o600); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(in.BinDir, "bridge")
	if err := os.WriteFile(other, []byte("another plugin"), 0o755); err != nil {
		t.Fatal(err)
	}

	if err := in.Install(); err != nil {
		t.Fatalf("Install: %v", err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("stale temporary file still exists (stat error %v)", err)
	}
	if got := readFile(t, other); got != "another plugin" {
		t.Errorf("another plugin was changed to %q", got)
	}
}

func TestInstallFailures(t *testing.T) {
	tests := []struct {
		name   string
		modify func(t *testing.T, in *Installer)
		want   string
	}{
		{
			name:   "missing source",
			modify: func(t *testing.T, in *Installer) { in.Source = filepath.Join(t.TempDir(), "contrail-vif") },
			want:   "open plugin binary",
		},
		{
			name:   "missing bin dir",
			modify: func(t *testing.T, in *Installer) { in.BinDir = filepath.Join(t.TempDir(), "absent") },
			want:   "create temporary file in CNI binary directory",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := newInstaller(t, "plugin v1")
			tt.modify(t, in)
			err := in.Install()
			if err == nil {
				t.Fatal("Install succeeded, expected an error")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not mention %q", err, tt.want)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name    string
		prepare func(t *testing.T, in *Installer)
		want    string // empty: Check succeeds
	}{
		{
			name:    "installed",
			prepare: func(t *testing.T, in *Installer) { writeDest(t, in, "plugin v1", 0o755) },
		},
		{
			name:    "executable by owner only",
			prepare: func(t *testing.T, in *Installer) { writeDest(t, in, "plugin v1", 0o700) },
		},
		{
			name:    "missing",
			prepare: func(*testing.T, *Installer) {},
			want:    "plugin not installed",
		},
		{
			name:    "not executable",
			prepare: func(t *testing.T, in *Installer) { writeDest(t, in, "plugin v1", 0o644) },
			want:    "is not executable",
		},
		{
			name:    "other content",
			prepare: func(t *testing.T, in *Installer) { writeDest(t, in, "plugin v0", 0o755) },
			want:    "differs from",
		},
		{
			name: "directory",
			prepare: func(t *testing.T, in *Installer) {
				if err := os.Mkdir(in.Dest(), 0o755); err != nil {
					t.Fatal(err)
				}
			},
			want: "is not a regular file",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := newInstaller(t, "plugin v1")
			tt.prepare(t, in)
			err := in.Check()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Check: %v, expected success", err)
			case tt.want != "" && err == nil:
				t.Errorf("Check succeeded, expected an error with %q", tt.want)
			case tt.want != "" && !strings.Contains(err.Error(), tt.want):
				t.Errorf("Check error %q does not mention %q", err, tt.want)
			}
		})
	}
}

func writeDest(t *testing.T, in *Installer, content string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(in.Dest(), []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	// WriteFile applies the umask; the test needs the exact mode.
	if err := os.Chmod(in.Dest(), mode); err != nil {
		t.Fatal(err)
	}
}

// TestProcess runs the command as the DaemonSet does: it installs, stays
// running, passes -check, and exits 0 on SIGTERM with the plugin left in
// place.
func TestProcess(t *testing.T) {
	in := newInstaller(t, "plugin v1")
	args := "-source " + in.Source + " -cni-bin-dir " + in.BinDir

	var stderr bytes.Buffer
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), runMainEnv+"=1", runMainEnv+"_ARGS="+args)
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// exited is closed once the process is gone; waitErr is its status.
	var waitErr error
	exited := make(chan struct{})
	go func() {
		waitErr = cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		// Kill fails harmlessly when the process has already exited.
		_ = cmd.Process.Kill()
		<-exited
	})

	deadline := time.Now().Add(10 * time.Second)
	for in.Check() != nil {
		if time.Now().After(deadline) {
			// stderr is complete only once the process is gone.
			_ = cmd.Process.Kill()
			<-exited
			t.Fatalf("plugin not installed after 10s; stderr: %s", stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	check := exec.Command(os.Args[0])
	check.Env = append(os.Environ(), runMainEnv+"=1", runMainEnv+"_ARGS="+args+" -check")
	if out, err := check.CombinedOutput(); err != nil {
		t.Errorf("-check after installation: %v: %s", err, out)
	}

	select {
	case <-exited:
		t.Fatalf("installer exited before SIGTERM: %v; stderr: %s", waitErr, stderr.String())
	case <-time.After(200 * time.Millisecond):
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
		if waitErr != nil {
			t.Errorf("installer exited with %v after SIGTERM, expected 0; stderr: %s", waitErr, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("installer still runs 10s after SIGTERM")
	}
	if err := in.Check(); err != nil {
		t.Errorf("plugin removed on exit: %v", err)
	}
}

func TestCheckFlagFailsWithoutPlugin(t *testing.T) {
	in := newInstaller(t, "plugin v1")
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), runMainEnv+"=1", runMainEnv+"_ARGS=-source "+in.Source+" -cni-bin-dir "+in.BinDir+" -check")
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("-check succeeded without an installed plugin: %s", out)
	}
	if !strings.Contains(string(out), "plugin not installed") {
		t.Errorf("-check output %q does not say the plugin is not installed", out)
	}
}
