package plugin

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
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

// TestAddRollbackRetriesUnbind checks that when the agent takes a bind but
// restarts before it replies, the failed ADD's rollback unbinds the port
// once the agent is back, so no binding or port file outlives the ADD.
func TestAddRollbackRetriesUnbind(t *testing.T) {
	e := newTestEnv(t)
	podNS := newNS(t)
	pod := newTestPod("web")
	vmi := e.addVMI(pod, "net1", "10.77.0.3")
	front := newAgentFront(t, e.agent, nil)
	target, err := url.Parse(e.agent.URL())
	if err != nil {
		t.Fatal(err)
	}
	backend := httputil.NewSingleHostReverseProxy(target)

	// The first POST /port reaches the agent but its reply is lost, and
	// every DELETE /port fails for 300ms after that, as during a restart.
	var posts, dropped atomic.Int32
	var back atomic.Int64
	front.setFault(func(w http.ResponseWriter, r *http.Request) bool {
		switch {
		case r.Method == http.MethodPost && r.URL.Path == "/port" && posts.Add(1) == 1:
			backend.ServeHTTP(httptest.NewRecorder(), r)
			back.Store(time.Now().Add(300 * time.Millisecond).UnixNano())
		case r.Method == http.MethodDelete && strings.HasPrefix(r.URL.Path, "/port/") && time.Now().UnixNano() < back.Load():
			dropped.Add(1)
		default:
			return false
		}
		conn, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			t.Errorf("hijack connection: %v", err)
			return false
		}
		_ = conn.Close()
		return true
	})

	conf := e.config("1.1.0", map[string]any{"agentURL": front.URL(), "agentTimeout": "5s"})
	if _, err := e.plugin.Add(context.Background(), e.args(pod, podNS, "c1", "net1", conf)); err == nil {
		t.Fatal("Add succeeded although the bind reply was lost")
	}

	if dropped.Load() == 0 {
		t.Fatal("no DELETE /port met the restarting agent")
	}
	if got := e.agent.boundTo(vmi); got != "" {
		t.Errorf("port of VMI %s still bound to %q after the rollback", vmi, got)
	}
	if link(t, e.hostNS, pod.tap("net1")) != nil {
		t.Error("tap left behind after the rollback")
	}
}
