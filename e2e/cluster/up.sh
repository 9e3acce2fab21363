#!/usr/bin/env bash
# Brings up a single-node Kubernetes cluster from plain processes on this
# machine: etcd, kube-apiserver, kube-controller-manager, kube-scheduler,
# containerd, kubelet, with Multus (thin) as the node's CNI. Everything
# lives under $CLUSTER_WORK and every daemon listens on 127.0.0.1 only.
# Running it again starts only what is missing.
#
#   e2e/cluster/up.sh            # then: source _output/cluster/env
#
# Environment: CLUSTER_WORK (work dir), NODE_NAME, CNI_EXTRA_BINS (CNI plugin
# executables to link into the CNI bin dir; default bin/contrail-vif if
# built), NODE_READY_TIMEOUT (seconds, default 120), MULTUS_LOG_LEVEL.
# down.sh stops the cluster and removes what it left on the machine.
set -euo pipefail

# shellcheck source=e2e/cluster/lib.sh
source "$(dirname "$0")/lib.sh"

NODE_READY_TIMEOUT=${NODE_READY_TIMEOUT:-120}
MULTUS_LOG_LEVEL=${MULTUS_LOG_LEVEL:-verbose}
# thin: the multus binary is the CNI plugin. thick: multus-shim forwards to
# multus-daemon, which runs the delegates.
MULTUS_MODE=${MULTUS_MODE:-thin}
MULTUS_THICK_DIR=$CLUSTER_WORK/multus-thick
# containerd's CRI plugin keeps pod network namespaces here
# (netns_mounts_under_state_dir).
NETNS_DIR=$CLUSTER_WORK/containerd/state/io.containerd.grpc.v1.cri/netns
DEBIAN_PACKAGES=(etcd-server containerd runc containernetworking-plugins busybox-static iproute2 iptables openssl jq curl)
REFERENCE_PLUGINS=(bridge host-local loopback portmap)
REFERENCE_PLUGIN_DIR=/usr/lib/cni
# The sysctls kubelet overwrites at start unless protectKernelDefaults is
# set (and with it set, kubelet refuses to start on this machine's values).
# up.sh saves them and down.sh restores them.
KUBELET_SYSCTLS=(vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops kernel.keys.root_maxkeys kernel.keys.root_maxbytes)

STATE_DIR=$CLUSTER_WORK/state
READY_SINCE=1970-01-01T00:00:00Z
started_at=$SECONDS

install_packages() {
	local missing=() pkg
	for pkg in "${DEBIAN_PACKAGES[@]}"; do
		dpkg-query -W -f '${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	log "installing ${missing[*]}"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

build_binaries() {
	log "building cluster binaries (cached in $CLUSTER_BIN)"
	OUT=$CLUSTER_BIN KUBE_VERSION=$KUBE_VERSION MULTUS_VERSION=$MULTUS_VERSION \
		"$CLUSTER_ROOT/e2e/cluster/build-bins.sh" >"$LOG_DIR/build-bins.log" 2>&1 ||
		die "build-bins.sh failed; see $LOG_DIR/build-bins.log"

	# The tools use only the standard library. They are built as a module of
	# their own so that a go.mod under edit in the main module cannot break
	# the cluster.
	local tool src
	for tool in pause ociimage; do
		src=$CLUSTER_BIN/build/tools/$tool
		rm -rf "$src"
		mkdir -p "$src" "$CLUSTER_BIN/tools"
		find "$CLUSTER_ROOT/e2e/tools/$tool" -maxdepth 1 -name '*.go' ! -name '*_test.go' -exec cp {} "$src/" \;
		printf 'module local/%s\n\ngo 1.22\n' "$tool" >"$src/go.mod"
		(cd "$src" && GOWORK=off CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' -o "$CLUSTER_BIN/tools/$tool" .) ||
			die "build e2e/tools/$tool failed"
	done
}

# record_host_state saves, once per work dir, what the cluster may change
# outside it, so down.sh removes only what appeared after this point.
record_host_state() {
	mkdir -p "$STATE_DIR"
	[ -e "$STATE_DIR/recorded" ] && return 0

	ls -1 /var/run/netns 2>/dev/null >"$STATE_DIR/netns-before" || true
	# host-local's default dataDir, used by NADs of other plugins (such as
	# examples/nad-bridge.yaml) that name none.
	ls -1 /var/lib/cni/networks 2>/dev/null >"$STATE_DIR/host-local-before" || true
	local name
	for name in "${KUBELET_SYSCTLS[@]}"; do
		echo "$name=$(sysctl -n "$name")"
	done >"$STATE_DIR/sysctl-before"
	: >"$STATE_DIR/created-dirs"
	# kubelet v1.37 uses the fixed /var/lib/kubelet/device-plugins and
	# /var/log/containers whatever its root dir. containerd 1.6 keeps
	# libcni's result cache in the fixed /var/lib/cni and shim sockets in
	# /run/containerd/s.
	for name in /var/lib/kubelet /var/lib/cni /var/lib/cni/networks /var/log/containers /run/containerd; do
		[ -e "$name" ] || echo "$name" >>"$STATE_DIR/created-dirs"
	done
	: >"$STATE_DIR/created-cgroups"
	for name in /sys/fs/cgroup/*/; do
		[ -e "${name}kubepods" ] || echo "${name}kubepods" >>"$STATE_DIR/created-cgroups"
	done
	touch "$STATE_DIR/recorded"
}

check_port_free() {
	local name=$1 port=$2
	daemon_pid "$name" >/dev/null && return 0
	if [ -n "$(ss -Hltn "sport = :$port")" ]; then
		die "port $port, needed by $name, is in use by another process (see: ss -ltnp 'sport = :$port')"
	fi
}

generate_pki() {
	local pki=$CLUSTER_WORK/pki
	mkdir -p "$pki"
	chmod 700 "$pki"
	if [ ! -s "$pki/apiserver.crt" ]; then
		log "generating the apiserver certificate"
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
			-keyout "$pki/apiserver.key" -out "$pki/apiserver.crt" -subj "/CN=cvif-kube-apiserver" \
			-addext "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default.svc" \
			2>/dev/null
	fi
	if [ ! -s "$pki/sa.key" ]; then
		openssl genrsa -out "$pki/sa.key" 2048 2>/dev/null
		openssl rsa -in "$pki/sa.key" -pubout -out "$pki/sa.pub" 2>/dev/null
	fi
	if [ ! -s "$pki/admin.token" ]; then
		openssl rand -hex 32 >"$pki/admin.token"
	fi
	echo "$(cat "$pki/admin.token"),cvif-admin,cvif-admin,system:masters" >"$pki/tokens.csv"

	cat >"$KUBECONFIG_FILE" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: cvif
  cluster:
    server: https://127.0.0.1:$APISERVER_PORT
    certificate-authority: $pki/apiserver.crt
users:
- name: cvif-admin
  user:
    token: $(cat "$pki/admin.token")
contexts:
- name: cvif
  context:
    cluster: cvif
    user: cvif-admin
current-context: cvif
EOF
	chmod 600 "$KUBECONFIG_FILE"
}

start_etcd() {
	check_port_free etcd "$ETCD_CLIENT_PORT"
	check_port_free etcd "$ETCD_PEER_PORT"
	start_daemon etcd "$LOG_DIR/etcd.log" etcd \
		--name cvif --data-dir "$CLUSTER_WORK/etcd" \
		--listen-client-urls "http://127.0.0.1:$ETCD_CLIENT_PORT" \
		--advertise-client-urls "http://127.0.0.1:$ETCD_CLIENT_PORT" \
		--listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
		--initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
		--initial-cluster "cvif=http://127.0.0.1:$ETCD_PEER_PORT"
	wait_until 30 "etcd health" curl -fsS --max-time 2 "http://127.0.0.1:$ETCD_CLIENT_PORT/health" ||
		die "etcd is not healthy; see $LOG_DIR/etcd.log"
}

start_apiserver() {
	local pki=$CLUSTER_WORK/pki
	check_port_free kube-apiserver "$APISERVER_PORT"
	# --endpoint-reconciler-type=none: the default reconciler rejects an
	# advertise address in the loopback range and the apiserver exits.
	# Node,RBAC as on a real cluster, so that the e2e suite can check the
	# controller's RBAC with `kubectl auth can-i --as=...`. The admin token
	# (used by kubectl, kubelet, Multus and the controller here) is in
	# system:masters and may do everything; anonymous requests are rejected.
	start_daemon kube-apiserver "$LOG_DIR/kube-apiserver.log" "$(kube_bin kube-apiserver)" \
		--etcd-servers "http://127.0.0.1:$ETCD_CLIENT_PORT" \
		--bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$APISERVER_PORT" \
		--endpoint-reconciler-type none \
		--tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" \
		--token-auth-file "$pki/tokens.csv" --anonymous-auth=false \
		--authorization-mode Node,RBAC \
		--service-account-issuer https://kubernetes.default.svc.cluster.local \
		--service-account-key-file "$pki/sa.pub" --service-account-signing-key-file "$pki/sa.key" \
		--service-cluster-ip-range 10.96.0.0/16 \
		--allow-privileged=true --profiling=false
	wait_until 60 "kube-apiserver /readyz" apiserver_ready ||
		die "kube-apiserver is not ready; see $LOG_DIR/kube-apiserver.log"
}

# start_controller_manager runs kube-controller-manager: the Deployment,
# ReplicaSet and DaemonSet controllers that pods mode (e2e/run.sh) needs, the
# ServiceAccount and namespace controllers, and the publisher of the
# kube-root-ca.crt ConfigMap that projected ServiceAccount tokens carry as
# ca.crt. It signs legacy ServiceAccount token Secrets with the key that
# kube-apiserver verifies. The admin kubeconfig gives it system:masters.
start_controller_manager() {
	local pki=$CLUSTER_WORK/pki
	check_port_free kube-controller-manager "$CONTROLLER_MANAGER_PORT"
	mkdir -p "$CLUSTER_WORK/kube-controller-manager"
	start_daemon kube-controller-manager "$LOG_DIR/kube-controller-manager.log" "$(kube_bin kube-controller-manager)" \
		--kubeconfig "$KUBECONFIG_FILE" \
		--authentication-kubeconfig "$KUBECONFIG_FILE" --authorization-kubeconfig "$KUBECONFIG_FILE" \
		--bind-address 127.0.0.1 --secure-port "$CONTROLLER_MANAGER_PORT" \
		--cert-dir "$CLUSTER_WORK/kube-controller-manager" \
		--leader-elect=false \
		--root-ca-file "$pki/apiserver.crt" \
		--service-account-private-key-file "$pki/sa.key" \
		--service-cluster-ip-range 10.96.0.0/16 \
		--profiling=false
	# The serving certificate is self-signed and generated at start, so
	# there is nothing to verify this health check against.
	wait_until 60 "kube-controller-manager /healthz" \
		curl -fsSk --max-time 2 "https://127.0.0.1:$CONTROLLER_MANAGER_PORT/healthz" ||
		die "kube-controller-manager is not healthy; see $LOG_DIR/kube-controller-manager.log"
}

# start_scheduler runs kube-scheduler, which binds the pods of Deployments
# and DaemonSets. Test pods that set spec.nodeName bypass it.
start_scheduler() {
	check_port_free kube-scheduler "$SCHEDULER_PORT"
	mkdir -p "$CLUSTER_WORK/kube-scheduler"
	start_daemon kube-scheduler "$LOG_DIR/kube-scheduler.log" "$(kube_bin kube-scheduler)" \
		--kubeconfig "$KUBECONFIG_FILE" \
		--authentication-kubeconfig "$KUBECONFIG_FILE" --authorization-kubeconfig "$KUBECONFIG_FILE" \
		--bind-address 127.0.0.1 --secure-port "$SCHEDULER_PORT" \
		--cert-dir "$CLUSTER_WORK/kube-scheduler" \
		--leader-elect=false \
		--profiling=false
	wait_until 60 "kube-scheduler /healthz" \
		curl -fsSk --max-time 2 "https://127.0.0.1:$SCHEDULER_PORT/healthz" ||
		die "kube-scheduler is not healthy; see $LOG_DIR/kube-scheduler.log"
}

install_runc_wrapper() {
	mkdir -p "$CLUSTER_WORK/bin"
	sed -e "s#@RUNC@#$(command -v runc)#" -e "s#@JQ@#$(command -v jq)#" \
		"$CLUSTER_ROOT/e2e/cluster/runc-wrapper.sh" >"$CLUSTER_WORK/bin/runc-wrapper.tmp"
	chmod 755 "$CLUSTER_WORK/bin/runc-wrapper.tmp"
	mv -f "$CLUSTER_WORK/bin/runc-wrapper.tmp" "$CLUSTER_WORK/bin/runc-wrapper"
}

# write_containerd_config edits `containerd config default`, and then checks
# that every edit landed, so a changed default fails loudly here instead of
# running containerd against the machine's own directories.
write_containerd_config() {
	local dir=$CLUSTER_WORK/containerd config=$CLUSTER_WORK/containerd/config.toml
	mkdir -p "$dir/root" "$dir/state" "$dir/opt" "$dir/runc"
	containerd config default | sed \
		-e "s#^root = .*#root = \"$dir/root\"#" \
		-e "s#^state = .*#state = \"$dir/state\"#" \
		-e "s#^  address = \"/run/containerd/containerd.sock\"#  address = \"$CONTAINERD_SOCKET\"#" \
		-e "s#sandbox_image = .*#sandbox_image = \"$PAUSE_IMAGE\"#" \
		-e "s#bin_dir = \"/opt/cni/bin\"#bin_dir = \"$CNI_BIN_DIR\"#" \
		-e "s#conf_dir = \"/etc/cni/net.d\"#conf_dir = \"$CNI_CONF_DIR\"#" \
		-e "s#netns_mounts_under_state_dir = false#netns_mounts_under_state_dir = true#" \
		-e "s#path = \"/opt/containerd\"#path = \"$dir/opt\"#" \
		-e "s#BinaryName = \"\"#BinaryName = \"$CLUSTER_WORK/bin/runc-wrapper\"#" \
		-e "s#Root = \"\"#Root = \"$dir/runc\"#" \
		>"$config.tmp"

	local expected
	for expected in \
		"root = \"$dir/root\"" "state = \"$dir/state\"" "address = \"$CONTAINERD_SOCKET\"" \
		"sandbox_image = \"$PAUSE_IMAGE\"" "bin_dir = \"$CNI_BIN_DIR\"" "conf_dir = \"$CNI_CONF_DIR\"" \
		"netns_mounts_under_state_dir = true" "path = \"$dir/opt\"" \
		"BinaryName = \"$CLUSTER_WORK/bin/runc-wrapper\"" "Root = \"$dir/runc\"" "SystemdCgroup = false"; do
		grep -qF -- "$expected" "$config.tmp" || die "containerd config: could not set '$expected' in $config.tmp"
	done
	mv -f "$config.tmp" "$config"
}

start_containerd() {
	# A unix socket path is limited to 108 bytes, and containerd also
	# listens on "<socket>.ttrpc".
	((${#CONTAINERD_SOCKET} < 100)) ||
		die "containerd socket path $CONTAINERD_SOCKET is too long; use a shorter CLUSTER_WORK"
	install_runc_wrapper
	write_containerd_config
	start_daemon containerd "$LOG_DIR/containerd.log" containerd --config "$CLUSTER_WORK/containerd/config.toml"
	wait_until 30 "containerd" ctr --address "$CONTAINERD_SOCKET" version ||
		die "containerd does not answer on $CONTAINERD_SOCKET; see $LOG_DIR/containerd.log"
}

# build_images writes the pause and busybox images as OCI archives and
# imports them into containerd's k8s.io namespace, where the CRI plugin
# finds them.
build_images() {
	local images=$CLUSTER_WORK/images
	rm -rf "$images/pause-root" "$images/busybox-root"
	mkdir -p "$images/pause-root" "$images/busybox-root/bin" "$images/busybox-root/tmp" \
		"$images/busybox-root/etc" "$images/busybox-root/proc" "$images/busybox-root/sys" \
		"$images/busybox-root/dev"

	install -m 755 "$CLUSTER_BIN/tools/pause" "$images/pause-root/pause"
	"$CLUSTER_BIN/tools/ociimage" -rootfs "$images/pause-root" -name "$PAUSE_IMAGE" \
		-entrypoint /pause -out "$images/pause.tar"

	local busybox applet
	busybox=$(command -v busybox) || busybox=/bin/busybox
	install -m 755 "$busybox" "$images/busybox-root/bin/busybox"
	for applet in sh ash cat echo ls ps ip ping ping6 sleep true false hostname ifconfig route \
		arp arping nc wget grep sed awk head tail wc date env id kill mkdir rm cp mv touch \
		nslookup traceroute tcpdump timeout seq printf test uname udhcpc; do
		"$busybox" --list | grep -qx "$applet" || continue
		ln -sf busybox "$images/busybox-root/bin/$applet"
	done
	chmod 1777 "$images/busybox-root/tmp"
	"$CLUSTER_BIN/tools/ociimage" -rootfs "$images/busybox-root" -name "$BUSYBOX_IMAGE" \
		-cmd sh -out "$images/busybox.tar"

	local archive
	for archive in "$images/pause.tar" "$images/busybox.tar"; do
		cctr images import "$archive" >/dev/null || die "import $archive into containerd failed"
	done
}

install_cni() {
	mkdir -p "$CNI_BIN_DIR" "$CNI_CONF_DIR" "$CNI_IPAM_DIR" "$MULTUS_CNI_DIR/net.d"
	local plugin
	for plugin in "${REFERENCE_PLUGINS[@]}"; do
		install -m 755 "$REFERENCE_PLUGIN_DIR/$plugin" "$CNI_BIN_DIR/$plugin"
	done

	local extra=${CNI_EXTRA_BINS-}
	if [ -z "${CNI_EXTRA_BINS+set}" ] && [ -x "$CLUSTER_ROOT/bin/contrail-vif" ]; then
		extra=$CLUSTER_ROOT/bin/contrail-vif
	fi
	for plugin in $extra; do
		[ -x "$plugin" ] || die "CNI_EXTRA_BINS: $plugin is not an executable file"
		ln -sfn "$(realpath "$plugin")" "$CNI_BIN_DIR/$(basename "$plugin")"
	done

	case $MULTUS_MODE in
	thin) install_multus_thin ;;
	thick) install_multus_thick ;;
	*) die "MULTUS_MODE=$MULTUS_MODE: expected thin or thick" ;;
	esac
}

# primary_network prints the cluster network's plugin: a bridge without a
# host address, so no IP forwarding (isGateway would turn it on) and no NAT
# (ipMasq). Pods get a default route via $POD_GATEWAY, but no host has that
# address, so pod traffic stays on the bridge.
primary_network() {
	cat <<EOF
{
  "type": "bridge",
  "bridge": "$POD_BRIDGE",
  "isGateway": false,
  "ipMasq": false,
  "hairpinMode": false,
  "ipam": {
    "type": "host-local",
    "ranges": [[{"subnet": "$POD_SUBNET", "gateway": "$POD_GATEWAY"}]],
    "routes": [{"dst": "0.0.0.0/0", "gw": "$POD_GATEWAY"}],
    "dataDir": "$CNI_IPAM_DIR"
  }
}
EOF
}

# install_multus_thin makes the multus binary the node's only CNI config,
# with the cluster network as its first delegate.
install_multus_thin() {
	install -m 755 "$CLUSTER_BIN/multus-$MULTUS_VERSION/multus" "$CNI_BIN_DIR/multus"
	rm -f "$CNI_CONF_DIR/10-cvif-primary.conflist"
	cat >"$CNI_CONF_DIR/00-multus.conf" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "cvif-multus",
  "type": "multus",
  "kubeconfig": "$KUBECONFIG_FILE",
  "binDir": "$CNI_BIN_DIR",
  "confDir": "$MULTUS_CNI_DIR/net.d",
  "cniDir": "$MULTUS_CNI_DIR",
  "logFile": "$LOG_DIR/multus.log",
  "logLevel": "$MULTUS_LOG_LEVEL",
  "logToStderr": false,
  "delegates": [
    {
      "cniVersion": "1.0.0",
      "name": "cvif-primary",
      "plugins": [
$(primary_network | sed 's/^/        /')
      ]
    }
  ]
}
EOF
}

# install_multus_thick sets the node up as Multus's thick DaemonSet does.
# The cluster network is a CNI config of its own. multus-daemon reads it
# ("multusConfigFile": "auto") and writes 00-multus.conf, which points
# containerd at multus-shim. The shim forwards every CNI call to the daemon
# over a unix socket. start_multus_daemon starts the daemon.
install_multus_thick() {
	install -m 755 "$CLUSTER_BIN/multus-$MULTUS_VERSION/multus-shim" "$CNI_BIN_DIR/multus-shim"
	rm -f "$CNI_CONF_DIR/00-multus.conf"
	cat >"$CNI_CONF_DIR/10-cvif-primary.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "cvif-primary",
  "plugins": [
$(primary_network | sed 's/^/    /')
  ]
}
EOF
	mkdir -p "$MULTUS_THICK_DIR/socket"
	cat >"$MULTUS_THICK_DIR/daemon-config.json" <<EOF
{
  "cniVersion": "1.0.0",
  "logFile": "$LOG_DIR/multus.log",
  "logLevel": "$MULTUS_LOG_LEVEL",
  "logToStderr": false,
  "socketDir": "$MULTUS_THICK_DIR/socket",
  "daemonSocketDir": "$MULTUS_THICK_DIR/socket",
  "cniConfigDir": "$CNI_CONF_DIR",
  "multusAutoconfigDir": "$CNI_CONF_DIR",
  "multusConfigFile": "auto",
  "binDir": "$CNI_BIN_DIR",
  "confDir": "$MULTUS_CNI_DIR/net.d",
  "cniDir": "$MULTUS_CNI_DIR"
}
EOF
}

# start_multus_daemon starts multus-daemon before containerd, so that
# containerd never loads the cluster network's config without Multus in
# front of it. The daemon gets a ServiceAccount token through a mount
# namespace of its own (multus-daemon-ns.sh). It can open the pods' network
# namespaces because their dir is a shared mount.
start_multus_daemon() {
	[ "$MULTUS_MODE" = thick ] || return 0
	kc apply -f "$CLUSTER_ROOT/e2e/cluster/multus-thick.yaml" >/dev/null
	local sa=$MULTUS_THICK_DIR/serviceaccount
	mkdir -p "$sa"
	chmod 700 "$sa"
	if ! daemon_pid multus-daemon >/dev/null; then
		kc -n kube-system create token multus --duration 8760h >"$sa/token.tmp" ||
			die "could not create a token for ServiceAccount kube-system/multus"
		mv -f "$sa/token.tmp" "$sa/token"
	fi
	cp "$CLUSTER_WORK/pki/apiserver.crt" "$sa/ca.crt"
	echo kube-system >"$sa/namespace"

	mkdir -p "$NETNS_DIR"
	if ! mountpoint -q "$NETNS_DIR"; then
		mount --bind "$NETNS_DIR" "$NETNS_DIR"
		mount --make-shared "$NETNS_DIR"
	fi

	(
		export KUBERNETES_SERVICE_HOST=127.0.0.1 KUBERNETES_SERVICE_PORT=$APISERVER_PORT MULTUS_NODE_NAME=$NODE_NAME
		start_daemon_via multus-daemon "$LOG_DIR/multus-daemon.log" \
			unshare --mount --propagation slave "$CLUSTER_ROOT/e2e/cluster/multus-daemon-ns.sh" "$sa" -- \
			"$CLUSTER_BIN/multus-$MULTUS_VERSION/multus-daemon" -config "$MULTUS_THICK_DIR/daemon-config.json"
	)
	wait_until 30 "multus-daemon to write $CNI_CONF_DIR/00-multus.conf" \
		test -S "$MULTUS_THICK_DIR/socket/multus.sock" -a -s "$CNI_CONF_DIR/00-multus.conf" ||
		die "multus-daemon is not ready; see $LOG_DIR/multus-daemon.log and $LOG_DIR/multus.log"
}

write_kubelet_config() {
	local dir=$CLUSTER_WORK/kubelet
	mkdir -p "$dir/root" "$dir/pod-logs" "$dir/volume-plugins"
	cat >"$dir/config.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
# This machine mounts cgroup v1, which kubelet v1.37 rejects by default.
failCgroupV1: false
cgroupDriver: cgroupfs
failSwapOn: false
containerRuntimeEndpoint: unix://$CONTAINERD_SOCKET
address: 127.0.0.1
port: $KUBELET_PORT
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: $KUBELET_HEALTHZ_PORT
# Permissive on purpose: the kubelet API listens on 127.0.0.1 of a test machine.
authentication:
  anonymous:
    enabled: true
  webhook:
    enabled: false
authorization:
  mode: AlwaysAllow
podLogsDir: $dir/pod-logs
volumePluginDir: $dir/volume-plugins
# Keep kubelet out of the host's iptables.
makeIPTablesUtilChains: false
# The imported images cannot be pulled again, so image GC stays off, and
# eviction waits until the disk is nearly full.
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard:
  memory.available: 100Mi
  nodefs.available: 2%
  imagefs.available: 2%
clusterDomain: cluster.local
resolvConf: /etc/resolv.conf
serializeImagePulls: false
EOF
}

start_kubelet() {
	check_port_free kubelet "$KUBELET_PORT"
	write_kubelet_config
	local node_ip_flag=()
	[ -z "${NODE_IP:-}" ] || node_ip_flag=(--node-ip "$NODE_IP")
	# After a restart the Node object still carries the Ready condition of
	# the previous kubelet; only a heartbeat from this one counts.
	daemon_pid kubelet >/dev/null || READY_SINCE=$(date -u +%Y-%m-%dT%H:%M:%SZ)
	start_daemon kubelet "$LOG_DIR/kubelet.log" "$(kube_bin kubelet)" \
		--config "$CLUSTER_WORK/kubelet/config.yaml" \
		--kubeconfig "$KUBECONFIG_FILE" \
		--root-dir "$CLUSTER_WORK/kubelet/root" \
		--cert-dir "$CLUSTER_WORK/kubelet/pki" \
		--hostname-override "$NODE_NAME" \
		"${node_ip_flag[@]}" --v 2

	log "waiting up to ${NODE_READY_TIMEOUT}s for node $NODE_NAME to be Ready"
	wait_until "$NODE_READY_TIMEOUT" "node $NODE_NAME Ready" node_ready ||
		die "node $NODE_NAME is not Ready after ${NODE_READY_TIMEOUT}s; see $LOG_DIR/kubelet.log and $LOG_DIR/containerd.log"
}

# node_ready succeeds when the node's Ready condition is True and was last
# reported at or after $READY_SINCE (RFC 3339 in UTC, so strings compare in
# time order).
node_ready() {
	local ready
	ready=$(kc get node "$NODE_NAME" \
		-o jsonpath='{.status.conditions[?(@.type=="Ready")].status} {.status.conditions[?(@.type=="Ready")].lastHeartbeatTime}' 2>/dev/null) ||
		return 1
	[ "${ready%% *}" = True ] && [[ ! ${ready#* } < $READY_SINCE ]]
}

apply_cluster_objects() {
	kc apply -f "$CLUSTER_ROOT/e2e/cluster/nad-crd.yaml" >/dev/null
	kc wait --for condition=established --timeout=30s crd/network-attachment-definitions.k8s.cni.cncf.io >/dev/null
	ensure_namespace default
}

write_env_file() {
	cat >"$CLUSTER_WORK/env" <<EOF
# Written by e2e/cluster/up.sh; source it to use the local test cluster.
export CLUSTER_WORK=$CLUSTER_WORK
export KUBECONFIG=$KUBECONFIG_FILE
export KUBECTL=$(kubectl_path)
export APISERVER_URL=https://127.0.0.1:$APISERVER_PORT
export CONTAINERD_ADDRESS=$CONTAINERD_SOCKET
export CONTAINERD_NAMESPACE=k8s.io
export NODE_NAME=$NODE_NAME
export CNI_BIN_DIR=$CNI_BIN_DIR
export CNI_CONF_DIR=$CNI_CONF_DIR
export CNI_IPAM_DIR=$CNI_IPAM_DIR
export MULTUS_CNI_DIR=$MULTUS_CNI_DIR
export MULTUS_MODE=$MULTUS_MODE
export CLUSTER_LOG_DIR=$LOG_DIR
export CLUSTER_PID_DIR=$PID_DIR
export POD_BRIDGE=$POD_BRIDGE
export POD_SUBNET=$POD_SUBNET
export POD_GATEWAY=$POD_GATEWAY
export PAUSE_IMAGE=$PAUSE_IMAGE
export BUSYBOX_IMAGE=$BUSYBOX_IMAGE
EOF
}

main() {
	[ "$(id -u)" -eq 0 ] || die "up.sh must run as root"
	mkdir -p "$CLUSTER_WORK" "$LOG_DIR" "$PID_DIR"

	install_packages
	build_binaries
	record_host_state
	generate_pki
	start_etcd
	start_apiserver
	start_controller_manager
	start_scheduler
	apply_cluster_objects
	install_cni
	start_multus_daemon
	start_containerd
	build_images
	start_kubelet
	write_env_file
	log "cluster is up in $((SECONDS - started_at))s; run: source $CLUSTER_WORK/env"
}

main "$@"
