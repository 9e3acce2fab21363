// Package attachment defines the identity of one pod attachment to a Contrail
// virtual network: the names and uuids of the Contrail objects that represent
// it, and the VMI annotation keys through which the controller tells the CNI
// plugin which attachment a VMI belongs to.
//
// The controller writes these values through the config API and the plugin
// reads them back from the vRouter agent's /vm-cfg view, so both sides must
// derive them here and nowhere else.
package attachment

import (
	"strconv"
	"strings"

	"github.com/google/uuid"
)

// Keys of the VMI annotations (Contrail KeyValuePairs) that identify an
// attachment. The agent returns them from GET /vm-cfg as "{key:value}"
// strings. Keys never contain ':'; values may (IPv6 addresses), so a reader
// splits at the first ':'.
const (
	// KeyOwner marks objects created by contrail-vif; its value is OwnerValue.
	KeyOwner = "owner"
	// KeyCluster is the cluster name the controller runs with.
	KeyCluster = "cluster"
	// KeyKind is always "Pod" for pod attachments.
	KeyKind = "kind"
	// KeyNamespace is the pod's namespace.
	KeyNamespace = "namespace"
	// KeyPod is the pod's name.
	KeyPod = "name"
	// KeyPodUID is the pod's UID, equal to the virtual-machine uuid.
	KeyPodUID = "k8s_uuid"
	// KeyNetwork is the NetworkAttachmentDefinition as "<namespace>/<name>".
	KeyNetwork = "network"
	// KeyInterface is the interface name inside the pod (CNI_IFNAME).
	KeyInterface = "interface"
	// KeyIndex is "<i>/<n>": the attachment's position among the pod's
	// contrail-vif attachments, counted from 0.
	KeyIndex = "index"
	// KeyDefaultRoute lists, comma-separated, the gateways of the pod's
	// "default-route" request for this attachment; absent without one.
	KeyDefaultRoute = "default_route"
)

// OwnerValue is the value of KeyOwner on every object contrail-vif creates.
const OwnerValue = "contrail-vif"

// DefaultCluster is the cluster name used when none is configured.
const DefaultCluster = "k8s"

// uuidSpace is the UUIDv5 namespace for attachment object uuids. Changing it
// would orphan every object created before the change.
var uuidSpace = uuid.MustParse("6f1b7c52-3c1e-4f0e-9d57-2b7f6a9c4e10")

// VMName returns the Contrail virtual-machine name for a pod,
// "<cluster>__<namespace>__<pod>", the same form contrail-kube-manager uses.
func VMName(cluster, namespace, pod string) string {
	return cluster + "__" + namespace + "__" + pod
}

// VMIUUID returns the virtual-machine-interface uuid of the attachment
// (podUID, ifname). It is a UUIDv5, so a retry after a crash computes the
// uuid of the object the failed attempt created.
func VMIUUID(podUID, ifname string) string {
	return uuid.NewSHA1(uuidSpace, []byte(podUID+"/"+ifname+"/vmi")).String()
}

// InstanceIPUUID returns the instance-ip uuid of the attachment (podUID, ifname).
func InstanceIPUUID(podUID, ifname string) string {
	return uuid.NewSHA1(uuidSpace, []byte(podUID+"/"+ifname+"/iip")).String()
}

// InstanceIPUUIDAt returns the uuid of instance-ip number index of the
// attachment; index 0 is InstanceIPUUID, so single-address attachments keep
// the uuids they had before several addresses existed.
func InstanceIPUUIDAt(podUID, ifname string, index int) string {
	if index == 0 {
		return InstanceIPUUID(podUID, ifname)
	}
	return uuid.NewSHA1(uuidSpace, []byte(podUID+"/"+ifname+"/iip/"+strconv.Itoa(index))).String()
}

// VMIName returns the last fq-name element of the attachment's VMI,
// "<pod>__<vmi-uuid>", unique in the project like contrail-kube-manager's.
func VMIName(pod, vmiUUID string) string {
	return pod + "__" + vmiUUID
}

// InstanceIPName returns the fq-name (one element) of the attachment's instance-ip.
func InstanceIPName(pod, iipUUID string) string {
	return pod + "__" + iipUUID
}

// TapName returns the host-side interface name for a VMI: "tap" and the
// first 11 characters of its uuid, 14 characters in all, as Nova names
// vRouter taps. The VMI uuid is unique per attachment, so the name is too.
func TapName(vmiUUID string) string {
	return "tap" + strings.ToLower(vmiUUID)[:11]
}

// FormatIndex returns the KeyIndex value for position i of n.
func FormatIndex(i, n int) string {
	return strconv.Itoa(i) + "/" + strconv.Itoa(n)
}

// ParseAgentAnnotations converts the agent's "{key:value}" annotation strings
// into a map. Entries without braces or without ':' are skipped.
func ParseAgentAnnotations(entries []string) map[string]string {
	out := make(map[string]string, len(entries))
	for _, e := range entries {
		if len(e) < 2 || e[0] != '{' || e[len(e)-1] != '}' {
			continue
		}
		key, value, ok := strings.Cut(e[1:len(e)-1], ":")
		if !ok {
			continue
		}
		out[key] = value
	}
	return out
}
