package controller

import (
	"fmt"
	"time"

	nadv1 "github.com/k8snetworkplumbingwg/network-attachment-definition-client/pkg/apis/k8s.cni.cncf.io/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/contrail-vif/contrail-vif/pkg/vncclient"
)

// Options configures the controller process.
type Options struct {
	// ConfigAPIURL is the Contrail config API base URL.
	ConfigAPIURL string
	// ConfigAPITimeout bounds each config API request.
	ConfigAPITimeout time.Duration
	// ClusterName prefixes VM names and marks owned objects.
	ClusterName string
	// SweepInterval is the period of the stale-object sweep.
	SweepInterval time.Duration
	// Workers is the number of pods reconciled in parallel.
	Workers int
	// LeaderElect enables leader election, for running several replicas.
	LeaderElect bool
	// LeaderElectionNamespace holds the Lease; empty means the pod's namespace.
	LeaderElectionNamespace string
	// MetricsAddr is the Prometheus metrics listen address; "0" disables it.
	MetricsAddr string
	// HealthAddr is the liveness and readiness probe listen address.
	HealthAddr string
}

// NewManager builds a controller-runtime manager running the pod
// reconciler and the sweeper.
func NewManager(cfg *rest.Config, opts Options) (ctrl.Manager, error) {
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return nil, fmt.Errorf("register core types: %w", err)
	}
	if err := nadv1.AddToScheme(scheme); err != nil {
		return nil, fmt.Errorf("register NetworkAttachmentDefinition types: %w", err)
	}

	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                  scheme,
		Metrics:                 metricsserver.Options{BindAddress: opts.MetricsAddr},
		HealthProbeBindAddress:  opts.HealthAddr,
		LeaderElection:          opts.LeaderElect,
		LeaderElectionID:        "contrail-vif-controller",
		LeaderElectionNamespace: opts.LeaderElectionNamespace,
	})
	if err != nil {
		return nil, fmt.Errorf("create manager: %w", err)
	}

	r := &Reconciler{
		Client:      mgr.GetClient(),
		VNC:         vncclient.New(opts.ConfigAPIURL, opts.ConfigAPITimeout),
		Recorder:    mgr.GetEventRecorder("contrail-vif-controller"),
		ClusterName: opts.ClusterName,
		Log:         ctrl.Log.WithName("pods"),
	}
	if err := r.SetupWithManager(mgr, opts.Workers); err != nil {
		return nil, fmt.Errorf("set up pod controller: %w", err)
	}
	networks := &NetworkReconciler{
		Client:      mgr.GetClient(),
		VNC:         r.VNC,
		Recorder:    r.Recorder,
		ClusterName: opts.ClusterName,
		Log:         ctrl.Log.WithName("networks"),
		Pods:        r,
	}
	if err := networks.SetupWithManager(mgr); err != nil {
		return nil, fmt.Errorf("set up network controller: %w", err)
	}
	if err := mgr.Add(&Sweeper{Reconciler: r, Interval: opts.SweepInterval}); err != nil {
		return nil, fmt.Errorf("add sweeper: %w", err)
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return nil, fmt.Errorf("add liveness check: %w", err)
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		return nil, fmt.Errorf("add readiness check: %w", err)
	}
	return mgr, nil
}
