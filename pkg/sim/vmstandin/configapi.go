package vmstandin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"

	"github.com/contrail-vif/contrail-vif/pkg/vncclient"
)

// APIError is a config API reply with an error status; the API server
// sends its message as plain text.
type APIError = vncclient.APIError

// hasStatus reports whether err is an APIError with the given status.
func hasStatus(err error, status int) bool {
	var e *APIError
	return errors.As(err, &e) && e.StatusCode == status
}

// configClient calls the config API without authentication, as the
// simulator serves it, through the project's config API client.
type configClient struct {
	api *vncclient.Client
}

// fqNameToID returns the uuid of the object typ named fq. A missing object
// gives an APIError with status 404.
func (c *configClient) fqNameToID(ctx context.Context, typ string, fq []string) (string, error) {
	return c.api.FQNameToID(ctx, typ, fq)
}

// create creates an object of type typ from fields.
func (c *configClient) create(ctx context.Context, typ string, fields map[string]any) error {
	return c.api.Create(ctx, typ, fields)
}

// read decodes the object typ with uuid into out, a pointer to a struct of
// the fields the caller needs.
func (c *configClient) read(ctx context.Context, typ, uuid string, out any) error {
	return c.api.Read(ctx, typ, uuid, out)
}

// delete deletes the object typ with uuid, and reports false without
// error when it does not exist.
func (c *configClient) delete(ctx context.Context, typ, uuid string) (bool, error) {
	err := c.api.Delete(ctx, typ, uuid)
	if hasStatus(err, http.StatusNotFound) {
		return false, nil
	}
	return err == nil, err
}

// refUpdate adds (operation "ADD") or removes ("DELETE") the ref from the
// object typ with uuid to the object refType with refUUID.
func (c *configClient) refUpdate(ctx context.Context, operation, typ, uuid, refType, refUUID string) error {
	return c.api.RefUpdate(ctx, typ, uuid, refType, refUUID, vncclient.RefOperation(operation))
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
