// Command contrail-vif-controller creates the Contrail config objects for
// pods that select contrail-vif NetworkAttachmentDefinitions.
package main

import (
	"flag"
	"os"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/contrail-vif/contrail-vif/pkg/attachment"
	"github.com/contrail-vif/contrail-vif/pkg/controller"
)

func main() {
	var opts controller.Options
	flag.StringVar(&opts.ConfigAPIURL, "config-api-url", "http://127.0.0.1:8082", "Contrail config API base URL")
	flag.DurationVar(&opts.ConfigAPITimeout, "config-api-timeout", 10*time.Second, "timeout of one config API request")
	flag.StringVar(&opts.ConfigAPICAFile, "config-api-ca-file", "", "CA bundle that verifies the config API and Keystone TLS certificates (default: system roots)")
	flag.BoolVar(&opts.ConfigAPIInsecure, "config-api-insecure-skip-verify", false, "do not verify TLS certificates of the config API and Keystone; for tests only")
	flag.StringVar(&opts.KeystoneURL, "keystone-url", "", "Keystone v3 base URL, for example https://keystone:5000; empty disables authentication")
	flag.StringVar(&opts.KeystoneUser, "keystone-user", "admin", "Keystone user name")
	flag.StringVar(&opts.KeystoneProject, "keystone-project", "admin", "Keystone project the token is scoped to")
	flag.StringVar(&opts.KeystoneDomain, "keystone-domain", "Default", "Keystone domain of the user and project")
	flag.StringVar(&opts.KeystonePasswordFile, "keystone-password-file", "", "file whose first line is the Keystone password, normally mounted from a Secret")
	flag.StringVar(&opts.ClusterName, "cluster-name", attachment.DefaultCluster, "cluster name: the first part of every virtual-machine name; NADs must set the same clusterName")
	flag.DurationVar(&opts.SweepInterval, "sweep-interval", 5*time.Minute, "period of the sweep that deletes Contrail objects of pods that are gone")
	flag.IntVar(&opts.Workers, "workers", 4, "number of pods reconciled in parallel")
	flag.BoolVar(&opts.LeaderElect, "leader-elect", false, "enable leader election so that only one replica acts")
	flag.StringVar(&opts.LeaderElectionNamespace, "leader-election-namespace", "", "namespace of the leader election Lease (default: the pod's namespace)")
	flag.StringVar(&opts.MetricsAddr, "metrics-bind-address", "0", "Prometheus metrics listen address; 0 disables metrics")
	flag.StringVar(&opts.HealthAddr, "health-probe-bind-address", ":8081", "liveness and readiness probe listen address")
	zapOpts := zap.Options{}
	zapOpts.BindFlags(flag.CommandLine)
	flag.Parse()
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts)))
	log := ctrl.Log.WithName("setup")

	mgr, err := controller.NewManager(ctrl.GetConfigOrDie(), opts)
	if err != nil {
		log.Error(err, "cannot start the controller")
		os.Exit(1)
	}
	log.Info("starting", "configAPI", opts.ConfigAPIURL, "cluster", opts.ClusterName)
	if err := mgr.Start(ctrl.SetupSignalHandler()); err != nil {
		log.Error(err, "controller stopped with an error")
		os.Exit(1)
	}
}
