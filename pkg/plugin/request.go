package plugin

import (
	"bytes"
	"fmt"
	"net"
	"strings"

	"github.com/containernetworking/cni/pkg/types"

	"github.com/contrail-vif/contrail-vif/pkg/netconf"
)

// requestSource is the key that carried a pod's request and the CNI error
// code of a rejected request: 7 for a request in the network config, 4 for
// one in CNI_ARGS. fix names where the user removes the request.
type requestSource struct {
	key  string
	code uint
	fix  string
}

var (
	runtimeConfigMAC = requestSource{key: "runtimeConfig.mac", code: types.ErrInvalidNetworkConfig,
		fix: `"mac" from the pod's network selection element`}
	runtimeConfigIPs = requestSource{key: "runtimeConfig.ips", code: types.ErrInvalidNetworkConfig,
		fix: `"ips" from the pod's network selection element`}
	argsMAC = requestSource{key: "args.cni.mac", code: types.ErrInvalidNetworkConfig,
		fix: `"mac" from "cni-args" of the pod's network selection element and from args.cni of the NetworkAttachmentDefinition`}
	argsIPs = requestSource{key: "args.cni.ips", code: types.ErrInvalidNetworkConfig,
		fix: `"ips" from "cni-args" of the pod's network selection element and from args.cni of the NetworkAttachmentDefinition`}
	cniArgsMAC = requestSource{key: "CNI_ARGS MAC", code: types.ErrInvalidEnvironmentVariables,
		fix: `"mac" from the pod's network selection element`}
	cniArgsIP = requestSource{key: "CNI_ARGS IP", code: types.ErrInvalidEnvironmentVariables,
		fix: `"ips" from the pod's network selection element`}
)

// macRequest is a MAC address that one source requests.
type macRequest struct {
	mac    net.HardwareAddr
	source requestSource
}

// ipsRequest is the addresses that one source requests.
type ipsRequest struct {
	ips    []netconf.IPRequest
	source requestSource
}

// podRequests is the MAC addresses and the IP addresses that the pod's
// network selection element requests for this attachment, by source.
// contrail-vif cannot fulfil such requests, because the interface takes the
// MAC and addresses of the VMI that the controller created. It checks them
// instead, so that a pod never runs with values other than the ones it
// asked for.
type podRequests struct {
	macs []macRequest
	ips  []ipsRequest
}

// loadRequests reads the requests from runtimeConfig, from args.cni and,
// for a key that neither has, from the deprecated CNI_ARGS keys MAC and IP.
// Multus fills runtimeConfig from "mac" and "ips" of the network selection
// element when the config declares the capability, args.cni from its
// "cni-args", and CNI_ARGS from "mac" and "ips" always. The CNI conventions
// tell a plugin that reads args to ignore the CNI_ARGS key with the same
// meaning; runtimeConfig and args.cni are both checked.
func loadRequests(c *call) (*podRequests, error) {
	rc, err := c.conf.DecodeRuntimeConfig()
	if err != nil {
		return nil, errorf(types.ErrInvalidNetworkConfig, "%v", err)
	}
	args, err := c.conf.DecodeArgs()
	if err != nil {
		return nil, errorf(types.ErrInvalidNetworkConfig, "%v", err)
	}
	r := &podRequests{}

	// DecodeRuntimeConfig and DecodeArgs have checked the syntax.
	if rc.MAC != "" {
		mac, _ := netconf.ParseUnicastMAC(rc.MAC)
		r.macs = append(r.macs, macRequest{mac: mac, source: runtimeConfigMAC})
	}
	if args.MAC != "" {
		mac, _ := netconf.ParseUnicastMAC(args.MAC)
		r.macs = append(r.macs, macRequest{mac: mac, source: argsMAC})
	}
	if len(r.macs) == 0 && c.pod.MAC != "" {
		mac, err := netconf.ParseUnicastMAC(c.pod.MAC)
		if err != nil {
			return nil, errorf(types.ErrInvalidEnvironmentVariables, "invalid MAC in CNI_ARGS: %v", err)
		}
		r.macs = append(r.macs, macRequest{mac: mac, source: cniArgsMAC})
	}

	if len(rc.IPs) > 0 {
		r.ips = append(r.ips, ipsRequest{ips: mustParseIPs(rc.IPs), source: runtimeConfigIPs})
	}
	if len(args.IPs) > 0 {
		r.ips = append(r.ips, ipsRequest{ips: mustParseIPs(args.IPs), source: argsIPs})
	}
	// An args.cni.ips that is present but empty still replaces CNI_ARGS IP.
	if len(r.ips) == 0 && args.IPs == nil && c.pod.IP != "" {
		req := ipsRequest{source: cniArgsIP}
		for _, s := range strings.Split(c.pod.IP, ",") {
			ip, err := netconf.ParseIPRequest(strings.TrimSpace(s))
			if err != nil {
				return nil, errorf(types.ErrInvalidEnvironmentVariables, "invalid IP in CNI_ARGS: %v", err)
			}
			req.ips = append(req.ips, ip)
		}
		r.ips = append(r.ips, req)
	}
	return r, nil
}

// mustParseIPs parses addresses whose syntax netconf has checked.
func mustParseIPs(list []string) []netconf.IPRequest {
	out := make([]netconf.IPRequest, 0, len(list))
	for _, s := range list {
		ip, err := netconf.ParseIPRequest(s)
		if err != nil {
			panic(fmt.Sprintf("address %q passed validation but does not parse: %v", s, err))
		}
		out = append(out, ip)
	}
	return out
}

// check returns an error naming the first request that the VMI's
// addressing a does not meet, with the requested and the actual values.
func (r *podRequests) check(a *addressing, vmiUUID string) error {
	for _, m := range r.macs {
		if !bytes.Equal(m.mac, a.mac) {
			return errorf(m.source.code,
				"%s requests MAC %s, but VMI %s has MAC %s; contrail-vif uses the MAC that Contrail assigned to the VMI, so remove %s",
				m.source.key, m.mac, vmiUUID, a.mac, m.source.fix)
		}
	}
	for _, req := range r.ips {
		for _, ip := range req.ips {
			if !a.has(ip) {
				return errorf(req.source.code,
					"%s requests address %s, but VMI %s has %s; contrail-vif uses the addresses that Contrail assigned to the VMI, so remove %s",
					req.source.key, ip, vmiUUID, a.describe(), req.source.fix)
			}
		}
	}
	return nil
}

// has reports whether a includes the requested address, with the requested
// prefix length when the request names one.
func (a *addressing) has(req netconf.IPRequest) bool {
	for _, cfg := range a.ips() {
		ones, _ := cfg.Address.Mask.Size()
		if cfg.Address.IP.Equal(net.IP(req.Addr.AsSlice())) && (req.PrefixLen < 0 || req.PrefixLen == ones) {
			return true
		}
	}
	return false
}

// describe lists the addresses of a with their prefix lengths.
func (a *addressing) describe() string {
	var out []string
	for _, cfg := range a.ips() {
		out = append(out, cfg.Address.String())
	}
	return fmt.Sprint(out)
}
