package controller

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/contrail-vif/contrail-vif/pkg/attachment"
	"github.com/contrail-vif/contrail-vif/pkg/vncclient"
)

// ensurePod creates, in the order Contrail requires, the VM of the pod, the
// VMI and instance-ip of each attachment, and last the virtual-router ref,
// which makes the node's agent receive the config. Each create is skipped
// when an earlier reconcile finished it, and a 409 on a create means an
// earlier attempt (perhaps of a crashed controller) made the object with the
// same deterministic uuid.
func (r *Reconciler) ensurePod(ctx context.Context, log logr.Logger, pod *corev1.Pod, desired []desiredAttachment) error {
	var usable []desiredAttachment
	for _, a := range desired {
		if a.Invalid == nil {
			usable = append(usable, a)
		}
	}
	var failed string
	var err error
	if len(usable) > 0 {
		failed, err = r.createPodObjects(ctx, log, pod, usable)
	}
	if statusErr := r.setPodStatus(ctx, pod, desired, failed, err); statusErr != nil {
		log.Error(statusErr, "cannot record attachment status on the pod")
	}
	return err
}

// createPodObjects does the work of ensurePod. On failure it also returns
// the interface whose objects failed, or "" when the failure concerns the
// whole pod.
func (r *Reconciler) createPodObjects(ctx context.Context, log logr.Logger, pod *corev1.Pod, desired []desiredAttachment) (string, error) {
	uid := string(pod.UID)
	name := types.NamespacedName{Namespace: pod.Namespace, Name: pod.Name}
	r.remember(name, pod.UID)

	routerKey := doneKey{uid: pod.UID}
	vmCreated := false
	for _, a := range desired {
		key := doneKey{uid: pod.UID, iface: a.Interface}
		if r.isDone(key) {
			continue
		}
		vn, err := r.vnInfo(ctx, a.VNFQName)
		if err != nil {
			return a.Interface, r.report(pod, "VirtualNetworkNotFound", fmt.Errorf("NetworkAttachmentDefinition %s: %w", a.Network, err))
		}
		if !vmCreated {
			if err := r.ensureVM(ctx, pod); err != nil {
				return "", r.report(pod, "CreateVirtualMachineFailed", err)
			}
			vmCreated = true
		}
		vmiUUID := attachment.VMIUUID(uid, a.Interface)
		if len(vn.SkippedRoutes) > 0 {
			log.Info("skipping IPAM host routes that a pod cannot use", "network", a.Network, "routes", vn.SkippedRoutes)
		}
		if err := r.ensureVMI(ctx, pod, a, len(desired), vmiUUID, vn.HostRoutes); err != nil {
			if vncclient.IsNotFound(err) {
				r.forgetVN(a.VNFQName)
			}
			return a.Interface, r.report(pod, "CreateInterfaceFailed", err)
		}
		if err := r.ensureInstanceIPs(ctx, pod, a, vn, vmiUUID); err != nil {
			return a.Interface, r.report(pod, "AllocateAddressFailed", fmt.Errorf("%w (VN %s, vn uuid %s)", err, strings.Join(a.VNFQName, ":"), vn.UUID))
		}
		r.markDone(key)
		log.Info("created Contrail objects for attachment", "network", a.Network, "interface", a.Interface, "vmi", vmiUUID)
	}

	if r.isDone(routerKey) {
		return "", nil
	}
	routerUUID, err := r.routerUUID(ctx, pod.Spec.NodeName)
	if err != nil {
		return "", r.report(pod, "VirtualRouterNotFound", err)
	}
	if err := r.VNC.RefUpdate(ctx, vncclient.TypeVirtualRouter, routerUUID, vncclient.TypeVirtualMachine, uid, vncclient.RefAdd); err != nil {
		if vncclient.IsNotFound(err) {
			r.forgetRouter(pod.Spec.NodeName)
		}
		return "", r.report(pod, "LinkVirtualRouterFailed", err)
	}
	r.markDone(routerKey)
	return "", nil
}

// report records err as a Warning Event on the pod and returns it. A 404
// from Contrail, or an object a user must create, becomes a transientError.
func (r *Reconciler) report(pod *corev1.Pod, reason string, err error) error {
	r.warnOnce(pod, nil, reason, err)
	var notFound *notFoundError
	if vncclient.IsNotFound(err) || errors.As(err, &notFound) {
		return &transientError{err: err}
	}
	return err
}

func (r *Reconciler) clearDone(k doneKey) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.done, k)
}

// notFoundError is a Contrail object that a user or provisioning must create.
type notFoundError struct{ msg string }

func (e *notFoundError) Error() string { return e.msg }

// vnInfoTTL is how long vnInfo serves a VN from its cache. It bounds how
// long new pods miss a change to the VN's subnets or host routes.
const vnInfoTTL = time.Minute

// vnInfo returns the VN's uuid, address families and IPAM host routes, from
// the cache or with one lookup and one read of the VN.
func (r *Reconciler) vnInfo(ctx context.Context, fq []string) (networkInfo, error) {
	key := strings.Join(fq, ":")
	r.mu.Lock()
	info, ok := r.vnUUIDs[key]
	r.mu.Unlock()
	if ok && time.Since(info.readAt) < vnInfoTTL {
		return info, nil
	}
	id, err := r.VNC.FQNameToID(ctx, vncclient.TypeVirtualNetwork, fq)
	if vncclient.IsNotFound(err) {
		return networkInfo{}, &notFoundError{msg: fmt.Sprintf("virtual network %q was not found in Contrail; create it, add subnets to the NetworkAttachmentDefinition so the controller creates it, or correct virtualNetwork; the pod starts once the network exists", key)}
	}
	if err != nil {
		return networkInfo{}, err
	}
	vn := vnIPAMView{}
	if err := r.VNC.Read(ctx, vncclient.TypeVirtualNetwork, id, &vn, "network_ipam_refs"); err != nil {
		return networkInfo{}, err
	}
	info = networkInfo{UUID: id, readAt: time.Now()}
	info.HostRoutes, info.SkippedRoutes = vn.hostRoutes()
	for _, ref := range vn.NetworkIpamRefs {
		if ref.Attr == nil {
			continue
		}
		for _, sub := range ref.Attr.IpamSubnets {
			if sub.Subnet == nil {
				continue
			}
			if strings.Contains(sub.Subnet.IPPrefix, ":") {
				info.IPv6 = true
			} else {
				info.IPv4 = true
			}
		}
	}
	if !info.IPv4 && !info.IPv6 {
		// NOTE: a VN whose subnets live on a flat-subnet IPAM shows none on
		// its refs; IPv4 is assumed, which is what kube-manager's pod IPAM
		// uses.
		info.IPv4 = true
	}
	r.mu.Lock()
	r.vnUUIDs[key] = info
	r.mu.Unlock()
	return info, nil
}

// networkInfo is the controller's cached view of a VN.
type networkInfo struct {
	UUID string
	// IPv4 and IPv6 report whether the VN has subnets of that family.
	IPv4, IPv6 bool
	// HostRoutes are the host routes of the VN's IPAM subnets, which the
	// controller copies onto each VMI for the plugin.
	HostRoutes []attachment.Route
	// SkippedRoutes describe host routes that cannot be set in a pod.
	SkippedRoutes []string
	readAt        time.Time
}

func (r *Reconciler) forgetVN(fq []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.vnUUIDs, strings.Join(fq, ":"))
}

func (r *Reconciler) routerUUID(ctx context.Context, node string) (string, error) {
	r.mu.Lock()
	id, ok := r.routerUUIDs[node]
	r.mu.Unlock()
	if ok {
		return id, nil
	}
	fq := []string{vncclient.GlobalSystemConfig, node}
	id, err := r.VNC.FQNameToID(ctx, vncclient.TypeVirtualRouter, fq)
	if vncclient.IsNotFound(err) {
		return "", &notFoundError{msg: fmt.Sprintf("virtual-router %q for node %q was not found in Contrail; provision the node's vRouter under that name", strings.Join(fq, ":"), node)}
	}
	if err != nil {
		return "", err
	}
	r.mu.Lock()
	r.routerUUIDs[node] = id
	r.mu.Unlock()
	return id, nil
}

func (r *Reconciler) forgetRouter(node string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.routerUUIDs, node)
}

// podAnnotations are the annotations shared by the VM and its VMIs.
func (r *Reconciler) podAnnotations(pod *corev1.Pod) []vncclient.KeyValuePair {
	return []vncclient.KeyValuePair{
		{Key: attachment.KeyOwner, Value: attachment.OwnerValue},
		{Key: attachment.KeyCluster, Value: r.ClusterName},
		{Key: attachment.KeyKind, Value: "Pod"},
		{Key: attachment.KeyNamespace, Value: pod.Namespace},
		{Key: attachment.KeyPod, Value: pod.Name},
		{Key: attachment.KeyPodUID, Value: string(pod.UID)},
	}
}

func (r *Reconciler) ensureVM(ctx context.Context, pod *corev1.Pod) error {
	vm := vncclient.VirtualMachine{
		UUID:        string(pod.UID),
		FQName:      []string{r.vmName(pod)},
		ServerType:  "container",
		Annotations: &vncclient.KeyValuePairs{KeyValuePair: r.podAnnotations(pod)},
	}
	err := r.VNC.Create(ctx, vncclient.TypeVirtualMachine, vm)
	if err == nil || !vncclient.IsConflict(err) {
		return err
	}
	// 409: either our VM from an earlier attempt, or a VM of another pod
	// that had this name and whose objects are not yet deleted.
	existing := vncclient.VirtualMachine{}
	if readErr := r.VNC.Read(ctx, vncclient.TypeVirtualMachine, string(pod.UID), &existing); readErr == nil {
		return nil
	}
	return fmt.Errorf("virtual-machine %q exists with another uuid than pod %s/%s (%s): an earlier pod with this name still has Contrail objects; they are deleted once that pod is gone: %w",
		r.vmName(pod), pod.Namespace, pod.Name, pod.UID, err)
}

// ensureVMI creates the attachment's VMI. Its annotations tell the plugin
// which attachment it is, and carry the pod's default-route request and
// the VN's IPAM host routes, which the plugin cannot read otherwise: it
// has no config API credentials, and the agent passes only annotations.
func (r *Reconciler) ensureVMI(ctx context.Context, pod *corev1.Pod, a desiredAttachment, total int, vmiUUID string, hostRoutes []attachment.Route) error {
	annotations := append(r.podAnnotations(pod),
		vncclient.KeyValuePair{Key: attachment.KeyNetwork, Value: a.Network},
		vncclient.KeyValuePair{Key: attachment.KeyInterface, Value: a.Interface},
		vncclient.KeyValuePair{Key: attachment.KeyIndex, Value: attachment.FormatIndex(a.Index, total)},
	)
	if len(a.DefaultRoute) > 0 {
		gws := make([]string, 0, len(a.DefaultRoute))
		for _, gw := range a.DefaultRoute {
			gws = append(gws, gw.String())
		}
		annotations = append(annotations, vncclient.KeyValuePair{Key: attachment.KeyDefaultRoute, Value: strings.Join(gws, ",")})
	}
	if len(hostRoutes) > 0 {
		annotations = append(annotations, vncclient.KeyValuePair{Key: attachment.KeyHostRoutes, Value: attachment.FormatRoutes(hostRoutes)})
	}
	vmi := vncclient.VirtualMachineInterface{
		UUID:                vmiUUID,
		FQName:              append(append([]string{}, projectOf(a.VNFQName)...), attachment.VMIName(pod.Name, vmiUUID)),
		ParentType:          vncclient.TypeProject,
		VirtualNetworkRefs:  []vncclient.Ref{{To: a.VNFQName}},
		VirtualMachineRefs:  []vncclient.Ref{{To: []string{r.vmName(pod)}}},
		Annotations:         &vncclient.KeyValuePairs{KeyValuePair: annotations},
		PortSecurityEnabled: a.PortSecurity,
	}
	if a.MAC != "" {
		vmi.MacAddresses = &vncclient.MacAddresses{MacAddress: []string{a.MAC}}
	}
	for _, sg := range a.SecurityGroups {
		vmi.SecurityGroupRefs = append(vmi.SecurityGroupRefs, vncclient.Ref{To: sg})
	}
	err := r.VNC.Create(ctx, vncclient.TypeVirtualMachineInterface, vmi)
	if vncclient.IsConflict(err) {
		return nil
	}
	return err
}

// ensureInstanceIPs creates the attachment's instance-ips: one per
// requested address, or else one per address family of the VN, allocated
// by Contrail.
func (r *Reconciler) ensureInstanceIPs(ctx context.Context, pod *corev1.Pod, a desiredAttachment, vn networkInfo, vmiUUID string) error {
	type request struct {
		family, address string
	}
	var requests []request
	for _, ip := range a.IPs {
		family := "v4"
		if ip.Is6() {
			family = "v6"
		}
		requests = append(requests, request{family: family, address: ip.String()})
	}
	if len(requests) == 0 {
		if vn.IPv4 {
			requests = append(requests, request{family: "v4"})
		}
		if vn.IPv6 {
			requests = append(requests, request{family: "v6"})
		}
	}
	for i, req := range requests {
		if err := r.ensureInstanceIP(ctx, pod, a, vmiUUID, i, req.family, req.address); err != nil {
			return err
		}
	}
	return nil
}

// ensureInstanceIP creates instance-ip number index of the attachment;
// address empty lets Contrail allocate one of family.
func (r *Reconciler) ensureInstanceIP(ctx context.Context, pod *corev1.Pod, a desiredAttachment, vmiUUID string, index int, family, address string) error {
	iipUUID := attachment.InstanceIPUUIDAt(string(pod.UID), a.Interface, index)
	vmiFQ := append(append([]string{}, projectOf(a.VNFQName)...), attachment.VMIName(pod.Name, vmiUUID))
	iip := vncclient.InstanceIP{
		UUID:                        iipUUID,
		FQName:                      []string{attachment.InstanceIPName(pod.Name, iipUUID)},
		VirtualNetworkRefs:          []vncclient.Ref{{To: a.VNFQName}},
		VirtualMachineInterfaceRefs: []vncclient.Ref{{To: vmiFQ}},
		InstanceIPFamily:            family,
		InstanceIPAddress:           address,
	}
	err := r.VNC.Create(ctx, vncclient.TypeInstanceIP, iip)
	if err == nil {
		return nil
	}
	if vncclient.IsConflict(err) {
		// Our instance-ip from an earlier attempt, if it reads back.
		if r.VNC.Read(ctx, vncclient.TypeInstanceIP, iipUUID, &vncclient.InstanceIP{}) == nil {
			return nil
		}
	}
	what := "an " + family + " address"
	if address != "" {
		what = "the requested address " + address
	}
	return fmt.Errorf("allocate %s for interface %s of pod %s/%s: %w", what, a.Interface, pod.Namespace, pod.Name, err)
}

// deleteVM deletes, in the reverse of creation order, the virtual-router
// refs to the VM of pod uid, the instance-ips and VMIs that refer to it, and
// the VM. Objects already gone count as deleted.
func (r *Reconciler) deleteVM(ctx context.Context, log logr.Logger, uid string) error {
	vm := vncclient.VirtualMachine{}
	err := r.VNC.Read(ctx, vncclient.TypeVirtualMachine, uid, &vm)
	if vncclient.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, ref := range vm.VirtualRouterBackRefs {
		err := r.VNC.RefUpdate(ctx, vncclient.TypeVirtualRouter, ref.UUID, vncclient.TypeVirtualMachine, uid, vncclient.RefDelete)
		if err != nil && !vncclient.IsNotFound(err) {
			return err
		}
	}
	for _, ref := range vm.VirtualMachineInterfaceBackRefs {
		if err := r.deleteVMI(ctx, ref.UUID); err != nil {
			return err
		}
	}
	if err := r.VNC.Delete(ctx, vncclient.TypeVirtualMachine, uid); err != nil && !vncclient.IsNotFound(err) {
		return err
	}
	log.Info("deleted Contrail objects of pod", "uid", uid, "vm", strings.Join(vm.FQName, ":"), "interfaces", len(vm.VirtualMachineInterfaceBackRefs))
	return nil
}

func (r *Reconciler) deleteVMI(ctx context.Context, vmiUUID string) error {
	vmi := vncclient.VirtualMachineInterface{}
	err := r.VNC.Read(ctx, vncclient.TypeVirtualMachineInterface, vmiUUID, &vmi)
	if vncclient.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, ref := range vmi.InstanceIPBackRefs {
		if err := r.VNC.Delete(ctx, vncclient.TypeInstanceIP, ref.UUID); err != nil && !vncclient.IsNotFound(err) {
			return err
		}
	}
	if err := r.VNC.Delete(ctx, vncclient.TypeVirtualMachineInterface, vmiUUID); err != nil && !vncclient.IsNotFound(err) {
		return err
	}
	return nil
}
