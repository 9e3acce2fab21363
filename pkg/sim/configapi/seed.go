package configapi

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
)

// EnsureProject returns the uuid of the project with fq-name
// [domain, project], creating it, and its domain, when missing.
func (s *Server) EnsureProject(fq []string) (string, error) {
	if len(fq) != 2 {
		return "", fmt.Errorf("ensure project %q: fq-name must be [domain, project]", strings.Join(fq, ":"))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ensureProjectLocked(fq)
}

func (s *Server) ensureProjectLocked(fq []string) (string, error) {
	if _, err := s.ensureLocked(typeDomain, fq[:1], nil); err != nil {
		return "", err
	}
	return s.ensureLocked(typeProject, fq, map[string]any{"parent_type": typeDomain})
}

// EnsureVirtualNetwork returns the uuid of the virtual network with fq-name
// [domain, project, network], creating it, and its project, when missing.
// A new network refers to default-domain:default-project:default-network-ipam
// (created when missing) with subnets in network_ipam_refs[0].attr, and the
// server fills each subnet's gateway (last address - 1), DNS server address
// (last - 2) and subnet_uuid. An existing network is returned unchanged,
// whatever its subnets.
func (s *Server) EnsureVirtualNetwork(fq []string, subnets []netip.Prefix) (string, error) {
	if len(fq) != 3 {
		return "", fmt.Errorf("ensure virtual-network %q: fq-name must be [domain, project, network]", strings.Join(fq, ":"))
	}
	s.mu.Lock()
	defer s.mu.Unlock()

	if vn, ok := s.store.lookupFQName(typeVirtualNetwork, fq); ok {
		return vn.uuid, nil
	}
	if _, err := s.ensureProjectLocked(fq[:2]); err != nil {
		return "", err
	}
	if _, err := s.ensureProjectLocked(defaultProject); err != nil {
		return "", err
	}
	if _, err := s.ensureLocked(typeNetworkIPAM, defaultNetworkIPAM, map[string]any{"parent_type": typeProject}); err != nil {
		return "", err
	}

	body := map[string]any{"parent_type": typeProject}
	if len(subnets) > 0 {
		var entries []any
		for _, p := range subnets {
			entries = append(entries, map[string]any{
				"subnet": map[string]any{"ip_prefix": p.Masked().Addr().String(), "ip_prefix_len": p.Bits()},
			})
		}
		body["network_ipam_refs"] = []any{map[string]any{
			"to":   defaultNetworkIPAM,
			"attr": map[string]any{"ipam_subnets": entries},
		}}
	}
	return s.ensureLocked(typeVirtualNetwork, fq, body)
}

// EnsureVirtualRouter returns the uuid of the virtual router of node, with
// fq-name ["default-global-system-config", node], creating it, and the
// global system config, when missing.
func (s *Server) EnsureVirtualRouter(node string) (string, error) {
	if node == "" || strings.Contains(node, ":") {
		return "", fmt.Errorf("ensure virtual-router %q: invalid node name", node)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.ensureLocked(typeGlobalSystemConfig, defaultGlobalSystemConfig, nil); err != nil {
		return "", err
	}
	fq := []string{defaultGlobalSystemConfig[0], node}
	return s.ensureLocked(typeVirtualRouter, fq, map[string]any{"parent_type": typeGlobalSystemConfig})
}

// ensureLocked returns the uuid of the object typ with fq-name fq, or
// creates it from body through the same path as POST /<type>s. The caller
// holds s.mu.
func (s *Server) ensureLocked(typ string, fq []string, body map[string]any) (string, error) {
	if o, ok := s.store.lookupFQName(typ, fq); ok {
		return o.uuid, nil
	}

	raw := map[string]json.RawMessage{}
	for key, value := range body {
		b, err := json.Marshal(value)
		if err != nil {
			return "", fmt.Errorf("create %s %q: encode %s: %w", typ, strings.Join(fq, ":"), key, err)
		}
		raw[key] = b
	}
	raw["fq_name"], _ = json.Marshal(fq)

	o, err := s.store.create(typ, raw)
	if err != nil {
		return "", fmt.Errorf("create %s %q: %w", typ, strings.Join(fq, ":"), err)
	}
	s.logger.Info("created config object", "type", typ, "fq_name", strings.Join(fq, ":"), "uuid", o.uuid)
	return o.uuid, nil
}
