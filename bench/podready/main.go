// Command podready measures, on the local cluster, the time from creating a
// pod to Multus writing its network-status annotation with the pod's
// secondary network, for pods whose NAD is contrail-vif and for pods whose
// NAD is the reference bridge plugin. Pods are created in batches, half of
// each kind, interleaved, and each batch is deleted before the next.
//
// Run it through `e2e/run.sh bench`, which brings up the cluster, contrail-sim
// (with --setup-default) and the controller.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"
)

type config struct {
	kubeconfig    string
	node          string
	image         string
	ipamDir       string
	namespace     string
	vn            string
	pods          int
	batch         int
	warmupBatches int
	podTimeout    time.Duration
	out           string
}

func main() {
	var cfg config
	flag.StringVar(&cfg.kubeconfig, "kubeconfig", "", "`path` of the cluster's kubeconfig (required)")
	flag.StringVar(&cfg.node, "node", "cvif-node", "`name` of the cluster's node")
	flag.StringVar(&cfg.image, "image", "localhost/busybox:e2e", "container `image` of the pods, already imported into containerd")
	flag.StringVar(&cfg.ipamDir, "ipam-dir", "", "host-local dataDir of the bridge NAD: the cluster's CNI_IPAM_DIR (required)")
	flag.StringVar(&cfg.namespace, "namespace", "cvifbench-pods", "`namespace` of the pods and NADs; deleted at the end")
	flag.StringVar(&cfg.vn, "virtual-network", "default-domain:demo:red", "Contrail `fq-name` of the contrail-vif NAD's virtual network")
	flag.IntVar(&cfg.pods, "pods", 100, "measured `pods`, half of each kind")
	flag.IntVar(&cfg.batch, "batch", 10, "pods created at a time (even)")
	flag.IntVar(&cfg.warmupBatches, "warmup-batches", 1, "unmeasured batches before the measured ones")
	flag.DurationVar(&cfg.podTimeout, "pod-timeout", 2*time.Minute, "bound on one batch becoming ready, and on its deletion")
	flag.StringVar(&cfg.out, "out", "bench/results", "results `directory`")
	flag.Parse()
	if cfg.kubeconfig == "" || cfg.ipamDir == "" || cfg.batch < 2 || cfg.batch%2 != 0 || cfg.pods < cfg.batch || cfg.pods%cfg.batch != 0 {
		fmt.Fprintln(os.Stderr, "bench/podready: -kubeconfig and -ipam-dir are required; -batch must be even and divide -pods")
		flag.Usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "bench/podready:", err)
		os.Exit(1)
	}
}
