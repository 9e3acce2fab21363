// Package agent simulates the vRouter agent's local port API (the "port
// IPC" REST server on port 9091) for one compute node: the routes, JSON
// bodies, messages and status codes of the real agent, served from the
// simulator's config store and backed by a kernel data plane.
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

// Server is the simulated agent of the compute node Node. Set the exported
// fields before the first request and do not change them afterwards.
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

	// now returns the current time; tests replace it.
	now func() time.Time

	mu sync.Mutex
	// ports are the POST /port subscriptions by VMI uuid.
	// TODO: persist ports under /var/lib/contrail/ports/<vmi-uuid> and
	// /var/lib/contrail/ports/vm/<vm-name>/<vmi-uuid>, and reload them at
	// start, as the real agent does; they are lost on restart until then.
	ports map[string]*portSubscription
	// vms are the POST /vm subscriptions by VM uuid, then VMI uuid.
	vms map[string]map[string]*vmSubscription
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

// routes is the routing table, in the real agent's order.
//
// TODO: POST /syncports, POST and DELETE /gateway, PUT /enable-port/<uuid>
// and PUT /disable-port/<uuid> are not simulated yet and get 404 "Unknown
// Request".
var routes = []route{
	{http.MethodPost, regexp.MustCompile(`^/port$`), (*Server).postPort},
	{http.MethodDelete, regexp.MustCompile(`^/port/` + uuidPattern + `$`), (*Server).deletePort},
	{http.MethodGet, regexp.MustCompile(`^/port/` + uuidPattern + `$`), (*Server).getPort},
	{http.MethodPost, regexp.MustCompile(`^/vm$`), (*Server).postVM},
	{http.MethodDelete, regexp.MustCompile(`^/vm/` + uuidPattern + `$`), (*Server).deleteVM},
	{http.MethodGet, regexp.MustCompile(`^/vm/` + uuidPattern + `$`), (*Server).getVM},
	{http.MethodGet, regexp.MustCompile(`^/vm/` + uuidPattern + `/` + uuidPattern + `$`), (*Server).getVM},
	{http.MethodGet, regexp.MustCompile(`^/vm-cfg/(.*)$`), (*Server).getVMConfig},
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

// dispatch finds the route of r and runs it.
func (s *Server) dispatch(r *http.Request) reply {
	path := r.URL.Path
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

// initLocked creates the subscription maps on first use. The caller holds
// s.mu.
func (s *Server) initLocked() {
	if s.ports == nil {
		s.ports = map[string]*portSubscription{}
	}
	if s.vms == nil {
		s.vms = map[string]map[string]*vmSubscription{}
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
