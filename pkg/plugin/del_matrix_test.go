package plugin

import (
	"context"
	"errors"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/containernetworking/plugins/pkg/testutils"
	"golang.org/x/sys/unix"

	"github.com/contrail-vif/contrail-vif/pkg/netplumb"
	"github.com/contrail-vif/contrail-vif/pkg/state"
)

// delFixture is one pod attachment (net1 of sandbox "c1") with its agent
// front, host namespace, state directory and log file.
type delFixture struct {
	t       *testing.T
	e       *testEnv
	front   *agentFront
	pod     testPod
	vmi     string
	tap     string
	logFile string
	conf    []byte
	// podNS is the namespace of sandbox c1. goneNS and unmountNS take it
	// away the two ways a sandbox can lose it.
	podNS   ns.NetNS
	nsAlive bool
	// newer is the namespace of sandbox "new" in the late-DEL rows.
	newer ns.NetNS
}

func newDelFixture(t *testing.T) *delFixture {
	t.Helper()
	e := newTestEnv(t)
	f := &delFixture{t: t, e: e, pod: newTestPod("web"), logFile: filepath.Join(t.TempDir(), "contrail-vif.log")}
	f.front = newAgentFront(t, e.agent, nil)
	f.vmi = e.addVMI(f.pod, "net1", "10.77.0.3")
	f.tap = f.pod.tap("net1")
	f.conf = e.config("1.1.0", map[string]any{"agentURL": f.front.URL(), "logFile": f.logFile})

	podNS, err := testutils.NewNS()
	if err != nil {
		t.Fatalf("create netns: %v", err)
	}
	f.podNS, f.nsAlive = podNS, true
	t.Cleanup(func() {
		// Either call fails harmlessly when the row already did it.
		_ = podNS.Close()
		_ = testutils.UnmountNS(podNS)
	})
	t.Cleanup(func() {
		if t.Failed() {
			data, _ := os.ReadFile(f.logFile)
			t.Logf("log file:\n%s", data)
		}
	})
	return f
}

// args returns the CNI arguments of sandbox containerID in netns.
func (f *delFixture) args(netns ns.NetNS, containerID string) *skel.CmdArgs {
	return f.e.args(f.pod, netns, containerID, "net1", f.conf)
}

// addC1 runs ADD for sandbox c1 and returns its arguments.
func (f *delFixture) addC1() *skel.CmdArgs {
	args := f.args(f.podNS, "c1")
	f.e.add(args)
	return args
}

// goneNS closes and unmounts sandbox c1's namespace, so the kernel destroys
// it and the veth pair with it.
func (f *delFixture) goneNS() {
	f.t.Helper()
	_ = f.podNS.Close()
	if err := testutils.UnmountNS(f.podNS); err != nil {
		f.t.Fatal(err)
	}
	f.nsAlive = false
	f.waitTapGone()
}

// unmountNS removes the path of sandbox c1's namespace but keeps the
// namespace alive through the open handle, as a process left in it would.
func (f *delFixture) unmountNS() {
	f.t.Helper()
	// A lazy unmount, because the open handle keeps the mount busy.
	if err := unix.Unmount(f.podNS.Path(), unix.MNT_DETACH); err != nil {
		f.t.Fatalf("unmount %s: %v", f.podNS.Path(), err)
	}
	if err := os.Remove(f.podNS.Path()); err != nil {
		f.t.Fatal(err)
	}
	f.nsAlive = false
}

// waitTapGone waits up to 5 s for the kernel to delete the tap after its
// peer's namespace is destroyed, which it does asynchronously.
func (f *delFixture) waitTapGone() {
	f.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for link(f.t, f.e.hostNS, f.tap) != nil {
		if time.Now().After(deadline) {
			f.t.Fatalf("tap %s still exists 5 s after its peer's namespace was destroyed", f.tap)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (f *delFixture) removeState(rel string) {
	f.t.Helper()
	if err := os.RemoveAll(filepath.Join(f.e.stateDir, rel)); err != nil {
		f.t.Fatal(err)
	}
}

func (f *delFixture) writeState(rel, content string) {
	f.t.Helper()
	if err := os.WriteFile(filepath.Join(f.e.stateDir, rel), []byte(content), 0o600); err != nil {
		f.t.Fatal(err)
	}
}

// delWant is what must remain after the DELs of a row.
type delWant struct {
	// tap: the VMI's tap exists in the host namespace.
	tap bool
	// podLink: net1 exists in sandbox c1's namespace, checked while it lives.
	podLink bool
	// bound: the agent still binds the VMI to the tap.
	bound bool
	// deletes is the number of DELETE /port calls that reached the agent.
	deletes int
	// record: the state record of the DELed attachment exists.
	record bool
	// owner is the container id in the VMI's owner record, "" for none.
	owner string
	// lock: the VMI's lock file exists.
	lock bool
	// logs must each appear in the log file.
	logs []string
}

// TestDelMatrix runs DEL in every state that an attachment can be in when
// the runtime sends it. Every DEL must succeed, free what it can reach, and
// log what it cannot free. The rows:
//
//	after ADD                      everything is removed
//	twice                          the second DEL finds nothing and succeeds
//	without ADD                    unbinds the VMI derived from K8S_POD_UID
//	without ADD or CNI_ARGS        cannot name a VMI; logs that it leaves the binding
//	netns gone                     deletes the tap from the record
//	no CNI_NETNS                   CNI_NETNS is optional for DEL
//	links gone                     the veth pair was deleted behind the plugin's back
//	agent down / hangs / error     removes links and records; logs the binding it leaves
//	state record gone              unplugs the derived VMI through the pod interface
//	state directory gone           the same without the owner record
//	state record unreadable        falls back to the derived VMI
//	owner record unreadable        unplugs and removes the unreadable record
//	netns unmounted, state gone    cannot reach the pod end; logs the tap it leaves
//	netns, state and agent gone    removes what is left and logs the binding
//	late DEL of older sandbox      leaves the newer sandbox's tap and binding alone
//	late DEL without state         the same when the older sandbox recorded nothing
func TestDelMatrix(t *testing.T) {
	cases := []struct {
		name string
		// prepare brings the attachment into the row's state and returns
		// the arguments of the DEL.
		prepare func(f *delFixture) *skel.CmdArgs
		// dels is how many times DEL runs; 0 means once.
		dels int
		want delWant
		// extra checks what the row's own state needs.
		extra func(t *testing.T, f *delFixture)
	}{
		{
			name:    "after ADD",
			prepare: func(f *delFixture) *skel.CmdArgs { return f.addC1() },
			want:    delWant{deletes: 1, logs: []string{"msg=detached"}},
		},
		{
			name:    "twice",
			prepare: func(f *delFixture) *skel.CmdArgs { return f.addC1() },
			dels:    2,
			want:    delWant{deletes: 2, logs: []string{"msg=detached", "no state record"}},
		},
		{
			name:    "without ADD",
			prepare: func(f *delFixture) *skel.CmdArgs { return f.args(f.podNS, "c1") },
			want:    delWant{deletes: 1, logs: []string{"no state record"}},
		},
		{
			name: "without ADD or CNI_ARGS",
			prepare: func(f *delFixture) *skel.CmdArgs {
				args := f.args(f.podNS, "c1")
				args.Args = ""
				return args
			},
			want: delWant{logs: []string{"no K8S_POD_UID", "leaving the VMI's port binding"}},
		},
		{
			name: "netns gone",
			prepare: func(f *delFixture) *skel.CmdArgs {
				args := f.addC1()
				f.goneNS()
				return args
			},
			want: delWant{deletes: 1, logs: []string{"msg=detached"}},
		},
		{
			name: "no CNI_NETNS",
			prepare: func(f *delFixture) *skel.CmdArgs {
				args := f.addC1()
				args.Netns = ""
				return args
			},
			want: delWant{deletes: 1, logs: []string{"msg=detached"}},
		},
		{
			name: "links gone",
			prepare: func(f *delFixture) *skel.CmdArgs {
				args := f.addC1()
				if _, err := netplumb.DeleteLink(f.e.hostNS, f.tap); err != nil {
					f.t.Fatal(err)
				}
				return args
			},
			want: delWant{deletes: 1, logs: []string{"msg=detached"}},
		},
		{
			name: "agent down",
			prepare: func(f *delFixture) *skel.CmdArgs {
				args := f.addC1()
				f.front.server.Close()
				return args
			},
			want: delWant{bound: true, logs: []string{"cannot unbind port", "unreachable", "msg=detached"}},
		},
		{
			name: "agent hangs",
			prepare: func(f *delFixture) *skel.CmdArgs {
				args := f.addC1()
				f.front.hangOn(http.MethodDelete, "/port/")
				return args
			},
			want: delWant{bound: true, logs: []string{"cannot unbind port", "Client.Timeout", "msg=detached"}},
		},
		{
			name: "agent error reply",
			prepare: func(f *delFixture) *skel.CmdArgs {
				args := f.addC1()
				f.front.replyOn(http.MethodDelete, "/port/", http.StatusInternalServerError, `{"error":"{ port table locked }"}`)
				return args
			},
			want: delWant{bound: true, logs: []string{"cannot unbind port", "status 500", "port table locked"}},
		},
		{
			name: "state record gone",
			prepare: func(f *delFixture) *skel.CmdArgs {
				args := f.addC1()
				f.removeState("attachments")
				return args
			},
			want: delWant{deletes: 1, logs: []string{"no state record", "msg=detached"}},
		},
		{
			name: "state directory gone",
			prepare: func(f *delFixture) *skel.CmdArgs {
				args := f.addC1()
				f.removeState("")
				return args
			},
			want: delWant{deletes: 1, logs: []string{"no state record", "msg=detached"}},
		},
		{
			name: "state record unreadable",
			prepare: func(f *delFixture) *skel.CmdArgs {
				args := f.addC1()
				f.writeState("attachments/c1:net1.json", `{"containerID":`)
				return args
			},
			want: delWant{deletes: 1, logs: []string{"cannot read state record", "msg=detached"}},
		},
		{
			name: "owner record unreadable",
			prepare: func(f *delFixture) *skel.CmdArgs {
				args := f.addC1()
				f.writeState("owners/"+f.vmi+".json", "\x00")
				return args
			},
			want: delWant{deletes: 1, logs: []string{"cannot read VMI owner record", "msg=detached"}},
		},
		{
			name: "netns unmounted, state gone",
			prepare: func(f *delFixture) *skel.CmdArgs {
				args := f.addC1()
				f.removeState("")
				f.unmountNS()
				return args
			},
			want: delWant{tap: true, deletes: 1, logs: []string{"host interface of the VMI still exists"}},
			extra: func(t *testing.T, f *delFixture) {
				if data, _ := os.ReadFile(f.logFile); !strings.Contains(string(data), "tap="+f.tap) {
					t.Errorf("log file does not name the tap %s that DEL leaves", f.tap)
				}
			},
		},
		{
			name: "netns, state and agent gone",
			prepare: func(f *delFixture) *skel.CmdArgs {
				args := f.addC1()
				f.removeState("")
				f.goneNS()
				f.front.server.Close()
				return args
			},
			want: delWant{bound: true, logs: []string{"no state record", "cannot unbind port"}},
		},
		{
			name: "late DEL of older sandbox",
			prepare: func(f *delFixture) *skel.CmdArgs {
				oldArgs := f.addC1()
				// The runtime recreates the sandbox before the old one's DEL runs.
				f.e.add(f.args(f.newerNS(), "new"))
				return oldArgs
			},
			want: delWant{tap: true, bound: true, owner: "new", lock: true,
				logs: []string{"a newer attachment owns the VMI"}},
			extra: func(t *testing.T, f *delFixture) {
				checkNewerSandbox(t, f)
				f.e.del(f.args(f.newer, "new"))
				if link(t, f.e.hostNS, f.tap) != nil {
					t.Error("DEL of the newer sandbox left its tap")
				}
				if n := f.e.agent.deleteCount(f.vmi); n != 1 {
					t.Errorf("DELETE /port calls after DEL of the newer sandbox = %d, want 1", n)
				}
			},
		},
		{
			name: "late DEL without state",
			prepare: func(f *delFixture) *skel.CmdArgs {
				f.e.add(f.args(f.newerNS(), "new"))
				// The older sandbox's ADD never recorded anything.
				return f.args(f.podNS, "c1")
			},
			want: delWant{tap: true, bound: true, owner: "new", lock: true,
				logs: []string{"no state record", "a newer attachment owns the VMI"}},
			extra: checkNewerSandbox,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newDelFixture(t)
			args := tc.prepare(f)

			for range max(tc.dels, 1) {
				start := time.Now()
				if err := f.e.plugin.Del(context.Background(), args); err != nil {
					t.Fatalf("Del: %v", err)
				}
				// Each agent request is bounded by AgentRequestTimeout (1 s here).
				if elapsed := time.Since(start); elapsed > 3*time.Second {
					t.Errorf("Del took %v", elapsed)
				}
			}

			f.check(tc.want)
			if tc.extra != nil {
				tc.extra(t, f)
			}
		})
	}
}

// newerNS creates the namespace of sandbox "new" and remembers it for
// checkNewerSandbox.
func (f *delFixture) newerNS() ns.NetNS {
	netns := newNS(f.t)
	f.newer = netns
	return netns
}

// checkNewerSandbox checks that sandbox "new" kept its interface and record.
func checkNewerSandbox(t *testing.T, f *delFixture) {
	t.Helper()
	if link(t, f.newer, "net1") == nil {
		t.Error("net1 of the newer sandbox is gone")
	}
	if _, err := state.New(f.e.stateDir).Load("new", "net1"); err != nil {
		t.Errorf("state record of the newer sandbox: %v", err)
	}
}

func (f *delFixture) check(want delWant) {
	t := f.t
	t.Helper()
	if got := link(t, f.e.hostNS, f.tap) != nil; got != want.tap {
		t.Errorf("tap %s exists = %v, want %v", f.tap, got, want.tap)
	}
	if f.nsAlive {
		if got := link(t, f.podNS, "net1") != nil; got != want.podLink {
			t.Errorf("net1 in sandbox c1 exists = %v, want %v", got, want.podLink)
		}
	}
	if got := f.e.agent.boundTo(f.vmi) == f.tap; got != want.bound {
		t.Errorf("agent binds the VMI to %s = %v, want %v", f.tap, got, want.bound)
	}
	if got := f.e.agent.deleteCount(f.vmi); got != want.deletes {
		t.Errorf("DELETE /port calls = %d, want %d", got, want.deletes)
	}

	store := state.New(f.e.stateDir)
	_, err := store.Load("c1", "net1")
	if got := !errors.Is(err, fs.ErrNotExist); got != want.record {
		t.Errorf("state record of c1 exists = %v (%v), want %v", got, err, want.record)
	}
	owner, err := store.Owner(f.vmi)
	switch {
	case want.owner == "" && !errors.Is(err, fs.ErrNotExist):
		t.Errorf("owner record = %+v, %v, want none", owner, err)
	case want.owner != "" && (err != nil || !owner.Is(want.owner, "net1")):
		t.Errorf("owner record = %+v, %v, want %s/net1", owner, err, want.owner)
	}
	_, err = os.Stat(filepath.Join(f.e.stateDir, "owners", f.vmi+".lock"))
	if got := err == nil; got != want.lock {
		t.Errorf("lock file exists = %v (%v), want %v", got, err, want.lock)
	}

	data, err := os.ReadFile(f.logFile)
	if err != nil {
		t.Fatalf("read log file: %v", err)
	}
	logText := string(data)
	for _, s := range want.logs {
		if !strings.Contains(logText, s) {
			t.Errorf("log file lacks %q", s)
		}
	}
	if strings.Contains(logText, "level=ERROR") {
		t.Error("log file has an ERROR line although every DEL succeeded")
	}
}

// TestDelIgnoresBadRequests checks that MAC and address requests, which
// only ADD reads, cannot make DEL fail: the runtime repeats a failed DEL and
// the pod stays in Terminating meanwhile.
func TestDelIgnoresBadRequests(t *testing.T) {
	f := newDelFixture(t)
	args := f.addC1()
	args.StdinData = f.e.config("1.1.0", map[string]any{
		"agentURL": f.front.URL(), "logFile": f.logFile,
		"runtimeConfig": map[string]any{"mac": 5, "ips": "10.77.0.300"},
	})
	args.Args += ";MAC=zz:zz;IP=10.77.0.300"

	f.e.del(args)

	f.check(delWant{deletes: 1, logs: []string{"msg=detached"}})
}
