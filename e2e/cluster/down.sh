#!/usr/bin/env bash
# Stops the local test cluster that up.sh started and removes what it left on
# the machine. It also works after a partial up.sh or a failed test run, and
# running it twice is harmless.
#
#   e2e/cluster/down.sh            # keep etcd data, images and certificates
#   e2e/cluster/down.sh --purge    # also remove the work dir
#
# Order of teardown:
#  1. Stop kube-scheduler and kube-controller-manager, then delete all pods
#     while kubelet still runs, so CNI DEL reaches every plugin.
#  2. Stop daemons added to the cluster (contrail-sim, the controller), then kubelet.
#  3. Kill and delete leftover containers through containerd, so their shims exit.
#  4. Stop containerd, kube-apiserver and etcd.
#  5. Unmount everything under the work dir, and remove the network namespaces,
#     bridges, IPAM state and host files that the cluster created.
# The binaries built in _output/cluster-bin stay.
set -euo pipefail

# shellcheck source=e2e/cluster/lib.sh
source "$(dirname "$0")/lib.sh"

POD_DELETE_TIMEOUT=${POD_DELETE_TIMEOUT:-60}
STATE_DIR=$CLUSTER_WORK/state
TASK_DIR=$CLUSTER_WORK/containerd/state/io.containerd.runtime.v2.task

no_pods_left() {
	[ -z "$(kc get pods --all-namespaces -o name 2>/dev/null)" ]
}

delete_all_pods() {
	if ! daemon_pid kube-apiserver >/dev/null || ! apiserver_ready 2>/dev/null; then
		log "kube-apiserver is not running; skipping pod deletion"
		return 0
	fi
	no_pods_left && return 0
	if daemon_pid kubelet >/dev/null; then
		log "deleting all pods and waiting up to ${POD_DELETE_TIMEOUT}s for kubelet to tear them down"
		kc delete pods --all --all-namespaces --grace-period=1 --wait=false >/dev/null 2>&1 || true
		wait_until "$POD_DELETE_TIMEOUT" "all pods to be deleted" no_pods_left && return 0
		kc get pods --all-namespaces -o wide >&2 || true
	else
		log "kubelet is not running; pods cannot be torn down through CNI"
	fi
	# Pods left in etcd would be started again by the next kubelet on this
	# node. Their containers are removed through containerd below, without
	# CNI DEL.
	log "force-deleting the remaining pods from the API"
	kc delete pods --all --all-namespaces --force --grace-period=0 >/dev/null 2>&1 || true
}

stop_added_daemons() {
	local name core is_core
	for name in $(known_daemons); do
		is_core=false
		for core in "${CORE_DAEMONS[@]}"; do
			[ "$name" = "$core" ] && is_core=true
		done
		$is_core || stop_daemon "$name"
	done
}

# record_owned_containers appends the ID and the network namespace path of
# every container bundle that containerd still has. Those are the cluster's,
# and they must be read before the bundles are deleted.
record_owned_containers() {
	local bundle
	for bundle in "$TASK_DIR"/*/*/; do
		[ -f "$bundle/config.json" ] || continue
		mkdir -p "$STATE_DIR"
		basename "$bundle" >>"$STATE_DIR/containers-owned"
		jq -r '.linux.namespaces[]? | select(.type == "network") | .path // empty' \
			"$bundle/config.json" 2>/dev/null >>"$STATE_DIR/netns-owned" || true
	done
}

remove_containers() {
	if ! daemon_pid containerd >/dev/null; then
		return 0
	fi
	local ids id
	ids=$(cctr tasks ls -q 2>/dev/null || true)
	if [ -n "$ids" ]; then
		log "killing $(wc -w <<<"$ids") leftover container tasks"
		for id in $ids; do
			cctr tasks kill --signal SIGKILL "$id" >/dev/null 2>&1 || true
		done
		for id in $ids; do
			wait_until 10 "task $id to exit" task_stopped "$id" || true
			cctr tasks delete --force "$id" >/dev/null 2>&1 || true
		done
	fi
	for id in $(cctr containers ls -q 2>/dev/null || true); do
		cctr containers delete "$id" >/dev/null 2>&1 || log "could not delete container $id"
	done
}

task_stopped() {
	local status
	status=$(cctr tasks ls 2>/dev/null | awk -v id="$1" '$1 == id { print $3 }')
	[ -z "$status" ] || [ "$status" = STOPPED ]
}

# stop_orphaned_containers kills containers, and their shims, that outlived
# containerd, for example after containerd crashed. A bundle that is still on
# disk names its container's init PID in init.pid. That process and its
# parent are signalled only if the parent is a shim whose command line names
# this cluster's containerd socket.
stop_orphaned_containers() {
	local pidfile pid shim
	for pidfile in "$TASK_DIR"/*/*/init.pid; do
		[ -f "$pidfile" ] || continue
		pid=$(cat "$pidfile")
		[[ $pid =~ ^[0-9]+$ ]] || continue
		pid_gone "$pid" && continue
		shim=$(awk '{ sub(/^.*\) /, ""); print $2 }' "/proc/$pid/stat" 2>/dev/null) || continue
		if tr '\0' '\n' <"/proc/$shim/cmdline" 2>/dev/null | grep -qxF -- "$CONTAINERD_SOCKET"; then
			log "killing orphaned container PID $pid and its shim PID $shim"
			kill -KILL "$pid" "$shim" 2>/dev/null || true
		fi
	done
}

# stop_orphaned_shims kills the shims that this cluster's containerd started
# and that outlived it without a bundle on disk. A containerd killed while
# it created a sandbox leaves such a shim. A shim is recognised by
# "-address $CONTAINERD_SOCKET" on its command line, which only this
# cluster's containerd passes. Its children are killed first.
stop_orphaned_shims() {
	local cmdline pid child children
	for cmdline in /proc/[0-9]*/cmdline; do
		pid=${cmdline#/proc/}
		pid=${pid%/cmdline}
		tr '\0' '\n' <"$cmdline" 2>/dev/null | grep -qx -- '.*containerd-shim[^/]*' || continue
		tr '\0' '\n' <"$cmdline" 2>/dev/null | grep -qxF -- "$CONTAINERD_SOCKET" || continue
		children=()
		read -ra children <"/proc/$pid/task/$pid/children" 2>/dev/null || true
		for child in "${children[@]}"; do
			log "killing PID $child, left by the orphaned shim PID $pid"
			kill -KILL "$child" 2>/dev/null || true
		done
		log "killing orphaned shim PID $pid"
		kill -KILL "$pid" 2>/dev/null || true
	done
}

# mounts_under_work prints every mount point under the work dir, deepest
# first.
mounts_under_work() {
	awk -v prefix="$CLUSTER_WORK/" 'index($5, prefix) == 1 { print $5 }' /proc/self/mountinfo |
		awk '{ print length($0) " " $0 }' | sort -rn | cut -d' ' -f2-
}

unmount_work() {
	local mountpoint
	for _ in 1 2 3; do
		[ -n "$(mounts_under_work)" ] || return 0
		while read -r mountpoint; do
			umount "$mountpoint" 2>/dev/null || umount -l "$mountpoint" 2>/dev/null ||
				log "could not unmount $mountpoint"
		done < <(mounts_under_work)
	done
	[ -z "$(mounts_under_work)" ] || log "mounts remain under $CLUSTER_WORK: $(mounts_under_work | tr '\n' ' ')"
}

# remove_owned_netns removes the network namespaces recorded as the
# cluster's. containerd normally removes them itself on pod teardown. A
# namespace under /var/run/netns that existed before up.sh ran is left alone.
remove_owned_netns() {
	[ -f "$STATE_DIR/netns-owned" ] || return 0
	local path name
	while read -r path; do
		if [ -z "$path" ] || [ ! -e "$path" ]; then
			continue
		fi
		case $path in
		"$CLUSTER_WORK"/*) ;;
		/var/run/netns/* | /run/netns/*)
			name=${path##*/}
			if grep -qxF -- "$name" "$STATE_DIR/netns-before" 2>/dev/null; then
				continue
			fi
			;;
		*) continue ;;
		esac
		log "removing network namespace $path"
		umount "$path" 2>/dev/null || umount -l "$path" 2>/dev/null || true
		rm -f "$path"
	done <"$STATE_DIR/netns-owned"
	rm -f "$STATE_DIR/netns-owned"
}

# remove_bridges deletes the pod bridge and any other bridge named cvif*,
# the prefix the harness and its tests use for bridges they create.
remove_bridges() {
	local name
	for name in $(ip -o link show type bridge | awk -F': ' '{ print $2 }' | cut -d@ -f1); do
		case $name in
		cvif*)
			log "deleting bridge $name"
			ip link delete "$name" type bridge || true
			;;
		esac
	done
}

remove_cni_state() {
	rm -rf "$CNI_IPAM_DIR" "$MULTUS_CNI_DIR"
	# containerd 1.6 keeps libcni's result cache in /var/lib/cni; entries
	# are named <network>-<sandbox id>-<ifname>. CNI DEL removes them, so
	# only those of pods that were never torn down are left.
	local id
	if [ -f "$STATE_DIR/containers-owned" ]; then
		while read -r id; do
			[[ $id =~ ^[0-9a-f]+$ ]] || continue
			rm -f /var/lib/cni/results/*-"$id"-*
		done <"$STATE_DIR/containers-owned"
		rm -f "$STATE_DIR/containers-owned"
	fi
	# kubelet links container logs from the fixed /var/log/containers.
	local link
	for link in /var/log/containers/*; do
		[ -L "$link" ] || continue
		case $(readlink "$link") in
		"$CLUSTER_WORK"/*) rm -f "$link" ;;
		esac
	done
}

# restore_host_state undoes what up.sh recorded: directories it created
# outside the work dir (if empty), kubelet's cgroups, and the sysctls
# kubelet overwrote.
# remove_host_local_leftovers removes the dirs that host-local created under
# its default dataDir, /var/lib/cni/networks, after up.sh ran. It removes a
# dir only when it contains no address reservation any more, that is only
# the lock file and the last_reserved_ip.N files host-local keeps.
remove_host_local_leftovers() {
	[ -f "$STATE_DIR/host-local-before" ] || return 0
	local dir name file busy
	for dir in /var/lib/cni/networks/*/; do
		[ -d "$dir" ] || continue
		name=$(basename "$dir")
		grep -qxF -- "$name" "$STATE_DIR/host-local-before" && continue
		busy=false
		for file in "$dir"*; do
			[ -e "$file" ] || continue
			case $(basename "$file") in
			lock | last_reserved_ip.*) ;;
			*) busy=true ;;
			esac
		done
		if $busy; then
			log "not removing $dir: it still holds address reservations"
			continue
		fi
		rm -f "$dir"lock "$dir"last_reserved_ip.*
		rmdir "$dir" 2>/dev/null || log "could not remove $dir"
	done
}

restore_host_state() {
	[ -f "$STATE_DIR/recorded" ] || return 0
	remove_host_local_leftovers
	local path setting
	while read -r path; do
		[ -d "$path" ] || continue
		# Only kubelet writes to /var/lib/kubelet (its device-plugin socket
		# and checkpoint); the others may hold entries from other users.
		if [ "$path" = /var/lib/kubelet ]; then
			rm -rf "$path"
			continue
		fi
		find "$path" -depth -type d -empty -delete 2>/dev/null || true
		[ ! -d "$path" ] || log "not removing $path: it is not empty"
	done <"$STATE_DIR/created-dirs"
	while read -r path; do
		[ -d "$path" ] || continue
		# Cgroup directories are removed with rmdir, deepest first; one
		# that still has processes stays and is reported.
		find "$path" -depth -type d -exec rmdir {} \; 2>/dev/null || true
		[ ! -d "$path" ] || log "cgroup $path still exists (processes left in it?)"
	done <"$STATE_DIR/created-cgroups"
	while read -r setting; do
		sysctl -q -w "$setting" >/dev/null || log "could not restore sysctl $setting"
	done <"$STATE_DIR/sysctl-before"
	rm -rf "$STATE_DIR"
}

main() {
	local purge=false
	case ${1:-} in
	--purge) purge=true ;;
	"") ;;
	*) die "usage: down.sh [--purge]" ;;
	esac
	[ "$(id -u)" -eq 0 ] || die "down.sh must run as root"
	if [ ! -d "$CLUSTER_WORK" ]; then
		log "no work dir at $CLUSTER_WORK; nothing to stop"
		return 0
	fi

	# Without the env file, tests see that no cluster is up.
	rm -f "$CLUSTER_WORK/env"
	# The controllers go first, so that no Deployment or DaemonSet puts a
	# deleted pod back, and no pod is scheduled while the node goes away.
	stop_daemon kube-scheduler
	stop_daemon kube-controller-manager
	delete_all_pods
	stop_added_daemons
	stop_daemon kubelet
	record_owned_containers
	remove_containers
	stop_daemon containerd
	stop_orphaned_containers
	stop_orphaned_shims
	stop_daemon kube-apiserver
	stop_daemon etcd

	unmount_work
	remove_owned_netns
	remove_bridges
	remove_cni_state
	restore_host_state

	if $purge; then
		[ -z "$(mounts_under_work)" ] || die "not removing $CLUSTER_WORK: mounts remain under it"
		log "removing $CLUSTER_WORK"
		rm -rf "$CLUSTER_WORK"
	fi
	log "cluster is down"
}

main "$@"
