// Command controller measures contrail-vif-controller at scale. It reports
// how many attachments per second the controller completes against
// contrail-sim's config API, and how many config API reads and writes each
// attachment costs once the caches are warm. It also reports the peak RSS
// of the controller process with 5,000 pods and 100
// NetworkAttachmentDefinitions.
//
// It needs a kube-apiserver (the local cluster of e2e/run.sh) and the
// controller binary. The config API is an in-process contrail-sim config
// store on loopback behind a counting middleware. The pods name nodes that
// have no kubelet, so nothing runs them: the controller reconciles any pod
// with a node name, and kubelet ignores pods of other nodes. Stop every
// other contrail-vif-controller of the cluster first, or it reconciles the
// same pods.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
	"time"
)

// config holds the command line.
type config struct {
	kubeconfig string
	controller string
	namespace  string
	node       string
	nodes      int
	pods       int
	nads       int
	steadyPods int
	workers    int
	createConc int
	timeout    time.Duration
	out        string
	cpuProfile string
}

func main() {
	var cfg config
	flag.StringVar(&cfg.kubeconfig, "kubeconfig", "", "`path` of the cluster's kubeconfig (required)")
	flag.StringVar(&cfg.controller, "controller", "bin/contrail-vif-controller", "`path` of the controller binary")
	flag.StringVar(&cfg.namespace, "namespace", "cvifbench-ctl", "`namespace` of the benchmark's pods and NADs; deleted at the end")
	flag.StringVar(&cfg.node, "node", "cvifbench-ctl-node", "node name `prefix` of the pods: nodes without kubelet")
	flag.IntVar(&cfg.nodes, "nodes", 50, "`number` of nodes the pods are spread over, each with its virtual-router; Kubernetes allows 110 pods per node by default")
	flag.IntVar(&cfg.pods, "pods", 5000, "`number` of pods created before the controller starts")
	flag.IntVar(&cfg.nads, "nads", 100, "`number` of NADs, each on a virtual network of its own; pod i selects NAD i mod nads")
	flag.IntVar(&cfg.steadyPods, "steady-pods", 200, "`number` of pods created one at a time after the first ones are done, to count calls with warm caches")
	flag.IntVar(&cfg.workers, "workers", 0, "controller --workers; 0 keeps the controller's default")
	flag.IntVar(&cfg.createConc, "create-concurrency", 16, "parallel pod creations")
	flag.DurationVar(&cfg.timeout, "timeout", 10*time.Minute, "bound on the whole run")
	flag.StringVar(&cfg.out, "out", "bench/results", "results `directory`")
	flag.StringVar(&cfg.cpuProfile, "cpuprofile", "", "write a CPU profile of this process, which serves the config API, to `file`")
	flag.Parse()
	if cfg.kubeconfig == "" || cfg.pods < 1 || cfg.nads < 1 || cfg.nads > 250 || cfg.steadyPods < 1 || cfg.nodes < 1 {
		fmt.Fprintln(os.Stderr, "bench/controller: -kubeconfig is required; -pods, -steady-pods and -nodes must be positive and -nads between 1 and 250")
		flag.Usage()
		os.Exit(2)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, cfg.timeout)
	defer cancel()
	if cfg.cpuProfile != "" {
		f, err := os.Create(cfg.cpuProfile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench/controller: start CPU profile:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	if err := run(ctx, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "bench/controller:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}
