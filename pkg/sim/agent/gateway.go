package agent

import (
	"net/http"
	"net/netip"
)

// gatewayConfig is one simple virtual gateway of POST /gateway: a host
// interface that connects a routing instance to the host.
type gatewayConfig struct {
	Interface       string
	RoutingInstance string
	Subnets         []gatewayPrefix
	Routes          []gatewayPrefix
}

// gatewayPrefix is an element of "subnets" or "routes". The agent does not
// check the prefix length.
type gatewayPrefix struct {
	Address   netip.Addr
	PrefixLen int
}

// postGateway handles POST /gateway: a JSON array of virtual gateways,
// added all or none. The simulator records them but has no data plane for
// them.
func (s *Server) postGateway(_ *http.Request, body []byte, _ []string) reply {
	v, ok := decodeJSON(body)
	if !ok {
		return errorReply(http.StatusInternalServerError, "{ Invalid Json string ==> "+string(body)+" }")
	}
	elems, ok := v.([]any)
	if !ok {
		return errorReply(http.StatusInternalServerError, "{ Unexpected Json string (not an array) ==> "+string(body)+" }")
	}

	gateways := make([]gatewayConfig, 0, len(elems))
	for _, elem := range elems {
		obj, ok := asObject(elem)
		if !ok {
			return errorReply(http.StatusInternalServerError, "{ Json Array has invalid element ==> "+string(body)+" }")
		}
		gw, missing := parseGateway(obj)
		if missing != "" {
			s.logger().Warn("rejected gateway request", "missing", missing)
			return errorReply(http.StatusInternalServerError,
				"{ Json string does not have all required members, "+missing+" is missing ==> "+string(body)+" }")
		}
		gateways = append(gateways, gw)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	s.initLocked()
	for _, gw := range gateways {
		s.gateways[gw.Interface] = gw
		s.logger().Info("added virtual gateway", "interface", gw.Interface, "routing_instance", gw.RoutingInstance,
			"subnets", len(gw.Subnets), "routes", len(gw.Routes))
	}
	return okReply()
}

// parseGateway validates one POST /gateway element in the agent's order. It
// returns the name the agent's message gives to the first invalid member,
// or "" when the element is valid.
func parseGateway(o jsonObject) (gatewayConfig, string) {
	var gw gatewayConfig
	var ok bool
	if gw.Interface, ok = o.stringMember("interface", nil); !ok {
		return gw, "interface"
	}
	if gw.RoutingInstance, ok = o.stringMember("routing-instance", nil); !ok {
		return gw, "routing-instance"
	}
	subnets, ok := o["subnets"].([]any)
	if !ok {
		return gw, "subnets"
	}
	if gw.Subnets, ok = parseGatewayPrefixes(subnets); !ok {
		return gw, "subnets value"
	}
	routes, ok := o["routes"].([]any)
	if !ok {
		return gw, "routes"
	}
	if gw.Routes, ok = parseGatewayPrefixes(routes); !ok {
		return gw, "routes value"
	}
	return gw, ""
}

// parseGatewayPrefixes parses an array of {"ip-address": IPv4 string,
// "prefix-len": int} objects.
func parseGatewayPrefixes(elems []any) ([]gatewayPrefix, bool) {
	out := make([]gatewayPrefix, 0, len(elems))
	for _, elem := range elems {
		obj, ok := asObject(elem)
		if !ok {
			return nil, false
		}
		text, ok := obj.stringMember("ip-address", nil)
		if !ok {
			return nil, false
		}
		plen, ok := obj.intMember("prefix-len", nil)
		if !ok {
			return nil, false
		}
		addr, err := netip.ParseAddr(text)
		if err != nil || !addr.Is4() {
			return nil, false
		}
		out = append(out, gatewayPrefix{Address: addr, PrefixLen: int(plen)})
	}
	return out, true
}

// deleteGateway handles DELETE /gateway: a JSON array of
// {"interface": name} objects. On any invalid body the agent replies 500
// with the body {"error":"{}"}, because its handler sends an empty string
// instead of the message it built. The simulator logs the message.
func (s *Server) deleteGateway(_ *http.Request, body []byte, _ []string) reply {
	v, ok := decodeJSON(body)
	if !ok {
		s.logger().Warn("rejected gateway delete: invalid JSON", "body", string(body))
		return errorReply(http.StatusInternalServerError, "{}")
	}
	elems, ok := v.([]any)
	if !ok {
		s.logger().Warn("rejected gateway delete: not an array", "body", string(body))
		return errorReply(http.StatusInternalServerError, "{}")
	}
	names := make([]string, 0, len(elems))
	for _, elem := range elems {
		obj, ok := asObject(elem)
		if !ok {
			s.logger().Warn("rejected gateway delete: array element is not an object", "body", string(body))
			return errorReply(http.StatusInternalServerError, "{}")
		}
		name, ok := obj.stringMember("interface", nil)
		if !ok {
			s.logger().Warn("rejected gateway delete: missing or invalid interface", "body", string(body))
			return errorReply(http.StatusInternalServerError, "{}")
		}
		names = append(names, name)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	s.initLocked()
	for _, name := range names {
		delete(s.gateways, name)
		s.logger().Info("deleted virtual gateway", "interface", name)
	}
	return okReply()
}
