package framework

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/containernetworking/plugins/pkg/netlinksafe"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/contrail-vif/contrail-vif/pkg/attachment"
	"github.com/contrail-vif/contrail-vif/pkg/sim/agent"
	"github.com/contrail-vif/contrail-vif/pkg/vncclient"
)

// controlTimeout bounds a request to the simulator's control routes that
// does not keep the agent down.
const controlTimeout = 10 * time.Second

// RestartAgent restarts the simulated vRouter agent through
// POST /_sim/agent/restart: the agent stops, stays down for down, then
// replays its port files and listens again. It returns once the agent is
// back.
func RestartAgent(ctx context.Context, env *Env, down time.Duration) error {
	body := fmt.Sprintf(`{"down":%q}`, down.String())
	ctx, cancel := context.WithTimeout(ctx, controlTimeout+down)
	defer cancel()
	if _, err := simControl(ctx, env, http.MethodPost, agent.ControlPathPrefix+"restart", body); err != nil {
		return fmt.Errorf("restart the agent with %s down: %w", down, err)
	}
	return nil
}

// SetAgentFaults replaces the simulated agent's injected faults, for
// example `{"configDelay":"8s"}`; `{}` clears them.
func SetAgentFaults(ctx context.Context, env *Env, faults string) error {
	ctx, cancel := context.WithTimeout(ctx, controlTimeout)
	defer cancel()
	if _, err := simControl(ctx, env, http.MethodPut, agent.ControlPathPrefix+"faults", faults); err != nil {
		return fmt.Errorf("set agent faults %s: %w", faults, err)
	}
	return nil
}

// AgentInventory returns the simulated agent's port subscriptions, port
// files and the VMIs that clients wait for.
func AgentInventory(ctx context.Context, env *Env) (*agent.Inventory, error) {
	ctx, cancel := context.WithTimeout(ctx, controlTimeout)
	defer cancel()
	body, err := simControl(ctx, env, http.MethodGet, agent.ControlPathPrefix+"ports", "")
	if err != nil {
		return nil, fmt.Errorf("read the agent's ports: %w", err)
	}
	inv := &agent.Inventory{}
	if err := json.Unmarshal(body, inv); err != nil {
		return nil, fmt.Errorf("decode the agent's ports %s: %w", body, err)
	}
	return inv, nil
}

// simControl sends a request to a control route of contrail-sim, which it
// serves on the config API's address, and returns the body of a 200 reply.
func simControl(ctx context.Context, env *Env, method, path, body string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, env.ConfigAPIURL+path, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	reply, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("read reply of %s %s: %w", method, path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, bytes.TrimSpace(reply))
	}
	return reply, nil
}

// tapPattern matches the host interface names that attachment.TapName
// gives: "tap" and the first 11 characters of a VMI uuid.
var tapPattern = regexp.MustCompile(`^tap[0-9a-f]{8}-[0-9a-f]{2}$`)

// HostTapLinks returns the names of the veth links in the test's network
// namespace that are named like contrail-vif's host interfaces, sorted.
func HostTapLinks() ([]string, error) {
	links, err := netlinksafe.LinkList()
	if err != nil {
		return nil, fmt.Errorf("list host links: %w", err)
	}
	var names []string
	for _, l := range links {
		if l.Type() == "veth" && tapPattern.MatchString(l.Attrs().Name) {
			names = append(names, l.Attrs().Name)
		}
	}
	slices.Sort(names)
	return names, nil
}

// PortFileVMI returns the VMI uuid that names an agent port file, given as
// a path relative to the agent's ports directory.
func PortFileVMI(rel string) string {
	return filepath.Base(rel)
}

// FaultSummary is the outcome of a fault run, written to
// _output/faults/summary.json. Every Leaked*, Duplicate* and
// StuckTerminating count must be 0 for the run to pass.
type FaultSummary struct {
	// PodsCreated counts the pods the run created.
	PodsCreated int `json:"pods_created"`
	// PodsRunningWithNet1 counts the Running pods whose net1 carries the
	// address and MAC that their network-status reports.
	PodsRunningWithNet1 int `json:"pods_running_with_net1"`
	// LeakedVM, LeakedVMI and LeakedInstanceIP count the config API
	// objects of contrail-vif whose pod no longer exists.
	LeakedVM         int `json:"leaked_vm"`
	LeakedVMI        int `json:"leaked_vmi"`
	LeakedInstanceIP int `json:"leaked_instance_ip"`
	// LeakedHostLinks counts the host taps of no existing pod.
	LeakedHostLinks int `json:"leaked_host_links"`
	// LeakedAgentPorts counts the agent's port subscriptions and port
	// files of no existing pod.
	LeakedAgentPorts int `json:"leaked_agent_ports"`
	// DuplicateIPs and DuplicateMACs count the net1 addresses and MACs
	// that more than one live attachment has, once per extra attachment.
	DuplicateIPs  int `json:"duplicate_ips"`
	DuplicateMACs int `json:"duplicate_macs"`
	// StuckTerminating counts the pods that still exist after deletion.
	StuckTerminating int `json:"stuck_terminating"`

	// PodsLive counts the pods that exist and are not being deleted.
	PodsLive int `json:"pods_live"`
	// PodsWithoutNet1 counts the live pods that are not Running with net1.
	PodsWithoutNet1 int `json:"pods_without_net1"`
	// PingFailures counts the running pods whose net1 got no reply from
	// its peer.
	PingFailures int `json:"ping_failures"`
	// Offenders names the objects behind each non-zero count, keyed by the
	// count's JSON name.
	Offenders map[string][]string `json:"offenders,omitempty"`
	// AfterCleanup is the check after the run deleted its remaining pods.
	AfterCleanup *FaultSummary `json:"after_cleanup,omitempty"`
}

// Clean reports whether no object leaked, no address or MAC is duplicated,
// no pod is stuck in deletion, every live pod runs with net1 and every ping
// got its reply.
func (s *FaultSummary) Clean() bool {
	return s.LeakedVM == 0 && s.LeakedVMI == 0 && s.LeakedInstanceIP == 0 && s.LeakedHostLinks == 0 &&
		s.LeakedAgentPorts == 0 && s.DuplicateIPs == 0 && s.DuplicateMACs == 0 && s.StuckTerminating == 0 &&
		s.PodsWithoutNet1 == 0 && s.PingFailures == 0
}

// offend records an offending object under the count key.
func (s *FaultSummary) offend(key, format string, args ...any) {
	if s.Offenders == nil {
		s.Offenders = map[string][]string{}
	}
	s.Offenders[key] = append(s.Offenders[key], fmt.Sprintf(format, args...))
}

// Net1Attachment is the net1 interface of a running pod.
type Net1Attachment struct {
	Pod string
	UID string
	IP  string
	MAC string
}

// FaultCheck names what CheckFaultInvariants looks at: the pods of
// Namespace that select Network, whose net1 address lies in Subnet, and
// whose one container runs Command (argv[0]) for as long as it lives.
type FaultCheck struct {
	VNC       *vncclient.Client
	Namespace string
	Network   string
	Subnet    netip.Prefix
	Command   string
}

// CheckFaultInvariants counts the leaks, duplicates and stuck pods of the
// whole cluster, and the live pods of fc.Namespace that run with net1. It
// returns the summary without PodsCreated and PingFailures, and the net1
// attachments it found. Objects of any pod that still exists, also one
// being deleted, do not count as leaked.
func (c *Cluster) CheckFaultInvariants(ctx context.Context, fc FaultCheck) (*FaultSummary, []Net1Attachment, error) {
	s := &FaultSummary{}
	pods, err := c.Client.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, nil, fmt.Errorf("list pods: %w", err)
	}
	existing := map[string]bool{}
	liveVMIs := map[string]bool{}
	liveTaps := map[string]bool{}
	for _, p := range pods.Items {
		uid := string(p.UID)
		existing[uid] = true
		vmi := attachment.VMIUUID(uid, "net1")
		liveVMIs[vmi] = true
		liveTaps[attachment.TapName(vmi)] = true
		if p.DeletionTimestamp != nil {
			s.StuckTerminating++
			s.offend("stuck_terminating", "%s/%s (uid %s, deletion requested %s)", p.Namespace, p.Name, uid, p.DeletionTimestamp.UTC().Format(time.RFC3339))
		}
	}

	attachments := c.checkNet1(pods.Items, fc, s)
	countDuplicates(attachments, s)
	if err := checkConfigLeaks(ctx, fc.VNC, existing, s); err != nil {
		return nil, nil, err
	}

	taps, err := HostTapLinks()
	if err != nil {
		return nil, nil, err
	}
	for _, tap := range taps {
		if !liveTaps[tap] {
			s.LeakedHostLinks++
			s.offend("leaked_host_links", "%s", tap)
		}
	}

	inv, err := AgentInventory(ctx, c.Env)
	if err != nil {
		return nil, nil, err
	}
	for _, p := range inv.Ports {
		if !liveVMIs[p.VMIUUID] {
			s.LeakedAgentPorts++
			s.offend("leaked_agent_ports", "port %s bound to %q (instance %s)", p.VMIUUID, p.SystemName, p.InstanceID)
		}
	}
	for _, p := range inv.VMPorts {
		if !liveVMIs[p.VMIUUID] {
			s.LeakedAgentPorts++
			s.offend("leaked_agent_ports", "vm port %s of %s bound to %q", p.VMIUUID, p.VMName, p.HostIfname)
		}
	}
	for _, f := range inv.PortFiles {
		if !liveVMIs[PortFileVMI(f)] {
			s.LeakedAgentPorts++
			s.offend("leaked_agent_ports", "port file %s", f)
		}
	}
	return s, attachments, nil
}

// checkNet1 counts the pods of fc.Namespace that are live, and those of
// them that run with net1 as their network-status reports it, and returns
// their attachments.
func (c *Cluster) checkNet1(pods []corev1.Pod, fc FaultCheck, s *FaultSummary) []Net1Attachment {
	var out []Net1Attachment
	for i := range pods {
		p := &pods[i]
		if p.Namespace != fc.Namespace || p.DeletionTimestamp != nil {
			continue
		}
		s.PodsLive++
		att, err := inspectNet1(p, fc)
		if err != nil {
			s.PodsWithoutNet1++
			s.offend("pods_without_net1", "%s/%s: %v", p.Namespace, p.Name, err)
			continue
		}
		s.PodsRunningWithNet1++
		out = append(out, att)
	}
	return out
}

// inspectNet1 checks that pod p runs with a net1 in fc.Subnet whose address
// and MAC match its network-status entry for fc.Network.
func inspectNet1(p *corev1.Pod, fc FaultCheck) (Net1Attachment, error) {
	name := p.Namespace + "/" + p.Name
	if p.Status.Phase != corev1.PodRunning {
		return Net1Attachment{}, fmt.Errorf("phase %s", p.Status.Phase)
	}

	statuses, err := NetworkStatus(p)
	if err != nil {
		return Net1Attachment{}, fmt.Errorf("read network-status: %w", err)
	}
	st, ok := FindStatus(statuses, fc.Network)
	if !ok || st.Interface != "net1" || len(st.IPs) != 1 {
		return Net1Attachment{}, fmt.Errorf("network-status has no net1 entry with one address for %s: %+v", fc.Network, statuses)
	}
	addr, err := netip.ParseAddr(st.IPs[0])
	if err != nil || !fc.Subnet.Contains(addr) {
		return Net1Attachment{}, fmt.Errorf("network-status address %q is not in %s", st.IPs[0], fc.Subnet)
	}

	netns, err := ContainerNetnsPath(string(p.UID), fc.Command)
	if err != nil {
		return Net1Attachment{}, err
	}
	link, err := InspectLink(netns, "net1")
	if err != nil {
		return Net1Attachment{}, err
	}
	if !strings.EqualFold(link.MAC, st.Mac) {
		return Net1Attachment{}, fmt.Errorf("net1 MAC %s differs from network-status MAC %s", link.MAC, st.Mac)
	}
	if len(link.Addresses) != 1 || link.Addresses[0].IP.String() != addr.String() {
		return Net1Attachment{}, fmt.Errorf("net1 addresses %v, want %s", link.Addresses, addr)
	}
	return Net1Attachment{Pod: name, UID: string(p.UID), IP: addr.String(), MAC: strings.ToLower(link.MAC)}, nil
}

// countDuplicates counts the addresses and MACs that more than one
// attachment has.
func countDuplicates(attachments []Net1Attachment, s *FaultSummary) {
	byIP := map[string][]string{}
	byMAC := map[string][]string{}
	for _, a := range attachments {
		byIP[a.IP] = append(byIP[a.IP], a.Pod)
		byMAC[a.MAC] = append(byMAC[a.MAC], a.Pod)
	}
	for ip, pods := range byIP {
		if len(pods) > 1 {
			s.DuplicateIPs += len(pods) - 1
			s.offend("duplicate_ips", "%s on %v", ip, pods)
		}
	}
	for mac, pods := range byMAC {
		if len(pods) > 1 {
			s.DuplicateMACs += len(pods) - 1
			s.offend("duplicate_macs", "%s on %v", mac, pods)
		}
	}
}

// ownedObject is the part of a VM or VMI that names its pod, and of an
// instance-ip that names its VMIs.
type ownedObject struct {
	UUID                        string                   `json:"uuid"`
	FQName                      []string                 `json:"fq_name"`
	Annotations                 *vncclient.KeyValuePairs `json:"annotations"`
	VirtualMachineInterfaceRefs []vncclient.Ref          `json:"virtual_machine_interface_refs"`
}

// checkConfigLeaks counts the VMs, VMIs and instance-ips of contrail-vif
// whose pod is not in existing. An instance-ip belongs to contrail-vif when
// it refers to a VMI of contrail-vif, to a VMI that no longer exists, or to
// no VMI at all. Such an instance-ip leaks unless one of its VMIs belongs to
// an existing pod.
func checkConfigLeaks(ctx context.Context, vnc *vncclient.Client, existing map[string]bool, s *FaultSummary) error {
	vms, err := vncclient.ListDetail[ownedObject](ctx, vnc, vncclient.TypeVirtualMachine, url.Values{"fields": {"annotations"}})
	if err != nil {
		return err
	}
	for _, vm := range vms {
		if owner, _ := vm.Annotations.Get(attachment.KeyOwner); owner == attachment.OwnerValue && !existing[vm.UUID] {
			s.LeakedVM++
			s.offend("leaked_vm", "%s %s", vm.UUID, strings.Join(vm.FQName, ":"))
		}
	}

	vmis, err := vncclient.ListDetail[ownedObject](ctx, vnc, vncclient.TypeVirtualMachineInterface, url.Values{"fields": {"annotations"}})
	if err != nil {
		return err
	}
	// vmiPod maps each VMI uuid to its pod UID, "" for VMIs of others.
	vmiPod := map[string]string{}
	for _, vmi := range vmis {
		owner, _ := vmi.Annotations.Get(attachment.KeyOwner)
		if owner != attachment.OwnerValue {
			vmiPod[vmi.UUID] = ""
			continue
		}
		uid, _ := vmi.Annotations.Get(attachment.KeyPodUID)
		vmiPod[vmi.UUID] = uid
		if !existing[uid] {
			s.LeakedVMI++
			s.offend("leaked_vmi", "%s %s (pod uid %s)", vmi.UUID, strings.Join(vmi.FQName, ":"), uid)
		}
	}

	iips, err := vncclient.ListDetail[ownedObject](ctx, vnc, vncclient.TypeInstanceIP, url.Values{"fields": {"virtual_machine_interface_refs"}})
	if err != nil {
		return err
	}
	for _, iip := range iips {
		ours, live := len(iip.VirtualMachineInterfaceRefs) == 0, false
		for _, ref := range iip.VirtualMachineInterfaceRefs {
			uid, known := vmiPod[ref.UUID]
			if !known || uid != "" {
				ours = true
			}
			if uid != "" && existing[uid] {
				live = true
			}
		}
		if ours && !live {
			s.LeakedInstanceIP++
			s.offend("leaked_instance_ip", "%s %s", iip.UUID, strings.Join(iip.FQName, ":"))
		}
	}
	return nil
}

// PingPeers pings, from each attachment's net1, the next attachment's
// address, or gateway when there is only one, and returns the failures.
// command is the container command that ContainerNetnsPath looks for.
// Every address is inside namespaces of the test cluster.
func PingPeers(ctx context.Context, attachments []Net1Attachment, command, gateway string) []string {
	var failures []string
	for i, a := range attachments {
		peer, target := "gateway", gateway
		if len(attachments) > 1 {
			next := attachments[(i+1)%len(attachments)]
			peer, target = next.Pod, next.IP
		}
		// The namespace is looked up again because the process found
		// during the check may have exited since.
		netns, err := ContainerNetnsPath(a.UID, command)
		if err != nil {
			failures = append(failures, fmt.Sprintf("%s (%s) -> %s (%s): %v", a.Pod, a.IP, peer, target, err))
			continue
		}
		if ok, out := Ping(ctx, netns, target); !ok {
			failures = append(failures, fmt.Sprintf("%s (%s) -> %s (%s): %s", a.Pod, a.IP, peer, target, out))
		}
	}
	return failures
}

// ContainerNetnsPath returns /proc/<pid>/ns/net of a process in the cgroup
// of the pod with UID podUID whose argv[0] is command. PodNetnsPath takes
// any process of the pod, which may be a short-lived child, or the pause
// process of an earlier sandbox that a containerd crash left running in
// the same pod cgroup. The container's main process lives in the current
// sandbox's namespace for as long as the container runs.
func ContainerNetnsPath(podUID, command string) (string, error) {
	marker := "pod" + podUID
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return "", fmt.Errorf("list /proc: %w", err)
	}
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		dir := filepath.Join("/proc", e.Name())
		cmdline, err := os.ReadFile(filepath.Join(dir, "cmdline"))
		if err != nil {
			continue
		}
		argv0, _, _ := strings.Cut(string(cmdline), "\x00")
		if argv0 != command {
			continue
		}
		cg, err := os.ReadFile(filepath.Join(dir, "cgroup"))
		if err != nil || !strings.Contains(string(cg), marker) {
			continue
		}
		return filepath.Join(dir, "ns", "net"), nil
	}
	return "", fmt.Errorf("no process %s of pod %s found", command, podUID)
}

// RecordPingFailures sets PingFailures and its offenders to failures.
func (s *FaultSummary) RecordPingFailures(failures []string) {
	s.PingFailures = len(failures)
	for _, f := range failures {
		s.offend("ping_failures", "%s", f)
	}
}

// EnsureNamespace creates namespace name and its default ServiceAccount
// when they are missing. The local cluster runs no
// kube-controller-manager, which would create that ServiceAccount, and pod
// admission requires it.
func EnsureNamespace(ctx context.Context, c *Cluster, name string) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if _, err := c.Client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create namespace %s: %w", name, err)
	}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: name, Name: "default"}}
	if _, err := c.Client.CoreV1().ServiceAccounts(name).Create(ctx, sa, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create the default ServiceAccount of namespace %s: %w", name, err)
	}
	return nil
}
