// Package netconf parses and validates the contrail-vif network configuration,
// the JSON that a NetworkAttachmentDefinition carries in spec.config and that
// Multus passes to the plugin on stdin.
package netconf

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/containernetworking/cni/pkg/types"

	"github.com/contrail-vif/contrail-vif/pkg/attachment"
)

// PluginType is the CNI "type" of contrail-vif configurations.
const PluginType = "contrail-vif"

// Defaults for optional fields.
const (
	DefaultAgentURL     = "http://127.0.0.1:9091"
	DefaultAgentTimeout = 30 * time.Second
	DefaultStateDir     = "/var/lib/cni/contrail-vif"
	DefaultMTU          = 1500
	// MinMTU is the smallest MTU that still carries IPv6 (RFC 8200).
	MinMTU = 1280
	// MaxMTU is the largest MTU a veth accepts.
	MaxMTU = 65535
)

// NetConf is the contrail-vif network configuration.
type NetConf struct {
	types.NetConf

	// VirtualNetwork is the Contrail VN fq-name, "domain:project:name".
	VirtualNetwork string `json:"virtualNetwork"`
	// ClusterName is the first part of the virtual-machine name
	// "<cluster>__<namespace>__<pod>"; it must match the controller's.
	ClusterName string `json:"clusterName,omitempty"`
	// AgentURL is the base URL of the node's vRouter agent port API.
	AgentURL string `json:"agentURL,omitempty"`
	// AgentTimeout bounds how long ADD waits for the attachment's VMI to
	// reach the agent and for the agent to report the bound port, as a Go
	// duration such as "30s".
	AgentTimeout Duration `json:"agentTimeout,omitempty"`
	// MTU of the pod interface and its host peer.
	MTU int `json:"mtu,omitempty"`
	// StateDir holds one file per attachment so that DEL can undo ADD.
	StateDir string `json:"stateDir,omitempty"`
	// LogFile receives the plugin's log; empty means stderr.
	LogFile string `json:"logFile,omitempty"`
	// LogLevel is one of "debug", "info", "warn", "error".
	LogLevel string `json:"logLevel,omitempty"`

	// Subnets, when set, make the controller create the virtual network
	// with these IPAM subnets if it does not exist. The plugin ignores them.
	Subnets []Subnet `json:"subnets,omitempty"`
	// ForwardingMode of a network the controller creates: l2_l3 (the
	// Contrail default), l2 or l3.
	ForwardingMode string `json:"forwardingMode,omitempty"`

	// SecurityGroups are fq-names ("domain:project:name") of Contrail
	// security groups the controller attaches to each VMI of this network.
	SecurityGroups []string `json:"securityGroups,omitempty"`
	// PortSecurity, when false, disables port security (and with it
	// security groups and anti-spoofing) on the VMIs; nil keeps Contrail's
	// default, enabled.
	PortSecurity *bool `json:"portSecurity,omitempty"`

	// Routes are added to the pod interface and the CNI result, next to the
	// host routes of the VN's IPAM subnets.
	Routes []Route `json:"routes,omitempty"`

	// Args is the "args" object that the runtime or Multus injects. It is
	// kept undecoded like RuntimeConfig, and DecodeArgs reads args.cni.
	Args json.RawMessage `json:"args,omitempty"`

	// RuntimeConfig is the runtimeConfig that the runtime injects, kept
	// undecoded so that a bad value fails only the verbs that read it
	// (ADD, through DecodeRuntimeConfig) and never DEL.
	RuntimeConfig json.RawMessage `json:"runtimeConfig,omitempty"`
}

// MarshalJSON writes every field of c. NetConf needs its own because the
// embedded types.NetConf has a MarshalJSON that Go would otherwise promote,
// and that one writes only the generic CNI fields.
func (c *NetConf) MarshalJSON() ([]byte, error) {
	// A NetConf value has no MarshalJSON in its method set: both methods
	// have pointer receivers. So this encodes the fields one by one.
	return json.Marshal(*c)
}

// Duration is a time.Duration that reads and writes Go duration strings.
type Duration struct {
	time.Duration
}

// UnmarshalJSON accepts a duration string such as "30s" or "1m".
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration must be a string such as \"30s\", got %s", b)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("invalid duration %q: %w", s, err)
	}
	d.Duration = v
	return nil
}

// MarshalJSON writes the duration as a Go duration string.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(d.String())
}

// Parse decodes and validates a contrail-vif configuration and fills in
// defaults. Unknown fields are rejected so that a misspelt option fails
// loudly instead of being ignored; the fields that runtimes and Multus inject
// (runtimeConfig, capabilities, args, prevResult, ipam, dns, deviceID,
// pciBusID and the GC attachment lists) are accepted.
func Parse(data []byte) (*NetConf, error) {
	conf := &NetConf{}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var withInjected struct {
		*NetConf
		DeviceID json.RawMessage `json:"deviceID,omitempty"`
		PCIBusID json.RawMessage `json:"pciBusID,omitempty"`
		// GC input: libcni sends both keys because the 1.1.0 spec text
		// named the second one; types.NetConf has only the first.
		GCAttachments json.RawMessage `json:"cni.dev/attachments,omitempty"`
	}
	withInjected.NetConf = conf
	if err := dec.Decode(&withInjected); err != nil {
		return nil, fmt.Errorf("invalid contrail-vif network config: %w", err)
	}
	conf.applyDefaults()
	if err := conf.Validate(); err != nil {
		return nil, err
	}
	return conf, nil
}

func (c *NetConf) applyDefaults() {
	if c.ClusterName == "" {
		c.ClusterName = attachment.DefaultCluster
	}
	if c.AgentURL == "" {
		c.AgentURL = DefaultAgentURL
	}
	if c.AgentTimeout.Duration == 0 {
		c.AgentTimeout.Duration = DefaultAgentTimeout
	}
	if c.MTU == 0 {
		c.MTU = DefaultMTU
	}
	if c.StateDir == "" {
		c.StateDir = DefaultStateDir
	}
	if c.LogLevel == "" {
		c.LogLevel = "info"
	}
}

// Validate checks every field and names the offending value in its error.
func (c *NetConf) Validate() error {
	if c.Type != PluginType {
		return fmt.Errorf("network config type is %q, expected %q", c.Type, PluginType)
	}
	if _, err := ParseFQName(c.VirtualNetwork); err != nil {
		return fmt.Errorf("invalid virtualNetwork: %w", err)
	}
	if strings.Contains(c.ClusterName, "__") || strings.Contains(c.ClusterName, ":") {
		return fmt.Errorf("invalid clusterName %q: it must not contain \"__\" or \":\"", c.ClusterName)
	}
	u, err := url.Parse(c.AgentURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("invalid agentURL %q: expected an http:// or https:// URL such as %q", c.AgentURL, DefaultAgentURL)
	}
	if c.AgentTimeout.Duration < 0 {
		return fmt.Errorf("invalid agentTimeout %q: it must be positive", c.AgentTimeout.String())
	}
	if c.MTU < MinMTU || c.MTU > MaxMTU {
		return fmt.Errorf("invalid mtu %d: it must be between %d and %d", c.MTU, MinMTU, MaxMTU)
	}
	if err := c.validateNetwork(); err != nil {
		return err
	}
	if err := c.validateRoutes(); err != nil {
		return err
	}
	for i, sg := range c.SecurityGroups {
		if _, err := ParseFQName(sg); err != nil {
			return fmt.Errorf("invalid securityGroups[%d]: %w", i, err)
		}
	}
	if c.PortSecurity != nil && !*c.PortSecurity && len(c.SecurityGroups) > 0 {
		return fmt.Errorf("securityGroups %v are set but portSecurity is false; Contrail ignores security groups without port security, so remove one of them", c.SecurityGroups)
	}
	// The runtime starts the plugin in a working directory of its choice,
	// so a relative path would point somewhere else on every call.
	if !filepath.IsAbs(c.StateDir) {
		return fmt.Errorf("invalid stateDir %q: expected an absolute path such as %q", c.StateDir, DefaultStateDir)
	}
	if c.LogFile != "" && !filepath.IsAbs(c.LogFile) {
		return fmt.Errorf("invalid logFile %q: expected an absolute path such as \"/var/log/contrail-vif.log\"", c.LogFile)
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("invalid logLevel %q: expected debug, info, warn or error", c.LogLevel)
	}
	return nil
}

// ParseFQName splits a Contrail fq-name "domain:project:name" into its three
// parts and rejects empty parts or a different number of parts.
func ParseFQName(s string) ([]string, error) {
	parts := strings.Split(s, ":")
	if len(parts) != 3 {
		return nil, fmt.Errorf("fq-name %q must have the form domain:project:name", s)
	}
	for _, p := range parts {
		if p == "" {
			return nil, fmt.Errorf("fq-name %q has an empty part; expected domain:project:name", s)
		}
	}
	return parts, nil
}
