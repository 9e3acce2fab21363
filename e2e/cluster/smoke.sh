#!/usr/bin/env bash
# Checks that a running local test cluster attaches pods the way the
# end-to-end tests need. A busybox pod gets eth0 from the primary bridge, and
# Multus writes its network-status. A pod that selects a bridge NAD also gets
# net1, and its network-status has both entries. Traffic goes only between
# the two pods' own network namespaces. The script works in namespace
# cvif-smoke and deletes it on exit, also on failure.
#
#   e2e/cluster/up.sh && e2e/cluster/smoke.sh
set -euo pipefail

# shellcheck source=e2e/cluster/lib.sh
source "$(dirname "$0")/lib.sh"
here=$(dirname "$0")

ns=cvif-smoke
nad_bridge=cvifsmoke0
failures=0

check() {
	local what=$1
	shift
	if "$@" >/dev/null; then
		log "ok: $what"
	else
		log "FAILED: $what"
		failures=$((failures + 1))
	fi
}

cleanup() {
	delete_namespace "$ns"
	ip link delete "$nad_bridge" type bridge 2>/dev/null || true
}
trap cleanup EXIT

pod_yaml() {
	local name=$1 networks=$2
	cat <<EOF
apiVersion: v1
kind: Pod
metadata:
  name: $name
  namespace: $ns
  annotations:
    k8s.v1.cni.cncf.io/networks: "$networks"
spec:
  nodeName: $NODE_NAME
  automountServiceAccountToken: false
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: $BUSYBOX_IMAGE
    imagePullPolicy: Never
    command: ["sleep", "3600"]
EOF
}

network_status() {
	kc -n "$ns" get pod "$1" -o jsonpath='{.metadata.annotations.k8s\.v1\.cni\.cncf\.io/network-status}'
}

pod_has_address() {
	local pod=$1 ifname=$2 prefix=$3
	"$here/podexec.sh" "$ns" "$pod" -- ip -o -4 addr show dev "$ifname" | grep -q " inet $prefix"
}

ensure_namespace "$ns"
kc apply -f - >/dev/null <<EOF
apiVersion: k8s.cni.cncf.io/v1
kind: NetworkAttachmentDefinition
metadata:
  name: smoke-bridge
  namespace: $ns
spec:
  config: '{"cniVersion":"1.0.0","type":"bridge","bridge":"$nad_bridge","ipam":{"type":"host-local","subnet":"10.245.0.0/24","dataDir":"$CNI_IPAM_DIR"}}'
EOF
pod_yaml plain "" | kc apply -f - >/dev/null
pod_yaml attached smoke-bridge | kc apply -f - >/dev/null
kc -n "$ns" wait --for=condition=Ready pod/plain pod/attached --timeout=60s >/dev/null ||
	die "pods did not become Ready in 60s; see $LOG_DIR/kubelet.log and $LOG_DIR/multus.log"

check "plain pod has eth0 in $POD_SUBNET" pod_has_address plain eth0 "${POD_SUBNET%.*/*}."
check "plain pod network-status has one default entry" \
	jq -e 'length == 1 and .[0].interface == "eth0" and .[0].default == true' <<<"$(network_status plain)"
check "attached pod has net1 in 10.245.0.0/24" pod_has_address attached net1 10.245.0.
# shellcheck disable=SC2016 # $nad is a jq variable
check "attached pod network-status has eth0 and net1" \
	jq -e --arg nad "$ns/smoke-bridge" \
	'length == 2 and .[0].interface == "eth0" and .[1].interface == "net1" and .[1].name == $nad' \
	<<<"$(network_status attached)"

plain_ip=$(network_status plain | jq -r '.[0].ips[0]')
check "attached pod reaches plain pod over eth0" \
	"$here/podexec.sh" "$ns" attached -- ping -c 1 -W 2 "$plain_ip"
check "pod network namespace path resolves" test -e "$("$here/podnetns.sh" "$ns" plain)"
check "IP forwarding is still off" test "$(cat /proc/sys/net/ipv4/ip_forward)" = 0

((failures == 0)) || die "$failures smoke checks failed"
log "all smoke checks passed"
