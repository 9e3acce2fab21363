// Package plugin implements the contrail-vif CNI verbs: ADD plugs a VMI that
// contrail-vif-controller created into a pod as a veth pair bound through the
// local vRouter agent, DEL unplugs it, and CHECK, STATUS and GC follow CNI 1.1.
//
// The verbs return results and errors; the caller prints them.
package plugin

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/cni/pkg/types"
	"github.com/containernetworking/plugins/pkg/ns"
	"golang.org/x/sys/unix"

	"github.com/contrail-vif/contrail-vif/pkg/agentclient"
	"github.com/contrail-vif/contrail-vif/pkg/netconf"
	"github.com/contrail-vif/contrail-vif/pkg/netplumb"
	"github.com/contrail-vif/contrail-vif/pkg/state"
)

// Author is the "author" the plugin writes into the agent's port requests.
const Author = "contrail-vif"

// Defaults for the Plugin fields that New sets.
const (
	DefaultPollInterval    = 20 * time.Millisecond
	DefaultFastPollWindow  = 2 * time.Second
	DefaultMaxPollInterval = time.Second
)

// Plugin runs the CNI verbs. Its fields are the plugin's dependencies; New
// sets them for a plugin process.
type Plugin struct {
	// HostNS is the network namespace of the host ends (taps), where the
	// vRouter agent looks them up by name.
	HostNS ns.NetNS
	// Stderr receives the log when the network config names no logFile.
	Stderr io.Writer
	// AgentRequestTimeout bounds each HTTP request to the agent.
	AgentRequestTimeout time.Duration
	// PollInterval is the pause between two polls of the agent during the
	// first FastPollWindow of a wait; after that each pause doubles up to
	// MaxPollInterval. ADD can start before the controller has linked the
	// pod's VM to the node. The fast polls then find the VMI soon after it
	// reaches the agent (bench/agentdelay measures how soon), and the
	// backoff bounds the load on the agent when the VMI does not come.
	PollInterval    time.Duration
	FastPollWindow  time.Duration
	MaxPollInterval time.Duration
	// Now returns the current time for port requests and state records.
	Now func() time.Time
}

// New returns a Plugin that plugs taps into hostNS and logs to stderr unless
// the network config names a log file.
func New(hostNS ns.NetNS, stderr io.Writer) *Plugin {
	return &Plugin{
		HostNS:              hostNS,
		Stderr:              stderr,
		AgentRequestTimeout: agentclient.DefaultRequestTimeout,
		PollInterval:        DefaultPollInterval,
		FastPollWindow:      DefaultFastPollWindow,
		MaxPollInterval:     DefaultMaxPollInterval,
		Now:                 time.Now,
	}
}

// call is the parsed input and the clients of one verb invocation.
type call struct {
	args  *skel.CmdArgs
	conf  *netconf.NetConf
	pod   podArgs
	log   *slog.Logger
	agent *agentclient.Client
	store *state.Store
	// closeLog closes the log file, if the config names one.
	closeLog func()
}

// start parses the config and CNI_ARGS of one invocation and opens its log.
// The caller must call closeLog when it is done.
func (p *Plugin) start(command string, args *skel.CmdArgs, stdin []byte) (*call, error) {
	conf, confErr := parseConfig(stdin)
	var teardownProblems []error
	if confErr != nil {
		if command != "DEL" {
			return nil, confErr
		}
		// DEL must free what ADD made even when the config became invalid
		// after ADD, so it reads what it can and uses defaults for the rest.
		conf, teardownProblems = netconf.ParseTeardown(stdin)
		if conf == nil {
			return nil, confErr
		}
	}
	pod, argsErr := loadPodArgs(args.Args)
	// DEL is best effort, so malformed CNI_ARGS only cost it the pod identity.
	if argsErr != nil && command != "DEL" {
		return nil, argsErr
	}
	logger, closeLog := openLog(conf, p.Stderr)
	attrs := []any{slog.String("command", command), slog.String("network", conf.Name)}
	for _, kv := range [][2]string{
		{"containerID", args.ContainerID}, {"ifname", args.IfName},
		{"podNamespace", pod.Namespace}, {"podName", pod.Name},
	} {
		if kv[1] != "" {
			attrs = append(attrs, slog.String(kv[0], kv[1]))
		}
	}
	logger = logger.With(attrs...)
	if argsErr != nil {
		logger.Warn("ignoring invalid CNI_ARGS", "error", argsErr)
	}
	if confErr != nil {
		logger.Warn("network config is invalid; tearing down with the fields that could be read and defaults for the rest",
			"error", confErr, "fieldsReplaced", errors.Join(teardownProblems...))
	}
	return &call{
		args:     args,
		conf:     conf,
		pod:      pod,
		log:      logger,
		agent:    agentclient.New(conf.AgentURL, p.AgentRequestTimeout),
		store:    state.New(conf.StateDir),
		closeLog: closeLog,
	}, nil
}

// parseConfig parses the network config: code 6 when it is not JSON, code 7
// when it is not a valid contrail-vif config.
func parseConfig(stdin []byte) (*netconf.NetConf, error) {
	if !json.Valid(stdin) {
		return nil, types.NewError(types.ErrDecodingFailure, "network config on stdin is not valid JSON", "")
	}
	conf, err := netconf.Parse(stdin)
	if err != nil {
		return nil, types.NewError(types.ErrInvalidNetworkConfig, err.Error(), "")
	}
	return conf, nil
}

// openLog returns a logger that writes to conf.LogFile, or to stderr when
// the config names no file or the file cannot be opened. The plugin never
// logs to stdout, which carries the CNI result.
func openLog(conf *netconf.NetConf, stderr io.Writer) (*slog.Logger, func()) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(conf.LogLevel)); err != nil {
		level = slog.LevelInfo
	}
	options := &slog.HandlerOptions{Level: level}
	if conf.LogFile == "" {
		return slog.New(slog.NewTextHandler(stderr, options)), func() {}
	}
	f, err := os.OpenFile(conf.LogFile, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		logger := slog.New(slog.NewTextHandler(stderr, options))
		logger.Warn("cannot open log file; logging to stderr", "logFile", conf.LogFile, "error", err)
		return logger, func() {}
	}
	return slog.New(slog.NewTextHandler(f, options)), func() { _ = f.Close() }
}

// openPodNetns opens the pod's namespace CNI_NETNS. A path that is not a
// network namespace, or that is the plugin's host namespace, gives a code 4
// error naming CNI_NETNS. skel rejects the host namespace too, but only
// after ADD has returned, when the veth pair already exists.
func (p *Plugin) openPodNetns(path string) (ns.NetNS, error) {
	netns, err := ns.GetNS(path)
	if netplumb.IsNetnsGone(err) {
		return nil, errorf(types.ErrInvalidEnvironmentVariables, "invalid CNI_NETNS %q: %v", path, err)
	}
	if err != nil {
		return nil, fmt.Errorf("open netns %q: %w", path, err)
	}
	same, err := sameNetns(netns, p.HostNS)
	if err != nil {
		netns.Close()
		return nil, err
	}
	if same {
		netns.Close()
		return nil, errorf(types.ErrInvalidEnvironmentVariables,
			"invalid CNI_NETNS %q: it is the host network namespace, where the plugin creates the tap; expected the pod's namespace", path)
	}
	return netns, nil
}

// sameNetns reports whether a and b are the same namespace.
func sameNetns(a, b ns.NetNS) (bool, error) {
	var sa, sb unix.Stat_t
	if err := unix.Fstat(int(a.Fd()), &sa); err != nil {
		return false, fmt.Errorf("stat netns %s: %w", a.Path(), err)
	}
	if err := unix.Fstat(int(b.Fd()), &sb); err != nil {
		return false, fmt.Errorf("stat netns %s: %w", b.Path(), err)
	}
	return sa.Dev == sb.Dev && sa.Ino == sb.Ino, nil
}

// errorf returns a CNI error with code and a formatted message.
func errorf(code uint, format string, a ...any) *types.Error {
	return types.NewError(code, fmt.Sprintf(format, a...), "")
}
