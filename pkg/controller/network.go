package controller

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/go-logr/logr"
	nadv1 "github.com/k8snetworkplumbingwg/network-attachment-definition-client/pkg/apis/k8s.cni.cncf.io/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/contrail-vif/contrail-vif/pkg/attachment"
	"github.com/contrail-vif/contrail-vif/pkg/netconf"
	"github.com/contrail-vif/contrail-vif/pkg/vncclient"
)

// NetworkFinalizer holds a NAD whose virtual network the controller
// created until no attachment uses the network and it has been deleted.
const NetworkFinalizer = "contrail-vif.io/virtual-network"

// NetworkStatusAnnotation on a NAD reports its virtual network as JSON
// (networkStatus).
const NetworkStatusAnnotation = "contrail-vif.io/virtual-network-status"

// Annotation keys on virtual networks the controller creates.
const (
	// KeyNAD is the owning NAD as "<namespace>/<name>".
	KeyNAD = "nad"
	// KeyNADUID is the owning NAD's UID; only the NAD with this UID may
	// delete the network.
	KeyNADUID = "nad_uid"
)

// networkStatus is the value of NetworkStatusAnnotation.
type networkStatus struct {
	VirtualNetwork string `json:"virtualNetwork"`
	UUID           string `json:"uuid,omitempty"`
	// Managed is true when the controller created the network for this
	// NAD and deletes it with the NAD.
	Managed   bool   `json:"managed"`
	State     string `json:"state"`
	LastError string `json:"lastError,omitempty"`
}

// Network states in networkStatus.
const (
	networkReady    = "Ready"
	networkPending  = "Pending"
	networkDeleting = "Deleting"
	networkError    = "Error"
)

// NetworkReconciler creates the virtual networks that NADs ask for, and
// deletes them with their NAD once no attachment uses them.
type NetworkReconciler struct {
	Client      client.Client
	VNC         *vncclient.Client
	Recorder    events.EventRecorder
	ClusterName string
	Log         logr.Logger
	// Pods is the pod reconciler, whose cached VN uuids are dropped when a
	// NAD changes.
	Pods *Reconciler
}

// Reconcile brings the virtual network of one NAD in line with its config.
func (r *NetworkReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	log := r.Log.WithValues("nad", req.NamespacedName)
	nad := &nadv1.NetworkAttachmentDefinition{}
	if err := r.Client.Get(ctx, req.NamespacedName, nad); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}

	conf, ours, err := contrailConfig(nad)
	if ours && err != nil {
		r.Recorder.Eventf(nad, nil, corev1.EventTypeWarning, "InvalidNetworkConfig", "ParseNetworkConfig", "%v; fix spec.config", err)
		return ctrl.Result{}, r.setStatus(ctx, nad, networkStatus{State: networkError, LastError: err.Error()})
	}
	if ours {
		r.Pods.forgetVN(mustFQName(conf.VirtualNetwork))
	}
	if nad.DeletionTimestamp != nil {
		return r.finalize(ctx, log, nad)
	}
	if !ours || !conf.ManagesNetwork() {
		// Not (or no longer) a network this controller creates.
		return ctrl.Result{}, r.removeFinalizer(ctx, nad)
	}

	if !controllerutil.ContainsFinalizer(nad, NetworkFinalizer) {
		controllerutil.AddFinalizer(nad, NetworkFinalizer)
		if err := r.Client.Update(ctx, nad); err != nil {
			return ctrl.Result{}, fmt.Errorf("add finalizer to NetworkAttachmentDefinition %s: %w", req.NamespacedName, err)
		}
	}

	status, err := r.ensureNetwork(ctx, log, nad, conf)
	if err != nil {
		status.State, status.LastError = networkError, err.Error()
		r.Recorder.Eventf(nad, nil, corev1.EventTypeWarning, "CreateVirtualNetworkFailed", "CreateVirtualNetwork", "%v", err)
		if statusErr := r.setStatus(ctx, nad, status); statusErr != nil {
			log.Error(statusErr, "cannot record network status")
		}
		return ctrl.Result{}, err
	}
	return ctrl.Result{}, r.setStatus(ctx, nad, status)
}

// ensureNetwork creates the NAD's VN when it does not exist, and otherwise
// compares it with the config and warns on a difference without changing it.
func (r *NetworkReconciler) ensureNetwork(ctx context.Context, log logr.Logger, nad *nadv1.NetworkAttachmentDefinition, conf *netconf.NetConf) (networkStatus, error) {
	fq := mustFQName(conf.VirtualNetwork)
	status := networkStatus{VirtualNetwork: conf.VirtualNetwork, State: networkPending}

	id, err := r.VNC.FQNameToID(ctx, vncclient.TypeVirtualNetwork, fq)
	if vncclient.IsNotFound(err) {
		id, err = r.createNetwork(ctx, nad, conf, fq)
		if err != nil {
			return status, err
		}
		log.Info("created virtual network", "virtualNetwork", conf.VirtualNetwork, "uuid", id)
		r.Recorder.Eventf(nad, nil, corev1.EventTypeNormal, "VirtualNetworkCreated", "CreateVirtualNetwork",
			"created virtual network %s (%s)", conf.VirtualNetwork, id)
		status.UUID, status.Managed, status.State = id, true, networkReady
		return status, nil
	}
	if err != nil {
		return status, err
	}

	existing := vncclient.Network{}
	if err := r.VNC.Read(ctx, vncclient.TypeVirtualNetwork, id, &existing); err != nil {
		return status, err
	}
	status.UUID, status.State = id, networkReady
	status.Managed = ownedBy(existing.Annotations, r.ClusterName, nad)
	if diff := subnetDifference(conf.Subnets, existing.NetworkIpamRefs); diff != "" {
		r.Recorder.Eventf(nad, nil, corev1.EventTypeWarning, "VirtualNetworkMismatch", "CompareVirtualNetwork",
			"virtual network %s exists with other subnets than the NAD requests (%s); the network is left unchanged", conf.VirtualNetwork, diff)
		status.LastError = "subnets differ from the existing network: " + diff
	}
	return status, nil
}

func (r *NetworkReconciler) createNetwork(ctx context.Context, nad *nadv1.NetworkAttachmentDefinition, conf *netconf.NetConf, fq []string) (string, error) {
	owner := r.ownerAnnotations(nad)
	project := vncclient.Project{FQName: fq[:2], ParentType: "domain", Annotations: owner}
	if err := r.VNC.Create(ctx, vncclient.TypeProject, project); err != nil && !vncclient.IsConflict(err) {
		return "", fmt.Errorf("create project %s for virtual network %s: %w", strings.Join(fq[:2], ":"), conf.VirtualNetwork, err)
	}

	subnets := make([]vncclient.IpamSubnet, 0, len(conf.Subnets))
	for _, s := range conf.Subnets {
		prefix := netip.MustParsePrefix(s.CIDR) // validated by netconf
		sub := vncclient.IpamSubnet{
			Subnet:         &vncclient.SubnetPrefix{IPPrefix: prefix.Addr().String(), IPPrefixLen: prefix.Bits()},
			DefaultGateway: s.Gateway,
		}
		for _, p := range s.AllocationPools {
			sub.AllocationPools = append(sub.AllocationPools, vncclient.AllocationPool{Start: p.Start, End: p.End})
		}
		subnets = append(subnets, sub)
	}
	vn := vncclient.Network{
		FQName:          fq,
		ParentType:      vncclient.TypeProject,
		NetworkIpamRefs: []vncclient.IpamRef{{To: vncclient.DefaultNetworkIpam, Attr: &vncclient.VnSubnets{IpamSubnets: subnets}}},
		Annotations:     owner,
	}
	if conf.ForwardingMode != "" {
		vn.Properties = &vncclient.VirtualNetworkProperties{ForwardingMode: conf.ForwardingMode}
	}
	if err := r.VNC.Create(ctx, vncclient.TypeVirtualNetwork, vn); err != nil && !vncclient.IsConflict(err) {
		return "", fmt.Errorf("create virtual network %s: %w", conf.VirtualNetwork, err)
	}
	return r.VNC.FQNameToID(ctx, vncclient.TypeVirtualNetwork, fq)
}

// finalize deletes the NAD's VN if this NAD created it and no attachment
// uses it, then lets the NAD go.
func (r *NetworkReconciler) finalize(ctx context.Context, log logr.Logger, nad *nadv1.NetworkAttachmentDefinition) (ctrl.Result, error) {
	if !controllerutil.ContainsFinalizer(nad, NetworkFinalizer) {
		return ctrl.Result{}, nil
	}
	conf, ours, err := contrailConfig(nad)
	if !ours || err != nil {
		return ctrl.Result{}, r.removeFinalizer(ctx, nad)
	}
	fq := mustFQName(conf.VirtualNetwork)
	id, err := r.VNC.FQNameToID(ctx, vncclient.TypeVirtualNetwork, fq)
	if vncclient.IsNotFound(err) {
		return ctrl.Result{}, r.removeFinalizer(ctx, nad)
	}
	if err != nil {
		return ctrl.Result{}, err
	}
	vn := vncclient.Network{}
	if err := r.VNC.Read(ctx, vncclient.TypeVirtualNetwork, id, &vn); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !ownedBy(vn.Annotations, r.ClusterName, nad) {
		log.Info("NAD deleted; its virtual network was not created by this NAD and stays", "virtualNetwork", conf.VirtualNetwork)
		return ctrl.Result{}, r.removeFinalizer(ctx, nad)
	}
	if vmis, iips := len(vn.VirtualMachineInterfaceBackRefs), len(vn.InstanceIPBackRefs); vmis+iips > 0 {
		msg := fmt.Sprintf("virtual network %s is still in use (virtual-machine-interfaces: %d, instance-ips: %d); it is deleted once their pods are gone",
			conf.VirtualNetwork, vmis, iips)
		status := networkStatus{VirtualNetwork: conf.VirtualNetwork, UUID: id, Managed: true, State: networkDeleting, LastError: msg}
		// Each retry finds the same users until a pod goes, so the Event
		// is recorded only when the status changes.
		if !r.statusRecorded(nad, status) {
			r.Recorder.Eventf(nad, nil, corev1.EventTypeNormal, "VirtualNetworkInUse", "DeleteVirtualNetwork", "%s", msg)
		}
		if err := r.setStatus(ctx, nad, status); err != nil {
			log.Error(err, "cannot record network status")
		}
		return ctrl.Result{RequeueAfter: notFoundRetry}, nil
	}
	if err := r.VNC.Delete(ctx, vncclient.TypeVirtualNetwork, id); err != nil && !vncclient.IsNotFound(err) {
		if vncclient.IsConflict(err) {
			log.Info("virtual network still referred; retrying", "virtualNetwork", conf.VirtualNetwork, "reason", err.Error())
			return ctrl.Result{RequeueAfter: notFoundRetry}, nil
		}
		return ctrl.Result{}, err
	}
	log.Info("deleted virtual network", "virtualNetwork", conf.VirtualNetwork, "uuid", id)
	return ctrl.Result{}, r.removeFinalizer(ctx, nad)
}

func (r *NetworkReconciler) removeFinalizer(ctx context.Context, nad *nadv1.NetworkAttachmentDefinition) error {
	if !controllerutil.ContainsFinalizer(nad, NetworkFinalizer) {
		return nil
	}
	controllerutil.RemoveFinalizer(nad, NetworkFinalizer)
	if err := r.Client.Update(ctx, nad); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("remove finalizer from NetworkAttachmentDefinition %s/%s: %w", nad.Namespace, nad.Name, err)
	}
	return nil
}

// setStatus writes NetworkStatusAnnotation when its value changed.
// statusRecorded reports whether the NAD's status annotation already
// contains status.
func (r *NetworkReconciler) statusRecorded(nad *nadv1.NetworkAttachmentDefinition, status networkStatus) bool {
	data, err := json.Marshal(status)
	return err == nil && nad.Annotations[NetworkStatusAnnotation] == string(data)
}

func (r *NetworkReconciler) setStatus(ctx context.Context, nad *nadv1.NetworkAttachmentDefinition, status networkStatus) error {
	data, err := json.Marshal(status)
	if err != nil {
		return err
	}
	if nad.Annotations[NetworkStatusAnnotation] == string(data) {
		return nil
	}
	patch := client.MergeFrom(nad.DeepCopy())
	if nad.Annotations == nil {
		nad.Annotations = map[string]string{}
	}
	nad.Annotations[NetworkStatusAnnotation] = string(data)
	if err := r.Client.Patch(ctx, nad, patch); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("record status on NetworkAttachmentDefinition %s/%s: %w", nad.Namespace, nad.Name, err)
	}
	return nil
}

func (r *NetworkReconciler) ownerAnnotations(nad *nadv1.NetworkAttachmentDefinition) *vncclient.KeyValuePairs {
	return &vncclient.KeyValuePairs{KeyValuePair: []vncclient.KeyValuePair{
		{Key: attachment.KeyOwner, Value: attachment.OwnerValue},
		{Key: attachment.KeyCluster, Value: r.ClusterName},
		{Key: KeyNAD, Value: nad.Namespace + "/" + nad.Name},
		{Key: KeyNADUID, Value: string(nad.UID)},
	}}
}

// ownedBy reports whether annotations mark an object as created by this
// controller for this NAD (same cluster and NAD UID).
func ownedBy(kv *vncclient.KeyValuePairs, cluster string, nad *nadv1.NetworkAttachmentDefinition) bool {
	owner, _ := kv.Get(attachment.KeyOwner)
	c, _ := kv.Get(attachment.KeyCluster)
	uid, _ := kv.Get(KeyNADUID)
	return owner == attachment.OwnerValue && c == cluster && uid == string(nad.UID)
}

// subnetDifference compares the requested subnets with those on the VN's
// IPAM refs and describes the difference, or returns "" when they match.
func subnetDifference(want []netconf.Subnet, refs []vncclient.IpamRef) string {
	var have, requested []string
	for _, ref := range refs {
		if ref.Attr == nil {
			continue
		}
		for _, s := range ref.Attr.IpamSubnets {
			if s.Subnet != nil {
				have = append(have, fmt.Sprintf("%s/%d", s.Subnet.IPPrefix, s.Subnet.IPPrefixLen))
			}
		}
	}
	for _, s := range want {
		requested = append(requested, netip.MustParsePrefix(s.CIDR).String())
	}
	slices.Sort(have)
	slices.Sort(requested)
	if slices.Equal(have, requested) {
		return ""
	}
	return fmt.Sprintf("requested %v, existing %v", requested, have)
}

// mustFQName splits an fq-name that netconf already validated.
func mustFQName(s string) []string {
	fq, err := netconf.ParseFQName(s)
	if err != nil {
		panic(fmt.Sprintf("fq-name %q passed validation but does not parse: %v", s, err))
	}
	return fq
}

// SetupWithManager registers the NAD controller.
func (r *NetworkReconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		Named("contrail-vif-networks").
		For(&nadv1.NetworkAttachmentDefinition{}).
		Complete(r)
}
