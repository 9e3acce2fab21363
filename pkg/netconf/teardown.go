package netconf

import (
	"encoding/json"
	"fmt"
	"net/url"
	"path/filepath"
)

// ParseTeardown reads, from a config that Parse rejects, the fields that DEL
// and GC use: name, cniVersion, agentURL, agentTimeout, stateDir, logFile
// and logLevel. A missing or invalid field takes its default, and each such
// field adds one entry to problems, so that the caller can log them and
// still free what ADD made. A NAD edited to an invalid config after its pods
// started, or a stricter plugin version, must not leave pods in Terminating.
// It fails only when data is not a JSON object.
func ParseTeardown(data []byte) (conf *NetConf, problems []error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil {
		return nil, []error{fmt.Errorf("invalid contrail-vif network config: %w", err)}
	}
	conf = &NetConf{}
	decode := func(key string, into any) {
		raw, ok := fields[key]
		if !ok {
			return
		}
		if err := json.Unmarshal(raw, into); err != nil {
			problems = append(problems, fmt.Errorf("invalid %s %s: %w", key, shorten(raw), err))
		}
	}
	decode("name", &conf.Name)
	decode("cniVersion", &conf.CNIVersion)
	decode("type", &conf.Type)
	decode("agentURL", &conf.AgentURL)
	decode("agentTimeout", &conf.AgentTimeout)
	decode("stateDir", &conf.StateDir)
	decode("logFile", &conf.LogFile)
	decode("logLevel", &conf.LogLevel)

	if conf.AgentURL != "" {
		u, err := url.Parse(conf.AgentURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			problems = append(problems, fmt.Errorf("invalid agentURL %q: using %q", conf.AgentURL, DefaultAgentURL))
			conf.AgentURL = ""
		}
	}
	if conf.AgentTimeout.Duration < 0 {
		problems = append(problems, fmt.Errorf("invalid agentTimeout %q: using %s", conf.AgentTimeout.String(), DefaultAgentTimeout))
		conf.AgentTimeout.Duration = 0
	}
	if conf.StateDir != "" && !filepath.IsAbs(conf.StateDir) {
		problems = append(problems, fmt.Errorf("invalid stateDir %q: using %q", conf.StateDir, DefaultStateDir))
		conf.StateDir = ""
	}
	if conf.LogFile != "" && !filepath.IsAbs(conf.LogFile) {
		problems = append(problems, fmt.Errorf("invalid logFile %q: logging to stderr", conf.LogFile))
		conf.LogFile = ""
	}
	switch conf.LogLevel {
	case "", "debug", "info", "warn", "error":
	default:
		problems = append(problems, fmt.Errorf("invalid logLevel %q: using info", conf.LogLevel))
		conf.LogLevel = ""
	}
	conf.applyDefaults()
	return conf, problems
}
