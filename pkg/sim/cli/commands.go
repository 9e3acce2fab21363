package cli

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"strings"

	"github.com/contrail-vif/contrail-vif/pkg/sim/dataplane"
)

// defaultIPAM is the IPAM that new virtual networks refer to, the one every
// Contrail installation has.
const defaultIPAM = "default-domain:default-project:default-network-ipam"

// defaultConfigAPIURL is the config API of a simulator serving with the
// default flags.
const defaultConfigAPIURL = "http://" + DefaultConfigAPIListen

// parseFQName splits "a:b:c" into n non-empty elements.
func parseFQName(s string, n int, form string) ([]string, error) {
	parts := strings.Split(s, ":")
	if len(parts) != n {
		return nil, fmt.Errorf("invalid fq-name %q: want %s", s, form)
	}
	for _, p := range parts {
		if p == "" {
			return nil, fmt.Errorf("invalid fq-name %q: empty element", s)
		}
	}
	return parts, nil
}

// runCreateProject runs "contrail-sim create-project" and prints the new
// project's uuid.
func runCreateProject(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("create-project", "create-project [flags] DOMAIN:PROJECT",
		"Creates the project through the config API of a running simulator and prints its uuid.", stderr)
	conn := addClientFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError(fs, "want one DOMAIN:PROJECT argument, got %d arguments", fs.NArg())
	}
	fq, err := parseFQName(fs.Arg(0), 2, "DOMAIN:PROJECT")
	if err != nil {
		return usageError(fs, "%v", err)
	}

	client, err := conn.newClient()
	if err != nil {
		return err
	}
	uuid, err := client.create(ctx, "project", map[string]any{
		"fq_name":     fq,
		"parent_type": "domain",
	})
	if err != nil {
		return fmt.Errorf("create project %s: %w", fs.Arg(0), err)
	}
	fmt.Fprintln(stdout, uuid)
	return nil
}

// runCreateVN runs "contrail-sim create-vn" and prints the new virtual
// network's uuid.
func runCreateVN(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("create-vn", "create-vn [flags] DOMAIN:PROJECT:VN CIDR [CIDR...]",
		"Creates the virtual network with one IPAM subnet per CIDR (IPv4 or IPv6) through the config API\n"+
			"of a running simulator and prints its uuid. The project must exist. The config API gives each\n"+
			"subnet its gateway (last address - 1) and DNS server (last address - 2).", stderr)
	conn := addClientFlags(fs)
	ipam := fs.String("ipam", defaultIPAM, "`fq-name` of the network IPAM the subnets belong to; created in its project when missing")
	var hostRoutes hostRouteFlags
	fs.Var(&hostRoutes, "host-route", "host `route` PREFIX or PREFIX=NEXTHOP for the IPAM subnet that contains NEXTHOP, else the first subnet of its family; repeat for more")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() < 2 {
		return usageError(fs, "want DOMAIN:PROJECT:VN and at least one CIDR")
	}
	fq, err := parseFQName(fs.Arg(0), 3, "DOMAIN:PROJECT:VN")
	if err != nil {
		return usageError(fs, "%v", err)
	}
	ipamFQ, err := parseFQName(*ipam, 3, "DOMAIN:PROJECT:IPAM")
	if err != nil {
		return usageError(fs, "--ipam: %v", err)
	}
	var prefixes []netip.Prefix
	for _, arg := range fs.Args()[1:] {
		p, err := netip.ParsePrefix(arg)
		if err != nil {
			return usageError(fs, "invalid CIDR %q: %v", arg, err)
		}
		if p != p.Masked() {
			return usageError(fs, "invalid CIDR %q: host bits are set; did you mean %s?", arg, p.Masked())
		}
		prefixes = append(prefixes, p)
	}
	routeTables, err := assignHostRoutes(hostRoutes, prefixes)
	if err != nil {
		return usageError(fs, "%v", err)
	}
	var subnets []any
	for i, p := range prefixes {
		subnet := map[string]any{
			"subnet": map[string]any{"ip_prefix": p.Addr().String(), "ip_prefix_len": p.Bits()},
		}
		if routeTables[i] != nil {
			subnet["host_routes"] = routeTables[i]
		}
		subnets = append(subnets, subnet)
	}

	client, err := conn.newClient()
	if err != nil {
		return err
	}
	project := strings.Join(fq[:2], ":")
	if _, err := client.fqNameToID(ctx, "project", fq[:2]); err != nil {
		if isStatus(err, http.StatusNotFound) {
			return fmt.Errorf("project %s not found; create it with 'contrail-sim create-project %s'", project, project)
		}
		return fmt.Errorf("find project %s: %w", project, err)
	}
	if err := ensureIPAM(ctx, client, ipamFQ); err != nil {
		return err
	}

	uuid, err := client.create(ctx, "virtual-network", map[string]any{
		"fq_name":     fq,
		"parent_type": "project",
		"network_ipam_refs": []any{map[string]any{
			"to":   ipamFQ,
			"attr": map[string]any{"ipam_subnets": subnets},
		}},
	})
	if err != nil {
		return fmt.Errorf("create virtual network %s: %w", fs.Arg(0), err)
	}
	fmt.Fprintln(stdout, uuid)
	return nil
}

// ensureIPAM creates the network IPAM fq unless it exists.
func ensureIPAM(ctx context.Context, client *configClient, fq []string) error {
	name := strings.Join(fq, ":")
	_, err := client.fqNameToID(ctx, "network-ipam", fq)
	if err == nil {
		return nil
	}
	if !isStatus(err, http.StatusNotFound) {
		return fmt.Errorf("find network IPAM %s: %w", name, err)
	}
	_, err = client.create(ctx, "network-ipam", map[string]any{"fq_name": fq, "parent_type": "project"})
	// A concurrent create-vn may have created it first.
	if err != nil && !isStatus(err, http.StatusConflict) {
		return fmt.Errorf("create network IPAM %s: %w", name, err)
	}
	return nil
}

// runDeleteVN runs "contrail-sim delete-vn" and prints the deleted virtual
// network's uuid.
func runDeleteVN(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("delete-vn", "delete-vn [flags] DOMAIN:PROJECT:VN",
		"Deletes the virtual network through the config API of a running simulator and prints its uuid.\n"+
			"The config API rejects the request while interfaces or instance-ips still refer to it.", stderr)
	conn := addClientFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError(fs, "want one DOMAIN:PROJECT:VN argument, got %d arguments", fs.NArg())
	}
	fq, err := parseFQName(fs.Arg(0), 3, "DOMAIN:PROJECT:VN")
	if err != nil {
		return usageError(fs, "%v", err)
	}

	client, err := conn.newClient()
	if err != nil {
		return err
	}
	uuid, err := client.fqNameToID(ctx, "virtual-network", fq)
	if err != nil {
		if isStatus(err, http.StatusNotFound) {
			return fmt.Errorf("virtual network %s not found", fs.Arg(0))
		}
		return fmt.Errorf("find virtual network %s: %w", fs.Arg(0), err)
	}
	if err := client.delete(ctx, "virtual-network", uuid); err != nil {
		if isStatus(err, http.StatusConflict) {
			return fmt.Errorf("delete virtual network %s: it still has interfaces or instance-ips; delete those first: %w", fs.Arg(0), err)
		}
		return fmt.Errorf("delete virtual network %s: %w", fs.Arg(0), err)
	}
	fmt.Fprintln(stdout, uuid)
	return nil
}

// runCleanup runs "contrail-sim cleanup" and prints what it removed.
func runCleanup(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("cleanup", "cleanup [flags]",
		"Removes every bridge PREFIX+b+<8 hex>, veth PREFIX+g+<8 hex> and namespace /run/netns/NETNS-PREFIX+<8 hex>,\n"+
			"as a serve killed before it could clean up leaves them. It also removes those of a serve that is\n"+
			"still running with the same prefixes. Needs root.", stderr)
	var config dataplane.Config
	fs.StringVar(&config.LinkPrefix, "link-prefix", dataplane.DefaultLinkPrefix, "link `prefix` the serve to clean up used")
	fs.StringVar(&config.NetnsPrefix, "netns-prefix", dataplane.DefaultNetnsPrefix, "netns `prefix` the serve to clean up used")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError(fs, "unexpected arguments %q", fs.Args())
	}

	removed, err := dataplane.Cleanup(config)
	for _, name := range removed {
		fmt.Fprintln(stdout, "removed", name)
	}
	return err
}
