package plugin

import (
	"context"
	"errors"
	"fmt"

	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"
	"github.com/containernetworking/cni/pkg/version"

	"github.com/contrail-vif/contrail-vif/pkg/attachment"
	"github.com/contrail-vif/contrail-vif/pkg/netplumb"
)

// Check verifies the attachment against the prevResult of its ADD: the pod
// interface with its MAC, MTU, addresses and routes, the tap on the host,
// and the agent's port bound to the tap with the same addresses.
func (p *Plugin) Check(ctx context.Context, args *skel.CmdArgs) error {
	c, err := p.start("CHECK", args, args.StdinData)
	if err != nil {
		return err
	}
	defer c.closeLog()

	prev, err := prevResult(c)
	if err != nil {
		return err
	}
	want, err := expectedPodInterface(prev, args.IfName, args.Netns)
	if err != nil {
		return err
	}

	podNS, err := p.openPodNetns(args.Netns)
	if err != nil {
		return err
	}
	defer podNS.Close()
	if err := netplumb.CheckPodInterface(podNS, want); err != nil {
		return err
	}

	vmi, tap, err := p.checkTarget(c)
	if err != nil {
		return err
	}
	if err := netplumb.CheckHostInterface(p.HostNS, tap); err != nil {
		return err
	}

	ctx, cancel := context.WithTimeout(ctx, p.AgentRequestTimeout)
	defer cancel()
	port, err := c.agent.Port(ctx, vmi)
	if err != nil {
		return fmt.Errorf("read port of VMI %s from the vRouter agent at %s: %w", vmi, c.conf.AgentURL, err)
	}
	if port.SystemName != tap {
		return fmt.Errorf("the vRouter agent reports VMI %s bound to %q, expected %q", vmi, port.SystemName, tap)
	}
	for _, ipc := range want.IPs {
		reported := port.IPAddress
		if ipc.Address.IP.To4() == nil {
			reported = port.IPv6Address
		}
		if !sameIP(ipc, reported) {
			return fmt.Errorf("the vRouter agent reports address %q for VMI %s, expected %s", reported, vmi, ipc.Address.IP)
		}
	}
	return nil
}

// prevResult returns the config's prevResult, which CHECK requires.
func prevResult(c *call) (*current.Result, error) {
	if c.conf.RawPrevResult == nil {
		return nil, errorf(types.ErrInvalidNetworkConfig, "CHECK needs the prevResult of the ADD in the network config, and it has none")
	}
	if err := version.ParsePrevResult(&c.conf.NetConf); err != nil {
		return nil, errorf(types.ErrDecodingFailure, "invalid prevResult in the network config: %v", err)
	}
	prev, err := current.NewResultFromResult(c.conf.PrevResult)
	if err != nil {
		return nil, errorf(types.ErrDecodingFailure, "convert prevResult to cniVersion %s: %v", current.ImplementedSpecVersion, err)
	}
	return prev, nil
}

// expectedPodInterface returns the pod interface ifname in sandbox netns of
// prev, with the IPs that refer to it.
func expectedPodInterface(prev *current.Result, ifname, netns string) (netplumb.Expected, error) {
	for i, iface := range prev.Interfaces {
		if iface.Name != ifname || iface.Sandbox != netns {
			continue
		}
		want := netplumb.Expected{Name: ifname, MAC: iface.Mac, MTU: iface.Mtu, Routes: prev.Routes}
		for _, ipc := range prev.IPs {
			if ipc.Interface != nil && *ipc.Interface == i {
				want.IPs = append(want.IPs, ipc)
			}
		}
		return want, nil
	}
	return netplumb.Expected{}, errorf(types.ErrInvalidNetworkConfig,
		"prevResult has no interface %q in sandbox %q", ifname, netns)
}

// checkTarget returns the VMI and tap of the attachment, from its state
// record or, without one, derived from K8S_POD_UID.
func (p *Plugin) checkTarget(c *call) (vmi, tap string, err error) {
	rec, err := c.store.Load(c.args.ContainerID, c.args.IfName)
	if err == nil {
		return rec.VMIUUID, rec.Tap, nil
	}
	if !isNotExist(err) {
		return "", "", err
	}
	if c.pod.UID == "" {
		return "", "", errors.New("no state record for this attachment and no K8S_POD_UID in CNI_ARGS to find its VMI")
	}
	vmi = attachment.VMIUUID(c.pod.UID, c.args.IfName)
	return vmi, attachment.TapName(vmi), nil
}

// Status returns a code 50 error unless the vRouter agent replies to HTTP
// requests, which ADD needs.
func (p *Plugin) Status(ctx context.Context, args *skel.CmdArgs) error {
	c, err := p.start("STATUS", args, args.StdinData)
	if err != nil {
		return err
	}
	defer c.closeLog()

	ctx, cancel := context.WithTimeout(ctx, p.AgentRequestTimeout)
	defer cancel()
	if err := c.agent.Ping(ctx); err != nil {
		c.log.Warn("vRouter agent unavailable", "agentURL", c.conf.AgentURL, "error", err)
		return errorf(types.ErrPluginNotAvailable,
			"the vRouter agent at %s is not available: %v; check that contrail-vrouter-agent runs on this node and that agentURL in the network config is right",
			c.conf.AgentURL, err)
	}
	return nil
}
