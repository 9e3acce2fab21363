#!/usr/bin/env bash
# Runs every contrail-vif benchmark and writes raw samples, per-benchmark
# results and summary.json to bench/results/ (see bench/README.md).
#
#   bench/run.sh          # as root, after `make build`; `make bench` does both
#
# Settings (environment):
#   BENCH_OUT                  results directory (default bench/results)
#   BENCH_CNI_ROUNDS           measured rounds of bench/cni (default 300)
#   BENCH_AGENT_ROUNDS         rounds of bench/agentdelay (default 100)
#   BENCH_PODS                 measured pods of bench/podready (default 100)
#   BENCH_CONTROLLER_PODS      pods of bench/controller (default 5000)
#   BENCH_SKIP_CLUSTER=1       skip the two benchmarks that need the local
#                              cluster (podready, controller)
#   CVIF_CLUSTER_LOCK          lock file that serializes users of the local
#                              cluster's fixed ports (default /tmp/cvif-cluster.lock)
#
# The measurements hold CVIF_CLUSTER_LOCK: the cluster benchmarks need the
# cluster's ports to themselves, and a cluster that another user brings up or
# tears down meanwhile would disturb the timings (e2e/cluster/down.sh also
# deletes every bridge named cvif*, including the benchmarks' bridges).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${BENCH_OUT:-$ROOT/bench/results}
BIN=$ROOT/_output/bench-bin
PLUGINS_VERSION=v1.10.0
LOCK=${CVIF_CLUSTER_LOCK:-/tmp/cvif-cluster.lock}
CNI_ROUNDS=${BENCH_CNI_ROUNDS:-300}
AGENT_ROUNDS=${BENCH_AGENT_ROUNDS:-100}
PODS=${BENCH_PODS:-100}
CONTROLLER_PODS=${BENCH_CONTROLLER_PODS:-5000}

log() {
	echo "[bench] $*" >&2
}

die() {
	echo "[bench] error: $*" >&2
	exit 1
}

# timed NAME CMD... runs CMD and appends its wall time to $OUT/durations.txt.
timed() {
	local name=$1 start=$SECONDS
	shift
	log "$name"
	"$@"
	echo "$name $((SECONDS - start))s" >>"$OUT/durations.txt"
}

[ "$(id -u)" = 0 ] || die "run as root: the benchmarks create network namespaces, links and a local cluster"
for bin in contrail-vif contrail-vif-controller contrail-sim; do
	[ -x "$ROOT/bin/$bin" ] || die "missing bin/$bin; run make build first"
done
cd "$ROOT"
mkdir -p "$OUT" "$BIN"
rm -f "$OUT"/*.json "$OUT"/*.csv "$OUT"/*.md "$OUT/durations.txt"

build() {
	OUT=$BIN PLUGINS_VERSION=$PLUGINS_VERSION bench/build-refplugins.sh
	# The flags of `make build`: the packages it compiled come from the Go
	# build cache, and trivial and rsswrap, which run as exec'd children
	# like the plugin, are built the way the plugin is.
	CGO_ENABLED=0 go build -trimpath -o "$BIN/" ./bench/cni ./bench/agentdelay ./bench/podready \
		./bench/controller ./bench/summarize ./bench/cni/trivial ./bench/cni/rsswrap ./bench/sim
}
timed "build reference plugins $PLUGINS_VERSION and the benchmark programs" build

# fd 9 holds the lock; every command below closes it (9>&-) so that no
# daemon started on the way keeps the lock after this script exits.
exec 9>"$LOCK"
log "waiting for $LOCK"
flock 9

timed "bench/cni: $CNI_ROUNDS rounds" \
	"$BIN/cni" -rounds "$CNI_ROUNDS" -contrail-vif bin/contrail-vif \
	-ref-dir "$BIN/plugins-$PLUGINS_VERSION" -ref-version "$PLUGINS_VERSION" \
	-trivial "$BIN/trivial" -rsswrap "$BIN/rsswrap" -out "$OUT" 9>&-
timed "bench/agentdelay: $AGENT_ROUNDS rounds" \
	"$BIN/agentdelay" -rounds "$AGENT_ROUNDS" -contrail-vif bin/contrail-vif -out "$OUT" 9>&-
timed "bench/sim: the simulator's own config API creates and agent binds per second" \
	"$BIN/sim" -out "$OUT" 9>&-

summarize_flags=()
if [ "${BENCH_SKIP_CLUSTER:-}" = 1 ]; then
	log "skipping the cluster benchmarks (BENCH_SKIP_CLUSTER=1)"
	summarize_flags=(-allow-missing)
else
	timed "local cluster: bench/podready ($PODS pods) and bench/controller ($CONTROLLER_PODS pods)" \
		env BENCH_BIN="$BIN" BENCH_OUT="$OUT" BENCH_REF_DIR="$BIN/plugins-$PLUGINS_VERSION" \
		BENCH_PODS="$PODS" BENCH_CONTROLLER_PODS="$CONTROLLER_PODS" \
		e2e/run.sh bench 9>&-
fi
exec 9>&-

"$BIN/summarize" -dir "$OUT" "${summarize_flags[@]}"
log "results in $OUT; durations:"
cat "$OUT/durations.txt" >&2
