// Command contrail-vif-install installs the contrail-vif CNI plugin on a
// node: it copies the binary into the CNI binary directory, then waits for
// SIGTERM so that the DaemonSet pod that runs it stays Ready. With -check
// it only reports whether the installed plugin matches the binary in the
// image, which is what the pod's readiness probe runs.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	in := &Installer{Log: slog.New(slog.NewTextHandler(os.Stderr, nil))}
	flag.StringVar(&in.Source, "source", "/contrail-vif", "plugin binary to install; its file name is the name it gets in -cni-bin-dir")
	flag.StringVar(&in.BinDir, "cni-bin-dir", "/host/opt/cni/bin", "CNI binary directory of the node, mounted from the host")
	check := flag.Bool("check", false, "only check that the installed plugin is executable and equals -source; exit 1 if not")
	flag.Parse()

	if *check {
		if err := in.Check(); err != nil {
			fmt.Fprintf(os.Stderr, "contrail-vif-install: %v\n", err)
			os.Exit(1)
		}
		return
	}

	if err := in.Install(); err != nil {
		in.Log.Error("install the CNI plugin", "error", err)
		os.Exit(1)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	<-ctx.Done()
	// The plugin stays installed: pods on the node still need it for DEL.
	in.Log.Info("stopping; the plugin stays installed", "path", in.Dest())
}
