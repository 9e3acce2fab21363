package agent

import (
	"net/http"
	"slices"
	"strings"
	"time"
)

// Faults make the simulated agent misbehave the way a slow or broken agent
// does, for tests of its clients. The zero value injects nothing. To take
// the agent down, use Stop and Restart.
type Faults struct {
	// ConfigDelay hides each VMI from the agent's config view until this
	// long after the agent first finds it there, which simulates a control
	// node that is slow to send config to the node. While hidden, the VMI
	// is missing from GET /vm-cfg, GET /port and GET /vm, and a binding
	// takes its VN from the request instead of from config.
	//
	// The simulator has no config feed to watch, so the delay counts from
	// the first request that finds the VMI in config. It starts again after
	// Restart and after the VMI has been seen missing from config.
	ConfigDelay time.Duration
	// Latency delays every request by this long before the agent handles
	// it. A request whose connection closes meanwhile is dropped.
	Latency time.Duration
	// Errors fail matching requests instead of handling them. The first
	// rule that matches a request sends the reply.
	Errors []ErrorRule
}

// ErrorRule makes the agent fail requests instead of handling them.
type ErrorRule struct {
	// Method matches the request method. Empty matches every method.
	Method string
	// PathPrefix matches the start of the URL path. Empty matches every
	// path.
	PathPrefix string
	// Status is the HTTP status of the reply, 500 when zero.
	Status int
	// Message is the error text, sent as {"error":"{ Message }"}, and
	// "simulated failure" when empty.
	Message string
	// Count is the number of requests the rule fails before the agent
	// drops it. Zero fails every matching request.
	Count int
}

// SetFaults replaces the injected faults. It is safe to call while the
// agent serves requests.
func (s *Server) SetFaults(f Faults) {
	f.Errors = slices.Clone(f.Errors)
	s.faultsMu.Lock()
	defer s.faultsMu.Unlock()
	s.faults = f
}

// Faults returns the injected faults. A rule with a Count shows the number
// of requests it has yet to fail, and is gone once it has failed them all.
func (s *Server) Faults() Faults {
	s.faultsMu.Lock()
	defer s.faultsMu.Unlock()
	f := s.faults
	f.Errors = slices.Clone(f.Errors)
	return f
}

// configDelay returns Faults.ConfigDelay.
func (s *Server) configDelay() time.Duration {
	s.faultsMu.Lock()
	defer s.faultsMu.Unlock()
	return s.faults.ConfigDelay
}

// applyFaults waits Faults.Latency, then returns the reply of the first
// error rule that matches r, and false when none does.
func (s *Server) applyFaults(r *http.Request) (reply, bool) {
	s.faultsMu.Lock()
	latency := s.faults.Latency
	s.faultsMu.Unlock()

	if latency > 0 {
		timer := time.NewTimer(latency)
		select {
		case <-timer.C:
		case <-r.Context().Done():
			timer.Stop()
			return errorReply(http.StatusServiceUnavailable, "{ request cancelled }"), true
		}
	}

	s.faultsMu.Lock()
	defer s.faultsMu.Unlock()
	for i := range s.faults.Errors {
		rule := &s.faults.Errors[i]
		if rule.Method != "" && rule.Method != r.Method {
			continue
		}
		if !strings.HasPrefix(r.URL.Path, rule.PathPrefix) {
			continue
		}
		status := rule.Status
		if status == 0 {
			status = http.StatusInternalServerError
		}
		msg := rule.Message
		if msg == "" {
			msg = "simulated failure"
		}
		if rule.Count > 0 {
			rule.Count--
			if rule.Count == 0 {
				s.faults.Errors = slices.Delete(s.faults.Errors, i, i+1)
			}
		}
		return errorReply(status, "{ "+msg+" }"), true
	}
	return reply{}, false
}
