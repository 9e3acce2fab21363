// Package cniexec runs a CNI plugin binary the way a container runtime does:
// a new process with the CNI_* environment and the network config on stdin.
// It times the whole call, fork and exec included.
package cniexec

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"time"
)

// Call is one plugin invocation.
type Call struct {
	// Plugin is the path of the plugin binary.
	Plugin string
	// Command is CNI_COMMAND: ADD, DEL, CHECK.
	Command     string
	ContainerID string
	Netns       string
	IfName      string
	// Args is CNI_ARGS.
	Args string
	// Path is CNI_PATH, where a plugin finds its IPAM plugin.
	Path  string
	Stdin []byte
	// Wrap, when set, is a program and its leading arguments that run
	// Plugin, such as rsswrap and its report file.
	Wrap []string
}

// Outcome is what one invocation took and printed.
type Outcome struct {
	Duration time.Duration
	Stdout   []byte
	Stderr   []byte
}

// Run executes c and returns its outcome. A plugin that exits non-zero
// yields an error with the CNI error it printed.
func Run(ctx context.Context, c Call) (Outcome, error) {
	argv := append(append([]string{}, c.Wrap...), c.Plugin)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = []string{
		"CNI_COMMAND=" + c.Command,
		"CNI_CONTAINERID=" + c.ContainerID,
		"CNI_NETNS=" + c.Netns,
		"CNI_IFNAME=" + c.IfName,
		"CNI_ARGS=" + c.Args,
		"CNI_PATH=" + c.Path,
		"PATH=" + os.Getenv("PATH"),
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdin = bytes.NewReader(c.Stdin)
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr

	start := time.Now()
	err := cmd.Run()
	out := Outcome{Duration: time.Since(start), Stdout: stdout.Bytes(), Stderr: stderr.Bytes()}
	if err != nil {
		return out, fmt.Errorf("%s %s: %w: stdout %q, stderr %q", c.Plugin, c.Command, err, stdout.Bytes(), stderr.Bytes())
	}
	return out, nil
}

// WithPrevResult returns conf with "prevResult" set to result, as libcni
// sends DEL the cached ADD result.
func WithPrevResult(conf, result []byte) ([]byte, error) {
	m := map[string]json.RawMessage{}
	if err := json.Unmarshal(conf, &m); err != nil {
		return nil, fmt.Errorf("decode network config: %w", err)
	}
	if !json.Valid(result) {
		return nil, fmt.Errorf("ADD result is not JSON: %q", result)
	}
	m["prevResult"] = result
	return json.Marshal(m)
}
