package controller

import (
	"context"

	nadv1 "github.com/k8snetworkplumbingwg/network-attachment-definition-client/pkg/apis/k8s.cni.cncf.io/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// SetupWithManager registers the pod controller: it reconciles pods that
// carry a networks annotation, and every pod that selects a NAD when that
// NAD changes.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager, workers int) error {
	if err := indexPodsByNAD(mgr); err != nil {
		return err
	}
	withNetworks := predicate.NewPredicateFuncs(func(obj client.Object) bool {
		pod, ok := obj.(*corev1.Pod)
		return ok && hasNetworks(pod)
	})
	return ctrl.NewControllerManagedBy(mgr).
		Named("contrail-vif-pods").
		For(&corev1.Pod{}, builder.WithPredicates(withNetworks)).
		Watches(&nadv1.NetworkAttachmentDefinition{}, handler.EnqueueRequestsFromMapFunc(r.podsForNAD)).
		WithOptions(controller.Options{MaxConcurrentReconciles: workers}).
		Complete(r)
}

// podsForNAD returns the pods that select the NAD, found through
// podNADIndex. The cached pods are only read, so the list skips copying them.
func (r *Reconciler) podsForNAD(ctx context.Context, obj client.Object) []reconcile.Request {
	pods := &corev1.PodList{}
	key := obj.GetNamespace() + "/" + obj.GetName()
	if err := r.Client.List(ctx, pods, client.MatchingFields{podNADIndex: key}, client.UnsafeDisableDeepCopy); err != nil {
		r.Log.Error(err, "list pods for NetworkAttachmentDefinition", "nad", client.ObjectKeyFromObject(obj))
		return nil
	}
	out := make([]reconcile.Request, 0, len(pods.Items))
	for i := range pods.Items {
		out = append(out, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: pods.Items[i].Namespace, Name: pods.Items[i].Name}})
	}
	return out
}
