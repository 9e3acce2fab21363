package agent

import "net/http"

// enablePort handles PUT /enable-port/<uuid>, which sets the link state of
// a remote port (type 2) up.
func (s *Server) enablePort(_ *http.Request, _ []byte, match []string) reply {
	return s.setLinkState(match[1], 1)
}

// disablePort handles PUT /disable-port/<uuid>, which sets the link state
// of a remote port (type 2) down.
func (s *Server) disablePort(_ *http.Request, _ []byte, match []string) reply {
	return s.setLinkState(match[1], 0)
}

// setLinkState sets the link state of the remote port vmiUUID and rewrites
// its file when the state changes. The agent's messages for these routes
// have no spaces inside the braces.
func (s *Server) setLinkState(vmiUUID string, state int) reply {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.initLocked()

	sub, ok := s.ports[vmiUUID]
	if vmiUUID == nilUUID || !ok {
		return errorReply(http.StatusInternalServerError, "{Port Not found "+vmiUUID+"}")
	}
	if sub.Type != PortTypeRemote {
		return errorReply(http.StatusInternalServerError, "{Incorrect Port type for "+vmiUUID+"}")
	}
	if sub.LinkState == state {
		return okReply()
	}

	sub.LinkState = state
	if err := s.writePortFile(sub, true); err != nil {
		// The agent logs the failure and still returns 200.
		s.logger().Error("failed to write port file with the new link state", "vmi", vmiUUID, "link_state", state, "error", err)
	}
	s.logger().Info("set link state of remote port", "vmi", vmiUUID, "link_state", state)
	return okReply()
}
