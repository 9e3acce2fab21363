// Command cni measures the latency of contrail-vif ADD and DEL against the
// reference bridge plugin with host-local IPAM, and against the floor: the
// netlink steps that any veth plugin needs, plus the exec of a trivial
// static binary. Every plugin runs as a binary with the CNI environment and
// the config on stdin, like a container runtime runs it, and every round
// uses fresh network namespaces. contrail-vif talks to an in-process
// contrail-sim whose agent already knows the round's VMI.
//
// Run it as root through bench/run.sh, which builds the binaries it needs.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
)

// config holds the command line.
type config struct {
	rounds      int
	warmup      int
	rssRounds   int
	contrailVIF string
	refDir      string
	refVersion  string
	trivial     string
	rsswrap     string
	out         string
	dataPlane   bool
}

func main() {
	var cfg config
	flag.IntVar(&cfg.rounds, "rounds", 200, "measured `rounds`; each runs ADD and DEL of every plugin once and the floor once")
	flag.IntVar(&cfg.warmup, "warmup", 5, "unmeasured `rounds` before the measured ones")
	flag.StringVar(&cfg.contrailVIF, "contrail-vif", "bin/contrail-vif", "`path` of the contrail-vif plugin binary")
	flag.StringVar(&cfg.refDir, "ref-dir", "", "`directory` with the reference bridge and host-local binaries (required)")
	flag.StringVar(&cfg.refVersion, "ref-version", "v1.10.0", "version of the reference plugins, for the record")
	flag.IntVar(&cfg.rssRounds, "rss-rounds", 20, "`rounds` after the measured ones that run each ADD through rsswrap to read its peak RSS")
	flag.StringVar(&cfg.rsswrap, "rsswrap", "", "`path` of the rsswrap binary (required)")
	flag.StringVar(&cfg.trivial, "trivial", "", "`path` of the trivial static binary whose exec is part of the floor (required)")
	flag.StringVar(&cfg.out, "out", "bench/results", "results `directory`")
	flag.BoolVar(&cfg.dataPlane, "dataplane", true, "give contrail-sim's bound ports a kernel data plane (a bridge per VN)")
	flag.Parse()

	if err := cfg.validate(); err != nil {
		fmt.Fprintln(os.Stderr, "bench/cni:", err)
		flag.Usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "bench/cni:", err)
		os.Exit(1)
	}
}

func (c *config) validate() error {
	if c.rounds < 1 || c.warmup < 0 || c.rssRounds < 1 {
		return fmt.Errorf("invalid -rounds %d, -warmup %d or -rss-rounds %d", c.rounds, c.warmup, c.rssRounds)
	}
	if c.refDir == "" || c.trivial == "" || c.rsswrap == "" {
		return fmt.Errorf("missing -ref-dir, -trivial or -rsswrap")
	}
	for _, p := range []*string{&c.contrailVIF, &c.refDir, &c.trivial, &c.rsswrap} {
		abs, err := filepath.Abs(*p)
		if err != nil {
			return err
		}
		*p = abs
	}
	for _, p := range []string{c.contrailVIF, filepath.Join(c.refDir, "bridge"), filepath.Join(c.refDir, "host-local"), c.trivial, c.rsswrap} {
		if st, err := os.Stat(p); err != nil || st.Mode()&0o111 == 0 {
			return fmt.Errorf("%s is not an executable file", p)
		}
	}
	return nil
}

func run(ctx context.Context, cfg config) error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("must run as root: it creates network namespaces and links")
	}
	b, err := newBench(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		return err
	}
	runErr := b.runRounds(ctx)
	closeErr := b.close()
	if runErr != nil {
		return runErr
	}
	if closeErr != nil {
		return fmt.Errorf("clean up: %w", closeErr)
	}
	return b.write()
}
