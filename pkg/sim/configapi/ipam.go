package configapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strconv"

	"github.com/google/uuid"
)

// subnet is one IPAM subnet that instance-ip addresses are allocated from.
type subnet struct {
	uuid      string
	prefix    netip.Prefix
	gateway   netip.Addr // invalid when the subnet has no gateway
	dns       netip.Addr // invalid when the subnet has no DNS server address
	fromStart bool
	pools     []addrRange // empty means the whole subnet
	// linkUUIDs are the subnet_uuid values on a virtual network's link to a
	// flat-subnet IPAM. An instance-ip may name one of them to select the
	// IPAM's subnets.
	linkUUIDs []string
}

// addrRange is an inclusive address range of an allocation pool.
type addrRange struct {
	start, end netip.Addr
}

// ipamSubnetType is the part of Contrail's IpamSubnetType that the
// simulator interprets.
type ipamSubnetType struct {
	Subnet *struct {
		IPPrefix    string `json:"ip_prefix"`
		IPPrefixLen int    `json:"ip_prefix_len"`
	} `json:"subnet"`
	DefaultGateway   string `json:"default_gateway"`
	DNSServerAddress string `json:"dns_server_address"`
	SubnetUUID       string `json:"subnet_uuid"`
	AddrFromStart    bool   `json:"addr_from_start"`
	AllocationPools  []struct {
		Start string `json:"start"`
		End   string `json:"end"`
	} `json:"allocation_pools"`
}

// subnetFromType converts an IpamSubnetType that the server has already
// validated and filled in. It reports false for entries without a subnet,
// such as the link entries of a flat-subnet IPAM.
func subnetFromType(t ipamSubnetType) (subnet, bool) {
	if t.Subnet == nil {
		return subnet{}, false
	}
	addr, err := netip.ParseAddr(t.Subnet.IPPrefix)
	if err != nil {
		return subnet{}, false
	}
	prefix, err := addr.Prefix(t.Subnet.IPPrefixLen)
	if err != nil {
		return subnet{}, false
	}
	sn := subnet{uuid: t.SubnetUUID, prefix: prefix, fromStart: t.AddrFromStart}
	sn.gateway = parseOptionalAddr(t.DefaultGateway)
	sn.dns = parseOptionalAddr(t.DNSServerAddress)
	for _, p := range t.AllocationPools {
		start, err1 := netip.ParseAddr(p.Start)
		end, err2 := netip.ParseAddr(p.End)
		if err1 == nil && err2 == nil {
			sn.pools = append(sn.pools, addrRange{start: start, end: end})
		}
	}
	return sn, true
}

// parseOptionalAddr parses an address field where an empty string or the
// unspecified address (0.0.0.0, ::) means "none".
func parseOptionalAddr(s string) netip.Addr {
	a, err := netip.ParseAddr(s)
	if err != nil || a.IsUnspecified() {
		return netip.Addr{}
	}
	return a
}

func decodeGeneric(raw []byte, dst any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	return dec.Decode(dst)
}

// fillIPAMSubnet validates one IpamSubnetType entry and fills the members
// that the API server computes: the normalized prefix, default_gateway
// (last address - 1, or first + 1 with addr_from_start), dns_server_address
// (last - 2, or first + 2), subnet_uuid, enable_dhcp and allocation_pools.
// keepUUIDs maps prefixes to the subnet_uuid they had before an update.
func fillIPAMSubnet(entry map[string]any, keepUUIDs map[netip.Prefix]string) (netip.Prefix, error) {
	prefix, err := parseSubnetMember(entry["subnet"])
	if err != nil {
		return netip.Prefix{}, err
	}
	entry["subnet"] = map[string]any{"ip_prefix": prefix.Addr().String(), "ip_prefix_len": prefix.Bits()}

	fromStart, _ := entry["addr_from_start"].(bool)
	entry["addr_from_start"] = fromStart
	first, last := prefix.Addr(), lastAddr(prefix)

	defaultGateway, defaultDNS := last.Prev(), last.Prev().Prev()
	if fromStart {
		defaultGateway, defaultDNS = first.Next(), first.Next().Next()
	}
	if err := fillAddrMember(entry, "default_gateway", prefix, defaultGateway, "Gateway ip address"); err != nil {
		return netip.Prefix{}, err
	}
	if err := fillAddrMember(entry, "dns_server_address", prefix, defaultDNS, "Service Node ip address"); err != nil {
		return netip.Prefix{}, err
	}

	if id, _ := entry["subnet_uuid"].(string); id == "" {
		if kept, ok := keepUUIDs[prefix]; ok {
			entry["subnet_uuid"] = kept
		} else {
			entry["subnet_uuid"] = uuid.NewString()
		}
	}
	if _, ok := entry["enable_dhcp"].(bool); !ok {
		entry["enable_dhcp"] = true
	}
	if err := checkAllocationPools(entry, prefix); err != nil {
		return netip.Prefix{}, err
	}
	return prefix, nil
}

func parseSubnetMember(v any) (netip.Prefix, error) {
	m, _ := v.(map[string]any)
	if m == nil {
		return netip.Prefix{}, badRequest("Bad reference: ipam subnet has no \"subnet\" {ip_prefix, ip_prefix_len} member")
	}
	text := fmt.Sprintf("%v/%v", m["ip_prefix"], m["ip_prefix_len"])
	prefixAddr, _ := m["ip_prefix"].(string)
	length, err := strconv.Atoi(fmt.Sprint(m["ip_prefix_len"]))
	if err != nil {
		return netip.Prefix{}, badRequest("Subnet type '%s' is invalid", text)
	}
	addr, err := netip.ParseAddr(prefixAddr)
	if err != nil {
		return netip.Prefix{}, badRequest("Subnet type '%s' is invalid", text)
	}
	prefix, err := addr.Prefix(length)
	if err != nil {
		return netip.Prefix{}, badRequest("Subnet type '%s' is invalid", text)
	}
	return prefix, nil
}

// fillAddrMember sets entry[key] to def when it is missing, and otherwise
// checks that it is an address inside prefix or the unspecified address.
func fillAddrMember(entry map[string]any, key string, prefix netip.Prefix, def netip.Addr, description string) error {
	value, _ := entry[key].(string)
	if value == "" {
		if def.IsValid() && prefix.Contains(def) {
			entry[key] = def.String()
		}
		return nil
	}
	a, err := netip.ParseAddr(value)
	if err != nil || (!a.IsUnspecified() && !prefix.Contains(a)) {
		return badRequest("subnet(%s) has Invalid %s(%s)", prefix, description, value)
	}
	return nil
}

func checkAllocationPools(entry map[string]any, prefix netip.Prefix) error {
	pools, _ := entry["allocation_pools"].([]any)
	for _, p := range pools {
		m, _ := p.(map[string]any)
		startText, _ := m["start"].(string)
		endText, _ := m["end"].(string)
		start, err1 := netip.ParseAddr(startText)
		end, err2 := netip.ParseAddr(endText)
		pool := startText + "-" + endText
		if err1 != nil || err2 != nil {
			return badRequest("subnet(%s) has Invalid Ip address in Allocation Pool(%s)", prefix, pool)
		}
		if !prefix.Contains(start) || !prefix.Contains(end) {
			return badRequest("subnet(%s) allocation pool (%s) is out of cidr", prefix, pool)
		}
		if end.Less(start) {
			return badRequest("subnet(%s) has Invalid Allocation Pool(%s)", prefix, pool)
		}
	}
	if pools == nil {
		entry["allocation_pools"] = []any{}
	}
	return nil
}

// lastAddr returns the highest address of prefix: the broadcast address of
// an IPv4 subnet.
func lastAddr(prefix netip.Prefix) netip.Addr {
	b := prefix.Masked().Addr().AsSlice()
	for i := range b {
		for bit := range 8 {
			if i*8+bit >= prefix.Bits() {
				b[i] |= 0x80 >> bit
			}
		}
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

func checkOverlap(prefixes []netip.Prefix) error {
	for i, a := range prefixes {
		for _, b := range prefixes[i+1:] {
			if a.Overlaps(b) {
				return badRequest("Overlapping addresses: %s", pyList([]string{a.String(), b.String()}))
			}
		}
	}
	return nil
}

func isFlatSubnetIPAM(ipam *object) bool {
	var method string
	return ipam != nil && ipam.prop("ipam_subnet_method", &method) && method == "flat-subnet"
}

// virtualNetworkSubnets returns the subnets of a virtual network in the order
// that its address_allocation_mode tries them: subnets defined on its
// network_ipam_refs ("user-defined") and the subnets of the flat-subnet IPAMs
// it refers to.
func (s *store) virtualNetworkSubnets(vn *object) []subnet {
	var userDefined, flat []subnet
	for _, r := range vn.refs[typeNetworkIPAM] {
		var attr struct {
			IPAMSubnets []ipamSubnetType `json:"ipam_subnets"`
		}
		if r.attr != nil {
			_ = json.Unmarshal(r.attr, &attr)
		}

		ipam := s.objects[r.uuid]
		if isFlatSubnetIPAM(ipam) {
			var links []string
			for _, t := range attr.IPAMSubnets {
				links = append(links, t.SubnetUUID)
			}
			var ipamSubnets struct {
				Subnets []ipamSubnetType `json:"subnets"`
			}
			ipam.prop("ipam_subnets", &ipamSubnets)
			for _, t := range ipamSubnets.Subnets {
				if sn, ok := subnetFromType(t); ok {
					sn.linkUUIDs = links
					flat = append(flat, sn)
				}
			}
			continue
		}

		for _, t := range attr.IPAMSubnets {
			if sn, ok := subnetFromType(t); ok {
				userDefined = append(userDefined, sn)
			}
		}
	}

	var mode string
	vn.prop("address_allocation_mode", &mode)
	switch mode {
	case "flat-subnet-only":
		return flat
	case "user-defined-subnet-only":
		return userDefined
	case "flat-subnet-preferred":
		return append(flat, userDefined...)
	default: // "user-defined-subnet-preferred", the API server's default
		return append(userDefined, flat...)
	}
}

// prepareVirtualNetwork validates and fills the subnets on a virtual
// network's network_ipam_refs. On update, old is the stored version: a
// subnet keeps its subnet_uuid, and a subnet may not go away while an
// instance-ip holds one of its addresses.
func (s *store) prepareVirtualNetwork(vn, old *object) error {
	keepUUIDs := map[netip.Prefix]string{}
	if old != nil {
		for _, sn := range s.virtualNetworkSubnets(old) {
			keepUUIDs[sn.prefix] = sn.uuid
		}
	}

	var prefixes []netip.Prefix
	refs := vn.refs[typeNetworkIPAM]
	for i := range refs {
		attr := map[string]any{}
		if refs[i].attr != nil {
			if err := decodeGeneric(refs[i].attr, &attr); err != nil {
				return badRequest("Bad reference: network_ipam_refs attr: %v", err)
			}
		}
		entries, _ := attr["ipam_subnets"].([]any)

		if isFlatSubnetIPAM(s.objects[refs[i].uuid]) {
			var err error
			if entries, err = fillFlatSubnetLink(entries, s.objects[refs[i].uuid]); err != nil {
				return err
			}
		} else {
			for _, e := range entries {
				entry, ok := e.(map[string]any)
				if !ok {
					return badRequest("Bad reference: network_ipam_refs attr ipam_subnets entries must be objects")
				}
				prefix, err := fillIPAMSubnet(entry, keepUUIDs)
				if err != nil {
					return err
				}
				prefixes = append(prefixes, prefix)
			}
		}

		if entries == nil {
			entries = []any{}
		}
		attr["ipam_subnets"] = entries
		setDefault(attr, "host_routes", nil)
		raw, _ := json.Marshal(attr)
		refs[i].attr = raw
	}
	if err := checkOverlap(prefixes); err != nil {
		return err
	}
	if old != nil {
		return s.checkSubnetsInUse(old.uuid, s.virtualNetworkSubnets(vn))
	}
	return nil
}

// fillFlatSubnetLink fills the attr of a link to a flat-subnet IPAM. Such an
// attr contains no prefixes, only subnet_uuid entries, and the server
// generates one entry when the client sent none.
func fillFlatSubnetLink(entries []any, ipam *object) ([]any, error) {
	if len(entries) == 0 {
		return []any{map[string]any{"subnet_uuid": uuid.NewString()}}, nil
	}
	for _, e := range entries {
		entry, ok := e.(map[string]any)
		if !ok {
			return nil, badRequest("Bad reference: network_ipam_refs attr ipam_subnets entries must be objects")
		}
		if _, hasSubnet := entry["subnet"].(map[string]any); hasSubnet {
			return nil, badRequest("network-ipam %s uses flat-subnet, so a link to it cannot define subnets; add them to the IPAM's ipam_subnets",
				pyList(ipam.fqName))
		}
		if id, _ := entry["subnet_uuid"].(string); id == "" {
			entry["subnet_uuid"] = uuid.NewString()
		}
	}
	return entries, nil
}

// prepareNetworkIPAM validates and fills the subnets of a flat-subnet IPAM,
// stored on the IPAM itself in ipam_subnets.subnets.
func (s *store) prepareNetworkIPAM(ipam, old *object) error {
	if !isFlatSubnetIPAM(ipam) {
		if old != nil && isFlatSubnetIPAM(old) {
			return s.checkIPAMSubnetsInUse(old, nil)
		}
		return nil
	}

	keepUUIDs := map[netip.Prefix]string{}
	if old != nil {
		for _, sn := range ipamSubnetsOf(old) {
			keepUUIDs[sn.prefix] = sn.uuid
		}
	}

	container := map[string]any{}
	if raw, ok := ipam.props["ipam_subnets"]; ok {
		if err := decodeGeneric(raw, &container); err != nil {
			return badRequest("Bad property ipam_subnets: %v", err)
		}
	}
	entries, _ := container["subnets"].([]any)
	var prefixes []netip.Prefix
	for _, e := range entries {
		entry, ok := e.(map[string]any)
		if !ok {
			return badRequest("Bad property ipam_subnets: subnets entries must be objects")
		}
		prefix, err := fillIPAMSubnet(entry, keepUUIDs)
		if err != nil {
			return err
		}
		prefixes = append(prefixes, prefix)
	}
	if entries == nil {
		entries = []any{}
	}
	container["subnets"] = entries
	ipam.setProp("ipam_subnets", container)
	if err := checkOverlap(prefixes); err != nil {
		return err
	}
	if old != nil {
		return s.checkIPAMSubnetsInUse(old, ipamSubnetsOf(ipam))
	}
	return nil
}

func ipamSubnetsOf(ipam *object) []subnet {
	if !isFlatSubnetIPAM(ipam) {
		return nil
	}
	var container struct {
		Subnets []ipamSubnetType `json:"subnets"`
	}
	ipam.prop("ipam_subnets", &container)
	var out []subnet
	for _, t := range container.Subnets {
		if sn, ok := subnetFromType(t); ok {
			out = append(out, sn)
		}
	}
	return out
}

// checkSubnetsInUse rejects a virtual network update that would drop the
// subnet of an address held by one of the network's instance-ips.
func (s *store) checkSubnetsInUse(vnUUID string, remaining []subnet) error {
	for _, iip := range s.referrers(vnUUID, typeInstanceIP) {
		if err := s.checkAllocationKept(iip.uuid, remaining); err != nil {
			return err
		}
	}
	return nil
}

// checkIPAMSubnetsInUse rejects an IPAM update that would drop a subnet
// from which an instance-ip holds an address.
func (s *store) checkIPAMSubnetsInUse(old *object, remaining []subnet) error {
	for _, sn := range ipamSubnetsOf(old) {
		for _, iipUUID := range s.allocated[sn.uuid] {
			if err := s.checkAllocationKept(iipUUID, remaining); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *store) checkAllocationKept(iipUUID string, remaining []subnet) error {
	a, ok := s.instanceIPs[iipUUID]
	if !ok {
		return nil
	}
	kept := slices.ContainsFunc(remaining, func(sn subnet) bool {
		return sn.uuid == a.subnetUUID && sn.prefix.Contains(a.addr)
	})
	if !kept {
		return conflict("Cannot Delete IP Block, IP(%s) is in use by instance-ip %s", a.addr, iipUUID)
	}
	return nil
}
