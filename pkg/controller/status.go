package controller

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/contrail-vif/contrail-vif/pkg/attachment"
)

// AttachmentStatusAnnotation on a pod lists the state of each of its
// contrail-vif attachments as JSON (a list of attachmentStatus), so that
// `kubectl describe pod` shows why an interface is missing.
const AttachmentStatusAnnotation = "contrail-vif.io/attachments"

// Attachment states in attachmentStatus.
const (
	// AttachmentConfigured: the Contrail objects exist and the node's
	// vRouter is linked to the pod; the CNI plugin can plug the interface.
	AttachmentConfigured = "Configured"
	// AttachmentPending: not yet created, waiting for an earlier step.
	AttachmentPending = "Pending"
	// AttachmentFailed: the last attempt failed; the controller retries.
	AttachmentFailed = "Failed"
)

// attachmentStatus is one entry of AttachmentStatusAnnotation.
type attachmentStatus struct {
	Network        string `json:"network"`
	Interface      string `json:"interface"`
	VirtualNetwork string `json:"virtualNetwork"`
	VMIUUID        string `json:"vmiUUID"`
	State          string `json:"state"`
	LastError      string `json:"lastError,omitempty"`
}

// setPodStatus writes AttachmentStatusAnnotation when its value changed.
// failed and err come from createPodObjects.
func (r *Reconciler) setPodStatus(ctx context.Context, pod *corev1.Pod, desired []desiredAttachment, failed string, err error) error {
	routerDone := r.isDone(doneKey{uid: pod.UID})
	statuses := make([]attachmentStatus, 0, len(desired))
	for _, a := range desired {
		st := attachmentStatus{
			Network:        a.Network,
			Interface:      a.Interface,
			VirtualNetwork: strings.Join(a.VNFQName, ":"),
			VMIUUID:        attachment.VMIUUID(string(pod.UID), a.Interface),
			State:          AttachmentPending,
		}
		switch {
		case a.Invalid != nil:
			st.State, st.LastError = AttachmentFailed, a.Invalid.Error()
		case err != nil && (failed == "" || failed == a.Interface):
			st.State, st.LastError = AttachmentFailed, err.Error()
		case routerDone && r.isDone(doneKey{uid: pod.UID, iface: a.Interface}):
			st.State = AttachmentConfigured
		}
		statuses = append(statuses, st)
	}
	states := make([]string, 0, len(statuses))
	for _, st := range statuses {
		states = append(states, st.State)
	}
	r.setAttachmentStates(pod.UID, states)

	data, marshalErr := json.Marshal(statuses)
	if marshalErr != nil {
		return marshalErr
	}
	if pod.Annotations[AttachmentStatusAnnotation] == string(data) {
		return nil
	}
	patch := client.MergeFrom(pod.DeepCopy())
	if pod.Annotations == nil {
		pod.Annotations = map[string]string{}
	}
	pod.Annotations[AttachmentStatusAnnotation] = string(data)
	if err := r.Client.Patch(ctx, pod, patch); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("patch pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	return nil
}
