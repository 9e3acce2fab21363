package configapi

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"
)

// FaultsPath is the simulator's own control route for fault injection. It
// is not part of Contrail's API; tests use it to slow the config API down
// or make it fail while other processes talk to it.
const FaultsPath = "/_sim/faults"

// Faults describes injected misbehaviour of the config API.
type Faults struct {
	// Latency delays every API request before it is handled.
	Latency Duration `json:"latency"`
	// Unavailable makes every API request return 503, as Contrail's
	// haproxy does when no API server is up.
	Unavailable bool `json:"unavailable"`
	// ErrorRate is the fraction (0 to 1) of API requests that return 503.
	ErrorRate float64 `json:"errorRate"`
}

// Duration is a time.Duration that reads and writes Go duration strings.
type Duration struct{ time.Duration }

// UnmarshalJSON accepts a duration string such as "50ms".
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration must be a string such as \"50ms\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	d.Duration = v
	return nil
}

// MarshalJSON writes the duration as a Go duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

type faultState struct {
	mu     sync.Mutex
	faults Faults
}

// SetFaults replaces the injected faults; the zero value removes them.
func (s *Server) SetFaults(f Faults) {
	s.faultState.mu.Lock()
	defer s.faultState.mu.Unlock()
	s.faultState.faults = f
}

// CurrentFaults returns the injected faults.
func (s *Server) CurrentFaults() Faults {
	s.faultState.mu.Lock()
	defer s.faultState.mu.Unlock()
	return s.faultState.faults
}

// injectFaults applies the current faults to every request except the
// control route.
func (s *Server) injectFaults(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/_sim/") {
			next.ServeHTTP(w, r)
			return
		}
		f := s.CurrentFaults()
		if f.Latency.Duration > 0 {
			select {
			case <-time.After(f.Latency.Duration):
			case <-r.Context().Done():
				return
			}
		}
		if f.Unavailable || (f.ErrorRate > 0 && rand.Float64() < f.ErrorRate) {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("Service Unavailable"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// handleFaults serves GET (current faults) and PUT (replace them) on FaultsPath.
func (s *Server) handleFaults(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPut {
		var f Faults
		dec := json.NewDecoder(r.Body)
		dec.DisallowUnknownFields()
		if err := dec.Decode(&f); err != nil {
			http.Error(w, "invalid faults: "+err.Error(), http.StatusBadRequest)
			return
		}
		if f.ErrorRate < 0 || f.ErrorRate > 1 {
			http.Error(w, fmt.Sprintf("invalid errorRate %v: expected 0 to 1", f.ErrorRate), http.StatusBadRequest)
			return
		}
		s.SetFaults(f)
		s.logger.Info("config API faults changed", "latency", f.Latency.String(), "unavailable", f.Unavailable, "errorRate", f.ErrorRate)
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(s.CurrentFaults())
}
