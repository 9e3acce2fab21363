# shellcheck shell=bash
# Pods mode of e2e/run.sh (CVIF_COMPONENTS=pods): contrail-vif and
# contrail-sim deployed from deployments/overlays/local-e2e as pods of the
# local cluster, from the images that `make images` builds, instead of
# processes on the host. Source it from e2e/run.sh after lib.sh; it uses
# ROOT, AGENT_ADDR and the cluster settings.
#
# The simulator requires Keystone tokens and serves TLS. The Keystone
# password is random per cluster and reaches the controller and the
# simulator only through the Secret contrail-vif-config-api. The test
# clients (contrail-sim's client commands and e2e/framework) read the same
# password file and CA through the CONTRAIL_SIM_* variables of
# $CLUSTER_WORK/env.

DEPLOY_NAMESPACE=contrail-vif-system
# Fixed by deployments/overlays/local-e2e.
POD_CONFIG_API_URL=https://127.0.0.1:8082
POD_KEYSTONE_URL=https://127.0.0.1:5000/v3
POD_KEYSTONE_USER="admin"
POD_KEYSTONE_PROJECT="admin"
POD_KEYSTONE_DOMAIN=Default
DEPLOY_TIMEOUT=${DEPLOY_TIMEOUT:-180}
IMAGES_DIR=${IMAGES_DIR:-$ROOT/_output/images}
POD_IMAGES=(contrail-vif-controller contrail-vif-install contrail-sim)
AUTH_DIR=$CLUSTER_WORK/contrail-auth
DEPLOY_DIR=$CLUSTER_WORK/deploy

contrail_up_pods() {
	log "building the images (make images)"
	make -C "$ROOT" --no-print-directory images >/dev/null || die "make images failed"

	# The installer DaemonSet puts contrail-vif into the CNI binary
	# directory, so up.sh links nothing there.
	CNI_EXTRA_BINS="" "$ROOT/e2e/cluster/up.sh"
	echo pods >"$CLUSTER_WORK/components"
	# A link that processes mode left would pass the installer's check,
	# which follows it to a binary with the same content.
	if [ -L "$CNI_BIN_DIR/contrail-vif" ]; then
		rm -f "$CNI_BIN_DIR/contrail-vif"
	fi

	import_images
	write_credentials
	create_credential_objects
	write_deploy_kustomization
	kc label node "$NODE_NAME" contrail-vif.io/contrail-sim=true --overwrite >/dev/null
	log "applying deployments/overlays/local-e2e"
	kc apply -k "$DEPLOY_DIR" >/dev/null
	wait_for_rollouts
	wait_until 30 "the config API over TLS" \
		curl -fsS --max-time 2 --cacert "$AUTH_DIR/ca.crt" "$POD_CONFIG_API_URL/" ||
		die "the config API of contrail-sim does not answer on $POD_CONFIG_API_URL"
	if [ ! -f "$CNI_BIN_DIR/contrail-vif" ] || [ -L "$CNI_BIN_DIR/contrail-vif" ]; then
		die "the installer DaemonSet is Ready, but $CNI_BIN_DIR/contrail-vif is not a file it installed"
	fi

	cat >>"$CLUSTER_WORK/env" <<ENV
export CVIF_COMPONENTS=pods
export CVIF_DEPLOY_NAMESPACE=$DEPLOY_NAMESPACE
export CONFIG_API_URL=$POD_CONFIG_API_URL
export AGENT_URL=http://$AGENT_ADDR
export CONTRAIL_SIM=$ROOT/bin/contrail-sim
export CONTRAIL_SIM_CA_FILE=$AUTH_DIR/ca.crt
export CONTRAIL_SIM_KEYSTONE_URL=$POD_KEYSTONE_URL
export CONTRAIL_SIM_KEYSTONE_USER=$POD_KEYSTONE_USER
export CONTRAIL_SIM_KEYSTONE_PROJECT=$POD_KEYSTONE_PROJECT
export CONTRAIL_SIM_KEYSTONE_DOMAIN=$POD_KEYSTONE_DOMAIN
export CONTRAIL_SIM_KEYSTONE_PASSWORD_FILE=$AUTH_DIR/keystone-password
ENV
}

import_images() {
	local image
	for image in "${POD_IMAGES[@]}"; do
		[ -s "$IMAGES_DIR/$image.tar" ] || die "missing $IMAGES_DIR/$image.tar; make images did not write it"
		cctr images import "$IMAGES_DIR/$image.tar" >/dev/null || die "import $IMAGES_DIR/$image.tar into containerd failed"
	done
	log "imported ${POD_IMAGES[*]} into containerd"
}

# write_credentials creates, once per work dir, the Keystone password, a
# test CA and the simulator's certificate for 127.0.0.1 and localhost,
# signed by that CA.
write_credentials() {
	mkdir -p "$AUTH_DIR"
	chmod 700 "$AUTH_DIR"
	if [ ! -s "$AUTH_DIR/keystone-password" ]; then
		(umask 077 && openssl rand -hex 24 >"$AUTH_DIR/keystone-password")
	fi
	if [ ! -s "$AUTH_DIR/tls.crt" ]; then
		log "generating the test CA and contrail-sim's certificate"
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
			-keyout "$AUTH_DIR/ca.key" -out "$AUTH_DIR/ca.crt" -subj "/CN=cvif-e2e-contrail-ca" 2>/dev/null
		openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
			-keyout "$AUTH_DIR/tls.key" -out "$AUTH_DIR/tls.csr" -subj "/CN=contrail-sim" 2>/dev/null
		printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >"$AUTH_DIR/tls.ext"
		openssl x509 -req -in "$AUTH_DIR/tls.csr" -CA "$AUTH_DIR/ca.crt" -CAkey "$AUTH_DIR/ca.key" \
			-CAcreateserial -days 30 -extfile "$AUTH_DIR/tls.ext" -out "$AUTH_DIR/tls.crt" 2>/dev/null
	fi
}

# create_credential_objects creates the namespace, the Secrets and the CA
# ConfigMap that the overlay refers to. They are created, not applied, so
# that no last-applied-configuration annotation copies the password.
create_credential_objects() {
	kc apply -f "$ROOT/deployments/base/namespace.yaml" >/dev/null
	local ns=(-n "$DEPLOY_NAMESPACE")
	kc "${ns[@]}" get secret contrail-vif-config-api >/dev/null 2>&1 ||
		kc "${ns[@]}" create secret generic contrail-vif-config-api \
			--from-file=keystone-password="$AUTH_DIR/keystone-password" >/dev/null
	kc "${ns[@]}" get secret contrail-sim-tls >/dev/null 2>&1 ||
		kc "${ns[@]}" create secret tls contrail-sim-tls --cert "$AUTH_DIR/tls.crt" --key "$AUTH_DIR/tls.key" >/dev/null
	kc "${ns[@]}" get configmap contrail-vif-config-api-ca >/dev/null 2>&1 ||
		kc "${ns[@]}" create configmap contrail-vif-config-api-ca --from-file=ca.crt="$AUTH_DIR/ca.crt" >/dev/null
}

# write_deploy_kustomization writes the kustomization that applies
# deployments/overlays/local-e2e with the host paths of this work dir.
write_deploy_kustomization() {
	mkdir -p "$DEPLOY_DIR"
	# kustomize accepts only relative paths of resources.
	local overlay
	overlay=$(realpath --relative-to="$DEPLOY_DIR" "$ROOT/deployments/overlays/local-e2e")
	cat >"$DEPLOY_DIR/kustomization.yaml" <<EOF
# Written by e2e/run.sh: deployments/overlays/local-e2e with the host
# paths of the cluster in $CLUSTER_WORK.
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization

resources:
  - $overlay

patches:
  # The CNI binary directory that containerd's CNI config names.
  - patch: |-
      apiVersion: apps/v1
      kind: DaemonSet
      metadata:
        name: contrail-vif-node
        namespace: $DEPLOY_NAMESPACE
      spec:
        template:
          spec:
            volumes:
              - name: cni-bin
                hostPath:
                  path: $CNI_BIN_DIR
  # The agent's port files, under the work dir that down.sh removes.
  - patch: |-
      apiVersion: apps/v1
      kind: Deployment
      metadata:
        name: contrail-sim
        namespace: $DEPLOY_NAMESPACE
      spec:
        template:
          spec:
            volumes:
              - name: ports
                hostPath:
                  path: $CLUSTER_WORK/contrail-ports
EOF
}

wait_for_rollouts() {
	local object
	for object in deployment/contrail-sim daemonset/contrail-vif-node deployment/contrail-vif-controller; do
		log "waiting up to ${DEPLOY_TIMEOUT}s for $object"
		if ! kc -n "$DEPLOY_NAMESPACE" rollout status "$object" --timeout "${DEPLOY_TIMEOUT}s" >/dev/null; then
			kc -n "$DEPLOY_NAMESPACE" get pods -o wide >&2 || true
			kc -n "$DEPLOY_NAMESPACE" describe pods >&2 || true
			die "$object is not ready after ${DEPLOY_TIMEOUT}s; pod logs are under $CLUSTER_WORK/kubelet/pod-logs"
		fi
	done
}

# contrail_down_pods deletes the workload pods first, while the controller
# and the agent still run, so CNI DEL unbinds their ports and the controller
# deletes their objects. Then it deletes the deployment, keeping a copy of
# the pod logs, which kubelet removes with the pods.
contrail_down_pods() {
	if [ ! -e "$KUBECONFIG_FILE" ] || ! apiserver_ready 2>/dev/null; then
		return 0
	fi
	kc delete pods --all-namespaces --field-selector "metadata.namespace!=$DEPLOY_NAMESPACE" \
		--grace-period=1 --wait=true --timeout=90s >/dev/null 2>&1 || true
	if [ -d "$CLUSTER_WORK/kubelet/pod-logs" ] && [ -d "$LOG_DIR" ]; then
		rm -rf "$LOG_DIR/pod-logs"
		cp -r "$CLUSTER_WORK/kubelet/pod-logs" "$LOG_DIR/pod-logs"
	fi
	if [ -e "$DEPLOY_DIR/kustomization.yaml" ]; then
		kc delete -k "$DEPLOY_DIR" --ignore-not-found --wait=true --timeout=90s >/dev/null 2>&1 || true
	fi
	kc -n "$DEPLOY_NAMESPACE" wait --for=delete pod --all --timeout=60s >/dev/null 2>&1 || true
}
