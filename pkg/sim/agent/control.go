package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// ControlPathPrefix starts the simulator's own control routes for the
// agent. They are not the agent's API: contrail-sim serves them next to the
// config API's fault route, so that tests can restart the agent, inject
// faults and list its ports while the CNI plugin talks to the agent.
const ControlPathPrefix = "/_sim/agent/"

// maxRestartDown bounds the time a restart keeps the agent down.
const maxRestartDown = time.Minute

// FaultsJSON is the body of GET and PUT /_sim/agent/faults: Faults with
// durations as Go duration strings such as "3s".
type FaultsJSON struct {
	ConfigDelay string          `json:"configDelay,omitempty"`
	Latency     string          `json:"latency,omitempty"`
	Errors      []ErrorRuleJSON `json:"errors,omitempty"`
}

// ErrorRuleJSON is an ErrorRule in FaultsJSON.
type ErrorRuleJSON struct {
	Method     string `json:"method,omitempty"`
	PathPrefix string `json:"pathPrefix,omitempty"`
	Status     int    `json:"status,omitempty"`
	Message    string `json:"message,omitempty"`
	Count      int    `json:"count,omitempty"`
}

// RestartRequest is the optional body of POST /_sim/agent/restart.
type RestartRequest struct {
	// Down is how long the agent stays stopped before it comes back, as a
	// Go duration string; empty restarts it at once.
	Down string `json:"down,omitempty"`
}

// Inventory is the reply of GET /_sim/agent/ports: what the agent holds
// for its clients, so that a test can find ports that outlive their pods.
type Inventory struct {
	// Ports are the POST /port subscriptions.
	Ports []InventoryPort `json:"ports"`
	// VMPorts are the POST /vm subscriptions.
	VMPorts []InventoryVMPort `json:"vmPorts"`
	// PortFiles are the port files, as paths relative to PortsDir:
	// "<vmi-uuid>" and "vm/<vm-name>/<vmi-uuid>".
	PortFiles []string `json:"portFiles"`
	// ConfigPending are the VMIs that a client has asked for while
	// Faults.ConfigDelay still hides them: the client waits for them.
	ConfigPending []string `json:"configPending"`
}

// InventoryPort is a POST /port subscription in Inventory.
type InventoryPort struct {
	VMIUUID    string `json:"vmi-uuid"`
	InstanceID string `json:"instance-id"`
	SystemName string `json:"system-name"`
	Type       int    `json:"type"`
}

// InventoryVMPort is a POST /vm subscription in Inventory.
type InventoryVMPort struct {
	VMUUID     string `json:"vm-uuid"`
	VMName     string `json:"vm-name"`
	VMIUUID    string `json:"vmi-uuid"`
	HostIfname string `json:"host-ifname"`
}

// ControlHandler returns the handler of the routes under ControlPathPrefix:
//
//	POST /_sim/agent/restart  stop, wait RestartRequest.Down, then Restart
//	GET  /_sim/agent/faults   the injected faults as FaultsJSON
//	PUT  /_sim/agent/faults   replace them; {} removes them
//	GET  /_sim/agent/ports    the Inventory
//
// Errors are plain text: 400 for an invalid body, 409 when Serve does not
// run, 500 when the agent cannot listen again or read its port files.
func (s *Server) ControlHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+ControlPathPrefix+"restart", s.handleRestart)
	mux.HandleFunc("GET "+ControlPathPrefix+"faults", s.handleGetFaults)
	mux.HandleFunc("PUT "+ControlPathPrefix+"faults", s.handlePutFaults)
	mux.HandleFunc("GET "+ControlPathPrefix+"ports", s.handleInventory)
	return mux
}

func (s *Server) handleRestart(w http.ResponseWriter, r *http.Request) {
	var req RestartRequest
	if err := decodeControlBody(r, &req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	down, err := parseControlDuration("down", req.Down)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if down > maxRestartDown {
		http.Error(w, fmt.Sprintf("invalid down %q: expected at most %s", req.Down, maxRestartDown), http.StatusBadRequest)
		return
	}

	s.logger().Info("agent restart requested", "down", down)
	if down > 0 {
		if err := s.Stop(); err != nil {
			http.Error(w, err.Error(), restartStatus(err))
			return
		}
		// The agent stays down for the whole time even if the client goes
		// away, so that the restart is never half done.
		time.Sleep(down)
	}
	if err := s.Restart(); err != nil {
		http.Error(w, err.Error(), restartStatus(err))
		return
	}
	writeControlJSON(w, map[string]string{"addr": s.Addr()})
}

func restartStatus(err error) int {
	if errors.Is(err, errNotServing) {
		return http.StatusConflict
	}
	return http.StatusInternalServerError
}

func (s *Server) handleGetFaults(w http.ResponseWriter, _ *http.Request) {
	writeControlJSON(w, faultsToJSON(s.Faults()))
}

func (s *Server) handlePutFaults(w http.ResponseWriter, r *http.Request) {
	var body FaultsJSON
	if err := decodeControlBody(r, &body); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	f, err := faultsFromJSON(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.SetFaults(f)
	s.logger().Info("agent faults changed", "configDelay", f.ConfigDelay, "latency", f.Latency, "errorRules", len(f.Errors))
	writeControlJSON(w, faultsToJSON(s.Faults()))
}

func (s *Server) handleInventory(w http.ResponseWriter, _ *http.Request) {
	inv, err := s.Inventory()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	writeControlJSON(w, inv)
}

// Inventory returns the agent's subscriptions, its port files and the VMIs
// that clients wait for, each list sorted.
func (s *Server) Inventory() (Inventory, error) {
	delay := s.configDelay()
	inv := Inventory{Ports: []InventoryPort{}, VMPorts: []InventoryVMPort{}, PortFiles: []string{}, ConfigPending: []string{}}

	s.mu.Lock()
	s.initLocked()
	for _, sub := range s.ports {
		inv.Ports = append(inv.Ports, InventoryPort{
			VMIUUID: sub.VMIUUID, InstanceID: sub.InstanceUUID, SystemName: sub.SystemName, Type: sub.Type,
		})
	}
	for _, vm := range s.vms {
		for _, sub := range vm {
			inv.VMPorts = append(inv.VMPorts, InventoryVMPort{
				VMUUID: sub.VMUUID, VMName: sub.VMName, VMIUUID: sub.VMIUUID, HostIfname: sub.HostIfname,
			})
		}
	}
	now := time.Now()
	for vmi, first := range s.firstSeen {
		if now.Sub(first) < delay {
			inv.ConfigPending = append(inv.ConfigPending, vmi)
		}
	}
	s.mu.Unlock()

	slices.SortFunc(inv.Ports, func(a, b InventoryPort) int { return strings.Compare(a.VMIUUID, b.VMIUUID) })
	slices.SortFunc(inv.VMPorts, func(a, b InventoryVMPort) int {
		return strings.Compare(a.VMName+"/"+a.VMIUUID, b.VMName+"/"+b.VMIUUID)
	})
	slices.Sort(inv.ConfigPending)

	files, err := s.portFileNames()
	if err != nil {
		return Inventory{}, err
	}
	inv.PortFiles = files
	return inv, nil
}

// portFileNames returns the port files under PortsDir relative to it, in
// the order LoadPorts replays them.
func (s *Server) portFileNames() ([]string, error) {
	names := []string{}
	if s.PortsDir == "" {
		return names, nil
	}
	paths, err := uuidFiles(s.PortsDir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	vmDirs, err := os.ReadDir(filepath.Join(s.PortsDir, vmDirName))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("read ports directory: %w", err)
	}
	for _, entry := range vmDirs {
		if !entry.IsDir() {
			continue
		}
		found, err := uuidFiles(filepath.Join(s.PortsDir, vmDirName, entry.Name()))
		if err != nil {
			return nil, err
		}
		paths = append(paths, found...)
	}
	for _, path := range paths {
		rel, err := filepath.Rel(s.PortsDir, path)
		if err != nil {
			return nil, fmt.Errorf("port file %s: %w", path, err)
		}
		names = append(names, rel)
	}
	return names, nil
}

func faultsToJSON(f Faults) FaultsJSON {
	out := FaultsJSON{}
	if f.ConfigDelay > 0 {
		out.ConfigDelay = f.ConfigDelay.String()
	}
	if f.Latency > 0 {
		out.Latency = f.Latency.String()
	}
	for _, rule := range f.Errors {
		out.Errors = append(out.Errors, ErrorRuleJSON(rule))
	}
	return out
}

func faultsFromJSON(in FaultsJSON) (Faults, error) {
	var f Faults
	var err error
	if f.ConfigDelay, err = parseControlDuration("configDelay", in.ConfigDelay); err != nil {
		return Faults{}, err
	}
	if f.Latency, err = parseControlDuration("latency", in.Latency); err != nil {
		return Faults{}, err
	}
	for i, rule := range in.Errors {
		if rule.Status != 0 && (rule.Status < 100 || rule.Status > 599) {
			return Faults{}, fmt.Errorf("invalid errors[%d].status %d: expected an HTTP status from 100 to 599", i, rule.Status)
		}
		if rule.Count < 0 {
			return Faults{}, fmt.Errorf("invalid errors[%d].count %d: expected 0 (every request) or more", i, rule.Count)
		}
		f.Errors = append(f.Errors, ErrorRule(rule))
	}
	return f, nil
}

// parseControlDuration parses the duration string value of field; empty is
// zero.
func parseControlDuration(field, value string) (time.Duration, error) {
	if value == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(value)
	if err != nil {
		return 0, fmt.Errorf("invalid %s %q: expected a duration such as \"3s\": %w", field, value, err)
	}
	if d < 0 {
		return 0, fmt.Errorf("invalid %s %q: the duration is negative", field, value)
	}
	return d, nil
}

// decodeControlBody decodes a JSON body into dst, rejecting unknown fields.
// An empty body leaves dst as it is.
func decodeControlBody(r *http.Request, dst any) error {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, maxBodyBytes))
	dec.DisallowUnknownFields()
	err := dec.Decode(dst)
	if err == nil || errors.Is(err, io.EOF) {
		return nil
	}
	return fmt.Errorf("invalid request body: %w", err)
}

func writeControlJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
