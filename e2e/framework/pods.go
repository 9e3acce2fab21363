package framework

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ShellCommand is argv[0] of the one container of every BusyboxPod, which
// ContainerNetnsPath looks for.
const ShellCommand = "/bin/sh"

// BusyboxPod returns a pod on node with one busybox container that sleeps
// until SIGTERM, and with networks as its k8s.v1.cni.cncf.io/networks
// annotation. It has no ServiceAccount token and a 1s grace period, so
// tests can delete it quickly.
func BusyboxPod(node, namespace, name, networks string) *corev1.Pod {
	grace := int64(1)
	automount := false
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Namespace:   namespace,
			Name:        name,
			Annotations: map[string]string{"k8s.v1.cni.cncf.io/networks": networks},
		},
		Spec: corev1.PodSpec{
			NodeName:                      node,
			AutomountServiceAccountToken:  &automount,
			TerminationGracePeriodSeconds: &grace,
			Containers: []corev1.Container{{
				Name:            "shell",
				Image:           "localhost/busybox:e2e",
				ImagePullPolicy: corev1.PullNever,
				Command:         []string{ShellCommand, "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"},
			}},
		},
	}
}
