package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/contrail-vif/contrail-vif/bench/internal/stats"
)

// request is one HTTP request of a load phase, built before the clock
// starts so that the phase measures the server rather than JSON encoding.
type request struct {
	method string
	url    string
	body   []byte
}

// phaseResult is the outcome of one load phase.
type phaseResult struct {
	Count     int           `json:"count"`
	DurationS float64       `json:"duration_s"`
	PerS      float64       `json:"per_s"`
	LatencyMS stats.Summary `json:"latency_ms"`
}

// newHTTPClient returns a client that keeps one connection per concurrent
// client open, so that each phase measures requests rather than TCP
// handshakes.
func newHTTPClient(clients int) *http.Client {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConns = clients
	transport.MaxIdleConnsPerHost = clients
	return &http.Client{Transport: transport, Timeout: 30 * time.Second}
}

// runPhase sends every request of reqs with clients concurrent senders and
// returns the throughput and latencies. Each response must have status 200.
// It stops at the first failure, or when ctx ends.
func runPhase(ctx context.Context, client *http.Client, clients int, reqs []request) (phaseResult, error) {
	if len(reqs) == 0 {
		return phaseResult{}, errors.New("no requests to send")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	latencies := make([]float64, len(reqs))
	var next atomic.Int64
	var firstErr error
	var errOnce sync.Once
	var wg sync.WaitGroup

	start := time.Now()
	for range min(clients, len(reqs)) {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= len(reqs) {
					return
				}
				began := time.Now()
				if err := send(ctx, client, reqs[i]); err != nil {
					errOnce.Do(func() {
						firstErr = err
						cancel()
					})
					return
				}
				latencies[i] = stats.Millis(time.Since(began).Nanoseconds())
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)

	if firstErr != nil {
		return phaseResult{}, firstErr
	}
	if err := ctx.Err(); err != nil {
		return phaseResult{}, fmt.Errorf("phase stopped after %s: %w", elapsed.Round(time.Millisecond), err)
	}
	summary, err := stats.Summarize(latencies, "ms")
	if err != nil {
		return phaseResult{}, err
	}
	return phaseResult{
		Count:     len(reqs),
		DurationS: stats.Round(elapsed.Seconds(), 3),
		PerS:      stats.Round(float64(len(reqs))/elapsed.Seconds(), 1),
		LatencyMS: summary,
	}, nil
}

// send sends req and reads the whole response, which must have status 200.
func send(ctx context.Context, client *http.Client, req request) error {
	var body io.Reader
	if req.body != nil {
		body = bytes.NewReader(req.body)
	}
	httpReq, err := http.NewRequestWithContext(ctx, req.method, req.url, body)
	if err != nil {
		return fmt.Errorf("build request %s %s: %w", req.method, req.url, err)
	}
	if req.body != nil {
		httpReq.Header.Set("Content-Type", "application/json")
	}
	resp, err := client.Do(httpReq)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("read response to %s %s: %w", req.method, req.url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: status %d: %s", req.method, req.url, resp.StatusCode, data)
	}
	return nil
}
