package netconf

import (
	"strings"
	"testing"
	"time"
)

func TestParseAppliesDefaults(t *testing.T) {
	conf, err := Parse([]byte(`{"cniVersion":"1.0.0","name":"red","type":"contrail-vif","virtualNetwork":"default-domain:demo:red"}`))
	if err != nil {
		t.Fatal(err)
	}
	if conf.ClusterName != "k8s" {
		t.Errorf("ClusterName = %q, want k8s", conf.ClusterName)
	}
	if conf.AgentURL != DefaultAgentURL {
		t.Errorf("AgentURL = %q, want %q", conf.AgentURL, DefaultAgentURL)
	}
	if conf.AgentTimeout.Duration != DefaultAgentTimeout {
		t.Errorf("AgentTimeout = %s, want %s", conf.AgentTimeout, DefaultAgentTimeout)
	}
	if conf.MTU != DefaultMTU {
		t.Errorf("MTU = %d, want %d", conf.MTU, DefaultMTU)
	}
	if conf.StateDir != DefaultStateDir {
		t.Errorf("StateDir = %q, want %q", conf.StateDir, DefaultStateDir)
	}
}

func TestParseAcceptsInjectedFields(t *testing.T) {
	in := `{"cniVersion":"1.1.0","name":"red","type":"contrail-vif","virtualNetwork":"d:p:red",
		"agentTimeout":"5s","mtu":1400,
		"runtimeConfig":{"mac":"02:00:00:00:00:01"},"args":{"cni":{"x":"y"}},
		"capabilities":{"mac":true},"prevResult":{"cniVersion":"1.1.0"}}`
	conf, err := Parse([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if conf.AgentTimeout.Duration != 5*time.Second || conf.MTU != 1400 {
		t.Errorf("agentTimeout=%s mtu=%d, want 5s and 1400", conf.AgentTimeout, conf.MTU)
	}
}

func TestParseRejectsBadInput(t *testing.T) {
	cases := []struct {
		name, config, wantInMessage string
	}{
		{"malformed JSON", `{"type":`, "invalid contrail-vif network config"},
		{"wrong type", `{"name":"x","type":"bridge","virtualNetwork":"a:b:c"}`, `"bridge"`},
		{"unknown field", `{"name":"x","type":"contrail-vif","virtualNetwork":"a:b:c","virtualNetwrk":"a:b:c"}`, "virtualNetwrk"},
		{"missing VN", `{"name":"x","type":"contrail-vif"}`, "virtualNetwork"},
		{"two-part fq-name", `{"name":"x","type":"contrail-vif","virtualNetwork":"demo:red"}`, `"demo:red"`},
		{"empty fq-name part", `{"name":"x","type":"contrail-vif","virtualNetwork":"d::red"}`, `"d::red"`},
		{"mtu too small", `{"name":"x","type":"contrail-vif","virtualNetwork":"a:b:c","mtu":500}`, "500"},
		{"mtu wrong type", `{"name":"x","type":"contrail-vif","virtualNetwork":"a:b:c","mtu":"1500"}`, "mtu"},
		{"bad agent URL", `{"name":"x","type":"contrail-vif","virtualNetwork":"a:b:c","agentURL":"127.0.0.1:9091"}`, `"127.0.0.1:9091"`},
		{"bad timeout", `{"name":"x","type":"contrail-vif","virtualNetwork":"a:b:c","agentTimeout":"soon"}`, `"soon"`},
		{"numeric timeout", `{"name":"x","type":"contrail-vif","virtualNetwork":"a:b:c","agentTimeout":30}`, "30"},
		{"bad cluster name", `{"name":"x","type":"contrail-vif","virtualNetwork":"a:b:c","clusterName":"a__b"}`, `"a__b"`},
		{"bad log level", `{"name":"x","type":"contrail-vif","virtualNetwork":"a:b:c","logLevel":"loud"}`, `"loud"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse([]byte(c.config))
			if err == nil {
				t.Fatal("Parse succeeded")
			}
			if !strings.Contains(err.Error(), c.wantInMessage) {
				t.Errorf("error %q does not name %s", err, c.wantInMessage)
			}
		})
	}
}
