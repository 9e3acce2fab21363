//go:build e2e

// Package e2e runs contrail-vif end to end on a local cluster that
// e2e/run.sh starts: real kube-apiserver, kubelet, containerd and Multus,
// with contrail-sim standing in for Contrail. Run it with `make e2e`.
package e2e

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	nadv1 "github.com/k8snetworkplumbingwg/network-attachment-definition-client/pkg/apis/k8s.cni.cncf.io/v1"

	"github.com/contrail-vif/contrail-vif/e2e/framework"
	"github.com/contrail-vif/contrail-vif/pkg/vncclient"
)

var cluster *framework.Cluster

// configAPI is the tests' client of the simulator's config API, with the
// Keystone credentials and CA of pods mode when it runs.
var configAPI *vncclient.Client

func TestMain(m *testing.M) {
	var err error
	cluster, err = framework.ConnectRepo("..")
	if err != nil {
		// Fail loudly: `go test -tags e2e` without a cluster is a mistake.
		println("e2e:", err.Error())
		os.Exit(1)
	}
	configAPI, err = framework.NewConfigAPIClient(cluster.Env, 5*time.Second)
	if err != nil {
		println("e2e:", err.Error())
		os.Exit(1)
	}
	os.Exit(m.Run())
}

func examplePath(name string) string {
	return filepath.Join(cluster.Env.Root, "examples", name)
}

func background() context.Context { return context.Background() }

type nadStatus = nadv1.NetworkStatus

// expectAgentPortGone checks that the agent no longer reports the VMI's port.
func expectAgentPortGone(t *testing.T, pod, vmiUUID string) {
	t.Helper()
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get(cluster.Env.AgentURL + "/port/" + vmiUUID)
	if err != nil {
		t.Errorf("pod %s: query agent port %s: %v", pod, vmiUUID, err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("pod %s: agent still reports port %s: %d %s", pod, vmiUUID, resp.StatusCode, body)
	}
}

func vncForTests() *vncclient.Client {
	return configAPI
}
