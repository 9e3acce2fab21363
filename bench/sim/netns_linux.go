package main

import (
	"fmt"
	"strings"

	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netlink"

	"github.com/contrail-vif/contrail-vif/pkg/sim/dataplane"
)

// createVeths creates, in the named namespace netnsName, one veth pair per
// pod: the host end is the pod's hostIfname, as the plugin would create it,
// and the peer stays in the same namespace because the benchmark sends no
// traffic.
func createVeths(netnsName string, pods []pod) error {
	return ns.WithNetNSPath(dataplane.NetnsPath(netnsName), func(ns.NetNS) error {
		for _, p := range pods {
			peer := peerIfnamePrefix + strings.TrimPrefix(p.hostIfname, hostIfnamePrefix)
			veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: p.hostIfname}, PeerName: peer}
			if err := netlink.LinkAdd(veth); err != nil {
				return fmt.Errorf("create veth %s/%s in netns %s: %w", p.hostIfname, peer, netnsName, err)
			}
		}
		return nil
	})
}

// countEnslaved returns how many links of the named namespace netnsName
// whose names start with prefix have the bridge bridgeName as master.
func countEnslaved(netnsName, bridgeName, prefix string) (int, error) {
	var n int
	err := ns.WithNetNSPath(dataplane.NetnsPath(netnsName), func(ns.NetNS) error {
		bridge, err := netlinksafe.LinkByName(bridgeName)
		if err != nil {
			return fmt.Errorf("find bridge %s in netns %s: %w", bridgeName, netnsName, err)
		}
		links, err := netlinksafe.LinkList()
		if err != nil {
			return fmt.Errorf("list links of netns %s: %w", netnsName, err)
		}
		for _, link := range links {
			attrs := link.Attrs()
			if strings.HasPrefix(attrs.Name, prefix) && attrs.MasterIndex == bridge.Attrs().Index {
				n++
			}
		}
		return nil
	})
	return n, err
}
