// Package vmstandin plugs a stand-in for an OpenStack VM into a Contrail
// virtual network, so that traffic between pods and VMs can be tested
// without OpenStack. It does what Nova, Neutron with the Contrail plugin,
// and Nova's vRouter VIF driver do for a VM with one port:
//
//   - through the config API: a virtual-machine (server_type
//     "virtual-server") and a virtual-machine-interface (VMI) in the
//     project with refs to the virtual network (VN) and the VM. Then one
//     instance-ip per address family of the VN's subnets, and the ref from
//     the compute node's virtual-router to the VM;
//   - on the node: a network namespace standing for the guest, with a veth
//     pair whose node end is the tap "tap"+<first 11 characters of the VMI
//     uuid> and whose guest end has the VMI's MAC address, the instance-ip
//     addresses and default routes through the subnet gateways;
//   - through the vRouter agent: POST /port with type 0 (a Nova VM port) to
//     bind the tap to the VMI.
//
// A real guest learns its addresses by DHCP from the vRouter; the stand-in
// configures the namespace with the same addresses directly.
package vmstandin

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/contrail-vif/contrail-vif/pkg/agentclient"
	"github.com/contrail-vif/contrail-vif/pkg/sim/dataplane"
	"github.com/contrail-vif/contrail-vif/pkg/vncclient"
)

// Defaults of Client.
const (
	DefaultNetnsPrefix = "csim"
	DefaultTimeout     = 10 * time.Second
)

// GuestIfname is the name of the VM's interface inside its namespace.
const GuestIfname = "eth0"

// guestMTU is the MTU of both ends of the veth pair, the MTU Nova gives a
// tap by default.
const guestMTU = 1500

// maxNameLen bounds a VM name, so that the namespace name stays short.
const maxNameLen = 64

// virtualRouterParent is the first element of a virtual-router fq-name.
const virtualRouterParent = "default-global-system-config"

// idNamespace is the name-based (version 5) uuid namespace of the objects
// the stand-in creates. Deriving the uuids from the VM's namespace name
// lets Delete find every object by name alone, also after a Create that
// failed half-way. The namespace name is unique on the machine, so two
// clients with different NetnsPrefix values never share a tap name.
var idNamespace = uuid.MustParse("fbfd6d2e-2082-4ee7-9a8e-d4f7752a36cb")

// Client creates and deletes VM stand-ins on one compute node. Set the
// fields before the first call and do not change them afterwards.
type Client struct {
	// ConfigAPI is the config API URL, such as "http://127.0.0.1:8082".
	ConfigAPI string
	// ConfigAPIClient, when not nil, sends the config API requests in
	// place of a plain client for ConfigAPI: set it for a config API that
	// serves TLS with a private CA or requires Keystone tokens.
	ConfigAPIClient *vncclient.Client
	// Agent is the URL of the node's vRouter agent, such as
	// "http://127.0.0.1:9091".
	Agent string
	// Node is the compute node name; its virtual-router is
	// ["default-global-system-config", Node] and must exist.
	Node string
	// NetnsPrefix starts the name of the VM namespaces:
	// NetnsPrefix+"-vm-"+<VM name>. DefaultNetnsPrefix when empty.
	NetnsPrefix string
	// HostNetns is the name of the namespace (/run/netns/<HostNetns>)
	// where the tap goes: the node namespace of a multi-node topology.
	// Empty means the namespace of the calling process.
	HostNetns string
	// Timeout bounds each HTTP request; DefaultTimeout when 0.
	Timeout time.Duration
	// Logger receives one line per step. When nil, nothing is logged.
	Logger *slog.Logger
}

// CreateRequest names the VM to create and its network.
type CreateRequest struct {
	// Name is the VM name: 1 to 64 letters, digits, '-', '_' and '.'.
	Name string
	// VirtualNetwork is the fq-name [domain, project, network] of the VN.
	VirtualNetwork []string
	// Project is the fq-name [domain, project] of the VMI's project; the
	// VN's project when empty.
	Project []string
}

// VM is a plugged VM stand-in.
type VM struct {
	Name        string
	UUID        string // virtual-machine uuid
	VMIUUID     string
	VNUUID      string
	ProjectUUID string
	MAC         string
	// Tap is the node end of the veth pair, in Client.HostNetns.
	Tap string
	// Netns is the name of the VM namespace, /run/netns/<Netns>.
	Netns string
	// Addresses are the guest addresses with their subnet prefix length.
	Addresses []netip.Prefix
	// Gateways are the default gateways, one per address family that has
	// one.
	Gateways []netip.Addr
}

// NetnsPath returns the path of the VM namespace.
func (vm *VM) NetnsPath() string {
	return dataplane.NetnsPath(vm.Netns)
}

// objectIDs are the uuids of the config objects of one VM.
type objectIDs struct {
	vm, vmi, iip4, iip6 string
}

// idsFor returns the uuids of the VM whose namespace is netnsName.
func idsFor(netnsName string) objectIDs {
	id := func(kind string) string {
		return uuid.NewSHA1(idNamespace, []byte(kind+"/"+netnsName)).String()
	}
	return objectIDs{
		vm:   id("virtual-machine"),
		vmi:  id("virtual-machine-interface"),
		iip4: id("instance-ip/v4"),
		iip6: id("instance-ip/v6"),
	}
}

// TapName returns the tap name of the VMI vmiUUID, as Nova's vRouter VIF
// driver names it: "tap" and the first 11 characters of the uuid.
func TapName(vmiUUID string) string {
	const n = 11
	if len(vmiUUID) < n {
		return "tap" + vmiUUID
	}
	return "tap" + vmiUUID[:n]
}

// NetnsName returns the name of the namespace of the VM name.
func NetnsName(prefix, name string) string {
	if prefix == "" {
		prefix = DefaultNetnsPrefix
	}
	return prefix + "-vm-" + name
}

// CheckName returns an error unless name is a valid VM name.
func CheckName(name string) error {
	if name == "" || len(name) > maxNameLen {
		return fmt.Errorf("invalid VM name %q: want 1 to %d characters", name, maxNameLen)
	}
	for _, c := range name {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.'
		if !ok {
			return fmt.Errorf("invalid VM name %q: want letters, digits, '-', '_' and '.'", name)
		}
	}
	return nil
}

func (c *Client) logger() *slog.Logger {
	if c.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return c.Logger
}

func (c *Client) timeout() time.Duration {
	if c.Timeout <= 0 {
		return DefaultTimeout
	}
	return c.Timeout
}

func (c *Client) configAPI() *configClient {
	if c.ConfigAPIClient != nil {
		return &configClient{api: c.ConfigAPIClient}
	}
	return &configClient{api: vncclient.New(c.ConfigAPI, c.timeout())}
}

func (c *Client) agent() *agentclient.Client {
	return agentclient.New(c.Agent, c.timeout())
}

func (c *Client) netnsName(name string) string {
	return NetnsName(c.NetnsPrefix, name)
}

func (c *Client) check() error {
	switch {
	case c.ConfigAPI == "":
		return errors.New("missing config API URL")
	case c.Agent == "":
		return errors.New("missing agent URL")
	case c.Node == "":
		return errors.New("missing node name")
	}
	return nil
}

// addressFamilies returns whether subnets has IPv4 and IPv6 subnets.
func addressFamilies(subnets []subnet) (v4, v6 bool) {
	v4 = slices.ContainsFunc(subnets, func(s subnet) bool { return s.prefix.Addr().Is4() })
	v6 = slices.ContainsFunc(subnets, func(s subnet) bool { return s.prefix.Addr().Is6() })
	return v4, v6
}

// subnetOf returns the subnet of subnets that contains addr.
func subnetOf(subnets []subnet, addr netip.Addr) (subnet, bool) {
	i := slices.IndexFunc(subnets, func(s subnet) bool { return s.prefix.Contains(addr) })
	if i < 0 {
		return subnet{}, false
	}
	return subnets[i], true
}
