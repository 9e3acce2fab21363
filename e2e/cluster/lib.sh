# shellcheck shell=bash disable=SC2034
# Shared settings and helpers of the local test cluster. Source this file;
# up.sh, down.sh and the end-to-end tests all use it.
#
# Every path the cluster writes sits under $CLUSTER_WORK, and every daemon it
# starts has a PID file in $CLUSTER_WORK/pids. Processes are stopped only by
# those PIDs, after checking that /proc/PID/cmdline still matches the command
# that was started, so a recycled PID is never signalled.

CLUSTER_ROOT=${CLUSTER_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
CLUSTER_WORK=${CLUSTER_WORK:-$CLUSTER_ROOT/_output/cluster}
CLUSTER_BIN=${CLUSTER_BIN:-$CLUSTER_ROOT/_output/cluster-bin}
KUBE_VERSION=${KUBE_VERSION:-v1.37.2}
MULTUS_VERSION=${MULTUS_VERSION:-v4.3.0}

NODE_NAME=${NODE_NAME:-cvif-node}
ETCD_CLIENT_PORT=${ETCD_CLIENT_PORT:-2379}
ETCD_PEER_PORT=${ETCD_PEER_PORT:-2380}
APISERVER_PORT=${APISERVER_PORT:-6443}
KUBELET_PORT=${KUBELET_PORT:-10250}
KUBELET_HEALTHZ_PORT=${KUBELET_HEALTHZ_PORT:-10248}
CONTROLLER_MANAGER_PORT=${CONTROLLER_MANAGER_PORT:-10257}
SCHEDULER_PORT=${SCHEDULER_PORT:-10259}

# The primary pod network: a bridge with host-local addresses. The bridge
# has no address on the host, IP forwarding stays off and there is no NAT,
# so pods have no route to the host or beyond it.
POD_BRIDGE=${POD_BRIDGE:-cvif0}
POD_SUBNET=${POD_SUBNET:-10.244.0.0/24}
POD_GATEWAY=${POD_GATEWAY:-10.244.0.1}

PAUSE_IMAGE=localhost/pause:e2e
BUSYBOX_IMAGE=localhost/busybox:e2e

KUBECONFIG_FILE=$CLUSTER_WORK/kubeconfig
CONTAINERD_SOCKET=$CLUSTER_WORK/containerd/containerd.sock
CNI_BIN_DIR=$CLUSTER_WORK/cni/bin
CNI_CONF_DIR=$CLUSTER_WORK/cni/net.d
CNI_IPAM_DIR=$CLUSTER_WORK/cni/ipam
MULTUS_CNI_DIR=$CLUSTER_WORK/cni/multus
PID_DIR=$CLUSTER_WORK/pids
LOG_DIR=$CLUSTER_WORK/logs

# The daemons of the cluster itself, in start order. down.sh stops any other
# daemon that has a PID file before these, and these in reverse order.
CORE_DAEMONS=(etcd kube-apiserver kube-controller-manager kube-scheduler containerd kubelet)

log() {
	echo "[cluster] $*" >&2
}

die() {
	echo "[cluster] error: $*" >&2
	exit 1
}

# wait_until SECONDS DESCRIPTION CMD... runs CMD once a second until it
# succeeds. It returns 1 after SECONDS without success.
wait_until() {
	local timeout=$1 what=$2
	shift 2
	local deadline=$((SECONDS + timeout))
	until "$@" >/dev/null 2>&1; do
		if ((SECONDS >= deadline)); then
			log "timed out after ${timeout}s waiting for $what"
			return 1
		fi
		sleep 1
	done
}

kube_bin() {
	echo "$CLUSTER_BIN/kubernetes-$KUBE_VERSION/$1"
}

# kubectl_path prints the kubectl to use: the one built at $KUBE_VERSION if
# present, else the machine's.
kubectl_path() {
	if [ -x "$(kube_bin kubectl)" ]; then
		kube_bin kubectl
	else
		command -v kubectl
	fi
}

kc() {
	"$(kubectl_path)" --kubeconfig "$KUBECONFIG_FILE" "$@"
}

cctr() {
	ctr --address "$CONTAINERD_SOCKET" --namespace k8s.io "$@"
}

# pid_state PID prints the one-letter state of PID, or nothing if it is gone.
pid_state() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
	stat=${stat##*) }
	echo "${stat%% *}"
}

# daemon_pid NAME prints the PID of daemon NAME and succeeds only if that
# process is alive and still runs the command recorded when it was started.
daemon_pid() {
	local name=$1 pid state
	pid=$(cat "$PID_DIR/$name.pid" 2>/dev/null) || return 1
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	state=$(pid_state "$pid")
	[ -n "$state" ] && [ "$state" != Z ] || return 1
	# Piped, because cmp -s trusts the file size, which /proc reports as 0.
	# shellcheck disable=SC2002
	cat "/proc/$pid/cmdline" 2>/dev/null | cmp -s - "$PID_DIR/$name.cmdline" || return 1
	echo "$pid"
}

# start_daemon NAME LOGFILE CMD... starts CMD in the background in a session
# of its own, with output appended to LOGFILE, and records its PID in
# $PID_DIR/NAME.pid. It does nothing if NAME already runs. CMD keeps running
# after the calling shell exits; stop it with stop_daemon NAME.
start_daemon() {
	start_daemon_via "$1" "$2" -- "${@:3}"
}

# start_daemon_via NAME LOGFILE WRAPPER... -- CMD... is start_daemon for a
# CMD that WRAPPER prepares the ground for (a mount namespace, for example)
# and then execs in the same process. The PID file and the recorded command
# line are CMD's, so daemon_pid and stop_daemon treat NAME like any other
# daemon. The first -- ends WRAPPER, so WRAPPER cannot contain one.
# e2e/framework's Daemon.Start restarts NAME without the wrapper.
start_daemon_via() {
	local name=$1 logfile=$2
	shift 2
	local wrapper=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		wrapper+=("$1")
		shift
	done
	[ "${1-}" = -- ] || die "start $name: no -- between the wrapper and the command"
	shift
	local exe
	exe=$(command -v "$1") || die "start $name: command $1 not found"
	[[ $exe == /* ]] || die "start $name: $1 is not an executable file"
	set -- "$exe" "${@:2}"

	mkdir -p "$PID_DIR" "$(dirname "$logfile")"
	if pid=$(daemon_pid "$name"); then
		log "$name already runs as PID $pid"
		return 0
	fi
	rm -f "$PID_DIR/$name.pid"
	printf '%s\0' "$@" >"$PID_DIR/$name.cmdline"

	# The inner shell writes its own PID and then execs the wrapper or CMD,
	# so the PID file names CMD itself even when setsid has to fork. Before
	# that it closes every inherited descriptor beyond stdio, because a
	# caller's flock on the cluster lock must not outlive the caller.
	# shellcheck disable=SC2016
	setsid bash -c 'echo $$ >"$0"; for fd in /proc/$$/fd/*; do fd=${fd##*/}; [ "$fd" -le 2 ] || eval "exec $fd>&-"; done; exec "$@"' \
		"$PID_DIR/$name.pid" "${wrapper[@]}" "$@" \
		</dev/null >>"$logfile" 2>&1 &
	# The daemon outlives this shell, and a test may SIGKILL it; without
	# disown, bash reports that as "Killed" with the whole command line.
	disown $!

	if ! wait_until 10 "$name to start" daemon_pid "$name"; then
		die "$name did not start; see $logfile"
	fi
	log "started $name as PID $(daemon_pid "$name"), log $logfile"
}

# stop_daemon NAME [SECONDS] sends SIGTERM to daemon NAME, waits up to
# SECONDS (default 20) for it to exit, then sends SIGKILL. A PID file whose
# process is gone or runs another command is only removed.
stop_daemon() {
	local name=$1 timeout=${2:-20} pid
	if ! pid=$(daemon_pid "$name"); then
		[ -e "$PID_DIR/$name.pid" ] && log "$name is not running; removing its PID file"
		rm -f "$PID_DIR/$name.pid" "$PID_DIR/$name.cmdline"
		return 0
	fi

	log "stopping $name (PID $pid)"
	kill -TERM "$pid" 2>/dev/null || true
	if ! wait_until "$timeout" "$name to exit" pid_gone "$pid"; then
		log "sending SIGKILL to $name (PID $pid)"
		kill -KILL "$pid" 2>/dev/null || true
		wait_until 10 "$name to exit after SIGKILL" pid_gone "$pid" || true
	fi
	rm -f "$PID_DIR/$name.pid" "$PID_DIR/$name.cmdline"
}

pid_gone() {
	local state
	state=$(pid_state "$1")
	[ -z "$state" ] || [ "$state" = Z ]
}

# known_daemons prints the name of every daemon that has a PID file.
known_daemons() {
	local f
	for f in "$PID_DIR"/*.pid; do
		[ -e "$f" ] || continue
		f=${f##*/}
		echo "${f%.pid}"
	done
}

apiserver_ready() {
	curl -fsS --max-time 3 --cacert "$CLUSTER_WORK/pki/apiserver.crt" \
		-H "Authorization: Bearer $(cat "$CLUSTER_WORK/pki/admin.token")" \
		"https://127.0.0.1:$APISERVER_PORT/readyz" >/dev/null
}

# ensure_namespace NAME creates namespace NAME and its default
# ServiceAccount if they are missing. kube-controller-manager creates that
# ServiceAccount too, but only some time after the namespace, and the
# ServiceAccount admission plugin rejects pods in a namespace without it.
ensure_namespace() {
	local ns=$1
	kc get namespace "$ns" >/dev/null 2>&1 || kc create namespace "$ns" >/dev/null
	kc -n "$ns" get serviceaccount default >/dev/null 2>&1 ||
		kc -n "$ns" create serviceaccount default >/dev/null
}

# delete_namespace NAME deletes namespace NAME and waits up to 60 s for its
# pods to go, so kubelet has run CNI DEL for them. It deletes the usual kinds
# of content itself and then clears the "kubernetes" finalizer, so that it
# works also when kube-controller-manager, whose namespace controller does
# both, is stopped. Objects of other kinds stay in etcd, unreachable, until
# the cluster is purged.
delete_namespace() {
	local ns=$1
	kc get namespace "$ns" >/dev/null 2>&1 || return 0
	kc -n "$ns" delete pods --all --grace-period=1 --wait=true --timeout=60s >/dev/null || true
	kc -n "$ns" delete all,network-attachment-definitions,serviceaccounts,configmaps,secrets,events \
		--all --wait=false >/dev/null 2>&1 || true
	kc delete namespace "$ns" --wait=false >/dev/null 2>&1 || true
	kc get namespace "$ns" -o json |
		jq '.spec.finalizers = []' |
		kc replace --raw "/api/v1/namespaces/$ns/finalize" -f - >/dev/null
}
