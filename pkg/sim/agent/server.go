// Package agent simulates the vRouter agent's local port API (the "port
// IPC" REST server on port 9091) for one compute node: the routes, JSON
// bodies, messages and status codes of the real agent, served from the
// simulator's config store and backed by a kernel data plane.
//
// Like the real agent, it keeps a file per bound port under a ports
// directory and replays them when it starts (LoadPorts, Restart), and it
// removes the ports not added again within a timeout after POST /syncports.
// For tests of its clients it can delay config, add latency, fail requests
// (SetFaults) and go down and come back (Stop, Restart).
package agent

import (
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"sync"
	"time"
)

// DataPlane connects host interfaces to the forwarding domain of a virtual
// network. *dataplane.DataPlane implements it.
type DataPlane interface {
	// Attach connects the host interface hostIfname to the VN vnUUID.
	Attach(vnUUID, hostIfname string) error
	// Detach disconnects hostIfname. A missing link is not an error.
	Detach(hostIfname string) error
}

// programName is the value of the "author" field, where the real agent
// writes its own program name.
const programName = "contrail-sim"

// maxBodyBytes limits request bodies. Port requests are a few hundred bytes.
const maxBodyBytes = 1 << 20

// DefaultPortsDir is the directory where the real agent keeps its port
// files.
const DefaultPortsDir = "/var/lib/contrail/ports"

// DefaultStaleCleanupTimeout is the real agent's default
// stale_interface_cleanup_timeout: the time from POST /syncports to the
// removal of the subscriptions not added again since.
const DefaultStaleCleanupTimeout = 60 * time.Second

// Server is the simulated agent of the compute node Node. Set the exported
// fields before the first request and do not change them afterwards. The
// injected faults can change at any time through SetFaults.
type Server struct {
	// Config is the config that reaches this node. Required.
	Config ConfigView
	// Node is the node name; the node's virtual-router is
	// ["default-global-system-config", Node].
	Node string
	// DataPlane receives the bound host interfaces. When nil, ports are
	// only recorded.
	DataPlane DataPlane
	// Logger receives request and binding logs. When nil, nothing is logged.
	Logger *slog.Logger
	// PortsDir is the directory of the port files, DefaultPortsDir on a
	// real node. When empty, bindings live in memory only and a restart
	// loses them.
	PortsDir string
	// StaleCleanupTimeout is the time from POST /syncports to the removal
	// of the subscriptions not added again since. DefaultStaleCleanupTimeout
	// when zero.
	StaleCleanupTimeout time.Duration
	// LinkExists reports whether the host interface ifname exists. Replaying
	// the port files skips ports whose interface is gone. When nil, the
	// kernel is asked through netlink.
	LinkExists func(ifname string) bool

	// now returns the current time for the "time" fields. Tests replace it.
	now func() time.Time

	faultsMu sync.Mutex
	faults   Faults

	lifeMu sync.Mutex
	// serving is the listener state of the running Serve, nil when Serve
	// does not run.
	serving *serveState

	mu sync.Mutex
	// ports are the POST /port subscriptions by VMI uuid.
	ports map[string]*portSubscription
	// vms are the POST /vm subscriptions by VM uuid, then VMI uuid.
	vms map[string]map[string]*vmSubscription
	// gateways are the POST /gateway virtual gateways by interface name.
	gateways map[string]gatewayConfig
	// version counts POST /syncports requests. Every subscription records
	// the version current when it was last added.
	version uint64
	// staleTimers are the armed stale sweeps by timer id. A sweep whose id
	// is no longer here was cancelled.
	staleTimers map[uint64]*time.Timer
	nextTimerID uint64
	// firstSeen is when the agent first found each VMI in config, the start
	// of Faults.ConfigDelay.
	firstSeen map[string]time.Time
	// vmNames are the names of the VMs met in config, by VM uuid, for
	// GET /vm/<vm-uuid> when Config is not a VMUUIDView.
	vmNames map[string]string
}

// reply is a response: the agent always sends JSON.
type reply struct {
	status int
	body   string
}

// route is one entry of the agent's routing table. Like the real agent, the
// pattern must match the whole URL path and the method must be equal.
type route struct {
	method  string
	pattern *regexp.Regexp
	handle  func(s *Server, r *http.Request, body []byte, match []string) reply
}

// uuidPattern matches lowercase uuids only, as the real agent does, so an
// uppercase uuid is an unknown request.
const uuidPattern = `([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})`

// routes is the routing table, in the real agent's order (RESTHandlers_ in
// tf-controller src/vnsw/agent/port_ipc/rest_server.cc).
var routes = []route{
	{http.MethodPost, regexp.MustCompile(`^/port$`), (*Server).postPort},
	{http.MethodPost, regexp.MustCompile(`^/syncports$`), (*Server).syncPorts},
	{http.MethodDelete, regexp.MustCompile(`^/port/` + uuidPattern + `$`), (*Server).deletePort},
	{http.MethodGet, regexp.MustCompile(`^/port/` + uuidPattern + `$`), (*Server).getPort},
	{http.MethodPost, regexp.MustCompile(`^/gateway$`), (*Server).postGateway},
	{http.MethodDelete, regexp.MustCompile(`^/gateway$`), (*Server).deleteGateway},
	{http.MethodPost, regexp.MustCompile(`^/vm$`), (*Server).postVM},
	{http.MethodDelete, regexp.MustCompile(`^/vm/` + uuidPattern + `$`), (*Server).deleteVM},
	{http.MethodGet, regexp.MustCompile(`^/vm/` + uuidPattern + `$`), (*Server).getVM},
	{http.MethodGet, regexp.MustCompile(`^/vm/` + uuidPattern + `/` + uuidPattern + `$`), (*Server).getVM},
	{http.MethodGet, regexp.MustCompile(`^/vm-cfg/(.*)$`), (*Server).getVMConfig},
	{http.MethodPut, regexp.MustCompile(`^/enable-port/` + uuidPattern + `$`), (*Server).enablePort},
	{http.MethodPut, regexp.MustCompile(`^/disable-port/` + uuidPattern + `$`), (*Server).disablePort},
}

// Handler returns the agent's routes as an http.Handler.
//
// NOTE: served by net/http, the status line carries Go's reason phrase
// ("HTTP/1.1 404 Not Found") and a Date header is added, whereas the real
// agent always writes "OK" and no Date. Serve writes the agent's exact
// framing; use Handler for httptest and anywhere the framing does not matter.
func (s *Server) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rep := s.dispatch(r)
		w.Header().Set("Content-Type", contentType)
		w.Header().Set("Content-Length", strconv.Itoa(len(rep.body)))
		w.WriteHeader(rep.status)
		_, _ = io.WriteString(w, rep.body)
	})
}

// dispatch applies the injected faults to r, then finds the route of r and
// runs it.
func (s *Server) dispatch(r *http.Request) reply {
	path := r.URL.Path
	if rep, ok := s.applyFaults(r); ok {
		s.logger().Debug("injected failure", "method", r.Method, "path", path, "status", rep.status)
		return rep
	}
	for _, rt := range routes {
		if r.Method != rt.method {
			continue
		}
		match := rt.pattern.FindStringSubmatch(path)
		if match == nil {
			continue
		}
		body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxBodyBytes))
		if err != nil {
			s.logger().Warn("failed to read request body", "method", r.Method, "path", path, "error", err)
			return errorReply(http.StatusInternalServerError, "{ failed to read request body: "+err.Error()+" }")
		}
		rep := rt.handle(s, r, body, match)
		s.logger().Debug("request", "method", r.Method, "path", path, "status", rep.status)
		return rep
	}
	s.logger().Debug("unknown request", "method", r.Method, "path", path)
	return errorReply(http.StatusNotFound, "Unknown Request")
}

func (s *Server) logger() *slog.Logger {
	if s.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Logger
}

// initLocked creates the maps on first use. The caller holds s.mu.
func (s *Server) initLocked() {
	if s.ports == nil {
		s.ports = map[string]*portSubscription{}
	}
	if s.vms == nil {
		s.vms = map[string]map[string]*vmSubscription{}
	}
	if s.gateways == nil {
		s.gateways = map[string]gatewayConfig{}
	}
	if s.staleTimers == nil {
		s.staleTimers = map[uint64]*time.Timer{}
	}
	if s.firstSeen == nil {
		s.firstSeen = map[string]time.Time{}
	}
	if s.vmNames == nil {
		s.vmNames = map[string]string{}
	}
}

// timestamp returns the current time the way the real agent writes the
// "time" field: the time since the Unix epoch as a Boost time_duration,
// hours:minutes:seconds.microseconds.
func (s *Server) timestamp() string {
	now := time.Now
	if s.now != nil {
		now = s.now
	}
	us := now().UnixMicro()
	hours := us / int64(time.Hour/time.Microsecond)
	us -= hours * int64(time.Hour/time.Microsecond)
	minutes := us / int64(time.Minute/time.Microsecond)
	us -= minutes * int64(time.Minute/time.Microsecond)
	seconds := us / int64(time.Second/time.Microsecond)
	us -= seconds * int64(time.Second/time.Microsecond)
	return pad2(hours) + ":" + pad2(minutes) + ":" + pad2(seconds) + "." + padN(us, 6)
}

func pad2(v int64) string { return padN(v, 2) }

func padN(v int64, n int) string {
	s := strconv.FormatInt(v, 10)
	for len(s) < n {
		s = "0" + s
	}
	return s
}
