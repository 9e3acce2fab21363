// Command sim measures how fast contrail-sim serves on loopback, so that a
// benchmark of contrail-vif can tell whether the simulator limits it:
//
//   - config API creates per second: the virtual-machines, VMIs and
//     instance-ips of many pods, created through real HTTP by concurrent
//     clients, one object type after the other;
//   - vRouter agent binds per second: POST /port for VMIs already in config.
//     A run with the data plane off measures the API alone. A second run
//     with the kernel data plane on binds veths in a network namespace that
//     it creates and deletes (root only).
//
// It writes the figures to <out>/sim.json and a summary to stdout. Clients
// and simulator run in one process and share the machine's CPUs.
//
//	go run ./bench/sim -out bench/results
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/pprof"
	"sync"
	"syscall"
	"time"

	"github.com/contrail-vif/contrail-vif/bench/internal/stats"
	"github.com/contrail-vif/contrail-vif/pkg/sim/cli"
)

// goalCreatesPerSecond is the config API create rate below which the
// simulator could limit a controller benchmark.
const goalCreatesPerSecond = 2000

// maxDataPlaneBinds bounds the veth pairs of the data plane run. All of
// them join one VN bridge, which also holds the VN's gateway veth, and a
// Linux bridge numbers its ports 1 to 1023 and rejects more with EXFULL.
const maxDataPlaneBinds = 1000

type options struct {
	pods           int
	clients        int
	binds          int
	dataPlaneBinds int
	out            string
	timeout        time.Duration
	cpuProfile     string
}

// results is the content of sim.json.
type results struct {
	ConfigAPICreatesPerS     float64 `json:"config_api_creates_per_s"`
	ConfigAPICreateSamples   int     `json:"config_api_create_samples"`
	ConfigAPICreateDurationS float64 `json:"config_api_create_duration_s"`
	// ConfigAPICreatesByType has one phase per object type, in creation order.
	ConfigAPICreatesByType map[string]phaseResult `json:"config_api_creates_by_type"`
	ConfigAPIRefUpdates    phaseResult            `json:"config_api_ref_updates"`

	AgentBindsPerSAPIOnly float64     `json:"agent_binds_per_s_api_only"`
	AgentBindsAPIOnly     phaseResult `json:"agent_binds_api_only"`
	// AgentBindsPerSWithDataPlane is null when the data plane run was
	// skipped, for the reason in DataPlaneSkipped.
	AgentBindsPerSWithDataPlane *float64     `json:"agent_binds_per_s_with_dataplane"`
	AgentBindsWithDataPlane     *phaseResult `json:"agent_binds_with_dataplane,omitempty"`
	DataPlaneSkipped            string       `json:"dataplane_skipped,omitempty"`

	// Method describes how the figures were taken.
	Method                   string        `json:"method"`
	Clients                  int           `json:"clients"`
	GoalConfigAPICreatesPerS float64       `json:"goal_config_api_creates_per_s"`
	Machine                  stats.Machine `json:"machine"`
}

func main() {
	var opts options
	flag.IntVar(&opts.pods, "pods", 5000, fmt.Sprintf("`number` of pods whose virtual-machine, VMI and instance-ip the config API run creates (at most %d)", maxPods))
	flag.IntVar(&opts.clients, "clients", 8, "`number` of concurrent HTTP clients")
	flag.IntVar(&opts.binds, "binds", 5000, "`number` of POST /port binds with the data plane off (at most -pods)")
	flag.IntVar(&opts.dataPlaneBinds, "dataplane-binds", 500, fmt.Sprintf("`number` of POST /port binds with the data plane on, each of a new veth pair (at most %d); 0 skips that run", maxDataPlaneBinds))
	flag.StringVar(&opts.out, "out", "bench/results", "`directory` that receives sim.json")
	flag.DurationVar(&opts.timeout, "timeout", 10*time.Minute, "`duration` after which the run stops and cleans up")
	flag.StringVar(&opts.cpuProfile, "cpuprofile", "", "write a CPU profile of the config API phases (creates and ref-updates) to `file`")
	flag.Parse()

	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := opts.validate(); err != nil {
		logger.Error("invalid options", "error", err)
		os.Exit(2)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, opts.timeout)
	defer cancel()

	res, err := run(ctx, opts, logger)
	if err != nil {
		logger.Error("simulator benchmark failed", "error", err)
		os.Exit(1)
	}
	if err := stats.WriteJSON(opts.out, "sim.json", res); err != nil {
		logger.Error("failed to write results", "dir", opts.out, "error", err)
		os.Exit(1)
	}
	printSummary(os.Stdout, res, opts)
}

func (o options) validate() error {
	switch {
	case o.pods < 1 || o.pods > maxPods:
		return fmt.Errorf("invalid -pods %d: want 1 to %d", o.pods, maxPods)
	case o.clients < 1:
		return fmt.Errorf("invalid -clients %d: want at least 1", o.clients)
	case o.binds < 1 || o.binds > o.pods:
		return fmt.Errorf("invalid -binds %d: want 1 to -pods (%d)", o.binds, o.pods)
	case o.dataPlaneBinds < 0 || o.dataPlaneBinds > maxDataPlaneBinds:
		return fmt.Errorf("invalid -dataplane-binds %d: want 0 to %d", o.dataPlaneBinds, maxDataPlaneBinds)
	case o.timeout <= 0:
		return fmt.Errorf("invalid -timeout %s: want a positive duration", o.timeout)
	}
	return nil
}

// run measures config API creates and API-only binds on one simulator
// without a data plane, then binds with the data plane on another.
func run(ctx context.Context, opts options, logger *slog.Logger) (results, error) {
	res := results{
		Method: "in one process, on loopback: contrail-sim's config API and agent (pkg/sim/cli.Start) and " +
			"concurrent HTTP clients with request bodies built in advance; config objects created one type " +
			"after the other; binds are POST /port of namespace ports for VMIs already in config",
		Clients:                  opts.clients,
		GoalConfigAPICreatesPerS: goalCreatesPerSecond,
	}
	// The simulator logs only what goes wrong: a log line per request would
	// measure the logger.
	simLogger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})).With("component", "contrail-sim")

	if err := measureAPI(ctx, opts, logger, simLogger, &res); err != nil {
		return res, err
	}

	switch {
	case opts.dataPlaneBinds == 0:
		res.DataPlaneSkipped = "-dataplane-binds 0"
	case os.Geteuid() != 0:
		res.DataPlaneSkipped = "not root: the data plane run creates a network namespace, veths and bridges"
	default:
		logger.Info("measuring binds with the data plane on", "ports", opts.dataPlaneBinds)
		phase, err := measureDataPlaneBinds(ctx, logger, simLogger, opts.dataPlaneBinds, opts.clients)
		if err != nil {
			return res, err
		}
		res.AgentBindsWithDataPlane = &phase
		res.AgentBindsPerSWithDataPlane = &phase.PerS
	}
	if res.DataPlaneSkipped != "" {
		logger.Warn("skipped binds with the data plane on", "reason", res.DataPlaneSkipped)
	}
	// The load average shows other work that may have slowed the run.
	res.Machine = stats.DescribeMachine()
	return res, nil
}

// measureAPI measures config API creates, ref-updates and POST /port with
// the data plane off, on one simulator.
func measureAPI(ctx context.Context, opts options, logger, simLogger *slog.Logger, res *results) (err error) {
	sim, err := cli.Start(cli.ServeOptions{
		ConfigAPIListen: "127.0.0.1:0",
		AgentListen:     "127.0.0.1:0",
		NodeName:        benchNode,
		NoDataPlane:     true,
	}, simLogger)
	if err != nil {
		return fmt.Errorf("start contrail-sim: %w", err)
	}
	defer func() {
		if closeErr := sim.Close(); closeErr != nil {
			err = errors.Join(err, fmt.Errorf("stop contrail-sim: %w", closeErr))
		}
	}()
	client := newHTTPClient(opts.clients)
	defer client.CloseIdleConnections()

	configURL := sim.ConfigAPIURL()
	setup, err := createSetup(ctx, client, configURL, benchNode)
	if err != nil {
		return err
	}
	pods := newPods(opts.pods, hostIfnamePrefix)
	creates, err := createRequests(configURL, pods)
	if err != nil {
		return err
	}

	stopProfile, err := startCPUProfile(opts.cpuProfile)
	if err != nil {
		return err
	}
	defer stopProfile()
	res.ConfigAPICreatesByType = map[string]phaseResult{}
	var seconds float64
	for _, typ := range createOrder {
		logger.Info("measuring config API creates", "type", typ, "count", len(creates[typ]), "clients", opts.clients)
		phase, err := runPhase(ctx, client, opts.clients, creates[typ])
		if err != nil {
			return fmt.Errorf("create %ss: %w", typ, err)
		}
		res.ConfigAPICreatesByType[typ] = phase
		res.ConfigAPICreateSamples += phase.Count
		seconds += phase.DurationS
	}
	res.ConfigAPICreateDurationS = stats.Round(seconds, 3)
	res.ConfigAPICreatesPerS = stats.Round(float64(res.ConfigAPICreateSamples)/seconds, 1)

	links, err := linkRequests(configURL, setup.routerUUID, pods)
	if err != nil {
		return err
	}
	logger.Info("measuring config API ref-updates", "count", len(links))
	if res.ConfigAPIRefUpdates, err = runPhase(ctx, client, opts.clients, links); err != nil {
		return fmt.Errorf("link VMs to node %s: %w", benchNode, err)
	}
	stopProfile()
	if err := readAddresses(ctx, client, configURL, pods); err != nil {
		return err
	}

	binds, err := bindRequests("http://"+sim.AgentAddr(), setup, pods[:opts.binds])
	if err != nil {
		return err
	}
	logger.Info("measuring binds with the data plane off", "ports", len(binds))
	if res.AgentBindsAPIOnly, err = runPhase(ctx, client, opts.clients, binds); err != nil {
		return fmt.Errorf("bind ports with the data plane off: %w", err)
	}
	res.AgentBindsPerSAPIOnly = res.AgentBindsAPIOnly.PerS
	return nil
}

// startCPUProfile starts a CPU profile to path and returns the function
// that stops it, which may be called more than once. An empty path
// profiles nothing.
func startCPUProfile(path string) (func(), error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("create CPU profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("start CPU profile: %w", err)
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			pprof.StopCPUProfile()
			_ = f.Close()
		})
	}, nil
}

func printSummary(w io.Writer, res results, opts options) {
	verdict := "met"
	if res.ConfigAPICreatesPerS < goalCreatesPerSecond {
		verdict = "NOT met"
	}
	fmt.Fprintf(w, "contrail-sim speed on loopback, %d clients, %d CPUs (%s)\n", res.Clients, res.Machine.CPUs, res.Machine.CPUModel)
	fmt.Fprintf(w, "%-27s %8.0f/s  %d creates in %.2f s; goal %d/s %s\n",
		"config API creates", res.ConfigAPICreatesPerS, res.ConfigAPICreateSamples, res.ConfigAPICreateDurationS, goalCreatesPerSecond, verdict)
	for _, typ := range createOrder {
		printPhase(w, "  "+typ, res.ConfigAPICreatesByType[typ])
	}
	printPhase(w, "config API ref-updates", res.ConfigAPIRefUpdates)
	printPhase(w, "agent binds, API only", res.AgentBindsAPIOnly)
	if res.AgentBindsWithDataPlane != nil {
		printPhase(w, "agent binds, data plane", *res.AgentBindsWithDataPlane)
	} else {
		fmt.Fprintf(w, "agent binds, data plane: skipped (%s)\n", res.DataPlaneSkipped)
	}
	fmt.Fprintf(w, "wrote %s/sim.json\n", opts.out)
}

func printPhase(w io.Writer, name string, p phaseResult) {
	fmt.Fprintf(w, "%-27s %8.0f/s  %d in %.2f s, latency p50 %.2f ms, p99 %.2f ms\n",
		name, p.PerS, p.Count, p.DurationS, p.LatencyMS.P50, p.LatencyMS.P99)
}
