// Package apicount counts the calls a Contrail config API server receives,
// split into reads and writes, by wrapping its HTTP handler. The benchmark
// wraps the simulator's handler with it, so the simulator needs no hook.
package apicount

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// maxBody bounds how much of a ref-update body Counter reads to classify it.
const maxBody = 1 << 20

// Counter is an http.Handler middleware that counts requests. It is safe for
// concurrent use.
type Counter struct {
	mu sync.Mutex
	// counts holds the number of requests by operation, such as
	// "create virtual-machine" or "read virtual-machine".
	counts map[string]int64
	// busy holds the time spent in the wrapped handler by operation.
	busy   map[string]time.Duration
	reads  int64
	writes int64
	first  time.Time
	// refAdds holds, by ref uuid, when a ref-update ADD from a
	// virtual-router to a virtual-machine completed: the moment the VM of
	// a pod reaches the node's agent.
	refAdds map[string]time.Time
}

// New returns an empty Counter.
func New() *Counter {
	return &Counter{counts: map[string]int64{}, busy: map[string]time.Duration{}, refAdds: map[string]time.Time{}}
}

// Wrap returns a handler that counts each request and then passes it to next.
func (c *Counter) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		op, write, refUUID := c.classify(r)
		c.mu.Lock()
		if c.first.IsZero() {
			c.first = time.Now()
		}
		c.counts[op]++
		if write {
			c.writes++
		} else {
			c.reads++
		}
		c.mu.Unlock()

		rec := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		start := time.Now()
		next.ServeHTTP(rec, r)
		end := time.Now()
		c.mu.Lock()
		c.busy[op] += end.Sub(start)
		if refUUID != "" && rec.status == http.StatusOK {
			c.refAdds[refUUID] = end
		}
		c.mu.Unlock()
	})
}

// classify names the operation of r and reports whether it writes. For a
// ref-update that adds a ref from a virtual-router to a virtual-machine it
// also returns the VM uuid. fqname-to-id and id-to-fqname are POSTs that
// only read.
func (c *Counter) classify(r *http.Request) (op string, write bool, refUUID string) {
	path := strings.Trim(r.URL.Path, "/")
	first, rest, _ := strings.Cut(path, "/")
	switch {
	case r.Method == http.MethodPost && (path == "fqname-to-id" || path == "id-to-fqname"):
		return path, false, ""
	case r.Method == http.MethodPost && path == "ref-update":
		var body struct {
			Type      string `json:"type"`
			RefType   string `json:"ref-type"`
			RefUUID   string `json:"ref-uuid"`
			Operation string `json:"operation"`
		}
		data, _ := io.ReadAll(io.LimitReader(r.Body, maxBody))
		r.Body = io.NopCloser(bytes.NewReader(data))
		_ = json.Unmarshal(data, &body)
		if body.Operation == "ADD" && body.Type == "virtual-router" && body.RefType == "virtual-machine" {
			refUUID = body.RefUUID
		}
		return "ref-update " + body.Operation + " " + body.Type + "->" + body.RefType, true, refUUID
	case r.Method == http.MethodPost:
		return "create " + strings.TrimSuffix(first, "s"), true, ""
	case r.Method == http.MethodGet && rest == "":
		return "list " + first, false, ""
	case r.Method == http.MethodGet:
		return "read " + first, false, ""
	case r.Method == http.MethodPut:
		return "update " + first, true, ""
	case r.Method == http.MethodDelete:
		return "delete " + first, true, ""
	default:
		return r.Method + " " + first, false, ""
	}
}

// Snapshot is the state of a Counter at one moment.
type Snapshot struct {
	Reads  int64            `json:"reads"`
	Writes int64            `json:"writes"`
	ByOp   map[string]int64 `json:"byOperation"`
	// HandlerMillis is the time the server spent on each operation.
	HandlerMillis map[string]float64 `json:"handlerMillis"`
	// First is when the first request arrived; nil in a difference of two
	// snapshots.
	First *time.Time `json:"first,omitempty"`
	// RefAdds is the number of VMs linked to a virtual-router.
	RefAdds int `json:"refAdds"`
}

// Snapshot returns the current counts.
func (c *Counter) Snapshot() Snapshot {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := Snapshot{Reads: c.reads, Writes: c.writes, ByOp: map[string]int64{}, HandlerMillis: map[string]float64{}, RefAdds: len(c.refAdds)}
	if !c.first.IsZero() {
		first := c.first
		s.First = &first
	}
	for k, v := range c.counts {
		s.ByOp[k] = v
	}
	for k, v := range c.busy {
		s.HandlerMillis[k] = float64(v.Microseconds()) / 1000
	}
	return s
}

// Minus returns the counts of s that arrived after earlier.
func (s Snapshot) Minus(earlier Snapshot) Snapshot {
	d := Snapshot{Reads: s.Reads - earlier.Reads, Writes: s.Writes - earlier.Writes, ByOp: map[string]int64{},
		HandlerMillis: map[string]float64{}, RefAdds: s.RefAdds - earlier.RefAdds}
	for k, v := range s.ByOp {
		if n := v - earlier.ByOp[k]; n != 0 {
			d.ByOp[k] = n
		}
	}
	for k, v := range s.HandlerMillis {
		if ms := v - earlier.HandlerMillis[k]; ms != 0 {
			d.HandlerMillis[k] = ms
		}
	}
	return d
}

// RefAddTimes returns when each VM uuid was linked to a virtual-router.
func (c *Counter) RefAddTimes() map[string]time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]time.Time, len(c.refAdds))
	for k, v := range c.refAdds {
		out[k] = v
	}
	return out
}

// statusWriter records the status code a handler writes.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}
