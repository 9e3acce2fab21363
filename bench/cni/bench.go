package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	current "github.com/containernetworking/cni/pkg/types/100"
	"github.com/containernetworking/plugins/pkg/ip"
	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/containernetworking/plugins/pkg/testutils"

	"github.com/contrail-vif/contrail-vif/bench/internal/cniexec"
	"github.com/contrail-vif/contrail-vif/bench/internal/simfixture"
	"github.com/contrail-vif/contrail-vif/bench/internal/stats"
)

// podIfname is CNI_IFNAME in every round, the name Multus gives the first
// secondary interface.
const podIfname = "net1"

// Series names of the samples.
const (
	bridgeAdd    = "bridge_add"
	bridgeDel    = "bridge_del"
	vifAdd       = "contrail_vif_add"
	vifDel       = "contrail_vif_del"
	floorExec    = "floor_exec"
	floorNetlink = "floor_netlink"
	floorTotal   = "floor"
	classicSteps = "floor_classic_netlink"
	classicTotal = "floor_classic"
	bridgeAddRSS = "bridge_add_rss"
	vifAddRSS    = "contrail_vif_add_rss"
	trivialRSS   = "floor_exec_rss"
	caseCount    = 3
)

// bench is one run: the simulator, the plugin configs and the samples.
type bench struct {
	cfg        config
	fix        *simfixture.Fixture
	hostNS     ns.NetNS
	tmp        string
	bridgeName string
	bridgeConf []byte
	vifConf    []byte

	samples map[string][]float64
	raw     stats.Table
}

func newBench(cfg config, logger *slog.Logger) (*bench, error) {
	hostNS, err := ns.GetCurrentNS()
	if err != nil {
		return nil, fmt.Errorf("open host network namespace: %w", err)
	}
	tmp, err := os.MkdirTemp("", "cvifbench-cni-")
	if err != nil {
		return nil, errors.Join(err, hostNS.Close())
	}
	fix, err := simfixture.Start(simfixture.Options{DataPlane: cfg.dataPlane, Logger: logger})
	if err != nil {
		return nil, errors.Join(err, hostNS.Close(), os.RemoveAll(tmp))
	}
	suffix := make([]byte, 3)
	_, _ = rand.Read(suffix)
	b := &bench{
		cfg:        cfg,
		fix:        fix,
		hostNS:     hostNS,
		tmp:        tmp,
		bridgeName: "cvifbench" + hex.EncodeToString(suffix),
		samples:    map[string][]float64{},
		raw:        stats.Table{Header: []string{"round", "series", "value", "unit"}},
	}
	b.bridgeConf = []byte(fmt.Sprintf(
		`{"cniVersion":"1.0.0","name":"cvifbench-bridge","type":"bridge","bridge":%q,"ipam":{"type":"host-local","subnet":"10.78.0.0/16","dataDir":%q}}`,
		b.bridgeName, filepath.Join(tmp, "ipam")))
	b.vifConf = fix.NetConf("cvifbench-vif", filepath.Join(tmp, "state"))
	return b, nil
}

// pass is the kind of round: warm-up rounds are not recorded, timing
// rounds record latencies, and RSS rounds run every ADD through rsswrap and
// record its peak RSS only, because the wrapper adds an exec to the latency.
type pass int

const (
	warmupPass pass = iota
	timingPass
	rssPass
)

// runRounds runs the warm-up, timing and RSS rounds. Round i runs the
// three cases in the i-th of their six orders, so that no case always runs
// first or after the same neighbour.
func (b *bench) runRounds(ctx context.Context) error {
	cases := []func(context.Context, pass, int) error{b.bridgeRound, b.vifRound, b.floorRound}
	orders := [][caseCount]int{{0, 1, 2}, {1, 2, 0}, {2, 0, 1}, {0, 2, 1}, {2, 1, 0}, {1, 0, 2}}
	total := b.cfg.warmup + b.cfg.rounds + b.cfg.rssRounds
	for i := range total {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("stopped after %d rounds: %w", i, err)
		}
		p := timingPass
		switch {
		case i < b.cfg.warmup:
			p = warmupPass
		case i >= b.cfg.warmup+b.cfg.rounds:
			p = rssPass
		}
		for _, c := range orders[i%len(orders)] {
			if err := cases[c](ctx, p, i); err != nil {
				return fmt.Errorf("round %d: %w", i, err)
			}
		}
		if (i+1)%50 == 0 {
			fmt.Fprintf(os.Stderr, "bench/cni: %d of %d rounds\n", i+1, total)
		}
	}
	return nil
}

// add records a sample of series taken in a round of pass p. Only timing
// rounds record latencies and only RSS rounds record memory.
func (b *bench) add(p pass, round int, series string, value float64, unit string) {
	if p == warmupPass || (p == rssPass) != (unit == "MiB") {
		return
	}
	b.samples[series] = append(b.samples[series], value)
	b.raw.Add(round, series, value, unit)
}

func millis(d time.Duration) float64 {
	return float64(d.Nanoseconds()) / 1e6
}

// withNetns runs f with a new network namespace and removes the namespace
// afterwards.
func withNetns(f func(ns.NetNS) error) error {
	netns, err := testutils.NewNS()
	if err != nil {
		return fmt.Errorf("create network namespace: %w", err)
	}
	err = f(netns)
	closeErr := netns.Close()
	unmountErr := testutils.UnmountNS(netns)
	return errors.Join(err, closeErr, unmountErr)
}

// series names the samples of one plugin.
type series struct {
	add, del, rss string
}

// pluginRound runs ADD and DEL of call in a new namespace and records them
// under s.
func (b *bench) pluginRound(ctx context.Context, p pass, round int, call cniexec.Call, s series) error {
	return withNetns(func(netns ns.NetNS) error {
		call.Netns = netns.Path()
		rssFile := ""
		if p == rssPass {
			rssFile = filepath.Join(b.tmp, "rss")
		}
		add, del, err := b.addDel(ctx, call, netns, rssFile)
		if err != nil {
			return err
		}
		b.add(p, round, s.add, millis(add.Duration), "ms")
		b.add(p, round, s.del, millis(del.Duration), "ms")
		if rssFile != "" {
			mib, err := readRSS(rssFile)
			if err != nil {
				return err
			}
			b.add(p, round, s.rss, mib, "MiB")
		}
		return nil
	})
}

// bridgeRound runs the reference plugin's ADD and DEL.
func (b *bench) bridgeRound(ctx context.Context, p pass, round int) error {
	call := cniexec.Call{
		Plugin:      filepath.Join(b.cfg.refDir, "bridge"),
		ContainerID: fmt.Sprintf("cvifbench-bridge-%d", round),
		IfName:      podIfname,
		Path:        b.cfg.refDir,
		Stdin:       b.bridgeConf,
	}
	if err := b.pluginRound(ctx, p, round, call, series{bridgeAdd, bridgeDel, bridgeAddRSS}); err != nil {
		return fmt.Errorf("bridge: %w", err)
	}
	return nil
}

// vifRound creates the round's attachment in the simulator, so its VMI is
// known to the agent, then runs contrail-vif ADD and DEL.
func (b *bench) vifRound(ctx context.Context, p pass, round int) error {
	att := simfixture.NewAttachment(fmt.Sprintf("pod-%d", round), podIfname)
	if err := b.fix.CreateConfig(ctx, att); err != nil {
		return fmt.Errorf("create config of %s: %w", att.PodName, err)
	}
	if err := b.fix.Link(ctx, att); err != nil {
		return fmt.Errorf("link %s to the node: %w", att.PodName, err)
	}
	call := cniexec.Call{
		Plugin:      b.cfg.contrailVIF,
		ContainerID: fmt.Sprintf("cvifbench-vif-%d", round),
		IfName:      podIfname,
		Args:        att.CNIArgs(),
		Path:        filepath.Dir(b.cfg.contrailVIF),
		Stdin:       b.vifConf,
	}
	err := b.pluginRound(ctx, p, round, call, series{vifAdd, vifDel, vifAddRSS})
	if err != nil {
		err = fmt.Errorf("contrail-vif: %w", err)
	}
	return errors.Join(err, b.fix.DeleteConfig(ctx, att))
}

// addDel runs ADD, checks that the result has an address and that the pod
// interface exists, and runs DEL with the ADD result as prevResult. With
// rssFile set, ADD runs through rsswrap, which writes its peak RSS there.
func (b *bench) addDel(ctx context.Context, call cniexec.Call, netns ns.NetNS, rssFile string) (cniexec.Outcome, cniexec.Outcome, error) {
	conf := call.Stdin
	call.Command = "ADD"
	if rssFile != "" {
		call.Wrap = []string{b.cfg.rsswrap, rssFile}
	}
	add, err := cniexec.Run(ctx, call)
	if err != nil {
		return add, cniexec.Outcome{}, err
	}
	if err := checkResult(add.Stdout, netns, call.IfName); err != nil {
		return add, cniexec.Outcome{}, err
	}

	call.Command = "DEL"
	call.Wrap = nil
	call.Stdin, err = cniexec.WithPrevResult(conf, add.Stdout)
	if err != nil {
		return add, cniexec.Outcome{}, err
	}
	del, err := cniexec.Run(ctx, call)
	if err != nil {
		return add, del, err
	}
	if err := checkGone(netns, call.IfName); err != nil {
		return add, del, err
	}
	return add, del, nil
}

// readRSS returns the peak RSS in MiB that rsswrap wrote to path.
func readRSS(path string) (float64, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("read rsswrap report: %w", err)
	}
	kib, err := strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("rsswrap report %q: %w", data, err)
	}
	return float64(kib) / 1024, nil
}

// checkResult fails unless stdout is a CNI 1.0 result with an address and
// ifname exists in netns.
func checkResult(stdout []byte, netns ns.NetNS, ifname string) error {
	var result current.Result
	if err := json.Unmarshal(stdout, &result); err != nil {
		return fmt.Errorf("decode ADD result %q: %w", stdout, err)
	}
	if len(result.IPs) == 0 {
		return fmt.Errorf("ADD result has no address: %s", stdout)
	}
	return netns.Do(func(ns.NetNS) error {
		if _, err := netlinksafe.LinkByName(ifname); err != nil {
			return fmt.Errorf("after ADD, look up %s in %s: %w", ifname, netns.Path(), err)
		}
		return nil
	})
}

// checkGone fails when ifname still exists in netns after DEL.
func checkGone(netns ns.NetNS, ifname string) error {
	return netns.Do(func(ns.NetNS) error {
		if _, err := netlinksafe.LinkByName(ifname); err == nil {
			return fmt.Errorf("after DEL, %s still exists in %s", ifname, netns.Path())
		}
		return nil
	})
}

// floorRound times the exec of the trivial binary and both netlink
// sequences, each sequence in a namespace of its own. In RSS rounds it only
// runs the trivial binary through rsswrap, which shows the smallest figure
// rsswrap can report.
func (b *bench) floorRound(ctx context.Context, p pass, round int) error {
	call := cniexec.Call{
		Plugin: b.cfg.trivial, Command: "ADD", ContainerID: fmt.Sprintf("cvifbench-floor-%d", round),
		IfName: podIfname, Path: filepath.Dir(b.cfg.trivial), Stdin: b.vifConf,
	}
	if p == rssPass {
		rssFile := filepath.Join(b.tmp, "rss")
		call.Wrap = []string{b.cfg.rsswrap, rssFile}
		if _, err := cniexec.Run(ctx, call); err != nil {
			return fmt.Errorf("floor exec: %w", err)
		}
		mib, err := readRSS(rssFile)
		if err != nil {
			return err
		}
		b.add(p, round, trivialRSS, mib, "MiB")
		return nil
	}

	exec, err := cniexec.Run(ctx, call)
	if err != nil {
		return fmt.Errorf("floor exec: %w", err)
	}
	steps := []struct {
		series, total string
		run           func(hostNS, podNS ns.NetNS, ifname string) (time.Duration, string, error)
	}{
		{floorNetlink, floorTotal, floorSteps},
		{classicSteps, classicTotal, floorClassic},
	}
	for _, s := range steps {
		err := withNetns(func(netns ns.NetNS) error {
			d, hostName, err := s.run(b.hostNS, netns, podIfname)
			err = errors.Join(err, deleteHostLink(b.hostNS, hostName))
			if err != nil {
				return fmt.Errorf("floor %s: %w", s.series, err)
			}
			b.add(p, round, s.series, millis(d), "ms")
			b.add(p, round, s.total, millis(d+exec.Duration), "ms")
			return nil
		})
		if err != nil {
			return err
		}
	}
	b.add(p, round, floorExec, millis(exec.Duration), "ms")
	return nil
}

// close stops the simulator and removes the reference bridge and the
// temporary directory.
func (b *bench) close() error {
	errs := []error{b.fix.Close()}
	errs = append(errs, b.hostNS.Do(func(ns.NetNS) error {
		if err := ip.DelLinkByName(b.bridgeName); err != nil && !errors.Is(err, ip.ErrLinkNotFound) {
			return fmt.Errorf("delete bridge %s: %w", b.bridgeName, err)
		}
		return nil
	}))
	errs = append(errs, os.RemoveAll(b.tmp), b.hostNS.Close())
	return errors.Join(errs...)
}
