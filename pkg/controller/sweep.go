package controller

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/contrail-vif/contrail-vif/pkg/attachment"
	"github.com/contrail-vif/contrail-vif/pkg/vncclient"
)

// Sweep deletes the Contrail objects that this controller owns (owner and
// cluster annotations match) and whose pod no longer exists or has finished,
// and remembers the owned objects of live pods so that their deletion is
// noticed. It catches what a crash or a missed delete event left behind.
func (r *Reconciler) Sweep(ctx context.Context) error {
	r.mu.Lock()
	r.init()
	r.mu.Unlock()

	// VMs first, then pods: a VM created after this list was created for a
	// pod that the later pod list contains, so it cannot be swept by mistake.
	vms, err := vncclient.ListDetail[vncclient.VirtualMachine](ctx, r.VNC, vncclient.TypeVirtualMachine,
		url.Values{"fields": {"annotations"}})
	if err != nil {
		return fmt.Errorf("sweep: %w", err)
	}
	pods := &corev1.PodList{}
	if err := r.Client.List(ctx, pods); err != nil {
		return fmt.Errorf("sweep: list pods: %w", err)
	}
	live := make(map[types.UID]bool, len(pods.Items))
	for i := range pods.Items {
		p := &pods.Items[i]
		if p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed {
			live[p.UID] = true
		}
	}

	var errs []error
	swept := 0
	for _, vm := range vms {
		if owner, _ := vm.Annotations.Get(attachment.KeyOwner); owner != attachment.OwnerValue {
			continue
		}
		if cluster, _ := vm.Annotations.Get(attachment.KeyCluster); cluster != r.ClusterName {
			continue
		}
		ns, _ := vm.Annotations.Get(attachment.KeyNamespace)
		name, _ := vm.Annotations.Get(attachment.KeyPod)
		podName := types.NamespacedName{Namespace: ns, Name: name}
		uid := types.UID(vm.UUID)
		if live[uid] {
			r.remember(podName, uid)
			continue
		}
		if err := r.releasePod(ctx, r.Log, podName, uid); err != nil {
			errs = append(errs, fmt.Errorf("sweep pod %s (uid %s): %w", podName, uid, err))
			continue
		}
		swept++
	}
	if swept > 0 {
		r.Log.Info("swept Contrail objects of pods that are gone", "pods", swept)
	}
	return errors.Join(errs...)
}

// Sweeper runs Sweep at start and then every Interval. It is a manager
// Runnable that runs only on the leader.
type Sweeper struct {
	Reconciler *Reconciler
	Interval   time.Duration
}

// Start runs sweeps until ctx ends. A failed sweep is logged and retried at
// the next interval.
func (s *Sweeper) Start(ctx context.Context) error {
	ticker := time.NewTicker(s.Interval)
	defer ticker.Stop()
	for {
		if err := s.Reconciler.Sweep(ctx); err != nil {
			s.Reconciler.Log.Error(err, "sweep failed; retrying at the next interval", "interval", s.Interval)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
	}
}

// NeedLeaderElection makes the sweep run on the leader only.
func (s *Sweeper) NeedLeaderElection() bool { return true }
