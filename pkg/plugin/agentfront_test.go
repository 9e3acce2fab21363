package plugin

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netlink"
)

// agentFront is a loopback HTTP server in front of a fakeAgent. It passes
// every request through to the fake agent unless a fault handles it, so a
// test can break one route and keep the others working.
type agentFront struct {
	server *httptest.Server

	mu sync.Mutex
	// fault, when set, receives each request first and reports whether it
	// wrote the reply.
	fault func(w http.ResponseWriter, r *http.Request) bool
}

// newAgentFront starts a front for backend. With a non-nil netns the front
// listens on 127.0.0.1 inside that namespace, so that a plugin process
// started there reaches it. It sets loopback up in netns for that.
func newAgentFront(t *testing.T, backend *fakeAgent, netns ns.NetNS) *agentFront {
	t.Helper()
	target, err := url.Parse(backend.URL())
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	f := &agentFront{}
	f.server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		fault := f.fault
		f.mu.Unlock()
		if fault != nil && fault(w, r) {
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	if netns != nil {
		listener := listenInNS(t, netns)
		_ = f.server.Listener.Close()
		f.server.Listener = listener
	}
	f.server.Start()
	t.Cleanup(f.server.Close)
	return f
}

// listenInNS sets loopback up in netns and returns a TCP listener on a free
// port of 127.0.0.1 there. The socket stays in netns whichever thread
// accepts on it later.
func listenInNS(t *testing.T, netns ns.NetNS) net.Listener {
	t.Helper()
	var listener net.Listener
	err := netns.Do(func(ns.NetNS) error {
		lo, err := netlinksafe.LinkByName("lo")
		if err != nil {
			return err
		}
		if err := netlink.LinkSetUp(lo); err != nil {
			return err
		}
		listener, err = net.Listen("tcp", "127.0.0.1:0")
		return err
	})
	if err != nil {
		t.Fatalf("listen in %s: %v", netns.Path(), err)
	}
	return listener
}

func (f *agentFront) URL() string { return f.server.URL }

// setFault installs fault; nil removes it.
func (f *agentFront) setFault(fault func(w http.ResponseWriter, r *http.Request) bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fault = fault
}

// cannedReply is a raw reply to the requests with method whose path starts
// with pathPrefix.
type cannedReply struct {
	method, pathPrefix string
	code               int
	body               string
}

// replyOn makes the front reply to requests with method whose path starts
// with pathPrefix with status code and the raw body.
func (f *agentFront) replyOn(method, pathPrefix string, code int, body string) {
	f.replyAll(cannedReply{method: method, pathPrefix: pathPrefix, code: code, body: body})
}

// replyAll makes the front reply to each request with the first of replies
// that matches it, and pass the other requests through.
func (f *agentFront) replyAll(replies ...cannedReply) {
	f.setFault(func(w http.ResponseWriter, r *http.Request) bool {
		for _, reply := range replies {
			if r.Method != reply.method || !strings.HasPrefix(r.URL.Path, reply.pathPrefix) {
				continue
			}
			w.Header().Set("Content-Type", "application/json; charset=UTF-8")
			w.WriteHeader(reply.code)
			_, _ = io.WriteString(w, reply.body)
			return true
		}
		return false
	})
}

// hangOn makes the front accept requests with method whose path starts
// with pathPrefix and never reply, until the client gives up or 10 s pass.
func (f *agentFront) hangOn(method, pathPrefix string) {
	f.setFault(func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method != method || !strings.HasPrefix(r.URL.Path, pathPrefix) {
			return false
		}
		timer := time.NewTimer(10 * time.Second)
		defer timer.Stop()
		select {
		case <-r.Context().Done():
		case <-timer.C:
		}
		return true
	})
}
