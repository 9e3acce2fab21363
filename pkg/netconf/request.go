package netconf

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// RuntimeConfig is the part of runtimeConfig that contrail-vif reads. A
// runtime passes a key only when the config declares the capability of the
// same name, for example "capabilities": {"mac": true, "ips": true}; Multus
// fills these from the pod's network selection element. Other keys are
// ignored.
type RuntimeConfig struct {
	// MAC is the MAC address the pod requests for the interface.
	MAC string `json:"mac,omitempty"`
	// IPs are the addresses the pod requests, each an IP address with an
	// optional prefix length.
	IPs []string `json:"ips,omitempty"`
}

// DecodeRuntimeConfig decodes c.RuntimeConfig and checks the syntax of its
// values. A config without runtimeConfig gives the zero RuntimeConfig.
func (c *NetConf) DecodeRuntimeConfig() (RuntimeConfig, error) {
	var rc RuntimeConfig
	raw := bytes.TrimSpace(c.RuntimeConfig)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return rc, nil
	}
	if err := json.Unmarshal(raw, &rc); err != nil {
		return RuntimeConfig{}, fmt.Errorf("invalid runtimeConfig %s: %w; expected an object such as {\"mac\": \"02:00:00:00:00:01\", \"ips\": [\"10.1.1.11/24\"]}",
			shorten(raw), err)
	}
	if rc.MAC != "" {
		if _, err := ParseUnicastMAC(rc.MAC); err != nil {
			return RuntimeConfig{}, fmt.Errorf("invalid runtimeConfig.mac: %w", err)
		}
	}
	for i, s := range rc.IPs {
		if _, err := ParseIPRequest(s); err != nil {
			return RuntimeConfig{}, fmt.Errorf("invalid runtimeConfig.ips[%d]: %w", i, err)
		}
	}
	return rc, nil
}

// ParseUnicastMAC parses a 6-byte MAC address such as "02:00:00:00:00:01"
// that an interface can use: not a multicast or broadcast address and not
// all zeros.
func ParseUnicastMAC(s string) (net.HardwareAddr, error) {
	mac, err := net.ParseMAC(s)
	if err != nil || len(mac) != 6 {
		return nil, fmt.Errorf("invalid MAC address %q: expected 6 bytes such as 02:00:00:00:00:01", s)
	}
	if mac[0]&1 != 0 {
		return nil, fmt.Errorf("invalid MAC address %q: it is a multicast address", s)
	}
	if bytes.Equal(mac, make(net.HardwareAddr, 6)) {
		return nil, fmt.Errorf("invalid MAC address %q: it is all zeros", s)
	}
	return mac, nil
}

// IPRequest is one address that a pod requests, as the "ips" key of a
// network selection element carries it.
type IPRequest struct {
	Addr netip.Addr
	// PrefixLen is the requested prefix length, or -1 when the request
	// names the address alone.
	PrefixLen int
}

// String returns the request as "address" or "address/prefix".
func (r IPRequest) String() string {
	if r.PrefixLen < 0 {
		return r.Addr.String()
	}
	return r.Addr.String() + "/" + strconv.Itoa(r.PrefixLen)
}

// ParseIPRequest parses "10.1.1.11", "10.1.1.11/24" or "fd00::11/64". It
// rejects zones, unspecified addresses and prefix lengths outside the
// address family.
func ParseIPRequest(s string) (IPRequest, error) {
	text, bits, hasPrefix := strings.Cut(s, "/")
	addr, err := netip.ParseAddr(text)
	if err != nil || addr.Zone() != "" || addr.IsUnspecified() {
		return IPRequest{}, fmt.Errorf("invalid IP address %q: expected an address with an optional prefix length such as 10.1.1.11/24", s)
	}
	addr = addr.Unmap()
	req := IPRequest{Addr: addr, PrefixLen: -1}
	if !hasPrefix {
		return req, nil
	}
	n, err := strconv.Atoi(bits)
	if err != nil || n < 1 || n > addr.BitLen() || bits != strconv.Itoa(n) {
		return IPRequest{}, fmt.Errorf("invalid IP address %q: prefix length %q must be a number from 1 to %d", s, bits, addr.BitLen())
	}
	req.PrefixLen = n
	return req, nil
}

// shorten returns raw as a quoted string cut to 80 bytes, for messages.
func shorten(raw []byte) string {
	const maxLen = 80
	if len(raw) > maxLen {
		return strconv.Quote(string(raw[:maxLen])) + "..."
	}
	return strconv.Quote(string(raw))
}
