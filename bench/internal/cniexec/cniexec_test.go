package cniexec

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
)

func TestRunPassesEnvStdinAndWrap(t *testing.T) {
	out, err := Run(context.Background(), Call{
		Plugin: "/plugin/path", Command: "ADD", ContainerID: "c1", IfName: "net1", Args: "K8S_POD_NAME=web",
		Stdin: []byte(`{"cniVersion":"1.0.0"}`),
		Wrap:  []string{"/bin/sh", "-c", `printf '%s %s %s %s %s|' "$CNI_COMMAND" "$CNI_CONTAINERID" "$CNI_IFNAME" "$CNI_ARGS" "$1"; cat`, "sh"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := `ADD c1 net1 K8S_POD_NAME=web /plugin/path|{"cniVersion":"1.0.0"}`
	if string(out.Stdout) != want {
		t.Errorf("stdout = %q, want %q", out.Stdout, want)
	}
	if out.Duration <= 0 {
		t.Errorf("duration = %s, want a positive time", out.Duration)
	}
}

func TestRunReportsPluginError(t *testing.T) {
	_, err := Run(context.Background(), Call{
		Plugin: "ignored",
		Wrap:   []string{"/bin/sh", "-c", `echo '{"code":7,"msg":"bad config"}'; exit 1`, "sh"},
	})
	if err == nil || !strings.Contains(err.Error(), "bad config") {
		t.Errorf("Run of a failing plugin: error %v, want one that carries the plugin's message", err)
	}
}

func TestWithPrevResult(t *testing.T) {
	conf, err := WithPrevResult([]byte(`{"cniVersion":"1.0.0","name":"n"}`), []byte(`{"ips":[{"address":"10.0.0.2/24"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(conf, &m); err != nil {
		t.Fatal(err)
	}
	if string(m["name"]) != `"n"` || !strings.Contains(string(m["prevResult"]), "10.0.0.2/24") {
		t.Errorf("config = %s, want the name kept and prevResult set", conf)
	}
	if _, err := WithPrevResult([]byte(`{}`), []byte(`not json`)); err == nil {
		t.Error("WithPrevResult accepted a result that is not JSON")
	}
}
