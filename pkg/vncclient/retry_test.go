package vncclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// fastRetry retries quickly so that tests stay short.
func fastRetry(attempts int) RetryPolicy {
	return RetryPolicy{MaxAttempts: attempts, InitialBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond, MaxElapsed: 5 * time.Second}
}

// observation is one call of Client.Observer.
type observation struct {
	op     string
	status int
}

// recorder collects Observer calls.
type recorder struct {
	mu  sync.Mutex
	obs []observation
}

func (r *recorder) observe(op string, status int, d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.obs = append(r.obs, observation{op, status})
}

func (r *recorder) statuses() []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []int
	for _, o := range r.obs {
		out = append(out, o.status)
	}
	return out
}

// scriptedServer responds to the n-th request with statuses[n], repeating
// the last status after the end, and with a JSON body for 2xx.
func scriptedServer(t *testing.T, statuses ...int) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var calls atomic.Int32
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := int(calls.Add(1)) - 1
		status := statuses[min(n, len(statuses)-1)]
		if status >= 200 && status < 300 {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			_, _ = io.WriteString(w, `{"uuid":"8c84ff8a-1111-4222-8333-444455556666"}`)
			return
		}
		http.Error(w, fmt.Sprintf("scripted status %d", status), status)
	}))
	t.Cleanup(ts.Close)
	return ts, &calls
}

func newTestClient(url string, retry RetryPolicy) (*Client, *recorder) {
	c := New(url, 5*time.Second)
	c.Retry = retry
	rec := &recorder{}
	c.Observer = rec.observe
	return c, rec
}

func TestRetryOn503ThenSuccess(t *testing.T) {
	ts, calls := scriptedServer(t, 503, 503, 200)
	c, rec := newTestClient(ts.URL, fastRetry(5))

	id, err := c.FQNameToID(context.Background(), TypeVirtualNetwork, []string{"d", "p", "vn"})
	if err != nil {
		t.Fatalf("FQNameToID: %v", err)
	}
	if id != "8c84ff8a-1111-4222-8333-444455556666" {
		t.Errorf("uuid = %q", id)
	}
	if got := calls.Load(); got != 3 {
		t.Errorf("requests = %d, want 3", got)
	}
	if got := fmt.Sprint(rec.statuses()); got != "[503 503 200]" {
		t.Errorf("observed statuses = %s, want [503 503 200]", got)
	}
	for _, o := range rec.obs {
		if o.op != "fqname-to-id" {
			t.Errorf("observed op = %q, want fqname-to-id", o.op)
		}
	}
}

func TestRetryOnGatewayStatuses(t *testing.T) {
	for _, status := range []int{http.StatusBadGateway, http.StatusGatewayTimeout} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			ts, calls := scriptedServer(t, status, 200)
			c, _ := newTestClient(ts.URL, fastRetry(3))
			if err := c.Delete(context.Background(), TypeVirtualMachine, "8c84ff8a-1111-4222-8333-444455556666"); err != nil {
				t.Fatalf("Delete: %v", err)
			}
			if got := calls.Load(); got != 2 {
				t.Errorf("requests = %d, want 2", got)
			}
		})
	}
}

func TestNoRetryOnOtherStatuses(t *testing.T) {
	tests := []struct {
		status int
		is     func(error) bool
	}{
		{http.StatusBadRequest, IsBadRequest},
		{http.StatusNotFound, IsNotFound},
		{http.StatusConflict, IsConflict},
		{http.StatusInternalServerError, func(err error) bool { return hasStatus(err, http.StatusInternalServerError) }},
		{http.StatusForbidden, func(err error) bool { return hasStatus(err, http.StatusForbidden) }},
	}
	for _, tt := range tests {
		t.Run(http.StatusText(tt.status), func(t *testing.T) {
			ts, calls := scriptedServer(t, tt.status, 200)
			c, rec := newTestClient(ts.URL, fastRetry(5))
			err := c.Create(context.Background(), TypeVirtualMachine, VirtualMachine{FQName: []string{"vm"}})
			if !tt.is(err) {
				t.Fatalf("error = %v, want status %d", err, tt.status)
			}
			if got := calls.Load(); got != 1 {
				t.Errorf("requests = %d, want 1", got)
			}
			if got := rec.statuses(); len(got) != 1 || got[0] != tt.status {
				t.Errorf("observed statuses = %v, want [%d]", got, tt.status)
			}
			var apiErr *APIError
			if !errors.As(err, &apiErr) || apiErr.Message != fmt.Sprintf("scripted status %d", tt.status) {
				t.Errorf("APIError = %+v, want the plain-text body as Message", apiErr)
			}
			if strings.Contains(err.Error(), "gave up") {
				t.Errorf("error %q mentions retries for a single attempt", err)
			}
		})
	}
}

func TestRetryCountBounded(t *testing.T) {
	ts, calls := scriptedServer(t, 503)
	c, _ := newTestClient(ts.URL, fastRetry(3))

	err := c.Delete(context.Background(), TypeVirtualMachine, "8c84ff8a-1111-4222-8333-444455556666")
	if !hasStatus(err, http.StatusServiceUnavailable) {
		t.Fatalf("error = %v, want the last 503", err)
	}
	if got := calls.Load(); got != 3 {
		t.Errorf("requests = %d, want 3", got)
	}
	if !strings.Contains(err.Error(), "gave up after 3 attempts") {
		t.Errorf("error %q does not give the attempt count", err)
	}
}

func TestRetryTimeBounded(t *testing.T) {
	ts, calls := scriptedServer(t, 503)
	policy := RetryPolicy{MaxAttempts: 1000, InitialBackoff: 20 * time.Millisecond, MaxBackoff: 20 * time.Millisecond, MaxElapsed: 200 * time.Millisecond}
	c, _ := newTestClient(ts.URL, policy)

	start := time.Now()
	err := c.Delete(context.Background(), TypeVirtualMachine, "8c84ff8a-1111-4222-8333-444455556666")
	elapsed := time.Since(start)
	if !hasStatus(err, http.StatusServiceUnavailable) {
		t.Fatalf("error = %v, want 503", err)
	}
	// Each wait is 10-20ms, so 200ms allows between 10 and 21 attempts.
	if n := calls.Load(); n < 2 || n > 25 {
		t.Errorf("requests = %d, want between 2 and 25 within MaxElapsed", n)
	}
	if elapsed > 2*time.Second {
		t.Errorf("took %v, want about MaxElapsed (200ms)", elapsed)
	}
}

func TestNoRetriesWithZeroPolicy(t *testing.T) {
	ts, calls := scriptedServer(t, 503, 200)
	c := &Client{BaseURL: ts.URL}
	if err := c.Delete(context.Background(), TypeVirtualMachine, "x"); !hasStatus(err, http.StatusServiceUnavailable) {
		t.Fatalf("error = %v, want 503", err)
	}
	if got := calls.Load(); got != 1 {
		t.Errorf("requests = %d, want 1 with the zero RetryPolicy", got)
	}
}

func TestConnectionRefusedRetriedThenFails(t *testing.T) {
	// Take a free loopback port and close it, so that connecting is refused.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + l.Addr().String()
	l.Close()
	c, rec := newTestClient(url, fastRetry(3))

	_, err = c.FQNameToID(context.Background(), TypeVirtualNetwork, []string{"d", "p", "vn"})
	if err == nil {
		t.Fatal("FQNameToID against a closed port succeeded")
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("error %v is not ECONNREFUSED", err)
	}
	for _, want := range []string{url + "/fqname-to-id", "gave up after 3 attempts", `look up virtual-network "d:p:vn"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
	if got := fmt.Sprint(rec.statuses()); got != "[0 0 0]" {
		t.Errorf("observed statuses = %s, want [0 0 0]", got)
	}
}

func TestRetryStopsWhenContextEnds(t *testing.T) {
	ts, calls := scriptedServer(t, 503)
	c, _ := newTestClient(ts.URL, RetryPolicy{MaxAttempts: 5, InitialBackoff: time.Minute})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()

	start := time.Now()
	err := c.Delete(ctx, TypeVirtualMachine, "x")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error = %v, want context.DeadlineExceeded", err)
	}
	if !hasStatus(err, http.StatusServiceUnavailable) {
		t.Errorf("error = %v, want it to keep the last 503", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("took %v, want the wait to end with the context", time.Since(start))
	}
	if got := calls.Load(); got != 1 {
		t.Errorf("requests = %d, want 1", got)
	}
}

// TestCreateRetryAfterLostReply checks the case that makes a create safe to
// retry: the first attempt creates the object but its reply is lost, and
// the retry gets 409, which callers treat as "exists".
func TestCreateRetryAfterLostReply(t *testing.T) {
	var calls atomic.Int32
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			_, _ = io.Copy(io.Discard, r.Body)
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
			return
		}
		http.Error(w, "8c84ff8a-1111-4222-8333-444455556666 already exists with fq_name: ['vm']", http.StatusConflict)
	}))
	t.Cleanup(ts.Close)
	c, _ := newTestClient(ts.URL, fastRetry(3))

	err := c.Create(context.Background(), TypeVirtualMachine, VirtualMachine{UUID: "8c84ff8a-1111-4222-8333-444455556666", FQName: []string{"vm"}})
	if !IsConflict(err) {
		t.Fatalf("error = %v, want 409 from the retry", err)
	}
	if got := calls.Load(); got != 2 {
		t.Errorf("requests = %d, want 2", got)
	}
}

func TestRetryDelay(t *testing.T) {
	p := RetryPolicy{InitialBackoff: 100 * time.Millisecond, MaxBackoff: time.Second}
	tests := []struct {
		attempt int
		full    time.Duration
	}{
		{1, 100 * time.Millisecond},
		{2, 200 * time.Millisecond},
		{4, 800 * time.Millisecond},
		{5, time.Second},
		{100, time.Second},
	}
	for _, tt := range tests {
		for range 50 {
			d := p.delay(tt.attempt)
			if d < tt.full/2 || d > tt.full {
				t.Fatalf("delay(%d) = %v, want within [%v, %v]", tt.attempt, d, tt.full/2, tt.full)
			}
		}
	}
	if d := (RetryPolicy{}).delay(1); d < 50*time.Millisecond || d > 100*time.Millisecond {
		t.Errorf("zero policy delay(1) = %v, want 50-100ms", d)
	}
	if d := (RetryPolicy{InitialBackoff: time.Second}).delay(200); d <= 0 {
		t.Errorf("uncapped delay(200) = %v, want a positive duration", d)
	}
}
