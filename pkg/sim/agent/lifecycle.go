package agent

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"
)

// errNotServing is returned by Stop and Restart when Serve does not run.
var errNotServing = errors.New("agent is not serving: Stop and Restart need a running Serve")

// serveState is the listener state of a running Serve. Server.lifeMu
// guards it.
type serveState struct {
	network string
	addr    string
	// listener is the open listener, nil while the agent is stopped.
	listener net.Listener
	// conns are the open connections with the functions that cancel their
	// requests.
	conns map[net.Conn]context.CancelFunc
	// restarted hands Restart's new listener to Serve.
	restarted chan net.Listener
	// ended is set when Serve's context is done or Serve returns.
	ended bool
}

// beginServe records that Serve runs on l.
func (s *Server) beginServe(l net.Listener) (*serveState, error) {
	s.lifeMu.Lock()
	defer s.lifeMu.Unlock()
	if s.serving != nil {
		return nil, fmt.Errorf("serve on %s: the agent already serves on %s", l.Addr(), s.serving.addr)
	}
	st := &serveState{
		network:   l.Addr().Network(),
		addr:      l.Addr().String(),
		listener:  l,
		conns:     map[net.Conn]context.CancelFunc{},
		restarted: make(chan net.Listener, 1),
	}
	s.serving = st
	return st, nil
}

// endServe records that Serve has returned.
func (s *Server) endServe(st *serveState) {
	s.lifeMu.Lock()
	defer s.lifeMu.Unlock()
	if s.serving == st {
		s.serving = nil
	}
}

// shutdownServe closes the listener and every connection of st for good.
func (s *Server) shutdownServe(st *serveState) {
	s.lifeMu.Lock()
	defer s.lifeMu.Unlock()
	st.ended = true
	closeListenerLocked(st)
}

// closeListenerLocked closes the listener and every connection of st. The
// caller holds s.lifeMu.
func closeListenerLocked(st *serveState) {
	if st.listener != nil {
		_ = st.listener.Close()
		st.listener = nil
	}
	for c, cancel := range st.conns {
		cancel()
		_ = c.Close()
	}
}

// stopped reports whether Stop closed l.
func (s *Server) stopped(st *serveState, l net.Listener) bool {
	s.lifeMu.Lock()
	defer s.lifeMu.Unlock()
	return st.listener != l && !st.ended
}

// track records the connection c that l accepted and the function that
// cancels its requests. It returns false when l has been closed meanwhile.
func (s *Server) track(st *serveState, l net.Listener, c net.Conn, cancel context.CancelFunc) bool {
	s.lifeMu.Lock()
	defer s.lifeMu.Unlock()
	if st.ended || st.listener != l {
		return false
	}
	st.conns[c] = cancel
	return true
}

// untrack removes the connection c from the tracked connections.
func (s *Server) untrack(st *serveState, c net.Conn) {
	s.lifeMu.Lock()
	defer s.lifeMu.Unlock()
	delete(st.conns, c)
}

// Addr returns the address the running Serve listens on, also while the
// agent is stopped, and "" when Serve does not run.
func (s *Server) Addr() string {
	s.lifeMu.Lock()
	defer s.lifeMu.Unlock()
	if s.serving == nil {
		return ""
	}
	return s.serving.addr
}

// Stop takes the agent down the way a crashed agent is down: it closes the
// listener, so new connections are refused, and every open connection. The
// subscriptions, the data plane attachments and the port files stay as they
// are. Stopping a stopped agent does nothing. Stop returns an error when
// Serve does not run.
func (s *Server) Stop() error {
	s.lifeMu.Lock()
	defer s.lifeMu.Unlock()
	st := s.serving
	if st == nil {
		return errNotServing
	}
	if st.listener != nil {
		s.logger().Info("agent stopped", "addr", st.addr)
	}
	closeListenerLocked(st)
	return nil
}

// Restart restarts the agent the way a restarted agent process comes back:
// it stops the agent when it runs, clears every subscription, virtual
// gateway, sync version, armed stale sweep and ConfigDelay record, replays
// the port files (LoadPorts), detaches the host interfaces that no replayed
// port binds, and listens again on the same address. It returns an error
// when Serve does not run or the address cannot be bound again, and the
// LoadPorts error, if any, once it listens again.
func (s *Server) Restart() error {
	if err := s.Stop(); err != nil {
		return err
	}

	s.mu.Lock()
	s.initLocked()
	previous := s.boundIfnamesLocked()
	s.resetLocked()
	loadErr := s.loadPortsLocked()
	for ifname := range previous {
		s.releaseLocked(ifname)
	}
	ports, vmPorts := len(s.ports), 0
	for _, vm := range s.vms {
		vmPorts += len(vm)
	}
	s.mu.Unlock()
	if loadErr != nil {
		s.logger().Error("failed to replay port files on restart", "error", loadErr)
	}

	s.lifeMu.Lock()
	defer s.lifeMu.Unlock()
	st := s.serving
	if st == nil || st.ended {
		return errNotServing
	}
	if st.listener != nil {
		// Another Restart got here first.
		return nil
	}
	l, err := net.Listen(st.network, st.addr)
	if err != nil {
		return fmt.Errorf("restart agent: listen on %s: %w", st.addr, err)
	}
	st.listener = l
	// Drop the listener of an earlier Restart that Serve has not taken yet:
	// Stop has closed it.
	select {
	case <-st.restarted:
	default:
	}
	st.restarted <- l
	s.logger().Info("agent restarted", "addr", st.addr, "ports", ports, "vm_ports", vmPorts)
	return loadErr
}

// boundIfnamesLocked returns the host interfaces that subscriptions bind.
// The caller holds s.mu.
func (s *Server) boundIfnamesLocked() map[string]bool {
	names := map[string]bool{}
	for _, sub := range s.ports {
		if sub.Type != PortTypeRemote && sub.SystemName != "" {
			names[sub.SystemName] = true
		}
	}
	for _, vm := range s.vms {
		for _, sub := range vm {
			names[sub.HostIfname] = true
		}
	}
	return names
}

// resetLocked clears the agent's in-memory state, as a process exit
// would. It does not touch the data plane. The caller holds s.mu.
func (s *Server) resetLocked() {
	s.stopStaleTimersLocked()
	s.ports = map[string]*portSubscription{}
	s.vms = map[string]map[string]*vmSubscription{}
	s.gateways = map[string]gatewayConfig{}
	s.version = 0
	s.firstSeen = map[string]time.Time{}
	s.vmNames = map[string]string{}
}
