// Package controller reconciles pods that select contrail-vif
// NetworkAttachmentDefinitions into Contrail config objects: one
// virtual-machine per pod, and per attachment a virtual-machine-interface and
// an instance-ip, plus the ref from the pod's node's virtual-router to the
// virtual-machine that makes the node's vRouter agent receive the config.
package controller

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/go-logr/logr"
	nadv1 "github.com/k8snetworkplumbingwg/network-attachment-definition-client/pkg/apis/k8s.cni.cncf.io/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/contrail-vif/contrail-vif/pkg/attachment"
	"github.com/contrail-vif/contrail-vif/pkg/vncclient"
)

// notFoundRetry is the delay before a pod is retried after a missing VN, NAD
// or virtual-router, which a user or provisioning tool may create at any time.
const notFoundRetry = 5 * time.Second

// Reconciler creates and deletes the Contrail objects of pod attachments.
type Reconciler struct {
	// Client reads pods and NADs, normally from the manager's cache.
	Client client.Client
	// VNC writes to the Contrail config API.
	VNC *vncclient.Client
	// Recorder reports failures as Events on the pod.
	Recorder events.EventRecorder
	// ClusterName is the first part of every VM name; NADs must agree.
	ClusterName string
	// Log is the base logger.
	Log logr.Logger
	// Metrics, when not nil, counts attachments by state.
	Metrics *Metrics

	mu sync.Mutex
	// known maps a pod name to the UIDs of pods with that name whose
	// Contrail objects may exist, so that objects of a deleted or recreated
	// pod are found without listing the config API.
	known map[types.NamespacedName]map[types.UID]bool
	// done holds the attachments (and, with an empty interface, the
	// virtual-router ref) whose objects are all in place.
	done map[doneKey]bool
	// vnUUIDs caches VN fq-name → uuid and families; entries go when a
	// create reports the VN missing and when its NAD changes.
	vnUUIDs map[string]networkInfo
	// routerUUIDs caches node name → virtual-router uuid.
	routerUUIDs map[string]string
	// sent remembers recent Warnings so that retries do not repeat them.
	sent map[eventKey]sentEvent
	// states holds the attachment states last reported per pod.
	states map[types.UID][]string
}

type doneKey struct {
	uid   types.UID
	iface string
}

// transientError marks a condition that clears by itself or by a user's
// action elsewhere (a missing VN): the pod is retried after notFoundRetry
// instead of with the controller's exponential backoff.
type transientError struct{ err error }

func (e *transientError) Error() string { return e.err.Error() }
func (e *transientError) Unwrap() error { return e.err }

func (r *Reconciler) init() {
	if r.known == nil {
		r.known = map[types.NamespacedName]map[types.UID]bool{}
		r.done = map[doneKey]bool{}
		r.vnUUIDs = map[string]networkInfo{}
		r.routerUUIDs = map[string]string{}
	}
}

// Reconcile brings the Contrail objects of one pod name in line with the pod.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	r.mu.Lock()
	r.init()
	r.mu.Unlock()
	log := r.Log.WithValues("pod", req.NamespacedName)

	pod := &corev1.Pod{}
	err := r.Client.Get(ctx, req.NamespacedName, pod)
	if apierrors.IsNotFound(err) {
		return ctrl.Result{}, r.releaseExcept(ctx, log, req.NamespacedName, "")
	}
	if err != nil {
		return ctrl.Result{}, fmt.Errorf("get pod %s: %w", req.NamespacedName, err)
	}

	// Objects of an earlier pod with this name hold the VM name, so they go
	// before the new pod's objects are created.
	if err := r.releaseExcept(ctx, log, req.NamespacedName, pod.UID); err != nil {
		return ctrl.Result{}, err
	}
	if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		return ctrl.Result{}, r.releasePod(ctx, log, req.NamespacedName, pod.UID)
	}
	if pod.DeletionTimestamp != nil || pod.Spec.NodeName == "" || !hasNetworks(pod) {
		// A terminating pod keeps its objects until it is gone, because
		// kubelet may still be running CNI DEL for it.
		return ctrl.Result{}, nil
	}

	desired, err := r.desiredAttachments(ctx, pod)
	if err == nil && len(desired) > 0 {
		err = r.ensurePod(ctx, log, pod, desired)
	}
	var transient *transientError
	if errors.As(err, &transient) {
		log.Info("retrying later", "reason", err.Error())
		return ctrl.Result{RequeueAfter: notFoundRetry}, nil
	}
	return ctrl.Result{}, err
}

// desiredAttachments lists the contrail-vif attachments the pod selects.
func (r *Reconciler) desiredAttachments(ctx context.Context, pod *corev1.Pod) ([]desiredAttachment, error) {
	elems, err := podNetworks(pod)
	if err != nil {
		r.warnOnce(pod, nil, "InvalidNetworksAnnotation",
			fmt.Errorf("annotation %s is invalid: %w; fix the annotation so Multus and contrail-vif can read it", podNetworksAnnotation, err))
		return nil, nil
	}

	var out []desiredAttachment
	valid := 0
	for i, elem := range elems {
		ns := elem.Namespace
		if ns == "" {
			ns = pod.Namespace
		}
		key := types.NamespacedName{Namespace: ns, Name: elem.Name}
		nad := &nadv1.NetworkAttachmentDefinition{}
		if err := r.Client.Get(ctx, key, nad); err != nil {
			if apierrors.IsNotFound(err) {
				// Multus reports a missing NAD itself; the pod is
				// retried when the NAD appears through the NAD watch.
				continue
			}
			return nil, fmt.Errorf("get NetworkAttachmentDefinition %s: %w", key, err)
		}
		conf, ours, err := contrailConfig(nad)
		if !ours {
			continue
		}
		a := desiredAttachment{Network: key.String(), Interface: interfaceName(elem, i)}
		switch {
		case err != nil:
			a.Invalid = fmt.Errorf("%w; fix spec.config of the NetworkAttachmentDefinition", err)
			r.warnOnce(pod, nad, "InvalidNetworkConfig", a.Invalid)
		case conf.ClusterName != r.ClusterName:
			a.Invalid = fmt.Errorf("NetworkAttachmentDefinition %s sets clusterName %q but the controller runs with %q; make them equal", key, conf.ClusterName, r.ClusterName)
			r.warnOnce(pod, nad, "ClusterNameMismatch", a.Invalid)
		default:
			nadArgs, argsErr := conf.DecodeArgs()
			if argsErr != nil {
				a.Invalid = fmt.Errorf("NetworkAttachmentDefinition %s: %w; fix spec.config of the NetworkAttachmentDefinition", key, argsErr)
				r.warnOnce(pod, nad, "InvalidNetworkConfig", a.Invalid)
				break
			}
			if reqErr := a.selectionRequests(elem, nadArgs); reqErr != nil {
				a.Invalid = fmt.Errorf("%w; fix the pod's %s annotation", reqErr, podNetworksAnnotation)
				r.warnOnce(pod, nil, "InvalidNetworkRequest", a.Invalid)
				break
			}
			a.VNFQName = mustFQName(conf.VirtualNetwork)
			for _, sg := range conf.SecurityGroups {
				a.SecurityGroups = append(a.SecurityGroups, mustFQName(sg))
			}
			a.PortSecurity = conf.PortSecurity
			a.Index = valid
			valid++
		}
		out = append(out, a)
	}
	return out, nil
}

// remember records that objects of the pod (name, uid) may exist.
func (r *Reconciler) remember(name types.NamespacedName, uid types.UID) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.known[name] == nil {
		r.known[name] = map[types.UID]bool{}
	}
	r.known[name][uid] = true
}

// releaseExcept deletes the objects of every remembered pod with this name
// whose UID is not keep.
func (r *Reconciler) releaseExcept(ctx context.Context, log logr.Logger, name types.NamespacedName, keep types.UID) error {
	r.mu.Lock()
	var stale []types.UID
	for uid := range r.known[name] {
		if uid != keep {
			stale = append(stale, uid)
		}
	}
	r.mu.Unlock()

	var errs []error
	for _, uid := range stale {
		errs = append(errs, r.releasePod(ctx, log, name, uid))
	}
	return errors.Join(errs...)
}

// releasePod deletes the objects of pod uid and drops the pod from the
// controller's in-memory records.
func (r *Reconciler) releasePod(ctx context.Context, log logr.Logger, name types.NamespacedName, uid types.UID) error {
	if err := r.deleteVM(ctx, log, string(uid)); err != nil {
		return err
	}
	r.setAttachmentStates(uid, nil)
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.known[name], uid)
	if len(r.known[name]) == 0 {
		delete(r.known, name)
	}
	for k := range r.done {
		if k.uid == uid {
			delete(r.done, k)
		}
	}
	for k := range r.sent {
		if k.uid == uid {
			delete(r.sent, k)
		}
	}
	return nil
}

func (r *Reconciler) isDone(k doneKey) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.done[k]
}

func (r *Reconciler) markDone(k doneKey) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.done[k] = true
}

// attachmentFQName is the VMI fq-name prefix: the VMI lives in the VN's project.
func projectOf(vnFQName []string) []string {
	return vnFQName[:2]
}

// vmName returns the VM name of the pod.
func (r *Reconciler) vmName(pod *corev1.Pod) string {
	return attachment.VMName(r.ClusterName, pod.Namespace, pod.Name)
}
