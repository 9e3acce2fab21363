package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/contrail-vif/contrail-vif/bench/internal/apicount"
	"github.com/contrail-vif/contrail-vif/bench/internal/stats"
)

// pollInterval is how often the benchmark checks the config API counters.
const pollInterval = 10 * time.Millisecond

// result is the content of controller.json.
type result struct {
	Benchmark string                   `json:"benchmark"`
	Machine   stats.Machine            `json:"machine"`
	Setup     map[string]any           `json:"setup"`
	Timings   map[string]stats.Summary `json:"timings"`
	Phases    map[string]any           `json:"phases"`
	Figures   map[string]float64       `json:"figures"`
}

func run(ctx context.Context, cfg config) error {
	tmp, err := os.MkdirTemp("", "cvifbench-controller-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	sim, err := startSim(cfg)
	if err != nil {
		return err
	}
	k, err := connect(cfg)
	if err != nil {
		return errors.Join(err, sim.close())
	}
	r, runErr := measure(ctx, cfg, sim, k, filepath.Join(tmp, "controller.log"))

	cleanupCtx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cleanupErr := k.cleanup(cleanupCtx)
	closeErr := sim.close()
	if runErr != nil {
		return errors.Join(runErr, cleanupErr, closeErr)
	}
	if err := errors.Join(cleanupErr, closeErr); err != nil {
		return fmt.Errorf("clean up: %w", err)
	}
	return stats.WriteJSON(cfg.out, "controller.json", r)
}

// measure creates the NADs and the pods, starts the controller, waits for
// the bulk phase and then the steady phase, and stops the controller.
func measure(ctx context.Context, cfg config, sim *simAPI, k *kube, logPath string) (*result, error) {
	if err := k.prepare(ctx); err != nil {
		return nil, err
	}
	createStart := time.Now()
	if _, err := k.createPods(ctx, 0, cfg.pods, cfg.createConc); err != nil {
		return nil, err
	}
	createTime := time.Since(createStart)
	fmt.Fprintf(os.Stderr, "bench/controller: created %d pods in %s\n", cfg.pods, createTime.Round(time.Millisecond))

	proc, err := startController(cfg, sim.url, logPath)
	if err != nil {
		return nil, err
	}
	started := time.Now()
	r, err := phases(ctx, cfg, sim, k, proc, started)
	stopErr := proc.stop()
	if err != nil {
		return nil, errors.Join(err, stopErr, logTail(logPath))
	}
	if stopErr != nil {
		return nil, stopErr
	}
	r.Phases["podCreateSeconds"] = stats.Round(createTime.Seconds(), 2)
	return r, nil
}

func phases(ctx context.Context, cfg config, sim *simAPI, k *kube, proc *controllerProcess, started time.Time) (*result, error) {
	// Bulk: every pod exists before the controller starts.
	if err := waitRefAdds(ctx, sim.counter, proc, cfg.pods); err != nil {
		return nil, fmt.Errorf("bulk phase: %w", err)
	}
	bulk := sim.counter.Snapshot()
	bulkPeak, bulkRSS, err := proc.memory()
	if err != nil {
		return nil, err
	}
	bulkCPU, err := proc.cpuSeconds()
	if err != nil {
		return nil, err
	}
	var last time.Time
	for _, t := range sim.counter.RefAddTimes() {
		if t.After(last) {
			last = t
		}
	}
	if bulk.First == nil {
		return nil, errors.New("the config API counted no request")
	}
	bulkSeconds := last.Sub(*bulk.First).Seconds()
	fmt.Fprintf(os.Stderr, "bench/controller: %d attachments in %.2fs after the first config API call\n", cfg.pods, bulkSeconds)

	// Steady: pods arrive one at a time while the caches are warm.
	before := sim.counter.Snapshot()
	sent, err := k.createPods(ctx, cfg.pods, cfg.steadyPods, 1)
	if err != nil {
		return nil, fmt.Errorf("steady phase: %w", err)
	}
	if err := waitRefAdds(ctx, sim.counter, proc, cfg.pods+cfg.steadyPods); err != nil {
		return nil, fmt.Errorf("steady phase: %w", err)
	}
	// Status patches of the last pods may still trigger reconciles; they
	// must not reach the config API, and a short wait lets them show.
	time.Sleep(500 * time.Millisecond)
	steady := sim.counter.Snapshot().Minus(before)
	finalPeak, finalRSS, err := proc.memory()
	if err != nil {
		return nil, err
	}

	refTimes := sim.counter.RefAddTimes()
	var latencies []float64
	for uid, t := range sent {
		linked, ok := refTimes[uid]
		if !ok {
			return nil, fmt.Errorf("steady pod %s was never linked to the virtual-router", uid)
		}
		latencies = append(latencies, float64(linked.Sub(t).Microseconds())/1000)
	}
	latency, err := stats.Summarize(latencies, "ms")
	if err != nil {
		return nil, err
	}

	n := float64(cfg.steadyPods)
	r := &result{
		Benchmark: "controller",
		Machine:   stats.DescribeMachine(),
		Setup: map[string]any{
			"pods": cfg.pods, "nads": cfg.nads, "nodes": cfg.nodes, "steadyPods": cfg.steadyPods, "workers": workersText(cfg.workers),
			"controller": cfg.controller,
			"configAPI":  "in-process contrail-sim config store on loopback; counts from a middleware in bench/internal/apicount",
			"kubernetes": "kube-apiserver of the local cluster; the pods' nodes have no kubelet",
		},
		Timings: map[string]stats.Summary{"steady_pod_create_to_router_link": latency},
		Phases: map[string]any{
			"bulkSecondsFirstCallToLastLink": stats.Round(bulkSeconds, 3),
			"bulkSecondsFromProcessStart":    stats.Round(last.Sub(started).Seconds(), 3),
			"bulkCalls":                      bulk,
			"steadyCalls":                    steady,
			"rssMiBAfterBulk":                stats.Round(bulkRSS, 1),
			"peakRSSMiBAfterBulk":            stats.Round(bulkPeak, 1),
			"rssMiBAtEnd":                    stats.Round(finalRSS, 1),
			"peakRSSMiBAtEnd":                stats.Round(finalPeak, 1),
			"controllerCPUSecondsAfterBulk":  stats.Round(bulkCPU, 2),
		},
		Figures: map[string]float64{
			"controller_attachments_per_s":            stats.Round(float64(cfg.pods)/bulkSeconds, 1),
			"config_api_writes_per_attachment":        stats.Round(float64(steady.Writes)/n, 3),
			"config_api_reads_per_attachment":         stats.Round(float64(steady.Reads)/n, 3),
			"config_api_calls_per_attachment_bulk":    stats.Round(float64(bulk.Reads+bulk.Writes)/float64(cfg.pods), 3),
			"controller_rss_mb_5k_pods":               stats.Round(bulkPeak, 1),
			"controller_steady_attach_latency_p50_ms": stats.Round(latency.P50, 2),
		},
	}
	return r, nil
}

// waitRefAdds waits until n VMs are linked to the virtual-router.
func waitRefAdds(ctx context.Context, counter *apicount.Counter, proc *controllerProcess, n int) error {
	ticker := time.NewTicker(pollInterval)
	defer ticker.Stop()
	for {
		if counter.Snapshot().RefAdds >= n {
			return nil
		}
		if err := proc.running(); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %d linked VMs, have %d: %w", n, counter.Snapshot().RefAdds, ctx.Err())
		case <-ticker.C:
		}
	}
}

func workersText(w int) string {
	if w == 0 {
		return "controller default"
	}
	return fmt.Sprint(w)
}

// logTail returns the end of the controller log as an error, for context.
func logTail(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	const keep = 2000
	if len(data) > keep {
		data = data[len(data)-keep:]
	}
	return fmt.Errorf("end of the controller log:\n%s", data)
}
