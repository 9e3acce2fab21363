package controller

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// Metrics are the controller's Prometheus metrics. Reconcile duration and
// errors come from controller-runtime itself
// (controller_runtime_reconcile_time_seconds, controller_runtime_reconcile_errors_total).
type Metrics struct {
	configAPIRequests *prometheus.CounterVec
	configAPILatency  *prometheus.HistogramVec
	attachments       *prometheus.GaugeVec
}

// NewMetrics creates the metrics and registers them with reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		configAPIRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "contrail_vif_config_api_requests_total",
			Help: "Contrail config API requests by operation and HTTP status (0: no response).",
		}, []string{"operation", "code"}),
		configAPILatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "contrail_vif_config_api_request_duration_seconds",
			Help:    "Latency of Contrail config API requests by operation.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
		}, []string{"operation"}),
		attachments: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "contrail_vif_attachments",
			Help: "Pod attachments by state (Configured, Pending, Failed).",
		}, []string{"state"}),
	}
	for _, c := range []prometheus.Collector{m.configAPIRequests, m.configAPILatency, m.attachments} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// RegisterDefault registers the metrics with controller-runtime's registry,
// which the manager serves on --metrics-bind-address.
func RegisterDefault() (*Metrics, error) {
	return NewMetrics(metrics.Registry)
}

// ObserveConfigAPI records one config API request; it fits
// vncclient.Client.Observer.
func (m *Metrics) ObserveConfigAPI(op string, status int, d time.Duration) {
	if m == nil {
		return
	}
	m.configAPIRequests.WithLabelValues(op, strconv.Itoa(status)).Inc()
	m.configAPILatency.WithLabelValues(op).Observe(d.Seconds())
}

// setAttachmentStates replaces the states counted for a pod.
func (r *Reconciler) setAttachmentStates(uid types.UID, states []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.states == nil {
		r.states = map[types.UID][]string{}
	}
	if r.Metrics != nil {
		for _, s := range r.states[uid] {
			r.Metrics.attachments.WithLabelValues(s).Dec()
		}
		for _, s := range states {
			r.Metrics.attachments.WithLabelValues(s).Inc()
		}
	}
	if len(states) == 0 {
		delete(r.states, uid)
		return
	}
	r.states[uid] = states
}
