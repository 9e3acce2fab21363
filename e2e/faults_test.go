//go:build e2efaults && !e2e

// Package e2e, built with the e2efaults tag, runs the fault run on the
// local cluster that `e2e/run.sh faults` starts. Pods with a contrail-vif
// attachment are created and deleted in waves. Meanwhile, in turn, the
// controller, the vRouter agent, the config API and containerd fail, and a
// pod is force-deleted during its CNI ADD. Once the load settles, the run
// checks that nothing leaked and writes _output/faults/summary.json.
package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/contrail-vif/contrail-vif/e2e/framework"
	"github.com/contrail-vif/contrail-vif/pkg/attachment"
	"github.com/contrail-vif/contrail-vif/pkg/vncclient"
)

var cluster *framework.Cluster

func TestMain(m *testing.M) {
	var err error
	cluster, err = framework.ConnectRepo("..")
	if err != nil {
		println("e2e faults:", err.Error())
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// The red VN of the simulator's default setup and its NAD in examples/.
const (
	faultsNamespace = "faults"
	faultsNetwork   = "default/red"
	redSubnet       = "10.10.1.0/24"
	redGateway      = "10.10.1.254"
	// podCommand is argv[0] of the one container of every pod.
	podCommand = framework.ShellCommand
)

// Sizes and bounds of the run. Five waves of wavePods and one of
// forcePods create 66 pods.
const (
	wavePods         = 12
	forcePods        = 6
	forceDeleted     = 3
	waveRunning      = 90 * time.Second
	settleRunning    = 120 * time.Second
	settleInvariants = 80 * time.Second
	cleanupTimeout   = 90 * time.Second
)

// faultRun is the state of one fault run.
type faultRun struct {
	t   *testing.T
	ctx context.Context
	vnc *vncclient.Client
	// start is when the run began, for progress logs.
	start time.Time

	mu sync.Mutex
	// created counts the pods created so far.
	created int
	// previous are the pods of the last wave, from which the next wave
	// deletes half.
	previous []string
}

func TestFaults(t *testing.T) {
	r := &faultRun{t: t, ctx: context.Background(), vnc: vncclient.New(cluster.Env.ConfigAPIURL, 10*time.Second), start: time.Now()}
	r.setUp()

	r.wave("base", fault{})
	r.wave("ctrl", fault{prepare: r.slowControllerDown, inject: r.killController})
	r.wave("agent", fault{prepare: r.waitSomeRunning, inject: r.restartAgent})
	r.wave("api", fault{inject: r.configAPIOutage})
	r.wave("ctrd", fault{prepare: r.waitSomeRunning, inject: r.killContainerd})
	r.forceDeleteMidAdd()

	summary := r.settle()
	r.cleanUp(summary)
	r.writeSummary(summary)
	r.report("after the load settled", summary)
	if summary.AfterCleanup != nil {
		r.report("after the run deleted its pods", summary.AfterCleanup)
	}
	if summary.PodsCreated < 60 {
		t.Errorf("the run created %d pods, want at least 60", summary.PodsCreated)
	}
	t.Logf("fault run took %s", time.Since(r.start).Round(time.Second))
}

func (r *faultRun) logf(format string, args ...any) {
	r.t.Helper()
	r.t.Logf("[%5.1fs] %s", time.Since(r.start).Seconds(), fmt.Sprintf(format, args...))
}

// setUp applies the red NAD, creates the namespace and clears every fault
// at the end, also on failure.
func (r *faultRun) setUp() {
	t := r.t
	if _, err := cluster.Kubectl(r.ctx, "apply", "-f", filepath.Join(cluster.Env.Root, "examples", "nad-red.yaml")); err != nil {
		t.Fatal(err)
	}
	if err := framework.EnsureNamespace(r.ctx, cluster, faultsNamespace); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		_ = framework.SetConfigAPIFaults(ctx, cluster.Env, `{}`)
		_ = framework.SetAgentFaults(ctx, cluster.Env, `{}`)
		_, _ = cluster.Kubectl(ctx, "-n", faultsNamespace, "delete", "pods", "--all", "--grace-period=1", "--wait=true", "--timeout=60s")
	})
}

// fault is what goes wrong during a wave. prepare waits until the wave
// has reached the state the fault should hit; inject makes it happen while
// the wave's deletions run. Either may be nil.
type fault struct {
	prepare func(names []string)
	inject  func(names []string)
}

// wave creates wavePods pods named <name>-NN and, once f.prepare returns,
// deletes half of the previous wave's pods while f.inject runs. Then it
// waits, bounded, until the new pods run.
func (r *faultRun) wave(name string, f fault) {
	names := make([]string, wavePods)
	for i := range names {
		names[i] = fmt.Sprintf("%s-%02d", name, i)
	}
	var victims []string
	for i, p := range r.previous {
		if i%2 == 0 {
			victims = append(victims, p)
		}
	}
	r.logf("wave %s: creating %d pods, deleting %d", name, len(names), len(victims))

	var wg sync.WaitGroup
	wg.Go(func() { r.createPods(names) })
	if f.prepare != nil {
		f.prepare(names)
	}
	wg.Go(func() {
		for _, v := range victims {
			r.deletePod(v, 1)
			time.Sleep(250 * time.Millisecond)
		}
	})
	if f.inject != nil {
		f.inject(names)
	}
	wg.Wait()

	running := r.waitRunning(names, waveRunning)
	r.logf("wave %s: %d of %d pods running", name, running, len(names))
	r.previous = names
}

func (r *faultRun) createPods(names []string) {
	for _, name := range names {
		if _, err := cluster.Client.CoreV1().Pods(faultsNamespace).Create(r.ctx, faultPod(name), metav1.CreateOptions{}); err != nil {
			r.t.Errorf("create pod %s: %v", name, err)
			continue
		}
		r.mu.Lock()
		r.created++
		r.mu.Unlock()
	}
}

func (r *faultRun) deletePod(name string, grace int64) {
	err := cluster.Client.CoreV1().Pods(faultsNamespace).Delete(r.ctx, name, metav1.DeleteOptions{GracePeriodSeconds: &grace})
	if err != nil && !apierrors.IsNotFound(err) {
		r.t.Errorf("delete pod %s: %v", name, err)
	}
}

// waitRunning waits up to timeout until every pod of names runs, and
// returns how many do.
func (r *faultRun) waitRunning(names []string, timeout time.Duration) int {
	running := 0
	_ = wait.PollUntilContextTimeout(r.ctx, time.Second, timeout, true, func(ctx context.Context) (bool, error) {
		running = r.countRunning(names)
		return running == len(names), nil
	})
	return running
}

func (r *faultRun) countRunning(names []string) int {
	list, err := cluster.Client.CoreV1().Pods(faultsNamespace).List(r.ctx, metav1.ListOptions{})
	if err != nil {
		return 0
	}
	n := 0
	for _, p := range list.Items {
		if slices.Contains(names, p.Name) && p.Status.Phase == corev1.PodRunning && p.DeletionTimestamp == nil {
			n++
		}
	}
	return n
}

// waitFor polls cond every 200ms for up to timeout and reports whether it
// held.
func (r *faultRun) waitFor(what string, timeout time.Duration, cond func() bool) bool {
	err := wait.PollUntilContextTimeout(r.ctx, 200*time.Millisecond, timeout, true, func(context.Context) (bool, error) {
		return cond(), nil
	})
	if err != nil {
		r.logf("gave up after %s waiting for %s", timeout, what)
		return false
	}
	return true
}

// slowControllerDown makes the config API reply 60ms late, so that the
// controller is still creating the wave's objects, and waits until the
// first virtual-machine of the wave exists.
func (r *faultRun) slowControllerDown(names []string) {
	if err := framework.SetConfigAPIFaults(r.ctx, cluster.Env, `{"latency":"60ms"}`); err != nil {
		r.t.Fatal(err)
	}
	r.waitFor("a virtual-machine of the wave", 60*time.Second, func() bool { return r.waveVMs(names) > 0 })
}

// killController kills the controller with SIGKILL and starts it again a
// second later, then removes the config API latency.
func (r *faultRun) killController(names []string) {
	t := r.t
	before := r.waveVMs(names)
	controller := framework.Daemon{Env: cluster.Env, Name: "contrail-vif-controller"}
	if err := controller.Kill(); err != nil {
		t.Fatal(err)
	}
	r.logf("killed the controller with SIGKILL after %d of %d virtual-machines of the wave", before, len(names))
	time.Sleep(time.Second)
	if err := controller.Start(r.ctx); err != nil {
		t.Fatal(err)
	}
	if err := framework.SetConfigAPIFaults(r.ctx, cluster.Env, `{}`); err != nil {
		t.Fatal(err)
	}
}

// waitSomeRunning waits until 3 pods of the wave run, so that a fault hits
// both running pods and pods still being created.
func (r *faultRun) waitSomeRunning(names []string) {
	r.waitFor("3 pods of the wave to run", 60*time.Second, func() bool { return r.countRunning(names) >= 3 })
}

// waveVMs counts the virtual-machines of the pods in names.
func (r *faultRun) waveVMs(names []string) int {
	type vm struct {
		Annotations *vncclient.KeyValuePairs `json:"annotations"`
	}
	vms, err := vncclient.ListDetail[vm](r.ctx, r.vnc, vncclient.TypeVirtualMachine, url.Values{"fields": {"annotations"}})
	if err != nil {
		return 0
	}
	n := 0
	for _, v := range vms {
		ns, _ := v.Annotations.Get(attachment.KeyNamespace)
		pod, _ := v.Annotations.Get(attachment.KeyPod)
		if ns == faultsNamespace && slices.Contains(names, pod) {
			n++
		}
	}
	return n
}

// restartAgent restarts the vRouter agent and keeps it down for 2 seconds.
func (r *faultRun) restartAgent(names []string) {
	r.logf("restarting the agent with %d of %d pods of the wave running", r.countRunning(names), len(names))
	if err := framework.RestartAgent(r.ctx, cluster.Env, 2*time.Second); err != nil {
		r.t.Fatal(err)
	}
	inv, err := framework.AgentInventory(r.ctx, cluster.Env)
	if err != nil {
		r.t.Fatal(err)
	}
	r.logf("the agent is back with %d ports replayed from %d port files", len(inv.Ports), len(inv.PortFiles))
}

// configAPIOutage makes the config API return 503 for 8 seconds and then
// reply to every request 300ms late for 8 more.
func (r *faultRun) configAPIOutage([]string) {
	t := r.t
	if err := framework.SetConfigAPIFaults(r.ctx, cluster.Env, `{"unavailable":true}`); err != nil {
		t.Fatal(err)
	}
	r.logf("the config API returns 503")
	time.Sleep(8 * time.Second)
	if err := framework.SetConfigAPIFaults(r.ctx, cluster.Env, `{"latency":"300ms"}`); err != nil {
		t.Fatal(err)
	}
	r.logf("the config API replies 300ms late")
	time.Sleep(8 * time.Second)
	if err := framework.SetConfigAPIFaults(r.ctx, cluster.Env, `{}`); err != nil {
		t.Fatal(err)
	}
}

// killContainerd kills containerd with SIGKILL and starts it again 2
// seconds later.
func (r *faultRun) killContainerd(names []string) {
	t := r.t
	containerd := framework.Daemon{Env: cluster.Env, Name: "containerd"}
	if err := containerd.Kill(); err != nil {
		t.Fatal(err)
	}
	r.logf("killed containerd with SIGKILL with %d of %d pods of the wave running", r.countRunning(names), len(names))
	time.Sleep(2 * time.Second)
	if err := containerd.Start(r.ctx); err != nil {
		t.Fatal(err)
	}
}

// forceDeleteMidAdd makes the agent hide new VMIs for a while, so that CNI
// ADDs wait for them, and force-deletes pods whose ADD the agent reports
// as waiting.
func (r *faultRun) forceDeleteMidAdd() {
	t := r.t
	if err := framework.SetAgentFaults(r.ctx, cluster.Env, `{"configDelay":"8s"}`); err != nil {
		t.Fatal(err)
	}
	names := make([]string, forcePods)
	for i := range names {
		names[i] = fmt.Sprintf("force-%02d", i)
	}
	r.logf("wave force: creating %d pods with the agent's config delayed by 8s", len(names))
	r.createPods(names)

	// pendingNames returns the pods whose VMI an ADD waits for.
	pendingNames := func() []string {
		inv, err := framework.AgentInventory(r.ctx, cluster.Env)
		if err != nil {
			return nil
		}
		var out []string
		for _, name := range names {
			p, err := cluster.Client.CoreV1().Pods(faultsNamespace).Get(r.ctx, name, metav1.GetOptions{})
			if err != nil {
				continue
			}
			if slices.Contains(inv.ConfigPending, attachment.VMIUUID(string(p.UID), "net1")) {
				out = append(out, name)
			}
		}
		return out
	}
	var pending []string
	r.waitFor("ADDs waiting for the agent", 60*time.Second, func() bool {
		pending = pendingNames()
		return len(pending) >= forceDeleted
	})
	if len(pending) == 0 {
		t.Error("no CNI ADD of the force wave was seen waiting for the agent; the force-delete would not hit a running ADD")
	}
	if len(pending) > forceDeleted {
		pending = pending[:forceDeleted]
	}
	for _, name := range pending {
		if _, err := cluster.Kubectl(r.ctx, "-n", faultsNamespace, "delete", "pod", name, "--grace-period=0", "--force", "--wait=false"); err != nil {
			t.Error(err)
		}
	}
	r.logf("force-deleted %v while their ADD waited for the agent", pending)

	time.Sleep(3 * time.Second)
	if err := framework.SetAgentFaults(r.ctx, cluster.Env, `{}`); err != nil {
		t.Fatal(err)
	}
	var rest []string
	for _, name := range names {
		if !slices.Contains(pending, name) {
			rest = append(rest, name)
		}
	}
	r.logf("wave force: %d of %d remaining pods running", r.waitRunning(rest, waveRunning), len(rest))
}

// settle waits, bounded, until every remaining pod runs, no pod is being
// deleted and the invariants hold, then pings each pod's peer and returns
// the last check.
func (r *faultRun) settle() *framework.FaultSummary {
	t := r.t
	r.logf("settling")
	list, err := cluster.Client.CoreV1().Pods(faultsNamespace).List(r.ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range list.Items {
		if p.DeletionTimestamp == nil {
			names = append(names, p.Name)
		}
	}
	r.logf("%d of %d live pods running", r.waitRunning(names, settleRunning), len(names))

	check := framework.FaultCheck{VNC: r.vnc, Namespace: faultsNamespace, Network: faultsNetwork, Subnet: netip.MustParsePrefix(redSubnet), Command: podCommand}
	var summary *framework.FaultSummary
	var attachments []framework.Net1Attachment
	r.waitFor("the invariants to hold", settleInvariants, func() bool {
		s, atts, err := cluster.CheckFaultInvariants(r.ctx, check)
		if err != nil {
			r.logf("check invariants: %v", err)
			return false
		}
		summary, attachments = s, atts
		return s.Clean()
	})
	if summary == nil {
		t.Fatal("the invariants could not be checked")
	}
	summary.PodsCreated = r.created

	summary.RecordPingFailures(framework.PingPeers(r.ctx, attachments, podCommand, redGateway))
	r.logf("settled: %d pods running with net1, %d pings failed", summary.PodsRunningWithNet1, summary.PingFailures)
	return summary
}

// cleanUp deletes the remaining pods and checks, bounded, that they leave
// nothing behind.
func (r *faultRun) cleanUp(summary *framework.FaultSummary) {
	if _, err := cluster.Kubectl(r.ctx, "-n", faultsNamespace, "delete", "pods", "--all", "--grace-period=1", "--wait=true", "--timeout=60s"); err != nil {
		r.t.Error(err)
	}
	check := framework.FaultCheck{VNC: r.vnc, Namespace: faultsNamespace, Network: faultsNetwork, Subnet: netip.MustParsePrefix(redSubnet), Command: podCommand}
	r.waitFor("the deleted pods to leave nothing", cleanupTimeout, func() bool {
		s, _, err := cluster.CheckFaultInvariants(r.ctx, check)
		if err != nil {
			return false
		}
		summary.AfterCleanup = s
		return s.Clean()
	})
}

func (r *faultRun) writeSummary(summary *framework.FaultSummary) {
	dir := filepath.Join(cluster.Env.Root, "_output", "faults")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		r.t.Fatal(err)
	}
	data, err := json.MarshalIndent(summary, "", "  ")
	if err != nil {
		r.t.Fatal(err)
	}
	path := filepath.Join(dir, "summary.json")
	if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
		r.t.Fatal(err)
	}
	r.logf("wrote %s:\n%s", path, data)
}

// report fails the test for every invariant that does not hold, naming the
// offending objects.
func (r *faultRun) report(when string, s *framework.FaultSummary) {
	counts := []struct {
		key   string
		value int
	}{
		{"leaked_vm", s.LeakedVM},
		{"leaked_vmi", s.LeakedVMI},
		{"leaked_instance_ip", s.LeakedInstanceIP},
		{"leaked_host_links", s.LeakedHostLinks},
		{"leaked_agent_ports", s.LeakedAgentPorts},
		{"duplicate_ips", s.DuplicateIPs},
		{"duplicate_macs", s.DuplicateMACs},
		{"stuck_terminating", s.StuckTerminating},
		{"pods_without_net1", s.PodsWithoutNet1},
		{"ping_failures", s.PingFailures},
	}
	for _, c := range counts {
		if c.value != 0 {
			r.t.Errorf("%s: %s = %d, want 0:\n  %s", when, c.key, c.value, strings.Join(s.Offenders[c.key], "\n  "))
		}
	}
}

func faultPod(name string) *corev1.Pod {
	return framework.BusyboxPod(cluster.Env.NodeName, faultsNamespace, name, faultsNetwork)
}
