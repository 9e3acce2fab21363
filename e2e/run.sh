#!/usr/bin/env bash
# Runs contrail-vif on the local cluster.
#
#   e2e/run.sh test   bring up cluster, simulator and controller, run the Go
#                     e2e suite, tear everything down (also on failure)
#   e2e/run.sh demo   bring up the same, apply examples/, print a summary,
#                     leave it running
#   e2e/run.sh bench  bring up the same, run bench/cluster.sh (the pod
#                     readiness and controller benchmarks), tear down;
#                     bench/run.sh calls it
#   e2e/run.sh faults bring up the same, run the fault run
#                     (e2e/faults_test.go), tear down
#   e2e/run.sh down   tear down what test, demo, bench or faults started
#
# CVIF_COMPONENTS chooses how contrail-vif runs:
#   processes (default)  contrail-sim and the controller as processes on the
#                        host, bin/contrail-vif linked into the CNI bin dir
#   pods                 everything deployed from deployments/ as pods
#                        (overlay local-e2e, images from make images), with
#                        Keystone and TLS in front of the config API; see
#                        e2e/deploy-pods.sh
#
# Expects the binaries in bin/ (make build).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=e2e/cluster/lib.sh
. "$ROOT/e2e/cluster/lib.sh"
# shellcheck source=e2e/deploy-pods.sh
. "$ROOT/e2e/deploy-pods.sh"

CONFIG_API_ADDR=${CONFIG_API_ADDR:-127.0.0.1:8082}
AGENT_ADDR=${AGENT_ADDR:-127.0.0.1:9091}
CONTROLLER_HEALTH_ADDR=${CONTROLLER_HEALTH_ADDR:-127.0.0.1:18081}
E2E_TIMEOUT=${E2E_TIMEOUT:-20m}
CVIF_COMPONENTS=${CVIF_COMPONENTS:-processes}

# contrail_up brings up the cluster and contrail-vif in the mode
# CVIF_COMPONENTS names, and exports the settings of $CLUSTER_WORK/env to
# the commands run.sh runs next, such as the e2e suite and the contrail-sim
# client commands it starts.
contrail_up() {
	case $CVIF_COMPONENTS in
	processes) contrail_up_processes ;;
	pods) contrail_up_pods ;;
	*) die "CVIF_COMPONENTS=$CVIF_COMPONENTS: expected processes or pods" ;;
	esac
	# shellcheck source=/dev/null
	. "$CLUSTER_WORK/env"
}

contrail_up_processes() {
	for bin in contrail-vif contrail-vif-controller contrail-sim; do
		[ -x "$ROOT/bin/$bin" ] || die "missing bin/$bin; run make build first"
	done
	CNI_EXTRA_BINS="$ROOT/bin/contrail-vif" "$ROOT/e2e/cluster/up.sh"

	start_daemon contrail-sim "$LOG_DIR/contrail-sim.log" "$ROOT/bin/contrail-sim" serve \
		--config-api-listen "$CONFIG_API_ADDR" --agent-listen "$AGENT_ADDR" \
		--node-name "$NODE_NAME" --setup-default --ports-dir "$CLUSTER_WORK/contrail-ports"
	wait_until 30 "the simulated config API" curl -fsS --max-time 2 "http://$CONFIG_API_ADDR/" ||
		die "contrail-sim did not come up; see $LOG_DIR/contrail-sim.log"

	start_daemon contrail-vif-controller "$LOG_DIR/contrail-vif-controller.log" \
		"$ROOT/bin/contrail-vif-controller" --kubeconfig "$KUBECONFIG_FILE" \
		--config-api-url "http://$CONFIG_API_ADDR" --sweep-interval 30s \
		--health-probe-bind-address "$CONTROLLER_HEALTH_ADDR"
	wait_until 60 "the controller to become ready" curl -fsS --max-time 2 "http://$CONTROLLER_HEALTH_ADDR/readyz" ||
		die "the controller did not become ready; see $LOG_DIR/contrail-vif-controller.log"

	echo processes >"$CLUSTER_WORK/components"
	cat >>"$CLUSTER_WORK/env" <<ENV
export CVIF_COMPONENTS=processes
export CONFIG_API_URL=http://$CONFIG_API_ADDR
export AGENT_URL=http://$AGENT_ADDR
export CONTRAIL_SIM=$ROOT/bin/contrail-sim
ENV
}

contrail_down() {
	# Pods go first, while the agent and the controller still run, so CNI
	# DEL unbinds their ports and the controller deletes their objects. In
	# pods mode those two are pods themselves and go last.
	if [ "$(cat "$CLUSTER_WORK/components" 2>/dev/null)" = pods ]; then
		contrail_down_pods
	elif [ -e "$KUBECONFIG_FILE" ] && apiserver_ready 2>/dev/null; then
		kc delete pods --all --all-namespaces --grace-period=1 --wait=true --timeout=90s >/dev/null 2>&1 || true
	fi
	stop_daemon contrail-vif-controller
	stop_daemon contrail-sim
	# The purge below removes the work dir; keep the logs of this run.
	if [ -d "$LOG_DIR" ]; then
		rm -rf "$ROOT/_output/last-logs"
		cp -r "$LOG_DIR" "$ROOT/_output/last-logs"
		log "logs of this run kept in $ROOT/_output/last-logs"
	fi
	"$ROOT/e2e/cluster/down.sh" --purge
}

case ${1:-} in
test)
	trap contrail_down EXIT
	contrail_up
	cd "$ROOT"
	go test -tags e2e -count=1 -v -timeout "$E2E_TIMEOUT" ./e2e/
	;;
demo)
	contrail_up
	for f in nad-red.yaml nad-blue.yaml pods.yaml; do
		kc apply -f "$ROOT/examples/$f"
	done
	cd "$ROOT"
	go run ./e2e/demo
	cat <<TEXT

The demo keeps running. Try:
  source _output/cluster/env        # sets KUBECONFIG, KUBECTL (v1.37.2) and the simulator URLs
  \$KUBECTL get pods -o wide
  \$KUBECTL describe pod red-1
  e2e/cluster/podexec.sh default red-1 -- ip addr show net1
  e2e/cluster/podexec.sh default red-1 -- ping -c 1 10.10.1.254
(kubectl exec and kubectl logs do not work on this local node: see README.)
Logs are in $LOG_DIR. Stop everything with: make demo-down
TEXT
	;;
bench)
	trap contrail_down EXIT
	contrail_up
	"$ROOT/bench/cluster.sh"
	;;
faults)
	# The fault run (e2e/faults_test.go): pods created and deleted in waves
	# while the controller, the agent, the config API and containerd fail.
	# It writes _output/faults/summary.json. The run kills and restarts
	# daemons by their PID files, so contrail-vif runs as processes.
	trap contrail_down EXIT
	CVIF_COMPONENTS=processes
	contrail_up
	cd "$ROOT"
	go test -tags e2efaults -count=1 -v -timeout "${E2E_FAULTS_TIMEOUT:-10m}" -run '^TestFaults$' ./e2e/
	;;
down)
	contrail_down
	;;
*)
	echo "usage: $0 test|demo|bench|faults|down" >&2
	exit 2
	;;
esac
