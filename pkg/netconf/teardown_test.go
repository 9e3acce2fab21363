package netconf

import (
	"strings"
	"testing"
	"time"
)

func TestParseTeardownKeepsReadableFields(t *testing.T) {
	conf, problems := ParseTeardown([]byte(`{"cniVersion":"1.1.0","name":"red","type":"contrail-vif",
		"virtualNetwork":"bad","mtu":10,"agentURL":"http://127.0.0.1:9999","agentTimeout":"5s",
		"stateDir":"/tmp/state","logFile":"/tmp/x.log","logLevel":"debug","unknownField":1}`))
	if len(problems) != 0 {
		t.Errorf("problems = %v, want none: invalid fields that DEL does not read are ignored", problems)
	}
	if conf.Name != "red" {
		t.Errorf("Name = %q, want red", conf.Name)
	}
	if conf.AgentURL != "http://127.0.0.1:9999" {
		t.Errorf("AgentURL = %q", conf.AgentURL)
	}
	if conf.AgentTimeout.Duration != 5*time.Second {
		t.Errorf("AgentTimeout = %v, want 5s", conf.AgentTimeout.Duration)
	}
	if conf.StateDir != "/tmp/state" {
		t.Errorf("StateDir = %q", conf.StateDir)
	}
	if conf.LogFile != "/tmp/x.log" {
		t.Errorf("LogFile = %q", conf.LogFile)
	}
	if conf.LogLevel != "debug" {
		t.Errorf("LogLevel = %q, want debug", conf.LogLevel)
	}
}

func TestParseTeardownDefaultsInvalidFields(t *testing.T) {
	conf, problems := ParseTeardown([]byte(`{"name":"red","agentURL":"ftp://x","agentTimeout":"soon",
		"stateDir":"relative","logFile":"rel.log","logLevel":"loud"}`))
	if len(problems) != 5 {
		t.Fatalf("problems = %v, want 5", problems)
	}
	for _, want := range []string{`agentURL "ftp://x"`, "agentTimeout", `stateDir "relative"`, `logFile "rel.log"`, `logLevel "loud"`} {
		found := false
		for _, p := range problems {
			found = found || strings.Contains(p.Error(), want)
		}
		if !found {
			t.Errorf("no problem names %s in %v", want, problems)
		}
	}
	if conf.AgentURL != DefaultAgentURL {
		t.Errorf("AgentURL = %q, want the default", conf.AgentURL)
	}
	if conf.AgentTimeout.Duration != DefaultAgentTimeout {
		t.Errorf("AgentTimeout = %v, want the default", conf.AgentTimeout.Duration)
	}
	if conf.StateDir != DefaultStateDir {
		t.Errorf("StateDir = %q, want the default", conf.StateDir)
	}
	if conf.LogFile != "" {
		t.Errorf("LogFile = %q, want stderr", conf.LogFile)
	}
	if conf.LogLevel != "info" {
		t.Errorf("LogLevel = %q, want info", conf.LogLevel)
	}
}

func TestParseTeardownRejectsNonObject(t *testing.T) {
	for _, in := range []string{``, `[1]`, `"x"`, `{`} {
		conf, problems := ParseTeardown([]byte(in))
		if conf != nil || len(problems) != 1 {
			t.Errorf("ParseTeardown(%q) = %v, %v; want nil and one problem", in, conf, problems)
		}
	}
}
