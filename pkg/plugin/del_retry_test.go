package plugin

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestDelRetriesUnbindWhileAgentRestarts checks that a DEL that meets a
// restarting agent unbinds the port once the agent is back, instead of
// leaving the binding and its port file behind.
func TestDelRetriesUnbindWhileAgentRestarts(t *testing.T) {
	f := newDelFixture(t)
	args := f.addC1()

	// The agent drops the connection of every DELETE /port for 300ms, as a
	// restarting agent does.
	var dropped atomic.Int32
	back := time.Now().Add(300 * time.Millisecond)
	f.front.setFault(func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method != http.MethodDelete || !strings.HasPrefix(r.URL.Path, "/port/") || time.Now().After(back) {
			return false
		}
		dropped.Add(1)
		conn, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			t.Errorf("hijack connection: %v", err)
			return false
		}
		_ = conn.Close()
		return true
	})

	start := time.Now()
	if err := f.e.plugin.Del(context.Background(), args); err != nil {
		t.Fatalf("Del: %v", err)
	}
	if dropped.Load() == 0 {
		t.Fatal("no DELETE /port met the restarting agent")
	}
	if elapsed := time.Since(start); elapsed > 2*time.Second {
		t.Errorf("Del took %v, want it to finish soon after the agent is back", elapsed)
	}
	f.check(delWant{deletes: 1, logs: []string{"msg=detached"}})
}
