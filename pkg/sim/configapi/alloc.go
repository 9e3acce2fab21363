package configapi

import (
	"net/http"
	"net/netip"
	"slices"
)

// allocRequest is an instance-ip's request to the address allocator.
type allocRequest struct {
	family     int        // 4 or 6, or 0 for any family
	subnetUUID string     // empty for any subnet of the network
	addr       netip.Addr // invalid unless a specific address is requested
}

// prepareInstanceIP allocates the address of a new instance-ip from its
// virtual network and fills instance_ip_address, instance_ip_family,
// subnet_uuid and instance_ip_subnet.
func (s *store) prepareInstanceIP(iip *object) error {
	vnRef, ok := iip.firstRef(typeVirtualNetwork)
	if !ok {
		return badRequest("Bad Request: instance-ip %s has no virtual_network_refs, so no network to allocate its address from", pyList(iip.fqName))
	}
	vn := s.objects[vnRef.uuid]

	var req allocRequest
	var family string
	if iip.prop("instance_ip_family", &family) {
		switch family {
		case "v4":
			req.family = 4
		case "v6":
			req.family = 6
		default:
			return badRequest("Bad property in create: instance_ip_family: value must be one of ['v4', 'v6'], got %q", family)
		}
	}
	iip.prop("subnet_uuid", &req.subnetUUID)
	var requested string
	if iip.prop("instance_ip_address", &requested) && requested != "" {
		addr, err := netip.ParseAddr(requested)
		if err != nil {
			return badRequest("Bad property in create: instance_ip_address %q is not an IP address", requested)
		}
		req.addr = addr
	}

	sn, addr, err := s.allocate(vn, req)
	if err != nil {
		return err
	}

	s.reserve(iip.uuid, sn.uuid, addr)
	iip.setProp("instance_ip_address", addr.String())
	if family == "" {
		family = "v4"
		if addr.Is6() {
			family = "v6"
		}
		iip.setProp("instance_ip_family", family)
	}
	if req.subnetUUID == "" {
		iip.setProp("subnet_uuid", sn.uuid)
	}
	iip.setProp("instance_ip_subnet", map[string]any{
		"ip_prefix":     sn.prefix.Addr().String(),
		"ip_prefix_len": sn.prefix.Bits(),
	})
	return nil
}

// allocate picks the address for req from the subnets of vn. Without a
// requested address it takes the highest free address of the first subnet
// that has one, or the lowest with addr_from_start, skipping the network,
// broadcast, gateway and DNS server addresses and staying inside the
// allocation pools.
func (s *store) allocate(vn *object, req allocRequest) (subnet, netip.Addr, error) {
	vnName := pyList(vn.fqName)
	all := s.virtualNetworkSubnets(vn)
	if len(all) == 0 {
		return subnet{}, netip.Addr{}, badRequest("Virtual-Network(%s) has no defined subnet(s)", vnName)
	}

	var candidates []subnet
	for _, sn := range all {
		if req.family != 0 && addrFamily(sn.prefix.Addr()) != req.family {
			continue
		}
		if req.subnetUUID != "" && sn.uuid != req.subnetUUID && !slices.Contains(sn.linkUUIDs, req.subnetUUID) {
			continue
		}
		candidates = append(candidates, sn)
	}
	scope := "all"
	if req.subnetUUID != "" {
		scope = req.subnetUUID
	}

	if req.addr.IsValid() {
		return s.reserveRequested(vnName, scope, candidates, req.addr)
	}
	if req.subnetUUID != "" && len(candidates) == 0 {
		return subnet{}, netip.Addr{}, badRequest("Virtual-Network(%s) has invalid subnet(%s)", vnName, scope)
	}
	for _, sn := range candidates {
		if addr, ok := s.firstFree(sn); ok {
			return sn, addr, nil
		}
	}
	if req.subnetUUID != "" {
		scope = candidates[0].prefix.String()
	}
	return subnet{}, netip.Addr{}, badRequest("Virtual-Network(%s) has exhausted subnet(%s)", vnName, scope)
}

func (s *store) reserveRequested(vnName, scope string, candidates []subnet, addr netip.Addr) (subnet, netip.Addr, error) {
	for _, sn := range candidates {
		if !sn.prefix.Contains(addr) {
			continue
		}
		if addr == sn.gateway {
			return subnet{}, netip.Addr{}, badRequest("IP address %s is the gateway of subnet %s, so an instance-ip cannot use it", addr, sn.prefix)
		}
		// NOTE: the API server hands out a requested DNS server address
		// without reserving it. The simulator treats it as taken, like the
		// network and broadcast addresses.
		if s.excluded(sn, addr) || s.inUse(sn, addr) {
			return subnet{}, netip.Addr{}, errorf(http.StatusConflict, "IP address already in use")
		}
		return sn, addr, nil
	}
	return subnet{}, netip.Addr{}, badRequest("Virtual-Network(%s) has invalid subnet(%s): no subnet contains the requested IP address %s", vnName, scope, addr)
}

// firstFree returns the address that the next allocation from sn gets.
func (s *store) firstFree(sn subnet) (netip.Addr, bool) {
	ranges := sn.pools
	if len(ranges) == 0 {
		ranges = []addrRange{{start: sn.prefix.Addr(), end: lastAddr(sn.prefix)}}
	}
	ranges = slices.Clone(ranges)
	slices.SortFunc(ranges, func(a, b addrRange) int { return a.start.Compare(b.start) })

	if sn.fromStart {
		for _, r := range ranges {
			if a, ok := s.scanRange(sn, r, true); ok {
				return a, true
			}
		}
		return netip.Addr{}, false
	}

	for i := len(ranges) - 1; i >= 0; i-- {
		if a, ok := s.scanRange(sn, ranges[i], false); ok {
			return a, true
		}
	}
	return netip.Addr{}, false
}

// scanKey identifies one scan of an address range: the range, the scan
// direction and the subnet fields that decide which addresses are excluded.
type scanKey struct {
	prefix  netip.Prefix
	gateway netip.Addr
	dns     netip.Addr
	r       addrRange
	up      bool
}

// scanRange returns the first free address of r, scanning up from r.start
// when up is true and down from r.end otherwise. The scan resumes at the
// address where the last scan of the same key stopped, because every
// address that scan passed was used or excluded, and only release can free
// one of them. So consecutive allocations cost one step each rather than a
// walk over every used address.
func (s *store) scanRange(sn subnet, r addrRange, up bool) (netip.Addr, bool) {
	key := scanKey{prefix: sn.prefix, gateway: sn.gateway, dns: sn.dns, r: r, up: up}
	a, step := r.end, netip.Addr.Prev
	if up {
		a, step = r.start, netip.Addr.Next
	}
	if hint, ok := s.scanHints[sn.uuid][key]; ok {
		a = hint
	}
	for ; a.IsValid() && a.Compare(r.start) >= 0 && a.Compare(r.end) <= 0; a = step(a) {
		if !s.excluded(sn, a) && !s.inUse(sn, a) {
			hints, ok := s.scanHints[sn.uuid]
			if !ok {
				hints = map[scanKey]netip.Addr{}
				s.scanHints[sn.uuid] = hints
			}
			hints[key] = a
			return a, true
		}
	}
	return netip.Addr{}, false
}

// excluded reports whether addr is one the allocator never hands out: the
// network and broadcast (highest) addresses, the gateway and the DNS
// server address.
func (s *store) excluded(sn subnet, addr netip.Addr) bool {
	return addr == sn.prefix.Addr() || addr == lastAddr(sn.prefix) || addr == sn.gateway || addr == sn.dns
}

func (s *store) inUse(sn subnet, addr netip.Addr) bool {
	_, used := s.allocated[sn.uuid][addr]
	return used
}

func (s *store) reserve(iipUUID, subnetUUID string, addr netip.Addr) {
	used, ok := s.allocated[subnetUUID]
	if !ok {
		used = map[netip.Addr]string{}
		s.allocated[subnetUUID] = used
	}
	used[addr] = iipUUID
	s.instanceIPs[iipUUID] = allocation{subnetUUID: subnetUUID, addr: addr}
}

// release frees the address of an instance-ip.
func (s *store) release(iipUUID string) {
	a, ok := s.instanceIPs[iipUUID]
	if !ok {
		return
	}
	delete(s.allocated[a.subnetUUID], a.addr)
	// The freed address may lie before where the next scan would resume.
	delete(s.scanHints, a.subnetUUID)
	if len(s.allocated[a.subnetUUID]) == 0 {
		delete(s.allocated, a.subnetUUID)
	}
	delete(s.instanceIPs, iipUUID)
}

func addrFamily(a netip.Addr) int {
	if a.Is4() {
		return 4
	}
	return 6
}
