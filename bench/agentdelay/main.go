// Command agentdelay measures how quickly contrail-vif ADD finishes once its
// VMI reaches the vRouter agent, for the case where ADD starts first: the
// kubelet can call the plugin before contrail-vif-controller has created the
// pod's Contrail objects. Each round starts ADD, waits a random time, creates
// the VM, VMI and instance-ip, then adds the virtual-router ref that makes
// the VMI visible to the agent. The sample is the time from sending that ref
// update to ADD returning.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/containernetworking/plugins/pkg/testutils"

	"github.com/contrail-vif/contrail-vif/bench/internal/cniexec"
	"github.com/contrail-vif/contrail-vif/bench/internal/simfixture"
	"github.com/contrail-vif/contrail-vif/bench/internal/stats"
)

type config struct {
	rounds      int
	maxDelay    time.Duration
	seed        uint64
	contrailVIF string
	out         string
	label       string
	dataPlane   bool
}

func main() {
	var cfg config
	flag.IntVar(&cfg.rounds, "rounds", 100, "measured `rounds`")
	flag.DurationVar(&cfg.maxDelay, "max-delay", time.Second, "upper bound of the random wait between ADD start and the config creation")
	flag.Uint64Var(&cfg.seed, "seed", 1, "seed of the random waits, so that runs are comparable")
	flag.StringVar(&cfg.contrailVIF, "contrail-vif", "bin/contrail-vif", "`path` of the contrail-vif plugin binary")
	flag.StringVar(&cfg.out, "out", "bench/results", "results `directory`")
	flag.StringVar(&cfg.label, "label", "agentdelay", "`name` of the result files (LABEL.json, LABEL-samples.csv)")
	flag.BoolVar(&cfg.dataPlane, "dataplane", true, "give contrail-sim's bound ports a kernel data plane")
	flag.Parse()
	if cfg.rounds < 1 || cfg.maxDelay < 0 {
		fmt.Fprintln(os.Stderr, "bench/agentdelay: -rounds must be positive and -max-delay not negative")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "bench/agentdelay:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, cfg config) error {
	if os.Geteuid() != 0 {
		return errors.New("must run as root: it creates network namespaces and links")
	}
	plugin, err := filepath.Abs(cfg.contrailVIF)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "cvifbench-agentdelay-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	fix, err := simfixture.Start(simfixture.Options{DataPlane: cfg.dataPlane, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		return err
	}

	rng := rand.New(rand.NewPCG(cfg.seed, cfg.seed))
	conf := fix.NetConf("cvifbench-vif", filepath.Join(tmp, "state"))
	var delays, totals []float64
	raw := stats.Table{Header: []string{"round", "wait_before_config_ms", "ref_to_add_return_ms", "add_total_ms"}}
	for i := range cfg.rounds {
		if err = ctx.Err(); err != nil {
			break
		}
		wait := time.Duration(rng.Int64N(int64(cfg.maxDelay) + 1))
		var delay, total time.Duration
		delay, total, err = round(ctx, fix, plugin, conf, i, wait)
		if err != nil {
			err = fmt.Errorf("round %d: %w", i, err)
			break
		}
		delays = append(delays, float64(delay.Microseconds())/1000)
		totals = append(totals, float64(total.Microseconds())/1000)
		raw.Add(i, float64(wait.Microseconds())/1000, delays[len(delays)-1], totals[len(totals)-1])
	}
	if closeErr := fix.Close(); closeErr != nil {
		err = errors.Join(err, fmt.Errorf("stop simulator: %w", closeErr))
	}
	if err != nil {
		return err
	}
	return write(cfg, plugin, delays, totals, raw)
}

// round runs one ADD that starts wait before the attachment's config is
// created, and its DEL. It returns the time from the ref update to the end
// of ADD, and the whole ADD.
func round(ctx context.Context, fix *simfixture.Fixture, plugin string, conf []byte, i int, wait time.Duration) (time.Duration, time.Duration, error) {
	netns, err := testutils.NewNS()
	if err != nil {
		return 0, 0, fmt.Errorf("create network namespace: %w", err)
	}
	defer func() {
		_ = netns.Close()
		_ = testutils.UnmountNS(netns)
	}()

	att := simfixture.NewAttachment(fmt.Sprintf("late-%d", i), "net1")
	call := cniexec.Call{
		Plugin: plugin, Command: "ADD", ContainerID: fmt.Sprintf("cvifbench-late-%d", i), Netns: netns.Path(),
		IfName: att.IfName, Args: att.CNIArgs(), Path: filepath.Dir(plugin), Stdin: conf,
	}
	type outcome struct {
		out cniexec.Outcome
		end time.Time
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		out, err := cniexec.Run(ctx, call)
		done <- outcome{out: out, end: time.Now(), err: err}
	}()

	configErr := createLate(ctx, fix, att, wait)
	linked := time.Now()
	if configErr == nil {
		configErr = fix.Link(ctx, att)
	}
	add := <-done
	err = errors.Join(configErr, add.err)
	if err == nil {
		err = unplug(ctx, call, add.out.Stdout, netns)
	}
	err = errors.Join(err, fix.DeleteConfig(ctx, att))
	if err != nil {
		return 0, 0, err
	}
	return add.end.Sub(linked), add.out.Duration, nil
}

// createLate waits, then creates the attachment's VM, VMI and instance-ip.
func createLate(ctx context.Context, fix *simfixture.Fixture, att simfixture.Attachment, wait time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(wait):
	}
	return fix.CreateConfig(ctx, att)
}

// unplug runs DEL with the ADD result.
func unplug(ctx context.Context, call cniexec.Call, result []byte, netns ns.NetNS) error {
	stdin, err := cniexec.WithPrevResult(call.Stdin, result)
	if err != nil {
		return err
	}
	call.Command, call.Stdin = "DEL", stdin
	_, err = cniexec.Run(ctx, call)
	return err
}

func write(cfg config, plugin string, delays, totals []float64, raw stats.Table) error {
	delay, err := stats.Summarize(delays, "ms")
	if err != nil {
		return err
	}
	total, err := stats.Summarize(totals, "ms")
	if err != nil {
		return err
	}
	r := map[string]any{
		"benchmark": cfg.label,
		"machine":   stats.DescribeMachine(),
		"setup": map[string]any{
			"rounds": cfg.rounds, "maxWaitBeforeConfig": cfg.maxDelay.String(), "seed": cfg.seed,
			"contrailVIF": plugin, "simulatorDataPlane": cfg.dataPlane,
			"sample": "time from sending the virtual-router ref update (the VMI reaches the agent) to the ADD process exiting",
		},
		"timings": map[string]stats.Summary{"ref_to_add_return": delay, "add_total": total},
		"figures": map[string]float64{"agent_config_to_add_ms_p50": stats.Round(delay.P50, 1)},
	}
	if err := stats.WriteJSON(cfg.out, cfg.label+".json", r); err != nil {
		return err
	}
	return raw.Write(cfg.out, cfg.label+"-samples.csv")
}
