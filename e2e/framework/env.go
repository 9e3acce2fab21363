// Package framework holds what the end-to-end suite and the demo share: the
// cluster connection, pod network inspection through the pod's network
// namespace, and the Contrail simulator's APIs.
package framework

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Env describes the running local cluster and simulator, read from the env
// file that e2e/cluster/up.sh writes, overridden by process environment.
type Env struct {
	Root         string
	Kubeconfig   string
	NodeName     string
	ConfigAPIURL string
	AgentURL     string
	SimBinary    string
	Kubectl      string
	// ClusterWork is the cluster's work directory (containerd state etc.).
	ClusterWork string
}

// LoadEnv reads $CVIF_CLUSTER_ENV (default <root>/_output/cluster/env).
func LoadEnv(root string) (*Env, error) {
	path := os.Getenv("CVIF_CLUSTER_ENV")
	if path == "" {
		path = filepath.Join(root, "_output", "cluster", "env")
	}
	vars, err := readEnvFile(path)
	if err != nil {
		return nil, fmt.Errorf("read cluster env %s (start the cluster with `make e2e` or `make demo`): %w", path, err)
	}
	get := func(key, def string) string {
		if v := os.Getenv(key); v != "" {
			return v
		}
		if v, ok := vars[key]; ok && v != "" {
			return v
		}
		return def
	}
	env := &Env{
		Root:         root,
		Kubeconfig:   get("KUBECONFIG", ""),
		NodeName:     get("NODE_NAME", "cvif-node"),
		ConfigAPIURL: get("CONFIG_API_URL", "http://127.0.0.1:8082"),
		AgentURL:     get("AGENT_URL", "http://127.0.0.1:9091"),
		SimBinary:    get("CONTRAIL_SIM", filepath.Join(root, "bin", "contrail-sim")),
		Kubectl:      get("KUBECTL", "kubectl"),
		ClusterWork:  get("CLUSTER_WORK", filepath.Join(root, "_output", "cluster")),
	}
	if env.Kubeconfig == "" {
		return nil, fmt.Errorf("cluster env %s has no KUBECONFIG", path)
	}
	return env, nil
}

// readEnvFile parses KEY=VALUE lines, with optional "export " and quotes.
func readEnvFile(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		line = strings.TrimPrefix(line, "export ")
		key, value, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		out[key] = strings.Trim(value, `"'`)
	}
	return out, sc.Err()
}
