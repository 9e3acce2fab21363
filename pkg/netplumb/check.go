package netplumb

import (
	"fmt"
	"strings"

	"github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"
	"github.com/containernetworking/plugins/pkg/ip"
	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netlink"
)

// Expected is the state of a pod interface that CheckPodInterface verifies.
type Expected struct {
	Name string
	// MAC is compared case-insensitively; empty skips the check.
	MAC string
	// MTU of 0 skips the check.
	MTU int
	// IPs must be on the interface, each with its on-link subnet route.
	IPs []*current.IPConfig
	// Routes must be in the namespace's main table.
	Routes []*types.Route
}

// CheckPodInterface verifies that the link want.Name in podNS is a veth and
// has the MAC, MTU, addresses and routes of want.
func CheckPodInterface(podNS ns.NetNS, want Expected) error {
	return podNS.Do(func(ns.NetNS) error {
		link, err := netlinksafe.LinkByName(want.Name)
		if err != nil {
			return fmt.Errorf("look up interface %q in netns %s: %w", want.Name, podNS.Path(), err)
		}
		if _, ok := link.(*netlink.Veth); !ok {
			return fmt.Errorf("interface %q in netns %s is a %s, expected a veth", want.Name, podNS.Path(), link.Type())
		}
		attrs := link.Attrs()
		if want.MAC != "" && !strings.EqualFold(attrs.HardwareAddr.String(), want.MAC) {
			return fmt.Errorf("interface %q in netns %s has MAC %s, expected %s", want.Name, podNS.Path(), attrs.HardwareAddr, want.MAC)
		}
		if want.MTU != 0 && attrs.MTU != want.MTU {
			return fmt.Errorf("interface %q in netns %s has MTU %d, expected %d", want.Name, podNS.Path(), attrs.MTU, want.MTU)
		}
		if err := ip.ValidateExpectedInterfaceIPs(want.Name, want.IPs); err != nil {
			return fmt.Errorf("check addresses of interface %q in netns %s: %w", want.Name, podNS.Path(), err)
		}
		if err := ip.ValidateExpectedRoute(want.Routes); err != nil {
			return fmt.Errorf("check routes in netns %s: %w", podNS.Path(), err)
		}
		return nil
	})
}

// CheckHostInterface verifies that the link name in hostNS exists and is a veth.
func CheckHostInterface(hostNS ns.NetNS, name string) error {
	return hostNS.Do(func(ns.NetNS) error {
		link, err := netlinksafe.LinkByName(name)
		if err != nil {
			return fmt.Errorf("look up interface %q in netns %s: %w", name, hostNS.Path(), err)
		}
		if _, ok := link.(*netlink.Veth); !ok {
			return fmt.Errorf("interface %q in netns %s is a %s, expected a veth", name, hostNS.Path(), link.Type())
		}
		return nil
	})
}
