package cli

import (
	"flag"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestAgentFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want AgentOptions
	}{
		{"defaults", nil, AgentOptions{PortsDir: "/var/lib/contrail/ports", StaleCleanupTimeout: 60 * time.Second}},
		{"all set", []string{"--ports-dir", "/tmp/p", "--stale-cleanup-timeout", "2s", "--agent-config-delay", "1.5s", "--agent-latency", "20ms"},
			AgentOptions{PortsDir: "/tmp/p", StaleCleanupTimeout: 2 * time.Second, ConfigDelay: 1500 * time.Millisecond, Latency: 20 * time.Millisecond}},
		{"memory only", []string{"--ports-dir", ""}, AgentOptions{StaleCleanupTimeout: 60 * time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := flag.NewFlagSet("serve", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			var got AgentOptions
			addAgentFlags(fs, &got)
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("options = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestStartRejectsNegativeDurations(t *testing.T) {
	for _, opts := range []AgentOptions{{ConfigDelay: -time.Second}, {Latency: -1}, {StaleCleanupTimeout: -time.Minute}} {
		_, err := Start(ServeOptions{ConfigAPIListen: "127.0.0.1:0", AgentListen: "127.0.0.1:0", NodeName: "n", NoDataPlane: true, Agent: opts}, nil)
		if err == nil || !strings.Contains(err.Error(), "negative") {
			t.Errorf("Start with %+v = %v, want an error about the negative duration", opts, err)
		}
	}
}

func TestStartRejectsUnusablePortsDir(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Start(ServeOptions{ConfigAPIListen: "127.0.0.1:0", AgentListen: "127.0.0.1:0", NodeName: "n", NoDataPlane: true,
		Agent: AgentOptions{PortsDir: file}}, nil)
	if err == nil || !strings.Contains(err.Error(), "--ports-dir") {
		t.Errorf("Start with a file as ports directory = %v, want an error naming --ports-dir", err)
	}
}

func TestStartReplaysPortFiles(t *testing.T) {
	dir := t.TempDir()
	// A remote port has no host interface, so its file is replayed on any
	// machine.
	const vmi = "93c2c386-6e79-485e-bfa4-b9daa713133b"
	file := `{"id":"` + vmi + `","instance-id":"69ce06bd-6d1e-43d0-8e48-a30043a49ed8",
		"vn-id":"56297dc0-5553-4e6a-b87f-8423afc21e9d","vm-project-id":"9970147c-33b1-4bf7-8944-8968e708d430",
		"display-name":"vm1","ip-address":"11.0.0.3","ip6-address":"None","mac-address":"02:93:c2:c3:86:6e",
		"system-name":"","type":2,"rx-vlan-id":-1,"tx-vlan-id":-1}`
	if err := os.WriteFile(filepath.Join(dir, vmi), []byte(file), 0o644); err != nil {
		t.Fatal(err)
	}

	sim := startSim(t, ServeOptions{NoDataPlane: true, Agent: AgentOptions{PortsDir: dir, ConfigDelay: time.Minute}})
	if got := sim.Agent.Faults().ConfigDelay; got != time.Minute {
		t.Errorf("agent ConfigDelay = %v, want 1m", got)
	}
	if info, err := os.Stat(filepath.Join(dir, "vm")); err != nil || !info.IsDir() {
		t.Errorf("ports/vm after Start: %v", err)
	}

	// enable-port replies "Port Not found" unless the port was replayed.
	req, err := http.NewRequest(http.MethodPut, "http://"+sim.AgentAddr()+"/enable-port/"+vmi, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("PUT /enable-port of the replayed port = %d %s, want 200", resp.StatusCode, body)
	}

	// The agent rewrote the file with the new link state.
	rewritten, err := os.ReadFile(filepath.Join(dir, vmi))
	if err != nil || !strings.Contains(string(rewritten), `"link-state": 1`) {
		t.Errorf("port file after enable-port = %s, %v", rewritten, err)
	}
}

func TestSimulatorAgentStopRestart(t *testing.T) {
	sim := startSim(t, ServeOptions{NoDataPlane: true, Agent: AgentOptions{PortsDir: t.TempDir()}})
	url := "http://" + sim.AgentAddr() + "/vm-cfg/x"
	client := &http.Client{Timeout: 5 * time.Second}

	if err := sim.Agent.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if resp, err := client.Get(url); err == nil {
		resp.Body.Close()
		t.Error("request to the stopped agent succeeded")
	}
	if err := sim.Agent.Restart(); err != nil {
		t.Fatalf("Restart: %v", err)
	}
	resp, err := client.Get(url)
	if err != nil {
		t.Fatalf("request after Restart: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /vm-cfg/x after Restart = %d, want 404", resp.StatusCode)
	}
}
