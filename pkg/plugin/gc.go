package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/cni/pkg/types"
)

// GC input keys. CNI 1.1 names the list cni.dev/valid-attachments, but the
// spec-v1.1.0 text named it cni.dev/attachments, so libcni sends both.
const (
	validAttachmentsKey = "cni.dev/valid-attachments"
	attachmentsKey      = "cni.dev/attachments"
)

// GC removes every attachment of this network that has a state record but
// is not in the config's list of valid attachments: it deletes the tap,
// unbinds the port and removes the records. It keeps going after an error
// and returns all errors joined.
func (p *Plugin) GC(ctx context.Context, args *skel.CmdArgs) error {
	stdin, valid, err := splitGCInput(args.StdinData)
	if err != nil {
		return err
	}
	c, err := p.start("GC", args, stdin)
	if err != nil {
		return err
	}
	defer c.closeLog()

	records, err := c.store.List()
	errs := []error{err}
	for _, rec := range records {
		if rec.Network != c.conf.Name || valid[types.GCAttachment{ContainerID: rec.ContainerID, IfName: rec.IfName}] {
			continue
		}
		c.log.Info("removing attachment that the runtime no longer lists",
			"staleContainerID", rec.ContainerID, "staleIfname", rec.IfName, "vmi", rec.VMIUUID, "tap", rec.Tap)
		recCtx, cancel := context.WithTimeout(ctx, c.conf.AgentTimeout.Duration)
		err := p.unplug(recCtx, c, recordTarget(rec))
		cancel()
		if err != nil {
			errs = append(errs, fmt.Errorf("remove attachment %s/%s: %w", rec.ContainerID, rec.IfName, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		c.log.Error("GC failed", "error", err)
		return err
	}
	return nil
}

// splitGCInput returns the GC config without the key that netconf.Parse
// does not know, and the set of valid attachments from either key.
func splitGCInput(stdin []byte) ([]byte, map[types.GCAttachment]bool, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(stdin, &fields); err != nil {
		return nil, nil, errorf(types.ErrDecodingFailure, "network config on stdin is not a JSON object: %v", err)
	}
	valid := map[types.GCAttachment]bool{}
	found := false
	for _, key := range []string{validAttachmentsKey, attachmentsKey} {
		raw, ok := fields[key]
		if !ok {
			continue
		}
		found = true
		var list []types.GCAttachment
		if err := json.Unmarshal(raw, &list); err != nil {
			return nil, nil, errorf(types.ErrDecodingFailure,
				"invalid %s in the GC input: %v; expected a list of {\"containerID\": ..., \"ifname\": ...}", key, err)
		}
		for _, a := range list {
			valid[a] = true
		}
	}
	if !found {
		return nil, nil, errorf(types.ErrInvalidNetworkConfig,
			"GC input has no %s list; send an empty list to remove every attachment of the network", validAttachmentsKey)
	}

	delete(fields, attachmentsKey)
	stripped, err := json.Marshal(fields)
	if err != nil {
		return nil, nil, fmt.Errorf("encode GC config: %w", err)
	}
	return stripped, valid, nil
}
