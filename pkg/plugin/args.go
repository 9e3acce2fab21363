package plugin

import (
	"github.com/containernetworking/cni/pkg/types"

	"github.com/contrail-vif/contrail-vif/pkg/agentclient"
)

// podArgs is the pod identity that kubelet, or Multus for a secondary
// network, passes in CNI_ARGS, and the deprecated MAC and IP requests that
// Multus also passes there.
type podArgs struct {
	Namespace string
	Name      string
	UID       string
	// MAC and IP are the raw CNI_ARGS values; IP may list several
	// addresses separated by ','. loadRequests parses them.
	MAC string
	IP  string
}

// envArgs is the CNI_ARGS layout. The field names are the CNI_ARGS keys;
// CommonArgs carries IgnoreUnknown, so that other keys that Multus and the
// runtime add do not fail the parse.
type envArgs struct {
	types.CommonArgs
	K8S_POD_NAMESPACE          types.UnmarshallableString //nolint:revive,staticcheck // CNI_ARGS key
	K8S_POD_NAME               types.UnmarshallableString //nolint:revive,staticcheck // CNI_ARGS key
	K8S_POD_UID                types.UnmarshallableString //nolint:revive,staticcheck // CNI_ARGS key
	K8S_POD_INFRA_CONTAINER_ID types.UnmarshallableString //nolint:revive,staticcheck // CNI_ARGS key
	MAC                        types.UnmarshallableString
	IP                         types.UnmarshallableString
}

// loadPodArgs parses CNI_ARGS. Missing keys leave fields empty; a malformed
// string gives code 4.
func loadPodArgs(cniArgs string) (podArgs, error) {
	var env envArgs
	if err := types.LoadArgs(cniArgs, &env); err != nil {
		return podArgs{}, errorf(types.ErrInvalidEnvironmentVariables,
			"invalid CNI_ARGS: %v; expected key=value pairs separated by ';' such as K8S_POD_NAMESPACE=default;K8S_POD_NAME=web;K8S_POD_UID=<uid>", err)
	}
	return podArgs{
		Namespace: string(env.K8S_POD_NAMESPACE),
		Name:      string(env.K8S_POD_NAME),
		UID:       string(env.K8S_POD_UID),
		MAC:       string(env.MAC),
		IP:        string(env.IP),
	}, nil
}

// requireAll returns a code 4 error naming the first missing key, or
// K8S_POD_UID when it is not a uuid. ADD needs all three to find the
// attachment's VMI.
func (a podArgs) requireAll() error {
	for _, kv := range [][2]string{
		{"K8S_POD_NAMESPACE", a.Namespace}, {"K8S_POD_NAME", a.Name}, {"K8S_POD_UID", a.UID},
	} {
		if kv[1] == "" {
			return errorf(types.ErrInvalidEnvironmentVariables,
				"CNI_ARGS has no %s; contrail-vif needs K8S_POD_NAMESPACE, K8S_POD_NAME and K8S_POD_UID, which kubelet and Multus pass for every pod", kv[0])
		}
	}
	// The pod UID is the virtual-machine uuid, which the agent reports in
	// lowercase; any other form would never match and ADD would time out.
	if err := agentclient.CheckUUID(a.UID); err != nil {
		return errorf(types.ErrInvalidEnvironmentVariables, "invalid K8S_POD_UID in CNI_ARGS: %v", err)
	}
	return nil
}

// String returns "namespace/name".
func (a podArgs) String() string {
	return a.Namespace + "/" + a.Name
}
