#!/usr/bin/env bash
# Runs the benchmarks that need the local cluster: bench/podready, then
# bench/controller. `e2e/run.sh bench` calls it once the cluster,
# contrail-sim and the controller run, and tears everything down after it.
#
# Environment: BENCH_BIN (the benchmark binaries), BENCH_OUT (results),
# BENCH_REF_DIR (reference bridge and host-local; optional), BENCH_PODS,
# BENCH_CONTROLLER_PODS.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=e2e/cluster/lib.sh
. "$ROOT/e2e/cluster/lib.sh"
# shellcheck disable=SC1091
. "$CLUSTER_WORK/env"

BIN=${BENCH_BIN:?set BENCH_BIN to the directory of the benchmark binaries}
OUT=${BENCH_OUT:?set BENCH_OUT to the results directory}

# The bridge NAD runs the same reference build as bench/cni, not the
# machine's packaged plugins. The cluster network uses them too from here on.
if [ -n "${BENCH_REF_DIR:-}" ]; then
	for plugin in bridge host-local; do
		ln -sfn "$BENCH_REF_DIR/$plugin" "$CNI_BIN_DIR/$plugin"
	done
fi

"$BIN/podready" -kubeconfig "$KUBECONFIG" -node "$NODE_NAME" -image "$BUSYBOX_IMAGE" \
	-ipam-dir "$CNI_IPAM_DIR" -pods "${BENCH_PODS:-100}" -out "$OUT"

# The cluster's controller would reconcile the controller benchmark's pods
# as well, against the cluster's contrail-sim.
stop_daemon contrail-vif-controller
"$BIN/controller" -kubeconfig "$KUBECONFIG" -controller "$ROOT/bin/contrail-vif-controller" \
	-pods "${BENCH_CONTROLLER_PODS:-5000}" -out "$OUT"
