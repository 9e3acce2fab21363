package controller

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
)

// eventRepeat is how long the same Warning for the same pod stays silent.
// Every status patch and retry reconciles the pod again, and without this
// each pass would add an identical Event.
const eventRepeat = 5 * time.Minute

type eventKey struct {
	uid    types.UID
	reason string
}

type sentEvent struct {
	message string
	at      time.Time
}

// shouldEmit reports whether a Warning with this reason and message should
// be recorded for the pod: the first time, when the message changed, or
// when eventRepeat has passed.
func (r *Reconciler) shouldEmit(uid types.UID, reason, message string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.sent == nil {
		r.sent = map[eventKey]sentEvent{}
	}
	key := eventKey{uid: uid, reason: reason}
	now := time.Now()
	if last, ok := r.sent[key]; ok && last.message == message && now.Sub(last.at) < eventRepeat {
		return false
	}
	r.sent[key] = sentEvent{message: message, at: now}
	return true
}

// warnOnce records a Warning Event on the pod, related to obj when it is
// not nil, unless shouldEmit suppresses it as a repeat.
func (r *Reconciler) warnOnce(pod *corev1.Pod, related runtime.Object, reason string, err error) {
	if r.shouldEmit(pod.UID, reason, err.Error()) {
		r.Recorder.Eventf(pod, related, corev1.EventTypeWarning, reason, "PlugContrailNetwork", "%s", err.Error())
	}
}
