package controller

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// podNADIndex is the name of the pod cache index whose keys are the NADs a
// pod selects, as "<namespace>/<name>". With it, a NAD event looks up the
// pods that select the NAD instead of copying and parsing every pod of the
// cluster, which at startup happens once per NAD (docs/benchmarks.md).
const podNADIndex = "contrail-vif.io/selected-nads"

// podNADKeys returns the podNADIndex keys of a pod: every NAD its networks
// annotation selects, with the pod's namespace where the selection names
// none. A pod whose annotation does not parse has no keys.
func podNADKeys(obj client.Object) []string {
	pod, ok := obj.(*corev1.Pod)
	if !ok || !hasNetworks(pod) {
		return nil
	}
	elems, err := podNetworks(pod)
	if err != nil {
		return nil
	}
	keys := make([]string, 0, len(elems))
	for _, e := range elems {
		ns := e.Namespace
		if ns == "" {
			ns = pod.Namespace
		}
		keys = append(keys, ns+"/"+e.Name)
	}
	return keys
}

// indexPodsByNAD registers podNADIndex with the manager's cache.
func indexPodsByNAD(mgr ctrl.Manager) error {
	if err := mgr.GetFieldIndexer().IndexField(context.Background(), &corev1.Pod{}, podNADIndex, podNADKeys); err != nil {
		return fmt.Errorf("index pods by selected NetworkAttachmentDefinition: %w", err)
	}
	return nil
}
