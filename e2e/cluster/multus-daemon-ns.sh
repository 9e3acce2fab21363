#!/usr/bin/env bash
# Runs multus-daemon (Multus thick) in a mount namespace of its own, in which
# /var/run/secrets/kubernetes.io/serviceaccount contains a ServiceAccount
# token, as in its DaemonSet pod. multus-daemon v4.3.0 reads the API server's
# address and credentials only from there (rest.InClusterConfig), and this
# way the host's /var/run stays unchanged.
#
#   unshare --mount --propagation slave multus-daemon-ns.sh SA_DIR CMD...
#
# SA_DIR contains token, ca.crt and namespace. A tmpfs hides the host's /run in
# this namespace only; every path the cluster uses lives under $CLUSTER_WORK.
# up.sh makes containerd's network namespace dir a shared mount, so the
# namespaces of pods created later appear in here too (slave propagation).
# The script execs CMD, so CMD keeps this process's PID.
set -euo pipefail

if [ $# -lt 2 ]; then
	echo "usage: $0 SA_DIR CMD..." >&2
	exit 2
fi
sa_dir=$1
shift
for f in token ca.crt namespace; do
	[ -s "$sa_dir/$f" ] || {
		echo "multus-daemon-ns.sh: $sa_dir/$f is missing or empty" >&2
		exit 1
	}
done

mount -t tmpfs -o mode=755,size=1m cvif-multus-run /run
mkdir -p /run/secrets/kubernetes.io/serviceaccount
mount --bind -o ro "$sa_dir" /run/secrets/kubernetes.io/serviceaccount
exec "$@"
