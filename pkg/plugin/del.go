package plugin

import (
	"context"
	"errors"
	"io/fs"

	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/cni/pkg/types"

	"github.com/contrail-vif/contrail-vif/pkg/agentclient"
	"github.com/contrail-vif/contrail-vif/pkg/attachment"
	"github.com/contrail-vif/contrail-vif/pkg/netplumb"
	"github.com/contrail-vif/contrail-vif/pkg/state"
)

// Del unplugs the attachment (CNI_CONTAINERID, CNI_IFNAME). It succeeds when
// the namespace, the link, the agent's port or the state record is already
// gone, and it leaves the tap and port binding alone when a newer sandbox of
// the same pod owns the VMI. While the agent is unreachable, DEL retries the
// unbind until agentTimeout ends, then logs a warning and succeeds.
func (p *Plugin) Del(ctx context.Context, args *skel.CmdArgs) error {
	c, err := p.start("DEL", args, args.StdinData)
	if err != nil {
		return err
	}
	defer c.closeLog()

	ctx, cancel := context.WithTimeout(ctx, c.conf.AgentTimeout.Duration)
	defer cancel()

	target := unplugTarget{containerID: args.ContainerID, ifname: args.IfName, netns: args.Netns}
	rec, err := c.store.Load(args.ContainerID, args.IfName)
	switch {
	case err == nil:
		target.vmi, target.tap = rec.VMIUUID, rec.Tap
	default:
		if !isNotExist(err) {
			c.log.Warn("cannot read state record; unplugging what CNI_ARGS identifies", "error", err)
		}
		// Without a record (DEL without ADD, or a lost state directory) only
		// the pod UID identifies the VMI. The derived tap is left alone
		// because nothing proves it belongs to this sandbox; deleting the pod
		// interface removes the pair when it does.
		if c.pod.UID == "" {
			c.log.Warn("no state record and no K8S_POD_UID in CNI_ARGS; deleting only the pod interface, and leaving the VMI's port binding to the agent's resync and the controller's sweep")
		} else {
			target.vmi = attachment.VMIUUID(c.pod.UID, args.IfName)
			target.derivedTap = attachment.TapName(target.vmi)
			c.log.Info("no state record; unplugging the pod interface and the VMI derived from K8S_POD_UID", "vmi", target.vmi)
		}
	}

	if err := p.unplug(ctx, c, target); err != nil {
		c.log.Error("DEL failed", "vmi", target.vmi, "error", err)
		return err
	}
	c.log.Info("detached", "vmi", target.vmi, "tap", target.tap)
	return nil
}

// unplugTarget is the attachment that unplug removes.
type unplugTarget struct {
	containerID string
	ifname      string
	// netns is the sandbox's namespace path; empty when unknown.
	netns string
	// vmi is empty when neither a state record nor CNI_ARGS identify it.
	vmi string
	// tap is the host interface from the state record; empty without one.
	tap string
	// derivedTap is the tap name derived from vmi when there is no state
	// record. unplug does not delete it, but logs when it is left behind.
	derivedTap string
}

// unplug deletes the attachment's links, unbinds its port and removes its
// records. When another attachment owns the VMI, it deletes only the pod
// interface in t.netns and the state record of t.
func (p *Plugin) unplug(ctx context.Context, c *call, t unplugTarget) error {
	if t.vmi == "" {
		_, err := netplumb.DeleteLinkAt(t.netns, t.ifname)
		return errors.Join(err, c.store.Remove(t.containerID, t.ifname))
	}

	lock, err := c.store.LockVMI(ctx, t.vmi)
	if err != nil {
		return lockError(c, err)
	}

	owner, err := c.store.Owner(t.vmi)
	if err != nil && !isNotExist(err) {
		c.log.Warn("cannot read VMI owner record; treating the VMI as unowned", "vmi", t.vmi, "error", err)
	}
	if err != nil {
		owner = nil
	}
	if owner != nil && !owner.Is(t.containerID, t.ifname) {
		c.log.Info("a newer attachment owns the VMI; leaving its tap and port binding",
			"vmi", t.vmi, "ownerContainerID", owner.ContainerID, "ownerIfname", owner.IfName)
		_, err := netplumb.DeleteLinkAt(t.netns, t.ifname)
		return errors.Join(err, c.store.Remove(t.containerID, t.ifname), lock.Unlock())
	}

	var errs []error
	if t.tap != "" {
		if _, err := netplumb.DeleteLink(p.HostNS, t.tap); err != nil {
			errs = append(errs, err)
		}
	}
	if _, err := netplumb.DeleteLinkAt(t.netns, t.ifname); err != nil {
		errs = append(errs, err)
	}
	p.warnLeftoverTap(c, t)
	if err := p.unbind(ctx, c, t.vmi); err != nil {
		c.log.Warn("cannot unbind port in the vRouter agent; its binding and port file stay until the port is deleted in the agent",
			"vmi", t.vmi, "agentURL", c.conf.AgentURL, "error", err)
	}
	errs = append(errs, c.store.Remove(t.containerID, t.ifname))
	// The owner record is this attachment's, absent or unreadable: remove it
	// in all three cases, so that an unreadable one does not outlive the pod.
	errs = append(errs, c.store.RemoveOwner(t.vmi))
	errs = append(errs, lock.UnlockAndRemove())
	return errors.Join(errs...)
}

// warnLeftoverTap logs the derived tap of a DEL without a state record when
// it still exists after the pod interface is gone. Its peer then lives in a
// namespace that DEL cannot reach, such as one whose path is unmounted while
// a process still holds it; the tap disappears with that namespace.
func (p *Plugin) warnLeftoverTap(c *call, t unplugTarget) {
	if t.derivedTap == "" {
		return
	}
	exists, err := netplumb.LinkExists(p.HostNS, t.derivedTap)
	if err != nil {
		c.log.Warn("cannot check for a leftover host interface", "tap", t.derivedTap, "error", err)
		return
	}
	if exists {
		c.log.Warn("host interface of the VMI still exists; not deleting it without a state record that names it",
			"tap", t.derivedTap, "vmi", t.vmi)
	}
}

// unbind deletes the agent's port of vmiUUID, and tries again while the
// agent is unreachable until ctx ends. A restarting agent replays its port
// files and skips those whose tap is gone, but keeps the files, so a DEL
// that gives up during the restart would leave the port file for good.
func (p *Plugin) unbind(ctx context.Context, c *call, vmiUUID string) error {
	return p.poll(ctx, func(ctx context.Context) (bool, error) {
		err := c.agent.DeletePort(ctx, vmiUUID)
		// An attempt that the deadline cut short is not done either, so that
		// poll reports the last reason instead of the deadline.
		done := err == nil || (!errors.Is(err, agentclient.ErrUnreachable) && ctx.Err() == nil)
		return done, err
	})
}

// lockError returns a "try again later" error when LockVMI timed out
// waiting for another plugin process, and err itself otherwise.
func lockError(c *call, err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return errorf(types.ErrTryAgainLater, "%v: another contrail-vif process holds the VMI's lock under %s; retry when it finishes",
			err, c.conf.StateDir)
	}
	return err
}

func isNotExist(err error) bool {
	return errors.Is(err, fs.ErrNotExist)
}

// recordTarget returns the unplug target of a state record, for GC: the
// sandbox's namespace is taken to be gone.
func recordTarget(rec *state.Attachment) unplugTarget {
	return unplugTarget{containerID: rec.ContainerID, ifname: rec.IfName, vmi: rec.VMIUUID, tap: rec.Tap}
}
