package cli

import (
	"flag"
	"fmt"
	"time"

	"github.com/contrail-vif/contrail-vif/pkg/sim/agent"
)

// AgentOptions configure the simulated agent's port files and the faults
// it injects for tests.
type AgentOptions struct {
	// PortsDir is the directory of the agent's port files, which it replays
	// at start. When empty, bindings live in memory only. The serve flag
	// defaults to the real agent's agent.DefaultPortsDir.
	PortsDir string
	// StaleCleanupTimeout is the time from POST /syncports to the removal
	// of the subscriptions not added again since;
	// agent.DefaultStaleCleanupTimeout when zero.
	StaleCleanupTimeout time.Duration
	// ConfigDelay and Latency set agent.Faults.
	ConfigDelay time.Duration
	Latency     time.Duration
}

// addAgentFlags adds the flags of o to the serve flag set.
func addAgentFlags(fs *flag.FlagSet, o *AgentOptions) {
	fs.StringVar(&o.PortsDir, "ports-dir", agent.DefaultPortsDir,
		"`directory` of the agent's port files, replayed at start; empty keeps bindings in memory only")
	fs.DurationVar(&o.StaleCleanupTimeout, "stale-cleanup-timeout", agent.DefaultStaleCleanupTimeout,
		"`duration` from POST /syncports until the agent removes the ports not added again since")
	fs.DurationVar(&o.ConfigDelay, "agent-config-delay", 0,
		"`duration` for which the agent hides a VMI after it first finds it in config, as a slow control node would")
	fs.DurationVar(&o.Latency, "agent-latency", 0,
		"`duration` the agent waits before it handles each request")
}

// configure applies o to ag and replays the port files of o.PortsDir.
func (o AgentOptions) configure(ag *agent.Server) error {
	for _, d := range []struct {
		flag  string
		value time.Duration
	}{
		{"stale-cleanup-timeout", o.StaleCleanupTimeout},
		{"agent-config-delay", o.ConfigDelay},
		{"agent-latency", o.Latency},
	} {
		if d.value < 0 {
			return fmt.Errorf("invalid --%s %s: the duration is negative", d.flag, d.value)
		}
	}

	ag.PortsDir = o.PortsDir
	ag.StaleCleanupTimeout = o.StaleCleanupTimeout
	ag.SetFaults(agent.Faults{ConfigDelay: o.ConfigDelay, Latency: o.Latency})
	if err := ag.LoadPorts(); err != nil {
		return fmt.Errorf("load the agent's port files from %s (pass --ports-dir DIR, or --ports-dir '' to keep bindings in memory only): %w", o.PortsDir, err)
	}
	return nil
}
