package controller

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"

	nadv1 "github.com/k8snetworkplumbingwg/network-attachment-definition-client/pkg/apis/k8s.cni.cncf.io/v1"
	"gopkg.in/k8snetworkplumbingwg/multus-cni.v4/pkg/k8sclient"
	multustypes "gopkg.in/k8snetworkplumbingwg/multus-cni.v4/pkg/types"
	corev1 "k8s.io/api/core/v1"

	"github.com/contrail-vif/contrail-vif/pkg/netconf"
)

// desiredAttachment is one contrail-vif interface that a pod requests.
type desiredAttachment struct {
	// Network is the NAD as "<namespace>/<name>".
	Network string
	// Interface is the name Multus gives the interface inside the pod.
	Interface string
	// VNFQName is the Contrail VN fq-name from the NAD config.
	VNFQName []string
	// Index is the position among the pod's valid contrail-vif attachments.
	Index int
	// Invalid is the reason the NAD's config or the pod's request cannot be
	// used. Such an attachment only appears in the pod's status.
	Invalid error

	// MAC is the MAC address the pod requests ("mac" in its network
	// selection element), empty to let Contrail choose.
	MAC string
	// IPs are the addresses the pod requests ("ips"), empty to let
	// Contrail allocate one address per family of the VN.
	IPs []netip.Addr
	// DefaultRoute are the gateways of the pod's "default-route" request.
	DefaultRoute []netip.Addr
	// SecurityGroups are fq-names from the NAD config.
	SecurityGroups [][]string
	// PortSecurity is the NAD's portSecurity, nil for Contrail's default.
	PortSecurity *bool
}

// selectionRequests checks the MAC and addresses a network selection
// element requests and stores them in a. The element requests them with
// "mac" and "ips", and with the same keys in "cni-args", which Multus
// merges over the NAD config's own args.cni (nadArgs) and the plugin reads
// as args.cni. When both forms are present they must agree, because the
// plugin checks each of them against the VMI.
func (a *desiredAttachment) selectionRequests(elem *multustypes.NetworkSelectionElement, nadArgs netconf.CNIArgs) error {
	args := nadArgs
	if elem.CNIArgs != nil {
		raw, err := json.Marshal(*elem.CNIArgs)
		if err != nil {
			return fmt.Errorf("network %s: encode \"cni-args\" of the networks annotation: %w", a.Network, err)
		}
		elemArgs, err := netconf.ParseCNIArgs(raw)
		if err != nil {
			return fmt.Errorf("network %s: \"cni-args\" of the networks annotation: %w", a.Network, err)
		}
		args = nadArgs.Overlay(elemArgs)
	}

	if err := a.macRequest(elem.MacRequest, args.MAC); err != nil {
		return err
	}

	ips, err := parseIPList(a.Network, `"ips" of the networks annotation`, elem.IPRequest)
	if err != nil {
		return err
	}
	argsIPs, err := parseIPList(a.Network, `args.cni "ips" (from "cni-args" or the NetworkAttachmentDefinition)`, args.IPs)
	if err != nil {
		return err
	}
	if len(ips) > 0 && len(argsIPs) > 0 && !sameAddrs(ips, argsIPs) {
		return fmt.Errorf("network %s: \"ips\" %v and args.cni \"ips\" %v (from \"cni-args\" or the NetworkAttachmentDefinition) differ; the plugin checks both against the interface, so request the addresses once",
			a.Network, ips, argsIPs)
	}
	a.IPs = ips
	if len(a.IPs) == 0 {
		a.IPs = argsIPs
	}

	if elem.GatewayRequest != nil {
		for _, gw := range *elem.GatewayRequest {
			addr, ok := netip.AddrFromSlice(gw)
			if !ok {
				return fmt.Errorf("network %s: \"default-route\" of the networks annotation has an invalid gateway %q", a.Network, gw.String())
			}
			a.DefaultRoute = append(a.DefaultRoute, addr.Unmap())
		}
	}
	return nil
}

// macRequest stores the MAC that "mac" (elemMAC) or args.cni "mac"
// (argsMAC) requests, and fails when both are set and differ.
func (a *desiredAttachment) macRequest(elemMAC, argsMAC string) error {
	var macs []string
	for _, s := range []string{elemMAC, argsMAC} {
		if s == "" {
			continue
		}
		mac, err := netconf.ParseUnicastMAC(s)
		if err != nil {
			return fmt.Errorf("network %s: \"mac\" of the networks annotation: %w", a.Network, err)
		}
		macs = append(macs, mac.String())
	}
	if len(macs) == 2 && macs[0] != macs[1] {
		return fmt.Errorf("network %s: \"mac\" %s and args.cni \"mac\" %s (from \"cni-args\" or the NetworkAttachmentDefinition) differ; the plugin checks both against the interface, so request one MAC",
			a.Network, macs[0], macs[1])
	}
	if len(macs) > 0 {
		a.MAC = macs[0]
	}
	return nil
}

// parseIPList parses the addresses of a request named key and rejects an
// address listed twice.
func parseIPList(network, key string, list []string) ([]netip.Addr, error) {
	var out []netip.Addr
	seen := map[netip.Addr]bool{}
	for i, s := range list {
		req, err := netconf.ParseIPRequest(s)
		if err != nil {
			return nil, fmt.Errorf("network %s: %s[%d]: %w", network, key, i, err)
		}
		if seen[req.Addr] {
			return nil, fmt.Errorf("network %s: %s lists %s twice", network, key, req.Addr)
		}
		seen[req.Addr] = true
		out = append(out, req.Addr)
	}
	return out, nil
}

// sameAddrs reports whether a and b hold the same addresses in any order.
func sameAddrs(a, b []netip.Addr) bool {
	if len(a) != len(b) {
		return false
	}
	set := map[netip.Addr]bool{}
	for _, x := range a {
		set[x] = true
	}
	for _, x := range b {
		if !set[x] {
			return false
		}
	}
	return true
}

// interfaceName returns the name Multus gives the interface of the network
// selection element at position i (0-based) of the pod's networks
// annotation: the requested name, or "net<i+1>" because Multus counts the
// cluster network as delegate 0. Multus "defaultNetworks" would shift that
// count; pods that use them must request interface names explicitly.
func interfaceName(elem *multustypes.NetworkSelectionElement, i int) string {
	if elem.InterfaceRequest != "" {
		return elem.InterfaceRequest
	}
	return fmt.Sprintf("net%d", i+1)
}

// contrailConfig returns the contrail-vif config inside a NAD's spec.config,
// either the config itself or the contrail-vif plugin of a conflist, and false
// when the NAD is for another plugin.
func contrailConfig(nad *nadv1.NetworkAttachmentDefinition) (*netconf.NetConf, bool, error) {
	if nad.Spec.Config == "" {
		return nil, false, nil
	}
	var probe struct {
		Type    string            `json:"type"`
		Plugins []json.RawMessage `json:"plugins"`
	}
	if err := json.Unmarshal([]byte(nad.Spec.Config), &probe); err != nil {
		return nil, false, fmt.Errorf("NetworkAttachmentDefinition %s/%s: spec.config is not valid JSON: %w", nad.Namespace, nad.Name, err)
	}
	raw := []byte(nad.Spec.Config)
	if probe.Type != netconf.PluginType {
		found := false
		for _, p := range probe.Plugins {
			var t struct {
				Type string `json:"type"`
			}
			if json.Unmarshal(p, &t) == nil && t.Type == netconf.PluginType {
				raw, found = p, true
				break
			}
		}
		if !found {
			return nil, false, nil
		}
	}
	conf, err := netconf.Parse(raw)
	if err != nil {
		return nil, true, fmt.Errorf("NetworkAttachmentDefinition %s/%s: %w", nad.Namespace, nad.Name, err)
	}
	return conf, true, nil
}

// podNetworksAnnotation is the Multus network selection annotation.
const podNetworksAnnotation = "k8s.v1.cni.cncf.io/networks"

// hasNetworks reports whether the pod requests secondary networks at all.
func hasNetworks(pod *corev1.Pod) bool {
	return pod.Annotations[podNetworksAnnotation] != ""
}

// podNetworks parses the pod's networks annotation as Multus does, with
// Multus's own parser. The JSON form is checked first for elements that
// are not objects or have no name: GetPodNetwork (multus-cni v4.3.0)
// dereferences every element, so a null element would panic, and an
// element without a name would make the controller look up a NAD named "".
func podNetworks(pod *corev1.Pod) ([]*multustypes.NetworkSelectionElement, error) {
	annotation := strings.TrimSpace(pod.Annotations[podNetworksAnnotation])
	if strings.ContainsAny(annotation, `[{"`) {
		var raw []json.RawMessage
		if err := json.Unmarshal([]byte(annotation), &raw); err != nil {
			return nil, fmt.Errorf("parse %s as a JSON list: %w", podNetworksAnnotation, err)
		}
		for i, r := range raw {
			var elem struct {
				Name string `json:"name"`
			}
			if err := json.Unmarshal(r, &elem); err != nil || bytes.Equal(bytes.TrimSpace(r), []byte("null")) {
				return nil, fmt.Errorf("element %d of %s is %s, expected an object such as {\"name\": \"red\"}", i, podNetworksAnnotation, r)
			}
			if elem.Name == "" {
				return nil, fmt.Errorf("element %d of %s has no \"name\"; name the NetworkAttachmentDefinition", i, podNetworksAnnotation)
			}
		}
	}
	return k8sclient.GetPodNetwork(pod)
}
