package plugin

import (
	"bytes"
	"fmt"
	"net"
	"strings"

	"github.com/containernetworking/cni/pkg/types"

	"github.com/contrail-vif/contrail-vif/pkg/netconf"
)

// requestSource is the key that carried a pod's request, and the CNI error
// code of a request that the plugin rejects: 7 when the request came in the
// network config, 4 when it came in CNI_ARGS.
type requestSource struct {
	key  string
	code uint
}

var (
	runtimeConfigMAC = requestSource{key: "runtimeConfig.mac", code: types.ErrInvalidNetworkConfig}
	runtimeConfigIPs = requestSource{key: "runtimeConfig.ips", code: types.ErrInvalidNetworkConfig}
	cniArgsMAC       = requestSource{key: "CNI_ARGS MAC", code: types.ErrInvalidEnvironmentVariables}
	cniArgsIP        = requestSource{key: "CNI_ARGS IP", code: types.ErrInvalidEnvironmentVariables}
)

// podRequests is the MAC address and the IP addresses that the pod's network
// selection element requests for this attachment. contrail-vif cannot
// fulfil such requests, because the interface takes the MAC and addresses of
// the VMI that the controller created. It checks them instead, so that a
// pod never runs with values other than the ones it asked for.
type podRequests struct {
	mac       net.HardwareAddr
	macSource requestSource
	ips       []netconf.IPRequest
	ipsSource requestSource
}

// loadRequests reads the requests from runtimeConfig and, for a key that
// runtimeConfig lacks, from the deprecated CNI_ARGS keys MAC and IP. The CNI
// conventions give runtimeConfig precedence; Multus sends both when the
// config declares the capability and only CNI_ARGS when it does not.
func loadRequests(c *call) (*podRequests, error) {
	rc, err := c.conf.DecodeRuntimeConfig()
	if err != nil {
		return nil, errorf(types.ErrInvalidNetworkConfig, "%v", err)
	}
	r := &podRequests{}

	switch {
	case rc.MAC != "":
		// DecodeRuntimeConfig has checked the syntax.
		r.mac, _ = netconf.ParseUnicastMAC(rc.MAC)
		r.macSource = runtimeConfigMAC
	case c.pod.MAC != "":
		r.mac, err = netconf.ParseUnicastMAC(c.pod.MAC)
		if err != nil {
			return nil, errorf(types.ErrInvalidEnvironmentVariables, "invalid MAC in CNI_ARGS: %v", err)
		}
		r.macSource = cniArgsMAC
	}

	switch {
	case len(rc.IPs) > 0:
		for _, s := range rc.IPs {
			ip, _ := netconf.ParseIPRequest(s)
			r.ips = append(r.ips, ip)
		}
		r.ipsSource = runtimeConfigIPs
	case c.pod.IP != "":
		for _, s := range strings.Split(c.pod.IP, ",") {
			ip, err := netconf.ParseIPRequest(strings.TrimSpace(s))
			if err != nil {
				return nil, errorf(types.ErrInvalidEnvironmentVariables, "invalid IP in CNI_ARGS: %v", err)
			}
			r.ips = append(r.ips, ip)
		}
		r.ipsSource = cniArgsIP
	}
	return r, nil
}

// check returns an error naming the first request that the VMI's
// addressing a does not meet.
func (r *podRequests) check(a *addressing, vmiUUID string) error {
	if r.mac != nil && !bytes.Equal(r.mac, a.mac) {
		return errorf(r.macSource.code,
			"%s requests MAC %s, but VMI %s has MAC %s; contrail-vif uses the MAC that Contrail assigned to the VMI, so remove \"mac\" from the pod's network selection element",
			r.macSource.key, r.mac, vmiUUID, a.mac)
	}
	for _, ip := range r.ips {
		if !a.has(ip) {
			return errorf(r.ipsSource.code,
				"%s requests address %s, but VMI %s has %s; contrail-vif uses the addresses that Contrail assigned to the VMI, so remove \"ips\" from the pod's network selection element",
				r.ipsSource.key, ip, vmiUUID, a.describe())
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
