package agent

import (
	"net/http"
	"slices"
	"time"
)

// syncPorts handles POST /syncports, which a client sends before it adds
// all its ports again, for example after the agent restarted. The agent
// counts the request as a new version and arms a timer. When the timer
// fires, every subscription not added since the request is removed. The
// body is ignored.
func (s *Server) syncPorts(_ *http.Request, _ []byte, _ []string) reply {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.initLocked()

	s.version++
	version := s.version
	timeout := s.StaleCleanupTimeout
	if timeout <= 0 {
		timeout = DefaultStaleCleanupTimeout
	}
	// Each request arms its own timer, as in the agent, so an earlier timer
	// still fires with its own version.
	id := s.nextTimerID
	s.nextTimerID++
	s.staleTimers[id] = time.AfterFunc(timeout, func() { s.staleTimeout(id, version) })
	s.logger().Info("port sync started", "version", version, "stale_cleanup_timeout", timeout)
	return okReply()
}

// staleTimeout runs the stale sweep of the timer id for version, unless
// Close or Restart cancelled the timer.
func (s *Server) staleTimeout(id, version uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.staleTimers[id]; !ok {
		return
	}
	delete(s.staleTimers, id)
	s.sweepStaleLocked(version)
}

// sweepStaleLocked removes the subscriptions last added before version,
// the agent's StaleWalk. The caller holds s.mu.
//
// Namespace ports (type 1) are exempt. POST /vm ports are never exempt,
// because the agent gives them the VM port type. The agent removes a stale
// POST /vm port with DeleteVmVnPort, which removes every port of its VM, so
// ports of that VM added after the sync go too (reading of StaleWalk in
// tf-controller port_subscribe_table.cc). The simulator does the same.
func (s *Server) sweepStaleLocked(version uint64) {
	var stalePorts []string
	for vmiUUID, sub := range s.ports {
		if sub.Type != PortTypeNamespace && sub.version < version {
			stalePorts = append(stalePorts, vmiUUID)
		}
	}
	slices.Sort(stalePorts)
	for _, vmiUUID := range stalePorts {
		s.logger().Info("removing stale port", "vmi", vmiUUID, "version", s.ports[vmiUUID].version, "sync_version", version)
		s.deletePortLocked(vmiUUID)
	}

	var staleVMs []string
	for vmUUID, subs := range s.vms {
		for _, sub := range subs {
			if sub.version < version {
				staleVMs = append(staleVMs, vmUUID)
				break
			}
		}
	}
	slices.Sort(staleVMs)
	for _, vmUUID := range staleVMs {
		s.logger().Info("removing the ports of a VM with a stale port", "vm", vmUUID, "sync_version", version)
		s.deleteVMLocked(vmUUID)
	}
}

// Close cancels the armed stale sweeps. It leaves the ports bound. Serve
// calls it when it returns. Call it after using Handler alone.
func (s *Server) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopStaleTimersLocked()
}

// stopStaleTimersLocked cancels the armed stale sweeps. The caller holds
// s.mu.
func (s *Server) stopStaleTimersLocked() {
	for id, timer := range s.staleTimers {
		timer.Stop()
		delete(s.staleTimers, id)
	}
}
