#!/usr/bin/env bash
# Runs a command inside a running container of the local test cluster, in
# all of the container's namespaces (mount, PID, network, UTS, IPC), so the
# command and its binaries come from the container image. It replaces
# `kubectl exec`, which does not work here because kubelet's node address is
# not on loopback. The exit status is the command's.
#
#   e2e/cluster/podexec.sh NAMESPACE POD [-c CONTAINER] -- CMD [ARG...]
#   e2e/cluster/podexec.sh default mypod -- ip -o addr show net1
#
# Without -c the pod must have exactly one running container.
set -euo pipefail

# shellcheck source=e2e/cluster/lib.sh
source "$(dirname "$0")/lib.sh"

usage="usage: podexec.sh NAMESPACE POD [-c CONTAINER] -- CMD [ARG...]"
[ $# -ge 4 ] || die "$usage"
namespace=$1 pod=$2
shift 2
container=""
if [ "$1" = -c ]; then
	container=$2
	shift 2
fi
if [ "${1:-}" != -- ] || [ $# -lt 2 ]; then
	die "$usage"
fi
shift

uid=$(kc -n "$namespace" get pod "$pod" -o jsonpath='{.metadata.uid}') ||
	die "pod $namespace/$pod not found"

filter="labels.\"io.cri-containerd.kind\"==container,labels.\"io.kubernetes.pod.uid\"==$uid"
[ -z "$container" ] || filter+=",labels.\"io.kubernetes.container.name\"==$container"

pids=()
tasks=$(cctr tasks ls)
for id in $(cctr containers ls -q "$filter"); do
	pid=$(awk -v id="$id" '$1 == id && $3 == "RUNNING" { print $2 }' <<<"$tasks")
	[ -z "$pid" ] || pids+=("$pid")
done
case ${#pids[@]} in
1) ;;
0) die "pod $namespace/$pod has no running container${container:+ named $container}" ;;
*) die "pod $namespace/$pod has ${#pids[@]} running containers; choose one with -c" ;;
esac

exec nsenter --target "${pids[0]}" --mount --pid --net --uts --ipc -- "$@"
