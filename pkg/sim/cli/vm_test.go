package cli

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"
)

func TestVMUsageErrors(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantCode int
		// stderr is the expected text: on stdout for a help request.
		stderr string
	}{
		{"no subcommand", []string{"vm"}, 2, "Usage: contrail-sim vm create|delete"},
		{"unknown subcommand", []string{"vm", "start"}, 2, `unknown subcommand "start"`},
		{"help", []string{"vm", "-h"}, 0, "Usage: contrail-sim vm create|delete"},
		{"create help", []string{"vm", "create", "-h"}, 0, "-vn fq-name"},
		{"create without name", []string{"vm", "create", "--vn", "d:p:n"}, 2, "missing --name"},
		{"create without vn", []string{"vm", "create", "--name", "vm1"}, 2, "missing --vn"},
		{"create with bad vn", []string{"vm", "create", "--name", "vm1", "--vn", "d:p"}, 2, "--vn: invalid fq-name"},
		{"create with bad project", []string{"vm", "create", "--name", "vm1", "--vn", "d:p:n", "--project", "p"}, 2, "--project: invalid fq-name"},
		{"create with bad name", []string{"vm", "create", "--name", "a/b", "--vn", "d:p:n"}, 2, "invalid VM name"},
		{"delete with argument", []string{"vm", "delete", "--name", "vm1", "extra"}, 2, "unexpected arguments"},
		{"delete with bad log level", []string{"vm", "delete", "--name", "vm1", "--log-level", "loud"}, 2, "invalid log level"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := Run(context.Background(), tt.args, &stdout, &stderr)
			if code != tt.wantCode {
				t.Errorf("exit code = %d, want %d; stderr:\n%s", code, tt.wantCode, stderr.String())
			}
			// Help that the user asks for goes to stdout, errors to stderr.
			out, other := &stderr, &stdout
			if slices.Contains(tt.args, "-h") {
				out, other = &stdout, &stderr
			}
			if !strings.Contains(out.String(), tt.stderr) {
				t.Errorf("output does not contain %q:\n%s", tt.stderr, out.String())
			}
			if other.Len() > 0 {
				t.Errorf("other stream = %q, want nothing", other.String())
			}
		})
	}
}

func TestVMCreateReportsMissingNetwork(t *testing.T) {
	sim := startSim(t, ServeOptions{NoDataPlane: true})
	var stdout, stderr bytes.Buffer
	code := Run(context.Background(), []string{"vm", "create", "--name", "vm1", "--vn", "default-domain:demo:red",
		"--config-api", "http://" + sim.ConfigAPIAddr(), "--agent", "http://" + sim.AgentAddr(), "--node", "node-a"}, &stdout, &stderr)
	if code != 1 {
		t.Errorf("exit code = %d, want 1", code)
	}
	if want := "virtual-network default-domain:demo:red not found"; !strings.Contains(stderr.String(), want) {
		t.Errorf("stderr does not contain %q:\n%s", want, stderr.String())
	}
}
