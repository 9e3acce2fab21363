package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/netip"

	"github.com/google/uuid"
)

// Where the benchmark's pods live. The /16 holds maxPods addresses.
var (
	benchProject = []string{"default-domain", "cvifsimbench"}
	benchNetwork = []string{"default-domain", "cvifsimbench", "net"}
	benchSubnet  = netip.MustParsePrefix("10.78.0.0/16")
)

// maxPods is the number of instance-ip addresses benchSubnet has, less the
// network, broadcast, gateway and DNS server addresses and some slack.
const maxPods = 60000

// Config object types, as the config API names them.
const (
	typeVirtualMachine = "virtual-machine"
	typeVMI            = "virtual-machine-interface"
	typeInstanceIP     = "instance-ip"
)

// createOrder is the order in which the config API accepts the objects of
// a pod, because each refers to the one before.
var createOrder = []string{typeVirtualMachine, typeVMI, typeInstanceIP}

// pod is the identity of one simulated pod with one interface: the objects
// that contrail-vif-controller creates for it, and the host interface that
// the plugin binds.
type pod struct {
	vmName    string
	vmUUID    string
	vmiUUID   string
	vmiFQName []string
	iipUUID   string
	mac       string
	// hostIfname is the host end of the pod's veth pair.
	hostIfname string
	// address is the instance-ip address the config API allocated.
	address string
}

// newPods returns n pods with new uuids. Their host interface names are
// hostPrefix followed by the index, so hostPrefix must leave room for five
// digits within the kernel's 15-character limit.
func newPods(n int, hostPrefix string) []pod {
	pods := make([]pod, n)
	for i := range pods {
		name := fmt.Sprintf("pod-%05d", i)
		vmi := uuid.New()
		pods[i] = pod{
			vmName:     "k8s__cvifsimbench__" + name,
			vmUUID:     uuid.NewString(),
			vmiUUID:    vmi.String(),
			vmiFQName:  append(append([]string{}, benchProject...), name+"__net1"),
			iipUUID:    uuid.NewString(),
			mac:        fmt.Sprintf("02:%02x:%02x:%02x:%02x:%02x", vmi[0], vmi[1], vmi[2], vmi[3], vmi[4]),
			hostIfname: fmt.Sprintf("%s%05d", hostPrefix, i),
		}
	}
	return pods
}

// configSetup holds the uuids of the project, network and virtual-router
// that the pods refer to.
type configSetup struct {
	projectUUID string
	networkUUID string
	routerUUID  string
}

// createSetup creates benchProject and benchNetwork through the config API
// at baseURL and looks up the virtual-router of node.
func createSetup(ctx context.Context, client *http.Client, baseURL, node string) (configSetup, error) {
	var setup configSetup
	var err error
	setup.projectUUID, err = createObject(ctx, client, baseURL, "project", map[string]any{
		"fq_name":     benchProject,
		"parent_type": "domain",
	})
	if err != nil {
		return setup, err
	}

	subnet := map[string]any{"ip_prefix": benchSubnet.Addr().String(), "ip_prefix_len": benchSubnet.Bits()}
	setup.networkUUID, err = createObject(ctx, client, baseURL, "virtual-network", map[string]any{
		"fq_name":     benchNetwork,
		"parent_type": "project",
		"network_ipam_refs": []any{map[string]any{
			"to":   []string{"default-domain", "default-project", "default-network-ipam"},
			"attr": map[string]any{"ipam_subnets": []any{map[string]any{"subnet": subnet}}},
		}},
	})
	if err != nil {
		return setup, err
	}

	var found struct {
		UUID string `json:"uuid"`
	}
	lookup := map[string]any{"type": "virtual-router", "fq_name": []string{"default-global-system-config", node}}
	if err := postJSON(ctx, client, baseURL+"/fqname-to-id", lookup, &found); err != nil {
		return setup, fmt.Errorf("look up virtual-router of node %q: %w", node, err)
	}
	setup.routerUUID = found.UUID
	return setup, nil
}

// createObject creates one object of type typ and returns its uuid.
func createObject(ctx context.Context, client *http.Client, baseURL, typ string, fields map[string]any) (string, error) {
	var created map[string]struct {
		UUID string `json:"uuid"`
	}
	if err := postJSON(ctx, client, baseURL+"/"+typ+"s", map[string]any{typ: fields}, &created); err != nil {
		return "", fmt.Errorf("create %s %v: %w", typ, fields["fq_name"], err)
	}
	return created[typ].UUID, nil
}

// createRequests returns, for each type in creation order, the requests
// that create the pods' virtual-machines, VMIs and instance-ips the way
// contrail-vif-controller does: refs by fq-name, a client-chosen uuid, and
// an instance-ip whose address the server allocates.
func createRequests(baseURL string, pods []pod) (map[string][]request, error) {
	out := map[string][]request{}
	for _, p := range pods {
		annotations := map[string]any{"key_value_pair": []any{
			map[string]string{"key": "owner", "value": "k8s"},
			map[string]string{"key": "cluster", "value": "k8s"},
			map[string]string{"key": "namespace", "value": "cvifsimbench"},
		}}
		objects := []struct {
			typ    string
			fields map[string]any
		}{
			{typeVirtualMachine, map[string]any{
				"fq_name":     []string{p.vmName},
				"uuid":        p.vmUUID,
				"server_type": "container",
				"annotations": annotations,
			}},
			{typeVMI, map[string]any{
				"fq_name":              p.vmiFQName,
				"parent_type":          "project",
				"uuid":                 p.vmiUUID,
				"virtual_network_refs": []any{map[string]any{"to": benchNetwork}},
				"virtual_machine_refs": []any{map[string]any{"to": []string{p.vmName}}},
				"virtual_machine_interface_mac_addresses": map[string]any{"mac_address": []string{p.mac}},
				"annotations": annotations,
			}},
			{typeInstanceIP, map[string]any{
				"fq_name":                        []string{p.vmiFQName[len(p.vmiFQName)-1]},
				"uuid":                           p.iipUUID,
				"virtual_network_refs":           []any{map[string]any{"to": benchNetwork}},
				"virtual_machine_interface_refs": []any{map[string]any{"to": p.vmiFQName}},
				"instance_ip_family":             "v4",
			}},
		}
		for _, o := range objects {
			body, err := json.Marshal(map[string]any{o.typ: o.fields})
			if err != nil {
				return nil, fmt.Errorf("encode %s of %s: %w", o.typ, p.vmName, err)
			}
			out[o.typ] = append(out[o.typ], request{method: http.MethodPost, url: baseURL + "/" + o.typ + "s", body: body})
		}
	}
	return out, nil
}

// linkRequests returns the ref-updates that add a ref from the node's
// virtual-router to each pod's VM, which makes the VMIs reach the agent.
func linkRequests(baseURL, routerUUID string, pods []pod) ([]request, error) {
	out := make([]request, 0, len(pods))
	for _, p := range pods {
		body, err := json.Marshal(map[string]any{
			"operation": "ADD",
			"type":      "virtual-router",
			"uuid":      routerUUID,
			"ref-type":  typeVirtualMachine,
			"ref-uuid":  p.vmUUID,
		})
		if err != nil {
			return nil, fmt.Errorf("encode ref-update of %s: %w", p.vmName, err)
		}
		out = append(out, request{method: http.MethodPost, url: baseURL + "/ref-update", body: body})
	}
	return out, nil
}

// readAddresses sets the address of every pod from its instance-ip.
func readAddresses(ctx context.Context, client *http.Client, baseURL string, pods []pod) error {
	var list struct {
		InstanceIPs []struct {
			UUID    string `json:"uuid"`
			Address string `json:"instance_ip_address"`
		} `json:"instance-ips"`
	}
	if err := getJSON(ctx, client, baseURL+"/instance-ips?fields=instance_ip_address", &list); err != nil {
		return fmt.Errorf("list instance-ips: %w", err)
	}
	byUUID := make(map[string]string, len(list.InstanceIPs))
	for _, iip := range list.InstanceIPs {
		byUUID[iip.UUID] = iip.Address
	}
	for i := range pods {
		addr, ok := byUUID[pods[i].iipUUID]
		if !ok || addr == "" {
			return fmt.Errorf("instance-ip %s of %s has no address", pods[i].iipUUID, pods[i].vmName)
		}
		pods[i].address = addr
	}
	return nil
}

func postJSON(ctx context.Context, client *http.Client, url string, body, out any) error {
	data, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("encode request to %s: %w", url, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(data))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	return doJSON(client, req, out)
}

func getJSON(ctx context.Context, client *http.Client, url string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	return doJSON(client, req, out)
}

// doJSON sends req and decodes a 200 response into out.
func doJSON(client *http.Client, req *http.Request, out any) error {
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("read response to %s %s: %w", req.Method, req.URL, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: status %d: %s", req.Method, req.URL, resp.StatusCode, data)
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("decode response to %s %s: %w", req.Method, req.URL, err)
	}
	return nil
}
