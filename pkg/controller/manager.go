package controller

import (
	"fmt"
	"os"
	"strings"
	"time"

	nadv1 "github.com/k8snetworkplumbingwg/network-attachment-definition-client/pkg/apis/k8s.cni.cncf.io/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
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
	// ConfigAPICAFile verifies the config API's (and Keystone's) TLS
	// certificate; empty means the system roots.
	ConfigAPICAFile string
	// ConfigAPIInsecure disables TLS verification; for tests only.
	ConfigAPIInsecure bool
	// KeystoneURL enables Keystone v3 authentication when set.
	KeystoneURL string
	// KeystoneUser, KeystoneProject and KeystoneDomain name the credentials.
	KeystoneUser, KeystoneProject, KeystoneDomain string
	// KeystonePasswordFile holds the password on its first line, normally
	// a file mounted from a Secret.
	KeystonePasswordFile string
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
		// No code reads managedFields, and the cache holds every pod of the
		// cluster: dropping them saves memory (docs/benchmarks.md).
		Cache: cache.Options{DefaultTransform: cache.TransformStripManagedFields()},
	})
	if err != nil {
		return nil, fmt.Errorf("create manager: %w", err)
	}

	m, err := RegisterDefault()
	if err != nil {
		return nil, fmt.Errorf("register metrics: %w", err)
	}
	vnc, err := newConfigAPIClient(opts, m)
	if err != nil {
		return nil, err
	}
	r := &Reconciler{
		Client:      mgr.GetClient(),
		VNC:         vnc,
		Metrics:     m,
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

// newConfigAPIClient builds the config API client with TLS verification,
// retries, Keystone authentication and the metrics observer.
func newConfigAPIClient(opts Options, m *Metrics) (*vncclient.Client, error) {
	c := vncclient.New(opts.ConfigAPIURL, opts.ConfigAPITimeout)
	tlsConfig, err := vncclient.NewTLSConfig(opts.ConfigAPICAFile, opts.ConfigAPIInsecure)
	if err != nil {
		return nil, fmt.Errorf("config API TLS settings: %w", err)
	}
	c.HTTP = vncclient.NewHTTPClient(opts.ConfigAPITimeout, tlsConfig)
	c.Observer = m.ObserveConfigAPI
	if opts.KeystoneURL == "" {
		return c, nil
	}
	password, err := readPasswordFile(opts.KeystonePasswordFile)
	if err != nil {
		return nil, err
	}
	c.Auth = &vncclient.KeystoneAuth{
		URL:      opts.KeystoneURL,
		User:     opts.KeystoneUser,
		Password: password,
		Project:  opts.KeystoneProject,
		Domain:   opts.KeystoneDomain,
		HTTP:     c.HTTP,
	}
	return c, nil
}

// readPasswordFile returns the first line of path.
func readPasswordFile(path string) (string, error) {
	if path == "" {
		return "", fmt.Errorf("--keystone-url is set but --keystone-password-file is empty; mount the password from a Secret and name the file")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read Keystone password file %s: %w", path, err)
	}
	line, _, _ := strings.Cut(string(data), "\n")
	line = strings.TrimRight(line, "\r")
	if line == "" {
		return "", fmt.Errorf("Keystone password file %s is empty", path)
	}
	return line, nil
}
