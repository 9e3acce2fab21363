package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"sync"
	"time"

	"github.com/contrail-vif/contrail-vif/pkg/sim/agent"
	"github.com/contrail-vif/contrail-vif/pkg/sim/configapi"
	"github.com/contrail-vif/contrail-vif/pkg/sim/dataplane"
)

// Default listen addresses: the real services' ports, on loopback only.
const (
	DefaultConfigAPIListen = "127.0.0.1:8082"
	DefaultAgentListen     = "127.0.0.1:9091"
)

// shutdownTimeout bounds waiting for in-flight config API requests on stop.
const shutdownTimeout = 5 * time.Second

// DefaultSetup is the config --setup-default creates: a project and two
// virtual networks with one subnet each.
var DefaultSetup = struct {
	Project  []string
	Networks []SetupNetwork
}{
	Project: []string{"default-domain", "demo"},
	Networks: []SetupNetwork{
		{FQName: []string{"default-domain", "demo", "red"}, Subnets: []netip.Prefix{netip.MustParsePrefix("10.10.1.0/24")}},
		{FQName: []string{"default-domain", "demo", "blue"}, Subnets: []netip.Prefix{netip.MustParsePrefix("10.10.2.0/24")}},
	},
}

// SetupNetwork is a virtual network of DefaultSetup.
type SetupNetwork struct {
	FQName  []string
	Subnets []netip.Prefix
}

// ServeOptions configure Start.
type ServeOptions struct {
	// ConfigAPIListen and AgentListen are TCP listen addresses; port 0
	// picks a free port.
	ConfigAPIListen string
	AgentListen     string
	// AllowNonLoopback permits listen addresses other than loopback ones.
	AllowNonLoopback bool
	// NodeName names the simulated compute node and its virtual-router.
	NodeName string
	// SetupDefault creates DefaultSetup at start.
	SetupDefault bool
	// NoDataPlane records port bindings without touching the kernel.
	NoDataPlane bool
	// DataPlane names the bridges and namespaces of the data plane.
	DataPlane dataplane.Config
	// Agent sets the agent's port files and injected faults.
	Agent AgentOptions
	// Auth sets Keystone authentication and TLS for the config API.
	Auth AuthOptions
}

// Simulator is a running config API and agent. Stop it with Close.
type Simulator struct {
	Config    *configapi.Server
	Agent     *agent.Server
	DataPlane *dataplane.DataPlane // nil with NoDataPlane

	logger      *slog.Logger
	auth        *authServices
	configHTTP  *http.Server
	configAddr  net.Addr
	agentAddr   net.Addr
	stopAgent   context.CancelFunc
	wg          sync.WaitGroup
	closeOnce   sync.Once
	closeErr    error
	serveErrsMu sync.Mutex
	serveErrs   []error
}

// Start creates the config store, the node's virtual-router, the default
// setup when asked, and the data plane, then serves both APIs in the
// background.
func Start(opts ServeOptions, logger *slog.Logger) (*Simulator, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if opts.NodeName == "" {
		return nil, errors.New("missing node name")
	}
	for _, addr := range []string{opts.ConfigAPIListen, opts.AgentListen} {
		if err := checkListenAddress(addr, opts.AllowNonLoopback); err != nil {
			return nil, err
		}
	}
	auth, err := newAuthServices(opts.Auth, opts.AllowNonLoopback, logger)
	if err != nil {
		return nil, err
	}

	cfg := configapi.NewServer(logger.With("component", "config-api"))
	if _, err := cfg.EnsureVirtualRouter(opts.NodeName); err != nil {
		return nil, fmt.Errorf("create virtual-router for node %q: %w", opts.NodeName, err)
	}
	if opts.SetupDefault {
		if err := createDefaultSetup(cfg); err != nil {
			return nil, err
		}
	}

	sim := &Simulator{Config: cfg, logger: logger, auth: auth}
	ag := &agent.Server{Config: cfg, Node: opts.NodeName, Logger: logger.With("component", "agent")}
	if !opts.NoDataPlane {
		dp, err := dataplane.New(opts.DataPlane, configSubnets(cfg), logger.With("component", "dataplane"))
		if err != nil {
			return nil, fmt.Errorf("create data plane: %w", err)
		}
		sim.DataPlane = dp
		ag.DataPlane = dp
	}
	sim.Agent = ag
	if err := opts.Agent.configure(ag); err != nil {
		if sim.DataPlane != nil {
			_ = sim.DataPlane.Close()
		}
		return nil, err
	}

	configListener, err := net.Listen("tcp", opts.ConfigAPIListen)
	if err != nil {
		return nil, fmt.Errorf("listen for the config API on %s: %w", opts.ConfigAPIListen, err)
	}
	agentListener, err := net.Listen("tcp", opts.AgentListen)
	if err != nil {
		_ = configListener.Close()
		return nil, fmt.Errorf("listen for the agent on %s: %w", opts.AgentListen, err)
	}
	sim.configAddr = configListener.Addr()
	sim.agentAddr = agentListener.Addr()
	if configListener, err = auth.start(cfg, configListener, sim.recordServeError); err != nil {
		_ = configListener.Close()
		_ = agentListener.Close()
		if sim.DataPlane != nil {
			_ = sim.DataPlane.Close()
		}
		return nil, err
	}

	sim.configHTTP = &http.Server{
		Handler:           controlRoutes(cfg, ag),
		ReadHeaderTimeout: 30 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	sim.wg.Go(func() {
		if err := sim.configHTTP.Serve(configListener); err != nil && !errors.Is(err, http.ErrServerClosed) {
			sim.recordServeError(fmt.Errorf("serve config API: %w", err))
		}
	})

	agentCtx, stopAgent := context.WithCancel(context.Background())
	sim.stopAgent = stopAgent
	agentDone := ag.StartServe(agentCtx, agentListener)
	sim.wg.Go(func() {
		if err := <-agentDone; err != nil {
			sim.recordServeError(fmt.Errorf("serve agent: %w", err))
		}
	})

	logger.Info("contrail-sim serving", "config_api", sim.ConfigAPIURL(), "agent", "http://"+sim.agentAddr.String(), "node", opts.NodeName, "dataplane", !opts.NoDataPlane)
	return sim, nil
}

// ConfigAPIAddr returns the address the config API listens on.
func (s *Simulator) ConfigAPIAddr() string { return s.configAddr.String() }

// AgentAddr returns the address the agent listens on.
func (s *Simulator) AgentAddr() string { return s.agentAddr.String() }

// Close stops both servers, then removes the data plane. It returns the
// errors of serving and of the removal. Later calls return the same result.
func (s *Simulator) Close() error {
	s.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()

		var errs []error
		if err := s.configHTTP.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("stop config API: %w", err))
		}
		s.stopAgent()
		if err := s.auth.close(ctx); err != nil {
			errs = append(errs, err)
		}
		s.wg.Wait()

		s.serveErrsMu.Lock()
		errs = append(errs, s.serveErrs...)
		s.serveErrsMu.Unlock()

		if s.DataPlane != nil {
			if err := s.DataPlane.Close(); err != nil {
				errs = append(errs, fmt.Errorf("remove data plane: %w", err))
			}
		}
		s.closeErr = errors.Join(errs...)
		s.logger.Info("contrail-sim stopped")
	})
	return s.closeErr
}

func (s *Simulator) recordServeError(err error) {
	s.logger.Error("server stopped", "error", err)
	s.serveErrsMu.Lock()
	defer s.serveErrsMu.Unlock()
	s.serveErrs = append(s.serveErrs, err)
}

// controlRoutes serves the agent's control routes (agent.ControlPathPrefix)
// on the config API listener, next to the config API and its fault route.
// The agent's own listener serves only the agent's API, and it is down
// while a restart is under way.
func controlRoutes(cfg *configapi.Server, ag *agent.Server) http.Handler {
	mux := http.NewServeMux()
	mux.Handle(agent.ControlPathPrefix, ag.ControlHandler())
	mux.Handle("/", cfg.Handler())
	return mux
}

// createDefaultSetup creates DefaultSetup in cfg.
func createDefaultSetup(cfg *configapi.Server) error {
	if _, err := cfg.EnsureProject(DefaultSetup.Project); err != nil {
		return fmt.Errorf("create default setup: %w", err)
	}
	for _, n := range DefaultSetup.Networks {
		if _, err := cfg.EnsureVirtualNetwork(n.FQName, n.Subnets); err != nil {
			return fmt.Errorf("create default setup: %w", err)
		}
	}
	return nil
}

// configSubnets adapts the config store to the data plane's SubnetSource.
func configSubnets(cfg *configapi.Server) dataplane.SubnetSource {
	return dataplane.SubnetSourceFunc(func(vnUUID string) ([]dataplane.Subnet, bool) {
		infos, ok := cfg.VirtualNetworkSubnets(vnUUID)
		if !ok {
			return nil, false
		}
		out := make([]dataplane.Subnet, 0, len(infos))
		for _, info := range infos {
			out = append(out, dataplane.Subnet{Prefix: info.Prefix, Gateway: info.Gateway})
		}
		return out, true
	})
}

// checkListenAddress rejects addresses that are not on loopback, unless
// allowed: the simulator has no authentication and is a test tool.
func checkListenAddress(addr string, allowNonLoopback bool) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("invalid listen address %q: %w", addr, err)
	}
	if allowNonLoopback || host == "localhost" {
		return nil
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || !ip.IsLoopback() {
		return fmt.Errorf("listen address %q is not a loopback address; the simulator has no authentication, so pass --allow-non-loopback to serve on it anyway", addr)
	}
	return nil
}

// runServe runs "contrail-sim serve" until ctx is done.
func runServe(ctx context.Context, args []string, _, stderr io.Writer) error {
	fs := newFlagSet("serve", "serve [flags]",
		"Serves the config API and the vRouter agent port API of one compute node (-node-name) until SIGINT or SIGTERM, then\n"+
			"removes the bridges and gateway namespaces it created. Binding a port joins its host interface to\n"+
			"the bridge of its virtual network; each network's gateway namespace replies for the subnet gateways.\n"+
			"The data plane needs root. After a crash, run 'contrail-sim cleanup' with the same prefixes.", stderr)
	hostname, _ := os.Hostname()
	opts := ServeOptions{}
	fs.StringVar(&opts.ConfigAPIListen, "config-api-listen", DefaultConfigAPIListen, "TCP `address` of the config API (VNC)")
	fs.StringVar(&opts.AgentListen, "agent-listen", DefaultAgentListen, "TCP `address` of the vRouter agent port API")
	fs.BoolVar(&opts.AllowNonLoopback, "allow-non-loopback", false, "allow listen addresses that are not loopback (the APIs have no authentication)")
	fs.StringVar(&opts.NodeName, "node-name", hostname, "compute node `name`; its virtual-router is default-global-system-config:NAME")
	fs.BoolVar(&opts.SetupDefault, "setup-default", false, "create project default-domain:demo with VNs default-domain:demo:red (10.10.1.0/24) and default-domain:demo:blue (10.10.2.0/24)")
	fs.BoolVar(&opts.NoDataPlane, "no-dataplane", false, "record port bindings without creating bridges and namespaces (needs no root)")
	fs.StringVar(&opts.DataPlane.LinkPrefix, "link-prefix", dataplane.DefaultLinkPrefix, "`prefix` of the per-VN bridge (PREFIX+b+8 hex of the VN uuid) and gateway veth (PREFIX+g+...), at most 6 characters")
	fs.StringVar(&opts.DataPlane.NetnsPrefix, "netns-prefix", dataplane.DefaultNetnsPrefix, "`prefix` of the per-VN gateway namespace /run/netns/PREFIX+8 hex of the VN uuid")
	addAgentFlags(fs, &opts.Agent)
	addAuthFlags(fs, &opts.Auth)
	logLevel := fs.String("log-level", "info", "log `level`: debug, info, warn or error")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError(fs, "unexpected arguments %q", fs.Args())
	}

	logger, err := newLogger(stderr, *logLevel)
	if err != nil {
		return usageError(fs, "%v", err)
	}
	sim, err := Start(opts, logger)
	if err != nil {
		return err
	}
	<-ctx.Done()
	logger.Info("stopping", "reason", context.Cause(ctx))
	return sim.Close()
}
