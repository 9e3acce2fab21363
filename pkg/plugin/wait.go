package plugin

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/containernetworking/cni/pkg/types"

	"github.com/contrail-vif/contrail-vif/pkg/agentclient"
	"github.com/contrail-vif/contrail-vif/pkg/attachment"
)

// errWaitTimedOut is returned by poll when ctx ends before try succeeds.
var errWaitTimedOut = errors.New("timed out")

// poll calls try until it reports done or ctx ends, pausing PollInterval
// after each attempt during the first FastPollWindow, then twice as long
// after each further one, up to MaxPollInterval. When try reports done,
// poll returns try's error. When ctx ends first, poll returns
// errWaitTimedOut joined with try's last error, the reason the wait did not
// succeed. ctx must have a deadline so that the loop ends.
func (p *Plugin) poll(ctx context.Context, try func(context.Context) (bool, error)) error {
	if _, ok := ctx.Deadline(); !ok {
		return errors.New("poll the vRouter agent: context has no deadline")
	}
	pause := p.PollInterval
	backoffAfter := time.Now().Add(p.FastPollWindow)
	var last error
	for {
		done, err := try(ctx)
		if done {
			return err
		}
		// An attempt that the deadline cut short carries no new reason.
		if err != nil && ctx.Err() == nil {
			last = err
		}
		timer := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			timer.Stop()
			if last == nil {
				last = ctx.Err()
			}
			return errors.Join(errWaitTimedOut, last)
		case <-timer.C:
		}
		if time.Now().After(backoffAfter) {
			pause = min(2*pause, p.MaxPollInterval)
		}
	}
}

// errVMINotListed is the reason for waiting when the agent has the VM but
// lists no VMI of this attachment.
var errVMINotListed = errors.New("the virtual-machine lists no VMI for this interface and pod UID")

// waitForVMI waits until the agent's config view of the pod's VM lists the
// VMI of this attachment. That VMI has the annotation "interface" equal to
// CNI_IFNAME and a vm-uuid equal to the pod UID, so the VM of an earlier pod
// with the same name does not match.
func (p *Plugin) waitForVMI(ctx context.Context, c *call, vmName string) (*agentclient.VMConfigEntry, error) {
	var found *agentclient.VMConfigEntry
	err := p.poll(ctx, func(ctx context.Context) (bool, error) {
		entries, err := c.agent.VMConfig(ctx, vmName)
		if err != nil {
			return errors.Is(err, agentclient.ErrInvalidReply), err
		}
		for i := range entries {
			e := &entries[i]
			if e.VMUUID != c.pod.UID || attachment.ParseAgentAnnotations(e.Annotations)[attachment.KeyInterface] != c.args.IfName {
				continue
			}
			found = e
			return true, nil
		}
		return false, errVMINotListed
	})
	if errors.Is(err, errWaitTimedOut) {
		return nil, p.waitError(c, err, fmt.Sprintf(
			"the VMI of interface %q of pod %s (uid %s) to appear in the vRouter agent as part of virtual-machine %q",
			c.args.IfName, c.pod, c.pod.UID, vmName),
			fmt.Sprintf("check that contrail-vif-controller is running and has no error event on the pod, that virtual network %q exists, and that this node's virtual-router is linked to virtual-machine %q",
				c.conf.VirtualNetwork, vmName))
	}
	if err != nil {
		return nil, invalidReplyError(c, err)
	}
	if err := agentclient.CheckUUID(found.ID); err != nil {
		return nil, errorf(types.ErrDecodingFailure, "the vRouter agent at %s lists the VMI of interface %q of pod %s with an invalid id: %v",
			c.conf.AgentURL, c.args.IfName, c.pod, err)
	}
	if found.VNName != c.conf.VirtualNetwork {
		return nil, errorf(types.ErrInvalidNetworkConfig,
			"VMI %s of interface %q of pod %s is in virtual network %q, but network %q names virtualNetwork %q; fix the NetworkAttachmentDefinition or the pod's network selection",
			found.ID, c.args.IfName, c.pod, found.VNName, c.conf.Name, c.conf.VirtualNetwork)
	}
	return found, nil
}

// errNoAddress is the reason for waiting when the agent reports the port
// without any address.
var errNoAddress = errors.New("the port has no IPv4 or IPv6 address")

// waitForAddressing waits until the agent reports the VMI's port with at
// least one address. The agent serves GET /port from config before any
// host interface is bound.
func (p *Plugin) waitForAddressing(ctx context.Context, c *call, vmi *agentclient.VMConfigEntry) (*agentclient.Port, *addressing, error) {
	var port *agentclient.Port
	var addrs *addressing
	err := p.poll(ctx, func(ctx context.Context) (bool, error) {
		var err error
		port, err = c.agent.Port(ctx, vmi.ID)
		if err != nil {
			return errors.Is(err, agentclient.ErrInvalidReply), err
		}
		if port.IPAddress == "" && port.IPv6Address == "" {
			return false, errNoAddress
		}
		addrs, err = newAddressing(port, vmi.MACAddress)
		if err != nil {
			return true, invalidContent{err}
		}
		return true, nil
	})
	if errors.Is(err, errWaitTimedOut) {
		return nil, nil, p.waitError(c, err, fmt.Sprintf("the vRouter agent to report an address for VMI %s of interface %q of pod %s",
			vmi.ID, c.args.IfName, c.pod),
			fmt.Sprintf("check that contrail-vif-controller created an instance-ip for the VMI and that virtual network %q has a subnet",
				c.conf.VirtualNetwork))
	}
	if errors.Is(err, agentclient.ErrInvalidReply) {
		return nil, nil, invalidReplyError(c, err)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read port of VMI %s from the vRouter agent at %s: %w", vmi.ID, c.conf.AgentURL, err)
	}
	return port, addrs, nil
}

// invalidContent marks an error about the values in a decoded agent reply
// as matching agentclient.ErrInvalidReply, without changing its message.
type invalidContent struct{ error }

func (e invalidContent) Is(target error) bool { return target == agentclient.ErrInvalidReply }

func (e invalidContent) Unwrap() error { return e.error }

// errNotBound is the reason for waiting when the agent does not yet report
// the port bound to the tap with the configured addresses.
var errNotBound = errors.New("the port is not bound to the tap with the configured addresses yet")

// waitForBound waits until the agent reports the VMI's port bound to tap
// with the addresses in want.
func (p *Plugin) waitForBound(ctx context.Context, c *call, vmiUUID, tap string, want *addressing) error {
	err := p.poll(ctx, func(ctx context.Context) (bool, error) {
		port, err := c.agent.Port(ctx, vmiUUID)
		if err != nil {
			return errors.Is(err, agentclient.ErrInvalidReply), err
		}
		if port.SystemName != tap || !want.sameAddresses(port) {
			return false, fmt.Errorf("%w: system-name %q, ip-address %q, v6-ip-address %q",
				errNotBound, port.SystemName, port.IPAddress, port.IPv6Address)
		}
		return true, nil
	})
	if errors.Is(err, errWaitTimedOut) {
		return p.waitError(c, err, fmt.Sprintf("the vRouter agent to report VMI %s bound to %q", vmiUUID, tap),
			"check the vRouter agent's log for the port add")
	}
	return invalidReplyError(c, err)
}

// invalidReplyError returns a code 6 error when err matches
// agentclient.ErrInvalidReply, and err itself otherwise. The plugin stops
// waiting at the first such reply, because an agent that sends content the
// plugin cannot decode does not start sending valid content on a retry.
func invalidReplyError(c *call, err error) error {
	if err == nil || !errors.Is(err, agentclient.ErrInvalidReply) {
		return err
	}
	return errorf(types.ErrDecodingFailure, "%v; check that agentURL %s in the network config points at contrail-vrouter-agent and that its version serves the port API",
		err, c.conf.AgentURL)
}

// waitError turns a timed-out wait into a CNI "try again later" error that
// names what the plugin waited for and what to check. When the agent sent no
// reply, the message names its URL instead.
func (p *Plugin) waitError(c *call, err error, waitedFor, advice string) error {
	timeout := c.conf.AgentTimeout.Duration
	if errors.Is(err, agentclient.ErrUnreachable) {
		return errorf(types.ErrTryAgainLater,
			"timed out after %s waiting for %s for network %q: %v; check that contrail-vrouter-agent runs on this node and listens at %s (agentURL in the network config)",
			timeout, waitedFor, c.conf.Name, withoutTimeout(err), c.conf.AgentURL)
	}
	return errorf(types.ErrTryAgainLater, "timed out after %s waiting for %s (network %q, virtual network %q); last reply: %v; %s",
		timeout, waitedFor, c.conf.Name, c.conf.VirtualNetwork, withoutTimeout(err), advice)
}

// withoutTimeout returns the last reason of a timed-out wait error.
func withoutTimeout(err error) error {
	var joined interface{ Unwrap() []error }
	if errors.As(err, &joined) {
		for _, e := range joined.Unwrap() {
			if e != errWaitTimedOut {
				return e
			}
		}
	}
	return err
}
