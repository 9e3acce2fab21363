package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// controllerProcess is the contrail-vif-controller that the benchmark
// started.
type controllerProcess struct {
	cmd    *exec.Cmd
	log    *os.File
	exited chan struct{}
	err    error
}

// startController starts the controller binary against the cluster and the
// simulated config API, with its log in logPath.
func startController(cfg config, configAPIURL, logPath string) (*controllerProcess, error) {
	log, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	args := []string{
		"--kubeconfig", cfg.kubeconfig,
		"--config-api-url", configAPIURL,
		"--health-probe-bind-address", "127.0.0.1:0",
		"--sweep-interval", "1h",
	}
	if cfg.workers > 0 {
		args = append(args, "--workers", strconv.Itoa(cfg.workers))
	}
	cmd := exec.Command(cfg.controller, args...)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		_ = log.Close()
		return nil, fmt.Errorf("start %s: %w", cfg.controller, err)
	}
	p := &controllerProcess{cmd: cmd, log: log, exited: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// running reports an error when the process has exited.
func (p *controllerProcess) running() error {
	select {
	case <-p.exited:
		return fmt.Errorf("the controller exited: %v; see %s", p.err, p.log.Name())
	default:
		return nil
	}
}

// memory returns the process's peak RSS (VmHWM) and current RSS (VmRSS)
// in MiB.
func (p *controllerProcess) memory() (peak, current float64, err error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		key, value, ok := strings.Cut(sc.Text(), ":")
		if !ok || (key != "VmHWM" && key != "VmRSS") {
			continue
		}
		kib, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 64)
		if err != nil {
			return 0, 0, fmt.Errorf("parse %s %q: %w", key, value, err)
		}
		if key == "VmHWM" {
			peak = kib / 1024
		} else {
			current = kib / 1024
		}
	}
	if peak == 0 {
		return 0, 0, errors.New("no VmHWM in /proc status")
	}
	return peak, current, sc.Err()
}

// cpuSeconds returns the user and system CPU time the process has used.
func (p *controllerProcess) cpuSeconds() (float64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	// The fields after the command name, which is in parentheses and may
	// contain spaces: state is field 3, utime and stime are fields 14 and 15.
	text := string(data)
	fields := strings.Fields(text[strings.LastIndexByte(text, ')')+1:])
	if len(fields) < 13 {
		return 0, fmt.Errorf("short /proc stat line %q", text)
	}
	var ticks float64
	for _, f := range fields[11:13] {
		v, err := strconv.ParseFloat(f, 64)
		if err != nil {
			return 0, fmt.Errorf("parse /proc stat field %q: %w", f, err)
		}
		ticks += v
	}
	// USER_HZ is 100 on every Linux architecture that Go supports.
	return ticks / 100, nil
}

// stop sends SIGTERM, waits up to 10 s, then sends SIGKILL, and closes the
// log.
func (p *controllerProcess) stop() error {
	defer p.log.Close()
	select {
	case <-p.exited:
		return nil
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
		return nil
	case <-time.After(10 * time.Second):
	}
	_ = p.cmd.Process.Kill()
	<-p.exited
	return errors.New("the controller did not stop within 10s of SIGTERM and was killed")
}
