package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"
	"github.com/containernetworking/plugins/pkg/ns"

	"github.com/contrail-vif/contrail-vif/pkg/agentclient"
	"github.com/contrail-vif/contrail-vif/pkg/attachment"
	"github.com/contrail-vif/contrail-vif/pkg/netplumb"
	"github.com/contrail-vif/contrail-vif/pkg/state"
)

// Add plugs the attachment (CNI_CONTAINERID, CNI_IFNAME) into the pod and
// returns the result in the config's cniVersion.
func (p *Plugin) Add(ctx context.Context, args *skel.CmdArgs) (types.Result, error) {
	c, err := p.start("ADD", args, args.StdinData)
	if err != nil {
		return nil, err
	}
	defer c.closeLog()

	if err := c.pod.requireAll(); err != nil {
		return nil, err
	}
	requests, err := loadRequests(c)
	if err != nil {
		return nil, err
	}

	podNS, err := p.openPodNetns(args.Netns)
	if err != nil {
		return nil, err
	}
	defer podNS.Close()

	// One deadline bounds every wait for the agent in this ADD.
	ctx, cancel := context.WithTimeout(ctx, c.conf.AgentTimeout.Duration)
	defer cancel()

	vmName := attachment.VMName(c.conf.ClusterName, c.pod.Namespace, c.pod.Name)
	vmi, err := p.waitForVMI(ctx, c, vmName)
	if err != nil {
		c.log.Error("VMI not found", "vmName", vmName, "error", err)
		return nil, err
	}
	if derived := attachment.VMIUUID(c.pod.UID, args.IfName); vmi.ID != derived {
		c.log.Warn("VMI uuid differs from the one derived from pod UID and interface; DEL without state will not find it",
			"vmi", vmi.ID, "derived", derived)
	}

	port, addrs, err := p.waitForAddressing(ctx, c, vmi)
	if err != nil {
		c.log.Error("VMI has no usable address", "vmi", vmi.ID, "error", err)
		return nil, err
	}
	if err := requests.check(addrs, vmi.ID); err != nil {
		c.log.Error("VMI does not match the pod's request", "vmi", vmi.ID, "error", err)
		return nil, err
	}
	routes, err := podRoutes(c, vmi, addrs)
	if err != nil {
		c.log.Error("invalid routes", "vmi", vmi.ID, "error", err)
		return nil, err
	}

	result, err := p.plug(ctx, c, podNS, plugTarget{vmName: vmName, vmi: vmi, port: port, addrs: addrs, routes: routes})
	if err != nil {
		c.log.Error("ADD failed", "vmi", vmi.ID, "error", err)
		return nil, err
	}
	c.log.Info("attached", "vmi", vmi.ID, "tap", result.Interfaces[hostInterfaceIndex].Name,
		"virtualNetwork", c.conf.VirtualNetwork)

	converted, err := result.GetAsVersion(c.conf.CNIVersion)
	if err != nil {
		return nil, fmt.Errorf("convert result to cniVersion %q: %w", c.conf.CNIVersion, err)
	}
	return converted, nil
}

// plugTarget is the attachment as the agent reports it to ADD.
type plugTarget struct {
	vmName string
	vmi    *agentclient.VMConfigEntry
	port   *agentclient.Port
	addrs  *addressing
	// routes go through the pod interface: the config's and the IPAM's.
	routes []attachment.Route
}

// plug takes over the VMI, creates and configures the veth pair, binds the
// tap to the VMI and records the attachment. On failure it deletes the pair
// and unbinds the port again.
func (p *Plugin) plug(ctx context.Context, c *call, podNS ns.NetNS, t plugTarget) (*current.Result, error) {
	// Check before claim, because claim deletes a leftover tap and with it
	// the pod end of its pair. An ADD repeated without DEL must fail instead.
	exists, err := netplumb.LinkExists(podNS, c.args.IfName)
	if err != nil {
		return nil, err
	}
	if exists {
		return nil, fmt.Errorf("interface %q already exists in netns %s; CNI_IFNAME must name a new interface", c.args.IfName, c.args.Netns)
	}

	tap := attachment.TapName(t.vmi.ID)
	if err := p.claim(ctx, c, t.vmi.ID, tap); err != nil {
		return nil, err
	}

	created, bindSent, success := false, false, false
	defer func() {
		if !success {
			p.rollback(c, t.vmi.ID, tap, created, bindSent)
		}
	}()

	host, pod, err := netplumb.CreateVeth(p.HostNS, podNS, netplumb.Veth{
		HostName: tap, PodName: c.args.IfName, MTU: c.conf.MTU, PodMAC: t.addrs.mac,
	})
	if errors.Is(err, netplumb.ErrLinkExists) {
		return nil, fmt.Errorf("interface %q already exists in netns %s; CNI_IFNAME must name a new interface: %w",
			c.args.IfName, c.args.Netns, err)
	}
	if err != nil {
		return nil, err
	}
	created = true

	if err := netplumb.ConfigureAddresses(podNS, c.args.IfName, t.addrs.addresses()); err != nil {
		return nil, err
	}

	routes, err := addRoutes(podNS, c.args.IfName, t.routes, c.log)
	if err != nil {
		return nil, err
	}

	gateways, err := defaultRouteRequest(t.vmi)
	if err != nil {
		return nil, err
	}
	if len(gateways) > 0 {
		// NOTE: Multus is meant to move the default route for a
		// "default-route" request, but v4.3.0 misses default routes whose
		// destination netlink reports as 0.0.0.0/0 instead of nil, so the
		// plugin moves it itself. The controller passes the request on the
		// VMI because Multus does not pass it to the delegate.
		if err := netplumb.ReplaceDefaultRoutes(podNS, c.args.IfName, gateways); err != nil {
			return nil, err
		}
	}

	// A POST that fails on the way back may still have bound the port.
	bindSent = true
	if err := p.bind(ctx, c, t, tap); err != nil {
		return nil, err
	}

	if err := p.waitForBound(ctx, c, t.vmi.ID, tap, t.addrs); err != nil {
		return nil, err
	}

	result := newResult(host, pod, c.args.Netns, t.addrs)
	result.Routes = routes
	for _, gw := range gateways {
		result.Routes = append(result.Routes, defaultRoute(gw))
	}
	if err := p.record(c, t, tap, result); err != nil {
		return nil, err
	}
	success = true
	return result, nil
}

// claim records this attachment as the owner of the VMI. A late DEL of an
// earlier sandbox of the same pod then leaves the tap and the binding alone.
// claim also deletes a tap of the same name that such a sandbox left behind.
func (p *Plugin) claim(ctx context.Context, c *call, vmiUUID, tap string) error {
	lock, err := c.store.LockVMI(ctx, vmiUUID)
	if err != nil {
		return lockError(c, err)
	}
	defer func() {
		if err := lock.Unlock(); err != nil {
			c.log.Warn("cannot release VMI lock", "vmi", vmiUUID, "error", err)
		}
	}()

	previous, err := c.store.Owner(vmiUUID)
	if err != nil && !isNotExist(err) {
		c.log.Warn("cannot read VMI owner record; replacing it", "vmi", vmiUUID, "error", err)
	}
	if err := c.store.SetOwner(vmiUUID, state.Owner{ContainerID: c.args.ContainerID, IfName: c.args.IfName}); err != nil {
		return fmt.Errorf("record this attachment as owner of VMI %s: %w", vmiUUID, err)
	}

	deleted, err := netplumb.DeleteLink(p.HostNS, tap)
	if err != nil {
		return fmt.Errorf("delete leftover host interface %q: %w", tap, err)
	}
	if deleted {
		c.log.Warn("deleted leftover host interface of an earlier sandbox", "tap", tap, "previousOwner", previous)
	}
	return nil
}

// bind binds tap to the VMI with the agent's POST /port.
func (p *Plugin) bind(ctx context.Context, c *call, t plugTarget, tap string) error {
	req := agentclient.PortRequest{
		ID:          t.vmi.ID,
		InstanceID:  t.vmi.VMUUID,
		VNID:        t.vmi.VNID,
		VMProjectID: t.port.VMProjectID,
		DisplayName: t.vmName,
		Type:        agentclient.PortTypeNamespace,
		SystemName:  tap,
		MACAddress:  t.addrs.mac.String(),
		RxVLANID:    agentclient.NoVLAN,
		TxVLANID:    agentclient.NoVLAN,
		Author:      Author,
		Time:        p.Now().UTC().Format("2006-01-02 15:04:05"),
	}
	if t.addrs.ipv4 != nil {
		req.IPAddress = t.addrs.ipv4.Address.IP.String()
	}
	if t.addrs.ipv6 != nil {
		req.IPv6Address = t.addrs.ipv6.Address.IP.String()
	}
	if err := c.agent.AddPort(ctx, req); err != nil {
		if errors.Is(err, agentclient.ErrUnreachable) {
			return errorf(types.ErrTryAgainLater, "bind %q to VMI %s: %v; check that contrail-vrouter-agent runs on this node and listens at %s",
				tap, t.vmi.ID, err, c.conf.AgentURL)
		}
		return fmt.Errorf("bind %q to VMI %s: the vRouter agent rejected the port: %w", tap, t.vmi.ID, err)
	}
	return nil
}

// record writes the attachment's state record.
func (p *Plugin) record(c *call, t plugTarget, tap string, result *current.Result) error {
	resultJSON, err := json.Marshal(result)
	if err != nil {
		return fmt.Errorf("encode result: %w", err)
	}
	err = c.store.Save(&state.Attachment{
		ContainerID:    c.args.ContainerID,
		IfName:         c.args.IfName,
		Network:        c.conf.Name,
		Netns:          c.args.Netns,
		PodNamespace:   c.pod.Namespace,
		PodName:        c.pod.Name,
		PodUID:         c.pod.UID,
		VMName:         t.vmName,
		VMUUID:         t.vmi.VMUUID,
		VMIUUID:        t.vmi.ID,
		VirtualNetwork: c.conf.VirtualNetwork,
		Tap:            tap,
		Result:         resultJSON,
		Created:        p.Now().UTC(),
	})
	if err != nil {
		return fmt.Errorf("record attachment in %s: %w", c.conf.StateDir, err)
	}
	return nil
}

// rollback undoes a failed plug. It leaves the owner record in place: the
// DEL that the runtime sends after a failed ADD removes it.
func (p *Plugin) rollback(c *call, vmiUUID, tap string, created, bindSent bool) {
	if bindSent {
		// The bind may have reached an agent that restarted before it
		// replied. The restarted agent keeps the port file, so the unbind
		// is retried like DEL's, within the config's agentTimeout.
		ctx, cancel := context.WithTimeout(context.Background(), c.conf.AgentTimeout.Duration)
		defer cancel()
		if err := p.unbind(ctx, c, vmiUUID); err != nil {
			c.log.Warn("rollback: cannot unbind port; its binding and port file stay until the port is deleted in the agent",
				"vmi", vmiUUID, "error", err)
		}
	}
	if created {
		if _, err := netplumb.DeleteLink(p.HostNS, tap); err != nil {
			c.log.Warn("rollback: cannot delete veth pair", "tap", tap, "error", err)
		}
	}
}
