package vmstandin

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/contrail-vif/contrail-vif/pkg/agentclient"
)

// Create creates the config objects of the VM req.Name, plugs its
// namespace into the node and binds the tap through the agent. On failure
// it deletes what it created, unless the failure is that a VM of that name
// already exists.
func (c *Client) Create(ctx context.Context, req CreateRequest) (_ *VM, err error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	if err := CheckName(req.Name); err != nil {
		return nil, err
	}
	if len(req.VirtualNetwork) != 3 {
		return nil, fmt.Errorf("invalid virtual network fq-name %q: want domain:project:network", strings.Join(req.VirtualNetwork, ":"))
	}
	project := req.Project
	if len(project) == 0 {
		project = req.VirtualNetwork[:2]
	}
	if len(project) != 2 {
		return nil, fmt.Errorf("invalid project fq-name %q: want domain:project", strings.Join(project, ":"))
	}

	api := c.configAPI()
	ids := idsFor(c.netnsName(req.Name))
	vm := &VM{Name: req.Name, UUID: ids.vm, VMIUUID: ids.vmi, Tap: TapName(ids.vmi), Netns: c.netnsName(req.Name)}
	log := c.logger().With("vm", req.Name)

	vnName := strings.Join(req.VirtualNetwork, ":")
	if vm.VNUUID, err = lookup(ctx, api, "virtual-network", req.VirtualNetwork); err != nil {
		return nil, err
	}
	if vm.ProjectUUID, err = lookup(ctx, api, "project", project); err != nil {
		return nil, err
	}
	vrUUID, err := lookup(ctx, api, "virtual-router", []string{virtualRouterParent, c.Node})
	if err != nil {
		return nil, err
	}
	subnets, err := api.virtualNetworkSubnets(ctx, vm.VNUUID)
	if err != nil {
		return nil, err
	}
	hasV4, hasV6 := addressFamilies(subnets)
	if !hasV4 && !hasV6 {
		return nil, fmt.Errorf("virtual network %s has no subnets to take the VM's address from", vnName)
	}

	// Nova names the VM object after the instance uuid and keeps the
	// instance name as its display name.
	err = api.create(ctx, "virtual-machine", map[string]any{
		"fq_name": []string{ids.vm}, "uuid": ids.vm, "display_name": req.Name, "server_type": "virtual-server",
	})
	if hasStatus(err, http.StatusConflict) {
		return nil, fmt.Errorf("create virtual-machine of VM %q: a VM of that name exists; delete it first: %w", req.Name, err)
	}
	if err != nil {
		return nil, fmt.Errorf("create virtual-machine of VM %q: %w", req.Name, err)
	}
	log.Info("created virtual-machine", "uuid", ids.vm)
	defer func() {
		if err == nil {
			return
		}
		// Remove what this call created, also when ctx is done.
		if _, delErr := c.Delete(context.WithoutCancel(ctx), req.Name); delErr != nil {
			log.Error("failed to roll back a failed create", "error", delErr)
		}
	}()

	if err := c.createInterface(ctx, api, vm, req, project, subnets); err != nil {
		return nil, err
	}

	if err := api.refUpdate(ctx, "ADD", "virtual-router", vrUUID, "virtual-machine", ids.vm); err != nil {
		return nil, fmt.Errorf("link VM %q to the virtual-router of node %q: %w", req.Name, c.Node, err)
	}
	log.Info("linked VM to node", "node", c.Node, "virtual_router", vrUUID)

	if err := c.plug(vm); err != nil {
		return nil, err
	}
	log.Info("created VM netns and tap", "netns", vm.NetnsPath(), "tap", vm.Tap, "host_netns", c.HostNetns)

	if err := c.bind(ctx, vm); err != nil {
		return nil, err
	}

	if err := c.configureGuest(vm); err != nil {
		return nil, err
	}
	log.Info("configured VM", "addresses", vm.Addresses, "gateways", vm.Gateways)
	return vm, nil
}

// createInterface creates the VMI and its instance-ips, and fills vm with
// the MAC address, the addresses and the gateways that config gave them.
func (c *Client) createInterface(ctx context.Context, api *configClient, vm *VM, req CreateRequest, project []string, subnets []subnet) error {
	ids := idsFor(vm.Netns)
	vmiFQName := []string{project[0], project[1], ids.vmi}
	// Neutron names the VMI after the port uuid. The config API gives it
	// a MAC address.
	err := api.create(ctx, "virtual-machine-interface", map[string]any{
		"fq_name": vmiFQName, "uuid": ids.vmi, "parent_type": "project",
		"virtual_network_refs": []any{map[string]any{"to": req.VirtualNetwork}},
		"virtual_machine_refs": []any{map[string]any{"to": []string{ids.vm}}},
	})
	if err != nil {
		return fmt.Errorf("create virtual-machine-interface of VM %q: %w", req.Name, err)
	}
	var vmi struct {
		MACs struct {
			MACAddress []string `json:"mac_address"`
		} `json:"virtual_machine_interface_mac_addresses"`
	}
	if err := api.read(ctx, "virtual-machine-interface", ids.vmi, &vmi); err != nil {
		return fmt.Errorf("read virtual-machine-interface of VM %q: %w", req.Name, err)
	}
	if len(vmi.MACs.MACAddress) == 0 {
		return fmt.Errorf("virtual-machine-interface %s of VM %q has no MAC address", ids.vmi, req.Name)
	}
	vm.MAC = vmi.MACs.MACAddress[0]

	hasV4, hasV6 := addressFamilies(subnets)
	for _, iip := range []struct {
		family string
		uuid   string
		want   bool
	}{{"v4", ids.iip4, hasV4}, {"v6", ids.iip6, hasV6}} {
		if !iip.want {
			continue
		}
		addr, err := createInstanceIP(ctx, api, iip.uuid, iip.family, req.VirtualNetwork, vmiFQName)
		if err != nil {
			return fmt.Errorf("create %s instance-ip of VM %q: %w", iip.family, req.Name, err)
		}
		sn, ok := subnetOf(subnets, addr)
		if !ok {
			return fmt.Errorf("instance-ip %s of VM %q is outside the subnets of its virtual network", addr, req.Name)
		}
		vm.Addresses = append(vm.Addresses, netip.PrefixFrom(addr, sn.prefix.Bits()))
		if sn.gateway.IsValid() {
			vm.Gateways = append(vm.Gateways, sn.gateway)
		}
	}
	c.logger().Info("created virtual-machine-interface and instance-ips", "vm", req.Name, "vmi", ids.vmi, "mac", vm.MAC, "addresses", vm.Addresses)
	return nil
}

// createInstanceIP creates an instance-ip of family ("v4" or "v6") for the
// VMI vmiFQName and returns the address the config API allocated.
func createInstanceIP(ctx context.Context, api *configClient, id, family string, vn, vmiFQName []string) (netip.Addr, error) {
	err := api.create(ctx, "instance-ip", map[string]any{
		"fq_name": []string{id}, "uuid": id, "instance_ip_family": family,
		"virtual_network_refs":           []any{map[string]any{"to": vn}},
		"virtual_machine_interface_refs": []any{map[string]any{"to": vmiFQName}},
	})
	if err != nil {
		return netip.Addr{}, err
	}
	var iip struct {
		Address string `json:"instance_ip_address"`
	}
	if err := api.read(ctx, "instance-ip", id, &iip); err != nil {
		return netip.Addr{}, err
	}
	addr, err := netip.ParseAddr(iip.Address)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("instance-ip %s has invalid address %q", id, iip.Address)
	}
	return addr, nil
}

// bind posts the tap to the agent the way Nova's vRouter VIF driver does,
// then checks that the agent reports the port with the tap.
func (c *Client) bind(ctx context.Context, vm *VM) error {
	req := agentclient.PortRequest{
		ID:          vm.VMIUUID,
		InstanceID:  vm.UUID,
		VNID:        vm.VNUUID,
		VMProjectID: vm.ProjectUUID,
		DisplayName: vm.Name,
		IPAddress:   "0.0.0.0",
		IPv6Address: "None",
		Type:        agentclient.PortTypeVM,
		SystemName:  vm.Tap,
		MACAddress:  vm.MAC,
		RxVLANID:    agentclient.NoVLAN,
		TxVLANID:    agentclient.NoVLAN,
	}
	for _, p := range vm.Addresses {
		if p.Addr().Is4() {
			req.IPAddress = p.Addr().String()
		} else {
			req.IPv6Address = p.Addr().String()
		}
	}
	agent := c.agent()
	if err := agent.AddPort(ctx, req); err != nil {
		return fmt.Errorf("bind tap %q of VM %q through the agent: %w", vm.Tap, vm.Name, err)
	}
	c.logger().Info("bound tap through the agent", "vm", vm.Name, "vmi", vm.VMIUUID, "tap", vm.Tap)

	port, err := agent.Port(ctx, vm.VMIUUID)
	if err != nil {
		return fmt.Errorf("read port of VM %q from the agent: %w", vm.Name, err)
	}
	if port.SystemName != vm.Tap {
		return fmt.Errorf("agent reports port of VM %q on interface %q, want %q", vm.Name, port.SystemName, vm.Tap)
	}
	return nil
}

// Delete unbinds and removes the VM name and deletes its config objects, in
// the order Nova and Neutron do: the agent port, the tap and namespace, the
// virtual-router ref, the instance-ips, the VMI and the VM. Objects that do
// not exist are skipped. It tries every step, returns all the errors it met
// and reports whether any config object or the namespace existed.
func (c *Client) Delete(ctx context.Context, name string) (bool, error) {
	if err := c.check(); err != nil {
		return false, err
	}
	if err := CheckName(name); err != nil {
		return false, err
	}
	ids := idsFor(c.netnsName(name))
	log := c.logger().With("vm", name)
	var errs []error
	var found bool

	// The agent replies 200 also for a VMI it has no port of.
	if err := c.agent().DeletePort(ctx, ids.vmi); err != nil {
		errs = append(errs, fmt.Errorf("unbind VM %q from the agent: %w", name, err))
	}

	netnsFound, err := c.unplug(name, TapName(ids.vmi))
	if err != nil {
		errs = append(errs, err)
	}
	found = found || netnsFound

	api := c.configAPI()
	vrUUID, err := api.fqNameToID(ctx, "virtual-router", []string{virtualRouterParent, c.Node})
	switch {
	case hasStatus(err, http.StatusNotFound):
		// No virtual-router, so no ref to remove.
	case err != nil:
		errs = append(errs, fmt.Errorf("find the virtual-router of node %q: %w", c.Node, err))
	default:
		if err := api.refUpdate(ctx, "DELETE", "virtual-router", vrUUID, "virtual-machine", ids.vm); err != nil {
			errs = append(errs, fmt.Errorf("unlink VM %q from node %q: %w", name, c.Node, err))
		}
	}

	for _, obj := range []struct{ typ, uuid string }{
		{"instance-ip", ids.iip4},
		{"instance-ip", ids.iip6},
		{"virtual-machine-interface", ids.vmi},
		{"virtual-machine", ids.vm},
	} {
		existed, err := api.delete(ctx, obj.typ, obj.uuid)
		if err != nil {
			errs = append(errs, fmt.Errorf("delete %s %s of VM %q: %w", obj.typ, obj.uuid, name, err))
			continue
		}
		if existed {
			found = true
			log.Info("deleted config object", "type", obj.typ, "uuid", obj.uuid)
		}
	}
	return found, errors.Join(errs...)
}

// lookup returns the uuid of the object typ named fq, with an error that
// names it when it does not exist.
func lookup(ctx context.Context, api *configClient, typ string, fq []string) (string, error) {
	id, err := api.fqNameToID(ctx, typ, fq)
	if hasStatus(err, http.StatusNotFound) {
		return "", fmt.Errorf("%s %s not found in config", typ, strings.Join(fq, ":"))
	}
	if err != nil {
		return "", fmt.Errorf("find %s %s: %w", typ, strings.Join(fq, ":"), err)
	}
	return id, nil
}

// hardwareAddr parses a MAC address of the config API.
func hardwareAddr(mac string) (net.HardwareAddr, error) {
	hw, err := net.ParseMAC(mac)
	if err != nil || len(hw) != 6 {
		return nil, fmt.Errorf("invalid MAC address %q", mac)
	}
	return hw, nil
}
