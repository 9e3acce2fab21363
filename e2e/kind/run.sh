#!/usr/bin/env bash
# Deploys contrail-vif on a kind cluster the way a user installs it, and
# checks that a pod gets an interface on a simulated Contrail network:
#
#   1. builds kind from the Go module proxy and creates the cluster of
#      e2e/kind/cluster.yaml (one control plane, two workers);
#   2. installs Multus thick from its release manifest;
#   3. loads the images of `make images` with `kind load image-archive`;
#   4. applies deployments/overlays/local-sim and waits for the rollouts;
#   5. starts two pods on the red network of contrail-sim, checks their
#      network-status and attachment annotations, and pings between them;
#   6. runs the manifest tests of the Go e2e suite (TestManifests*) against
#      the kind apiserver;
#   7. deletes the cluster, also on failure, unless KEEP_CLUSTER=1.
#
# Needs Docker, Go, curl, jq, and network access to the Go module proxy,
# GitHub (the Multus manifest) and ghcr.io and Docker Hub (images). Run
# `make images` first; `make kind-e2e` does both.
#
# Environment: KIND_CLUSTER (name, default cvif-kind), KIND_NODE_IMAGE (node
# image; default: kind's own), KEEP_CLUSTER=1, KIND_TEST_IMAGE (image of
# the test pods, default busybox:1.37), KIND_E2E_RUN (go test -run pattern).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
KIND_VERSION=${KIND_VERSION:-v0.33.0}
KUBE_VERSION=${KUBE_VERSION:-v1.37.2}
CLUSTER_BIN=${CLUSTER_BIN:-$ROOT/_output/cluster-bin}
KIND_CLUSTER=${KIND_CLUSTER:-cvif-kind}
KIND_NODE_IMAGE=${KIND_NODE_IMAGE:-}
KEEP_CLUSTER=${KEEP_CLUSTER:-0}
MULTUS_VERSION=${MULTUS_VERSION:-v4.3.0}
MULTUS_MANIFEST_URL=${MULTUS_MANIFEST_URL:-https://raw.githubusercontent.com/k8snetworkplumbingwg/multus-cni/$MULTUS_VERSION/deployments/multus-daemonset-thick.yml}
# The release manifest names the moving snapshot-thick image; the release
# workflow pushes the same code as <tag>-thick.
MULTUS_IMAGE=${MULTUS_IMAGE:-ghcr.io/k8snetworkplumbingwg/multus-cni:$MULTUS_VERSION-thick}
KIND_TEST_IMAGE=${KIND_TEST_IMAGE:-busybox:1.37}
KIND_E2E_RUN=${KIND_E2E_RUN:-^TestManifests}
IMAGES_DIR=${IMAGES_DIR:-$ROOT/_output/images}
IMAGES=(contrail-vif-controller contrail-vif-install contrail-sim)
ROLLOUT_TIMEOUT=${ROLLOUT_TIMEOUT:-300s}
TEST_NAMESPACE=cvif-kind
SIM_NAMESPACE=contrail-vif-system
SIM_NODE_LABEL=contrail-vif.io/contrail-sim=true

WORK=$ROOT/_output/kind
KUBECONFIG_FILE=$WORK/kubeconfig
KIND=$WORK/bin/kind

log() {
	echo "[kind-e2e] $*" >&2
}

die() {
	echo "[kind-e2e] error: $*" >&2
	exit 1
}

kc() {
	"$KUBECTL" --kubeconfig "$KUBECONFIG_FILE" "$@"
}

check_requirements() {
	local tool
	for tool in docker go curl jq; do
		command -v "$tool" >/dev/null || die "$tool is not installed"
	done
	docker info >/dev/null 2>&1 || die "docker does not answer; kind needs a running Docker engine"
	local image
	for image in "${IMAGES[@]}"; do
		[ -s "$IMAGES_DIR/$image.tar" ] || die "missing $IMAGES_DIR/$image.tar; run make images first"
	done
}

# build_tools builds kind at KIND_VERSION from the Go module proxy, and
# kubectl at KUBE_VERSION as e2e/cluster/build-bins.sh does for the local
# cluster (sharing its cache), unless KUBECTL names one already.
build_tools() {
	mkdir -p "$WORK/bin"
	if [ ! -x "$KIND" ] || ! "$KIND" version | grep -qF "kind $KIND_VERSION "; then
		log "building kind $KIND_VERSION"
		GOBIN=$WORK/bin GOFLAGS=-mod=mod go install "sigs.k8s.io/kind@$KIND_VERSION"
	fi
	if [ -z "${KUBECTL:-}" ]; then
		KUBECTL=$CLUSTER_BIN/kubernetes-$KUBE_VERSION/kubectl
		if [ ! -x "$KUBECTL" ]; then
			log "building kubectl $KUBE_VERSION (cached in $CLUSTER_BIN)"
			OUT=$CLUSTER_BIN KUBE_VERSION=$KUBE_VERSION KUBE_BINS=kubectl \
				"$ROOT/e2e/cluster/build-bins.sh" >"$WORK/build-bins.log" 2>&1 ||
				die "build-bins.sh failed; see $WORK/build-bins.log"
		fi
	fi
}

create_cluster() {
	local image_flag=()
	[ -z "$KIND_NODE_IMAGE" ] || image_flag=(--image "$KIND_NODE_IMAGE")
	log "creating kind cluster $KIND_CLUSTER"
	"$KIND" create cluster --name "$KIND_CLUSTER" --config "$ROOT/e2e/kind/cluster.yaml" \
		--kubeconfig "$KUBECONFIG_FILE" --wait 180s "${image_flag[@]}"
}

delete_cluster() {
	local status=$?
	if [ "$KEEP_CLUSTER" = 1 ]; then
		log "keeping cluster $KIND_CLUSTER; delete it with: $KIND delete cluster --name $KIND_CLUSTER"
		return
	fi
	if [ "$status" -ne 0 ] && [ -e "$KUBECONFIG_FILE" ]; then
		collect_diagnostics || true
	fi
	"$KIND" delete cluster --name "$KIND_CLUSTER" --kubeconfig "$KUBECONFIG_FILE" || true
}

collect_diagnostics() {
	local dir=$WORK/diagnostics
	rm -rf "$dir"
	mkdir -p "$dir"
	kc get pods -A -o wide >"$dir/pods.txt" 2>&1
	kc -n "$TEST_NAMESPACE" describe pods >"$dir/test-pods.txt" 2>&1
	kc -n "$SIM_NAMESPACE" logs deploy/contrail-vif-controller --tail=-1 >"$dir/controller.log" 2>&1
	kc -n "$SIM_NAMESPACE" logs deploy/contrail-sim --tail=-1 >"$dir/contrail-sim.log" 2>&1
	kc -n kube-system logs -l app=multus --tail=500 --prefix >"$dir/multus.log" 2>&1
	"$KIND" export logs --name "$KIND_CLUSTER" "$dir/kind" >/dev/null 2>&1
	log "diagnostics in $dir"
}

install_multus() {
	log "installing Multus thick $MULTUS_VERSION"
	local manifest=$WORK/multus-daemonset-thick.yml
	curl -fsSL --retry 3 --max-time 60 "$MULTUS_MANIFEST_URL" -o "$manifest.tmp"
	grep -q 'multus-cni:snapshot-thick' "$manifest.tmp" ||
		die "the Multus manifest at $MULTUS_MANIFEST_URL no longer names multus-cni:snapshot-thick; update run.sh"
	sed "s#ghcr.io/k8snetworkplumbingwg/multus-cni:snapshot-thick#$MULTUS_IMAGE#g" "$manifest.tmp" >"$manifest"
	rm -f "$manifest.tmp"
	kc apply -f "$manifest"
	# The manifest's 50Mi limit gets the daemon OOM-killed under load.
	kc -n kube-system set resources daemonset/kube-multus-ds -c kube-multus \
		--requests=cpu=100m,memory=100Mi --limits=cpu=200m,memory=200Mi
	kc -n kube-system rollout status daemonset/kube-multus-ds --timeout "$ROLLOUT_TIMEOUT"
}

load_images() {
	local image
	for image in "${IMAGES[@]}"; do
		log "loading $image into every node"
		"$KIND" load image-archive --name "$KIND_CLUSTER" "$IMAGES_DIR/$image.tar"
	done
}

deploy_contrail_vif() {
	log "applying deployments/overlays/local-sim"
	kc get nodes -l "$SIM_NODE_LABEL" -o name | grep -q . ||
		die "no node has the label $SIM_NODE_LABEL; see e2e/kind/cluster.yaml"
	kc apply -k "$ROOT/deployments/overlays/local-sim"
	kc -n "$SIM_NAMESPACE" rollout status deployment/contrail-sim --timeout "$ROLLOUT_TIMEOUT"
	kc -n "$SIM_NAMESPACE" rollout status daemonset/contrail-vif-node --timeout "$ROLLOUT_TIMEOUT"
	kc -n "$SIM_NAMESPACE" rollout status deployment/contrail-vif-controller --timeout "$ROLLOUT_TIMEOUT"
}

test_pod() {
	local name=$1
	cat <<YAML
apiVersion: v1
kind: Pod
metadata:
  name: $name
  namespace: $TEST_NAMESPACE
  annotations:
    k8s.v1.cni.cncf.io/networks: red
spec:
  nodeSelector:
    contrail-vif.io/contrail-sim: "true"
  automountServiceAccountToken: false
  terminationGracePeriodSeconds: 1
  containers:
    - name: shell
      image: $KIND_TEST_IMAGE
      command: ["/bin/sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]
YAML
}

# pod_net1_ip POD prints the address that network-status reports for the
# red attachment of POD.
pod_net1_ip() {
	kc -n "$TEST_NAMESPACE" get pod "$1" \
		-o jsonpath='{.metadata.annotations.k8s\.v1\.cni\.cncf\.io/network-status}' |
		jq -r --arg name "$TEST_NAMESPACE/red" '.[] | select(.name == $name and .interface == "net1") | .ips[0]'
}

check_attachment() {
	log "starting two pods on default-domain:demo:red"
	kc create namespace "$TEST_NAMESPACE" --dry-run=client -o yaml | kc apply -f -
	kc apply -f - <<YAML
apiVersion: k8s.cni.cncf.io/v1
kind: NetworkAttachmentDefinition
metadata:
  name: red
  namespace: $TEST_NAMESPACE
spec:
  config: |
    {"cniVersion": "1.0.0", "name": "red", "type": "contrail-vif",
     "virtualNetwork": "default-domain:demo:red", "logFile": "/var/log/contrail-vif.log"}
YAML
	test_pod red-a | kc apply -f -
	test_pod red-b | kc apply -f -
	kc -n "$TEST_NAMESPACE" wait --for=condition=Ready pod/red-a pod/red-b --timeout "$ROLLOUT_TIMEOUT"

	local pod ip state ips=()
	for pod in red-a red-b; do
		ip=$(pod_net1_ip "$pod")
		[[ $ip == 10.10.1.* ]] || die "pod $pod: network-status has net1 address '$ip', expected one in 10.10.1.0/24"
		state=$(kc -n "$TEST_NAMESPACE" get pod "$pod" -o jsonpath='{.metadata.annotations.contrail-vif\.io/attachments}')
		[[ $state == *'"state":"Configured"'* ]] || die "pod $pod: contrail-vif.io/attachments is '$state', expected state Configured"
		kc -n "$TEST_NAMESPACE" exec "$pod" -- ip addr show net1 | grep -qF "inet $ip/" ||
			die "pod $pod: net1 does not carry $ip"
		ips+=("$ip")
	done
	log "red-a has ${ips[0]}, red-b has ${ips[1]}; pinging between them"
	kc -n "$TEST_NAMESPACE" exec red-a -- ping -c 3 -W 2 "${ips[1]}" >/dev/null ||
		die "red-a cannot ping red-b at ${ips[1]} on net1"

	log "deleting the test pods"
	kc delete namespace "$TEST_NAMESPACE" --wait=true --timeout "$ROLLOUT_TIMEOUT"
}

run_go_suite() {
	log "running the Go e2e suite: -run '$KIND_E2E_RUN'"
	cat >"$WORK/env" <<ENV
# Written by e2e/kind/run.sh for the Go e2e suite.
export KUBECONFIG=$KUBECONFIG_FILE
export KUBECTL=$KUBECTL
ENV
	(cd "$ROOT" && CVIF_CLUSTER_ENV=$WORK/env go test -tags e2e -count=1 -v -run "$KIND_E2E_RUN" ./e2e/)
}

main() {
	mkdir -p "$WORK"
	check_requirements
	build_tools
	trap delete_cluster EXIT
	create_cluster
	install_multus
	load_images
	deploy_contrail_vif
	check_attachment
	run_go_suite
	log "passed"
}

main "$@"
