package netconf

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// CNIArgs is the part of args.cni that contrail-vif reads. Multus puts the
// "cni-args" of a pod's network selection element there, over any args.cni
// that the NetworkAttachmentDefinition config has itself. The CNI
// conventions define args.cni.ips; args.cni.mac is the key the reference
// bridge plugin reads. Other keys are ignored, because runtimes may pass
// args that a plugin does not understand.
type CNIArgs struct {
	// IPs are the requested addresses, each an IP address with an optional
	// prefix length. nil means args.cni has no "ips"; an empty list
	// requests nothing.
	IPs []string
	// MAC is the requested MAC address, empty when args.cni has none.
	MAC string
}

// DecodeArgs decodes args.cni from c.Args and checks the syntax of the keys
// that CNIArgs holds. A config without args, or whose args have no "cni"
// key, gives the zero CNIArgs.
func (c *NetConf) DecodeArgs() (CNIArgs, error) {
	raw := bytes.TrimSpace(c.Args)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return CNIArgs{}, nil
	}
	var args map[string]json.RawMessage
	if err := json.Unmarshal(raw, &args); err != nil {
		return CNIArgs{}, fmt.Errorf("invalid args %s: expected an object such as {\"cni\": {\"ips\": [\"10.1.1.11/24\"]}}", shorten(raw))
	}
	return ParseCNIArgs(args["cni"])
}

// ParseCNIArgs decodes an args.cni object, such as the "cni-args" of a
// network selection element, and checks the syntax of "ips" and "mac".
// Empty input or null gives the zero CNIArgs.
func ParseCNIArgs(raw []byte) (CNIArgs, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return CNIArgs{}, nil
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(raw, &keys); err != nil {
		return CNIArgs{}, fmt.Errorf("invalid args.cni %s: expected an object such as {\"ips\": [\"10.1.1.11/24\"], \"mac\": \"02:00:00:00:00:01\"}", shorten(raw))
	}
	var out CNIArgs
	if v, ok := keys["ips"]; ok && !bytes.Equal(bytes.TrimSpace(v), []byte("null")) {
		if err := json.Unmarshal(v, &out.IPs); err != nil {
			return CNIArgs{}, fmt.Errorf("invalid args.cni.ips %s: expected a list of addresses such as [\"10.1.1.11/24\", \"fd00::11/64\"]", shorten(v))
		}
		if out.IPs == nil {
			out.IPs = []string{}
		}
		for i, s := range out.IPs {
			if _, err := ParseIPRequest(s); err != nil {
				return CNIArgs{}, fmt.Errorf("invalid args.cni.ips[%d]: %w", i, err)
			}
		}
	}
	if v, ok := keys["mac"]; ok && !bytes.Equal(bytes.TrimSpace(v), []byte("null")) {
		if err := json.Unmarshal(v, &out.MAC); err != nil {
			return CNIArgs{}, fmt.Errorf("invalid args.cni.mac %s: expected a string such as \"02:00:00:00:00:01\"", shorten(v))
		}
		if out.MAC != "" {
			if _, err := ParseUnicastMAC(out.MAC); err != nil {
				return CNIArgs{}, fmt.Errorf("invalid args.cni.mac: %w", err)
			}
		}
	}
	return out, nil
}

// Overlay returns a with the keys that b has replaced by b's values, the way
// Multus merges a selection element's "cni-args" into the config's args.cni.
func (a CNIArgs) Overlay(b CNIArgs) CNIArgs {
	if b.IPs != nil {
		a.IPs = b.IPs
	}
	if b.MAC != "" {
		a.MAC = b.MAC
	}
	return a
}
