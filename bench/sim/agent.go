package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/contrail-vif/contrail-vif/pkg/agentclient"
	"github.com/contrail-vif/contrail-vif/pkg/sim/cli"
	"github.com/contrail-vif/contrail-vif/pkg/sim/dataplane"
)

// benchNode names the simulated compute node and its virtual-router.
const benchNode = "cvifsimbench-node"

// Names of what the data plane run creates. They differ from contrail-sim's
// defaults, so a simulator of the local cluster can run at the same time.
const (
	nodeNetns        = "cvifsimbench-node"
	linkPrefix       = "cvsb"
	gatewayPrefix    = "cvsb-gw-"
	hostIfnamePrefix = "cvsbt"
	peerIfnamePrefix = "cvsbp"
)

// bindRequests returns the POST /port requests that bind each pod's host
// interface to its VMI, with the body contrail-vif sends: a namespace port
// without VLAN tags.
func bindRequests(agentURL string, setup configSetup, pods []pod) ([]request, error) {
	now := time.Now().UTC().Format("2006-01-02 15:04:05")
	out := make([]request, 0, len(pods))
	for _, p := range pods {
		body, err := json.Marshal(agentclient.PortRequest{
			ID:          p.vmiUUID,
			InstanceID:  p.vmUUID,
			VNID:        setup.networkUUID,
			VMProjectID: setup.projectUUID,
			DisplayName: p.vmName,
			IPAddress:   p.address,
			Type:        agentclient.PortTypeNamespace,
			SystemName:  p.hostIfname,
			MACAddress:  p.mac,
			RxVLANID:    agentclient.NoVLAN,
			TxVLANID:    agentclient.NoVLAN,
			Author:      "cvifsimbench",
			Time:        now,
		})
		if err != nil {
			return nil, fmt.Errorf("encode port request of %s: %w", p.vmName, err)
		}
		out = append(out, request{method: http.MethodPost, url: agentURL + "/port", body: body})
	}
	return out, nil
}

// prepareBinds creates the config of pods in the simulator sim, links their
// VMs to the node and returns the setup and the POST /port requests that
// bind the pods. The steps are not timed.
func prepareBinds(ctx context.Context, client *http.Client, clients int, sim *cli.Simulator, pods []pod) (configSetup, []request, error) {
	configURL := sim.ConfigAPIURL()
	setup, err := createSetup(ctx, client, configURL, benchNode)
	if err != nil {
		return setup, nil, err
	}
	creates, err := createRequests(configURL, pods)
	if err != nil {
		return setup, nil, err
	}
	for _, typ := range createOrder {
		if _, err := runPhase(ctx, client, clients, creates[typ]); err != nil {
			return setup, nil, fmt.Errorf("create %ss: %w", typ, err)
		}
	}
	if err := linkPods(ctx, client, clients, configURL, setup, pods); err != nil {
		return setup, nil, err
	}
	binds, err := bindRequests("http://"+sim.AgentAddr(), setup, pods)
	return setup, binds, err
}

// linkPods adds the refs from the node's virtual-router to the pods' VMs and
// reads the pods' addresses.
func linkPods(ctx context.Context, client *http.Client, clients int, configURL string, setup configSetup, pods []pod) error {
	links, err := linkRequests(configURL, setup.routerUUID, pods)
	if err != nil {
		return err
	}
	if _, err := runPhase(ctx, client, clients, links); err != nil {
		return fmt.Errorf("link VMs to node %s: %w", benchNode, err)
	}
	return readAddresses(ctx, client, configURL, pods)
}

// measureDataPlaneBinds binds n pods whose host interfaces are veth pairs in
// a node namespace of its own, with the simulator's kernel data plane on,
// and checks that every interface ended up on the VN bridge. It removes the
// simulator's bridges and gateway namespaces and the node namespace with
// every veth before it returns.
func measureDataPlaneBinds(ctx context.Context, logger, simLogger *slog.Logger, n, clients int) (result phaseResult, err error) {
	removed, err := dataplane.DeleteNamedNetns(nodeNetns)
	if err != nil {
		return result, fmt.Errorf("remove netns %s left by an earlier run: %w", nodeNetns, err)
	}
	if removed {
		logger.Warn("removed netns left by an earlier run", "netns", nodeNetns)
	}
	if err := dataplane.CreateNamedNetns(nodeNetns); err != nil {
		return result, fmt.Errorf("create node netns %s: %w", nodeNetns, err)
	}
	// Deleting the namespace deletes the veths in it.
	defer func() {
		if _, delErr := dataplane.DeleteNamedNetns(nodeNetns); delErr != nil {
			err = errors.Join(err, fmt.Errorf("delete node netns %s: %w", nodeNetns, delErr))
		}
	}()

	pods := newPods(n, hostIfnamePrefix)
	if err := createVeths(nodeNetns, pods); err != nil {
		return result, err
	}

	sim, err := cli.Start(cli.ServeOptions{
		ConfigAPIListen: "127.0.0.1:0",
		AgentListen:     "127.0.0.1:0",
		NodeName:        benchNode,
		DataPlane:       dataplane.Config{LinkPrefix: linkPrefix, NetnsPrefix: gatewayPrefix, Netns: nodeNetns},
	}, simLogger)
	if err != nil {
		return result, fmt.Errorf("start contrail-sim with a data plane: %w", err)
	}
	// Close removes the bridges and gateway namespaces before the node
	// namespace goes.
	defer func() {
		if closeErr := sim.Close(); closeErr != nil {
			err = errors.Join(err, fmt.Errorf("stop contrail-sim: %w", closeErr))
		}
	}()

	client := newHTTPClient(clients)
	defer client.CloseIdleConnections()
	setup, binds, err := prepareBinds(ctx, client, clients, sim, pods)
	if err != nil {
		return result, err
	}
	logger.Info("binding ports with the data plane on", "ports", len(binds), "node_netns", nodeNetns)
	result, err = runPhase(ctx, client, clients, binds)
	if err != nil {
		return result, fmt.Errorf("bind ports with the data plane on: %w", err)
	}

	names, err := dataplane.NamesFor(dataplane.Config{LinkPrefix: linkPrefix, NetnsPrefix: gatewayPrefix}, setup.networkUUID)
	if err != nil {
		return result, err
	}
	enslaved, err := countEnslaved(nodeNetns, names.Bridge, hostIfnamePrefix)
	if err != nil {
		return result, err
	}
	if enslaved != n {
		return result, fmt.Errorf("%d of %d host interfaces are on bridge %s after binding", enslaved, n, names.Bridge)
	}
	return result, nil
}
