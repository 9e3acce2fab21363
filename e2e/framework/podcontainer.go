package framework

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
)

// PodContainer is a container of the one live pod that Selector matches in
// Namespace, such as the pod of a one-replica Deployment. Kill sends
// SIGKILL to the container's main process and Start waits until kubelet
// has restarted the container, as it does after a crash.
type PodContainer struct {
	Env       *Env
	Client    kubernetes.Interface
	Namespace string
	// Selector is the label selector of the pod.
	Selector string
	// Container is the container name.
	Container string
	// Command is argv[0] of the container's main process. Kill checks it
	// before it signals, so that a recycled PID is never signalled.
	Command string

	// killedPod and restarts are the pod of the last Kill and its
	// container's restart count before that Kill.
	killedPod string
	restarts  int32
}

// restartTimeout bounds the wait for kubelet to restart a killed
// container. kubelet's restart back-off starts at 10 s.
const restartTimeout = 2 * time.Minute

// Kill sends SIGKILL to the container's main process, which it finds
// through containerd's task state, and waits, bounded, until it is gone.
func (p *PodContainer) Kill() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pod, status, err := p.find(ctx)
	if err != nil {
		return err
	}
	pid, err := p.pid(status)
	if err != nil {
		return err
	}

	p.killedPod, p.restarts = pod.Name, status.RestartCount
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		return fmt.Errorf("kill container %s of pod %s/%s (PID %d): %w", p.Container, p.Namespace, pod.Name, pid, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if !p.runsCommand(pid) {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("container %s of pod %s/%s (PID %d) still runs 10s after SIGKILL", p.Container, p.Namespace, pod.Name, pid)
}

// Start waits until kubelet has restarted the container that Kill killed
// and the container is Ready again.
func (p *PodContainer) Start(ctx context.Context) error {
	if p.killedPod == "" {
		return errors.New("start a pod container that was not killed: kubelet starts it on its own")
	}
	var last string
	err := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, restartTimeout, true, func(ctx context.Context) (bool, error) {
		pod, err := p.Client.CoreV1().Pods(p.Namespace).Get(ctx, p.killedPod, metav1.GetOptions{})
		if err != nil {
			last = err.Error()
			return false, nil
		}
		status, ok := containerStatus(pod, p.Container)
		if !ok {
			last = "no container status"
			return false, nil
		}
		last = fmt.Sprintf("restart count %d, ready %t", status.RestartCount, status.Ready)
		return status.RestartCount > p.restarts && status.State.Running != nil && status.Ready, nil
	})
	if err != nil {
		return fmt.Errorf("container %s of pod %s/%s not restarted and Ready after %s (%s): %w",
			p.Container, p.Namespace, p.killedPod, restartTimeout, last, err)
	}
	return nil
}

// find returns the one live pod that Selector matches, with the status of
// its running container.
func (p *PodContainer) find(ctx context.Context) (*corev1.Pod, *corev1.ContainerStatus, error) {
	list, err := p.Client.CoreV1().Pods(p.Namespace).List(ctx, metav1.ListOptions{LabelSelector: p.Selector})
	if err != nil {
		return nil, nil, fmt.Errorf("list pods %s in %s: %w", p.Selector, p.Namespace, err)
	}
	var live []corev1.Pod
	for _, pod := range list.Items {
		if pod.DeletionTimestamp == nil && pod.Status.Phase == corev1.PodRunning {
			live = append(live, pod)
		}
	}
	if len(live) != 1 {
		return nil, nil, fmt.Errorf("%d running pods match %s in %s, expected 1", len(live), p.Selector, p.Namespace)
	}
	pod := &live[0]
	status, ok := containerStatus(pod, p.Container)
	if !ok || status.State.Running == nil || status.ContainerID == "" {
		return nil, nil, fmt.Errorf("container %s of pod %s/%s is not running", p.Container, p.Namespace, pod.Name)
	}
	return pod, status, nil
}

// pid returns the host PID of the container's main process from the
// init.pid file that containerd's shim writes into the task's state
// directory, after checking that the process runs Command.
func (p *PodContainer) pid(status *corev1.ContainerStatus) (int, error) {
	id, ok := strings.CutPrefix(status.ContainerID, "containerd://")
	if !ok {
		return 0, fmt.Errorf("container ID %q of %s is not a containerd ID", status.ContainerID, p.Container)
	}
	file := filepath.Join(p.Env.ClusterWork, "containerd", "state", "io.containerd.runtime.v2.task", "k8s.io", id, "init.pid")
	raw, err := os.ReadFile(file)
	if err != nil {
		return 0, fmt.Errorf("read the PID of container %s: %w", p.Container, err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	if err != nil {
		return 0, fmt.Errorf("PID file %s holds %q: %w", file, raw, err)
	}
	if !p.runsCommand(pid) {
		return 0, fmt.Errorf("PID %d of container %s does not run %s", pid, p.Container, p.Command)
	}
	return pid, nil
}

// runsCommand reports whether process pid is alive and its argv[0] is
// Command. A zombie has an empty command line.
func (p *PodContainer) runsCommand(pid int) bool {
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return false
	}
	argv0, _, _ := bytes.Cut(cmdline, []byte{0})
	return string(argv0) == p.Command
}

func containerStatus(pod *corev1.Pod, name string) (*corev1.ContainerStatus, bool) {
	for i := range pod.Status.ContainerStatuses {
		if pod.Status.ContainerStatuses[i].Name == name {
			return &pod.Status.ContainerStatuses[i], true
		}
	}
	return nil, false
}
