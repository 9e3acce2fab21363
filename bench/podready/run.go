package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/contrail-vif/contrail-vif/bench/internal/stats"
)

func run(ctx context.Context, cfg config) error {
	c, err := connect(cfg)
	if err != nil {
		return err
	}
	watchCtx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()

	samples, runErr := measure(ctx, watchCtx, c)

	cleanupCtx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := c.cleanup(cleanupCtx); err != nil {
		runErr = errors.Join(runErr, fmt.Errorf("clean up: %w", err))
	}
	if runErr != nil {
		return runErr
	}
	return write(cfg, samples)
}

// podSample is one measured pod.
type podSample struct {
	batch int
	name  string
	nad   string
	ms    float64
}

func measure(ctx, watchCtx context.Context, c *cluster) ([]podSample, error) {
	if err := c.prepare(ctx); err != nil {
		return nil, err
	}
	if err := c.watch(watchCtx); err != nil {
		return nil, err
	}
	batches := c.cfg.warmupBatches + c.cfg.pods/c.cfg.batch
	var samples []podSample
	for b := range batches {
		got, err := c.runBatch(ctx, b)
		if err != nil {
			return nil, fmt.Errorf("batch %d: %w", b, err)
		}
		if b >= c.cfg.warmupBatches {
			samples = append(samples, got...)
		}
		fmt.Fprintf(os.Stderr, "bench/podready: batch %d of %d done\n", b+1, batches)
	}
	return samples, nil
}

// runBatch creates one batch of pods at once, half of each kind in
// alternating order (the kind that goes first alternates between batches),
// waits until every pod shows its secondary network, then deletes the batch
// and waits until it is gone.
func (c *cluster) runBatch(ctx context.Context, b int) ([]podSample, error) {
	names := make([]string, c.cfg.batch)
	for i := range names {
		kind := "vif"
		if (i+b)%2 == 1 {
			kind = "br"
		}
		names[i] = fmt.Sprintf("%s-%03d-%02d", kind, b, i)
	}

	sent := make([]time.Time, len(names))
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Go(func() {
			sent[i] = time.Now()
			errs[i] = c.client.Create(ctx, c.pod(name))
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("create pods: %w", err)
	}

	err := c.waitFor(ctx, c.cfg.podTimeout, "the batch's network-status", func() bool {
		for _, n := range names {
			if _, ok := c.ready[n]; !ok {
				return false
			}
		}
		return true
	})
	if err != nil {
		return nil, errors.Join(err, c.describeNotReady(ctx, names))
	}

	c.mu.Lock()
	samples := make([]podSample, len(names))
	for i, n := range names {
		samples[i] = podSample{batch: b, name: n, nad: nadOf(n), ms: float64(c.ready[n].Sub(sent[i]).Microseconds()) / 1000}
	}
	c.mu.Unlock()

	grace := int64(1)
	for _, n := range names {
		err := c.clientset.CoreV1().Pods(c.cfg.namespace).Delete(ctx, n, metav1.DeleteOptions{GracePeriodSeconds: &grace})
		if err != nil {
			return nil, fmt.Errorf("delete pod %s: %w", n, err)
		}
	}
	err = c.waitFor(ctx, c.cfg.podTimeout, "the batch's deletion", func() bool {
		for _, n := range names {
			if !c.gone[n] {
				return false
			}
		}
		return true
	})
	return samples, err
}

// describeNotReady returns the phase and events of the batch's pods that
// did not become ready, as an error for the report.
func (c *cluster) describeNotReady(ctx context.Context, names []string) error {
	var errs []error
	for _, n := range names {
		c.mu.Lock()
		_, ok := c.ready[n]
		c.mu.Unlock()
		if ok {
			continue
		}
		pod, err := c.clientset.CoreV1().Pods(c.cfg.namespace).Get(ctx, n, metav1.GetOptions{})
		if err != nil {
			errs = append(errs, fmt.Errorf("pod %s: %w", n, err))
			continue
		}
		events, _ := c.clientset.CoreV1().Events(c.cfg.namespace).List(ctx, metav1.ListOptions{
			FieldSelector: "involvedObject.name=" + n,
		})
		var msgs []string
		for _, e := range events.Items {
			if e.Type == corev1.EventTypeWarning {
				msgs = append(msgs, e.Reason+": "+e.Message)
			}
		}
		errs = append(errs, fmt.Errorf("pod %s not ready: phase %s, warnings %q", n, pod.Status.Phase, msgs))
	}
	return errors.Join(errs...)
}

func write(cfg config, samples []podSample) error {
	raw := stats.Table{Header: []string{"batch", "pod", "nad", "create_to_network_status_ms"}}
	byNAD := map[string][]float64{}
	for _, s := range samples {
		byNAD[s.nad] = append(byNAD[s.nad], s.ms)
		raw.Add(s.batch, s.name, s.nad, s.ms)
	}
	vif, err := stats.Summarize(byNAD[vifNAD], "ms")
	if err != nil {
		return fmt.Errorf("contrail-vif pods: %w", err)
	}
	bridge, err := stats.Summarize(byNAD[bridgeNAD], "ms")
	if err != nil {
		return fmt.Errorf("bridge pods: %w", err)
	}
	r := map[string]any{
		"benchmark": "podready",
		"machine":   stats.DescribeMachine(),
		"setup": map[string]any{
			"pods": cfg.pods, "batch": cfg.batch, "warmupBatches": cfg.warmupBatches,
			"virtualNetwork": cfg.vn,
			"sample":         "from sending the pod create request to the pod informer seeing network-status with the NAD's entry",
		},
		"timings": map[string]stats.Summary{"contrail_vif_pod_ready": vif, "bridge_pod_ready": bridge},
		"figures": map[string]float64{
			"pod_ready_p50_ratio_vs_bridge_nad": stats.Ratio(vif.P50, bridge.P50),
			"pod_ready_p99_ratio_vs_bridge_nad": stats.Ratio(vif.P99, bridge.P99),
			"pod_ready_vif_p50_ms":              stats.Round(vif.P50, 1),
			"pod_ready_bridge_p50_ms":           stats.Round(bridge.P50, 1),
		},
	}
	if err := stats.WriteJSON(cfg.out, "podready.json", r); err != nil {
		return err
	}
	return raw.Write(cfg.out, "podready-samples.csv")
}
