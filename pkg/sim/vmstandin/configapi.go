package vmstandin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"strings"
)

// maxResponseBytes caps how much of a config API response the client
// reads. The objects the stand-in reads are a few kilobytes.
const maxResponseBytes = 1 << 20

// APIError is a config API response with a status other than 200. The API
// server sends its message as plain text.
type APIError struct {
	Method     string
	Path       string
	StatusCode int
	Message    string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("%s %s: status %d: %s", e.Method, e.Path, e.StatusCode, e.Message)
}

// hasStatus reports whether err is an APIError with the given status.
func hasStatus(err error, status int) bool {
	var e *APIError
	return errors.As(err, &e) && e.StatusCode == status
}

// configClient calls the config API without authentication, as the
// simulator serves it, with the JSON bodies of the wire format.
type configClient struct {
	baseURL string
	http    *http.Client
}

// do sends body (nil for none) as JSON and decodes a 200 response into out
// (nil to ignore it).
func (c *configClient) do(ctx context.Context, method, path string, body, out any) error {
	var reader io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("encode %s %s body: %w", method, path, err)
		}
		reader = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.baseURL+path, reader)
	if err != nil {
		return fmt.Errorf("build %s %s: %w", method, path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json; charset=UTF-8")
	}

	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, c.baseURL+path, err)
	}
	defer resp.Body.Close()
	respBody, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return fmt.Errorf("read %s %s response: %w", method, path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return &APIError{Method: method, Path: path, StatusCode: resp.StatusCode, Message: strings.TrimSpace(string(respBody))}
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(respBody, out); err != nil {
		return fmt.Errorf("decode %s %s response %q: %w", method, path, respBody, err)
	}
	return nil
}

// fqNameToID returns the uuid of the object typ named fq. A missing object
// gives an APIError with status 404.
func (c *configClient) fqNameToID(ctx context.Context, typ string, fq []string) (string, error) {
	var out struct {
		UUID string `json:"uuid"`
	}
	err := c.do(ctx, http.MethodPost, "/fqname-to-id", map[string]any{"type": typ, "fq_name": fq}, &out)
	if err != nil {
		return "", err
	}
	return out.UUID, nil
}

// create creates an object of type typ from fields.
func (c *configClient) create(ctx context.Context, typ string, fields map[string]any) error {
	return c.do(ctx, http.MethodPost, "/"+typ+"s", map[string]any{typ: fields}, nil)
}

// read decodes the object typ with uuid into out, a pointer to a struct of
// the fields the caller needs.
func (c *configClient) read(ctx context.Context, typ, uuid string, out any) error {
	var wrapper map[string]json.RawMessage
	if err := c.do(ctx, http.MethodGet, "/"+typ+"/"+uuid, nil, &wrapper); err != nil {
		return err
	}
	raw, ok := wrapper[typ]
	if !ok {
		return fmt.Errorf("GET /%s/%s: response has no %q member", typ, uuid, typ)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("decode %s %s: %w", typ, uuid, err)
	}
	return nil
}

// delete deletes the object typ with uuid, and reports false without
// error when it does not exist.
func (c *configClient) delete(ctx context.Context, typ, uuid string) (bool, error) {
	err := c.do(ctx, http.MethodDelete, "/"+typ+"/"+uuid, nil, nil)
	if hasStatus(err, http.StatusNotFound) {
		return false, nil
	}
	return err == nil, err
}

// refUpdate adds (operation "ADD") or removes ("DELETE") the ref from the
// object typ with uuid to the object refType with refUUID.
func (c *configClient) refUpdate(ctx context.Context, operation, typ, uuid, refType, refUUID string) error {
	return c.do(ctx, http.MethodPost, "/ref-update", map[string]any{
		"type": typ, "uuid": uuid, "ref-type": refType, "ref-uuid": refUUID,
		"operation": operation, "attr": nil,
	}, nil)
}

// subnet is an IPAM subnet of a virtual network.
type subnet struct {
	prefix  netip.Prefix
	gateway netip.Addr // zero when the subnet has none
}

// ipamSubnet is the part of IpamSubnetType the stand-in reads.
type ipamSubnet struct {
	Subnet *struct {
		IPPrefix    string `json:"ip_prefix"`
		IPPrefixLen int    `json:"ip_prefix_len"`
	} `json:"subnet"`
	DefaultGateway string `json:"default_gateway"`
}

// virtualNetworkSubnets returns the subnets of the virtual network vnUUID:
// those on its network_ipam_refs and those of the flat-subnet IPAMs it
// refers to, which keep their subnets on the IPAM object.
func (c *configClient) virtualNetworkSubnets(ctx context.Context, vnUUID string) ([]subnet, error) {
	var vn struct {
		IPAMRefs []struct {
			UUID string `json:"uuid"`
			Attr *struct {
				IPAMSubnets []ipamSubnet `json:"ipam_subnets"`
			} `json:"attr"`
		} `json:"network_ipam_refs"`
	}
	if err := c.read(ctx, "virtual-network", vnUUID, &vn); err != nil {
		return nil, fmt.Errorf("read virtual network %s: %w", vnUUID, err)
	}

	var out []subnet
	for _, ref := range vn.IPAMRefs {
		var ipam struct {
			Method  string `json:"ipam_subnet_method"`
			Subnets *struct {
				Subnets []ipamSubnet `json:"subnets"`
			} `json:"ipam_subnets"`
		}
		if err := c.read(ctx, "network-ipam", ref.UUID, &ipam); err != nil {
			return nil, fmt.Errorf("read network IPAM %s of virtual network %s: %w", ref.UUID, vnUUID, err)
		}
		var entries []ipamSubnet
		switch {
		case ipam.Method == "flat-subnet" && ipam.Subnets != nil:
			entries = ipam.Subnets.Subnets
		case ref.Attr != nil:
			entries = ref.Attr.IPAMSubnets
		}
		for _, e := range entries {
			if sn, ok := parseSubnet(e); ok {
				out = append(out, sn)
			}
		}
	}
	return out, nil
}

// parseSubnet converts an IpamSubnetType, and false when it has no valid
// prefix.
func parseSubnet(e ipamSubnet) (subnet, bool) {
	if e.Subnet == nil {
		return subnet{}, false
	}
	addr, err := netip.ParseAddr(e.Subnet.IPPrefix)
	if err != nil {
		return subnet{}, false
	}
	prefix, err := addr.Prefix(e.Subnet.IPPrefixLen)
	if err != nil {
		return subnet{}, false
	}
	sn := subnet{prefix: prefix}
	if gw, err := netip.ParseAddr(e.DefaultGateway); err == nil && !gw.IsUnspecified() && prefix.Contains(gw) {
		sn.gateway = gw
	}
	return sn, true
}
