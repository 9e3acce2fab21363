package framework

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	nadv1 "github.com/k8snetworkplumbingwg/network-attachment-definition-client/pkg/apis/k8s.cni.cncf.io/v1"
	nadutils "github.com/k8snetworkplumbingwg/network-attachment-definition-client/pkg/utils"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// Cluster is a connection to the test cluster.
type Cluster struct {
	Env    *Env
	Client kubernetes.Interface
}

// Connect builds a clientset from the env's kubeconfig.
func Connect(env *Env) (*Cluster, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", env.Kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("load kubeconfig %s: %w", env.Kubeconfig, err)
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("create clientset: %w", err)
	}
	return &Cluster{Env: env, Client: client}, nil
}

// ConnectRepo connects to the cluster that e2e/run.sh started for the
// repository at root, reading its env file through LoadEnv.
func ConnectRepo(root string) (*Cluster, error) {
	root, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("resolve repository root %q: %w", root, err)
	}
	env, err := LoadEnv(root)
	if err != nil {
		return nil, err
	}
	return Connect(env)
}

// Kubectl runs kubectl against the cluster and returns its output.
func (c *Cluster) Kubectl(ctx context.Context, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.Env.Kubectl, args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+c.Env.Kubeconfig)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("kubectl %s: %w: %s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// WaitPodRunning waits until the pod is Running and returns it.
func (c *Cluster) WaitPodRunning(ctx context.Context, namespace, name string, timeout time.Duration) (*corev1.Pod, error) {
	var pod *corev1.Pod
	err := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		p, err := c.Client.CoreV1().Pods(namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		pod = p
		return p.Status.Phase == corev1.PodRunning, nil
	})
	if err != nil {
		phase := "unknown"
		if pod != nil {
			phase = string(pod.Status.Phase)
		}
		return pod, fmt.Errorf("pod %s/%s not Running after %s (phase %s): %w", namespace, name, timeout, phase, err)
	}
	return pod, nil
}

// WaitPodGone waits until the pod no longer exists.
func (c *Cluster) WaitPodGone(ctx context.Context, namespace, name string, timeout time.Duration) error {
	err := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		_, err := c.Client.CoreV1().Pods(namespace).Get(ctx, name, metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
	if err != nil {
		return fmt.Errorf("pod %s/%s still exists after %s: %w", namespace, name, timeout, err)
	}
	return nil
}

// NetworkStatus returns the pod's k8s.v1.cni.cncf.io/network-status entries.
func NetworkStatus(pod *corev1.Pod) ([]nadv1.NetworkStatus, error) {
	return nadutils.GetNetworkStatus(pod)
}

// FindStatus returns the network-status entry with the given name.
func FindStatus(statuses []nadv1.NetworkStatus, name string) (nadv1.NetworkStatus, bool) {
	for _, s := range statuses {
		if s.Name == name {
			return s, true
		}
	}
	return nadv1.NetworkStatus{}, false
}

// PodEvents returns the messages of the Events about the pod, each prefixed
// with its reason.
func (c *Cluster) PodEvents(ctx context.Context, pod *corev1.Pod) ([]string, error) {
	selector := fields.SelectorFromSet(fields.Set{"involvedObject.uid": string(pod.UID)}).String()
	list, err := c.Client.CoreV1().Events(pod.Namespace).List(ctx, metav1.ListOptions{FieldSelector: selector})
	if err != nil {
		return nil, fmt.Errorf("list events of pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	out := make([]string, 0, len(list.Items))
	for _, e := range list.Items {
		out = append(out, e.Reason+": "+e.Message)
	}
	return out, nil
}
