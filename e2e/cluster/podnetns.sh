#!/usr/bin/env bash
# Prints the network namespace path of a running pod of the local test
# cluster, for use with `nsenter --net=PATH` or `ip netns exec`-style tools.
# `kubectl exec` does not work on this cluster because kubelet's node
# address is not on loopback.
#
#   e2e/cluster/podnetns.sh NAMESPACE POD
#   nsenter --net="$(e2e/cluster/podnetns.sh default mypod)" ip -o addr
#
# The path comes from the pod sandbox's OCI spec in containerd, found by the
# pod's UID. If the spec has no path (a host-network pod), the script fails.
set -euo pipefail

# shellcheck source=e2e/cluster/lib.sh
source "$(dirname "$0")/lib.sh"

[ $# -eq 2 ] || die "usage: podnetns.sh NAMESPACE POD"
namespace=$1 pod=$2

uid=$(kc -n "$namespace" get pod "$pod" -o jsonpath='{.metadata.uid}') ||
	die "pod $namespace/$pod not found"

sandboxes=$(cctr containers ls -q \
	"labels.\"io.cri-containerd.kind\"==sandbox,labels.\"io.kubernetes.pod.uid\"==$uid")
[ -n "$sandboxes" ] || die "pod $namespace/$pod (UID $uid) has no sandbox in containerd yet"

# A pod whose sandbox was recreated has several; use the one whose task runs.
for id in $sandboxes; do
	status=$(cctr tasks ls | awk -v id="$id" '$1 == id { print $3 }')
	[ "$status" = RUNNING ] || continue
	path=$(cctr containers info "$id" |
		jq -r '.Spec.linux.namespaces[]? | select(.type == "network") | .path // empty')
	[ -n "$path" ] || die "sandbox $id of pod $namespace/$pod has no network namespace path (host network?)"
	echo "$path"
	exit 0
done
die "pod $namespace/$pod (UID $uid) has no running sandbox"
