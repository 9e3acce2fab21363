// Package simfixture runs an in-process contrail-sim for the benchmarks and
// creates the Contrail objects of pod attachments through its config API,
// the way contrail-vif-controller does, so that the CNI plugin finds them in
// the simulated vRouter agent.
package simfixture

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/contrail-vif/contrail-vif/pkg/attachment"
	"github.com/contrail-vif/contrail-vif/pkg/sim/cli"
	"github.com/contrail-vif/contrail-vif/pkg/sim/dataplane"
	"github.com/contrail-vif/contrail-vif/pkg/vncclient"
)

// Names of what the fixture creates. The data plane prefixes differ from
// contrail-sim's defaults, so a simulator of the local cluster can run at
// the same time.
const (
	NodeName    = "cvifbench-node"
	LinkPrefix  = "cvifbn"
	NetnsPrefix = "cvifbench-gw-"
	// PodNamespace is the Kubernetes namespace of the simulated pods.
	PodNamespace = "cvifbench"
)

// VirtualNetwork is the VN every attachment joins. A /16 leaves room for
// every round of a run without deleting instance-ips first.
var (
	VirtualNetwork = []string{"default-domain", "cvifbench", "net"}
	Subnet         = netip.MustParsePrefix("10.77.0.0/16")
)

// Options configure Start.
type Options struct {
	// DataPlane gives bound ports a kernel data plane (a bridge per VN);
	// without it the agent only records bindings.
	DataPlane bool
	Logger    *slog.Logger
}

// Fixture is a running simulator and a config API client for it.
type Fixture struct {
	Sim        *cli.Simulator
	VNC        *vncclient.Client
	RouterUUID string
}

// Start starts the simulator on free loopback ports with VirtualNetwork.
func Start(opts Options) (*Fixture, error) {
	sim, err := cli.Start(cli.ServeOptions{
		ConfigAPIListen: "127.0.0.1:0",
		AgentListen:     "127.0.0.1:0",
		NodeName:        NodeName,
		NoDataPlane:     !opts.DataPlane,
		DataPlane:       dataplane.Config{LinkPrefix: LinkPrefix, NetnsPrefix: NetnsPrefix},
	}, opts.Logger)
	if err != nil {
		return nil, fmt.Errorf("start contrail-sim: %w", err)
	}
	if _, err := sim.Config.EnsureVirtualNetwork(VirtualNetwork, []netip.Prefix{Subnet}); err != nil {
		return nil, errors.Join(fmt.Errorf("create virtual network: %w", err), sim.Close())
	}
	router, err := sim.Config.EnsureVirtualRouter(NodeName)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("look up virtual-router: %w", err), sim.Close())
	}
	return &Fixture{
		Sim:        sim,
		VNC:        vncclient.New("http://"+sim.ConfigAPIAddr(), 10*time.Second),
		RouterUUID: router,
	}, nil
}

// AgentURL returns the base URL of the simulated agent.
func (f *Fixture) AgentURL() string {
	return "http://" + f.Sim.AgentAddr()
}

// Close stops the simulator and removes its data plane.
func (f *Fixture) Close() error {
	return f.Sim.Close()
}

// Attachment is one simulated pod with one contrail-vif interface.
type Attachment struct {
	PodName string
	PodUID  string
	IfName  string
	VMName  string
	VMIUUID string
	IIPUUID string
}

// NewAttachment returns the identity of pod name with a new UID and
// interface ifname, as the controller derives it.
func NewAttachment(name, ifname string) Attachment {
	uid := uuid.NewString()
	return Attachment{
		PodName: name,
		PodUID:  uid,
		IfName:  ifname,
		VMName:  attachment.VMName(attachment.DefaultCluster, PodNamespace, name),
		VMIUUID: attachment.VMIUUID(uid, ifname),
		IIPUUID: attachment.InstanceIPUUID(uid, ifname),
	}
}

// CNIArgs returns the CNI_ARGS that Multus passes for the pod.
func (a Attachment) CNIArgs() string {
	return "IgnoreUnknown=1;K8S_POD_NAMESPACE=" + PodNamespace + ";K8S_POD_NAME=" + a.PodName +
		";K8S_POD_INFRA_CONTAINER_ID=bench;K8S_POD_UID=" + a.PodUID
}

// CreateConfig creates the virtual-machine, the VMI and the instance-ip of
// a, with the annotations the plugin matches on. The agent does not see
// them until Link adds the virtual-router ref.
func (f *Fixture) CreateConfig(ctx context.Context, a Attachment) error {
	annotations := []vncclient.KeyValuePair{
		{Key: attachment.KeyOwner, Value: attachment.OwnerValue},
		{Key: attachment.KeyCluster, Value: attachment.DefaultCluster},
		{Key: attachment.KeyKind, Value: "Pod"},
		{Key: attachment.KeyNamespace, Value: PodNamespace},
		{Key: attachment.KeyPod, Value: a.PodName},
		{Key: attachment.KeyPodUID, Value: a.PodUID},
	}
	vm := vncclient.VirtualMachine{
		UUID:        a.PodUID,
		FQName:      []string{a.VMName},
		ServerType:  "container",
		Annotations: &vncclient.KeyValuePairs{KeyValuePair: annotations},
	}
	if err := f.VNC.Create(ctx, vncclient.TypeVirtualMachine, vm); err != nil {
		return err
	}

	vmiFQName := append(append([]string{}, VirtualNetwork[:2]...), attachment.VMIName(a.PodName, a.VMIUUID))
	vmiAnnotations := append(annotations,
		vncclient.KeyValuePair{Key: attachment.KeyNetwork, Value: PodNamespace + "/bench"},
		vncclient.KeyValuePair{Key: attachment.KeyInterface, Value: a.IfName},
		vncclient.KeyValuePair{Key: attachment.KeyIndex, Value: attachment.FormatIndex(0, 1)},
	)
	vmi := vncclient.VirtualMachineInterface{
		UUID:               a.VMIUUID,
		FQName:             vmiFQName,
		ParentType:         vncclient.TypeProject,
		VirtualNetworkRefs: []vncclient.Ref{{To: VirtualNetwork}},
		VirtualMachineRefs: []vncclient.Ref{{To: []string{a.VMName}}},
		Annotations:        &vncclient.KeyValuePairs{KeyValuePair: vmiAnnotations},
	}
	if err := f.VNC.Create(ctx, vncclient.TypeVirtualMachineInterface, vmi); err != nil {
		return err
	}

	iip := vncclient.InstanceIP{
		UUID:                        a.IIPUUID,
		FQName:                      []string{attachment.InstanceIPName(a.PodName, a.IIPUUID)},
		VirtualNetworkRefs:          []vncclient.Ref{{To: VirtualNetwork}},
		VirtualMachineInterfaceRefs: []vncclient.Ref{{To: vmiFQName}},
		InstanceIPFamily:            "v4",
	}
	return f.VNC.Create(ctx, vncclient.TypeInstanceIP, iip)
}

// Link adds the ref from the node's virtual-router to the VM of a, which
// makes the VMI reach the agent.
func (f *Fixture) Link(ctx context.Context, a Attachment) error {
	return f.VNC.RefUpdate(ctx, vncclient.TypeVirtualRouter, f.RouterUUID, vncclient.TypeVirtualMachine, a.PodUID, vncclient.RefAdd)
}

// DeleteConfig removes what CreateConfig and Link created, in reverse order.
func (f *Fixture) DeleteConfig(ctx context.Context, a Attachment) error {
	err := f.VNC.RefUpdate(ctx, vncclient.TypeVirtualRouter, f.RouterUUID, vncclient.TypeVirtualMachine, a.PodUID, vncclient.RefDelete)
	if err != nil && !vncclient.IsNotFound(err) {
		return err
	}
	for _, o := range []struct{ typ, id string }{
		{vncclient.TypeInstanceIP, a.IIPUUID},
		{vncclient.TypeVirtualMachineInterface, a.VMIUUID},
		{vncclient.TypeVirtualMachine, a.PodUID},
	} {
		if err := f.VNC.Delete(ctx, o.typ, o.id); err != nil && !vncclient.IsNotFound(err) {
			return err
		}
	}
	return nil
}

// NetConf returns the contrail-vif network config for this simulator.
func (f *Fixture) NetConf(name, stateDir string) []byte {
	return []byte(fmt.Sprintf(`{"cniVersion":"1.0.0","name":%q,"type":"contrail-vif","virtualNetwork":%q,"agentURL":%q,"stateDir":%q}`,
		name, strings.Join(VirtualNetwork, ":"), f.AgentURL(), stateDir))
}
