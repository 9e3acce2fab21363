// Package configapi simulates the Contrail (Tungsten Fabric) config API
// server, the VNC API on port 8082, for tests and the demo. It keeps the
// objects a pod plumber needs in memory: projects, virtual networks, IPAMs,
// virtual machines, VMIs, instance-ips and virtual routers. It allocates
// instance-ip addresses the way the API server does, and it gives the
// simulated vRouter agent its per-node view of that config.
//
// Requests and responses use the API server's wire format: bodies wrapped
// in the hyphenated type name, underscored field names, JSON on success and
// a plain-text message on failure. RequireTokens turns on Keystone token
// checks, and GenerateCertificates makes a CA and server certificate for
// serving over TLS.
package configapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"
)

// maxBodyBytes bounds a request body.
const maxBodyBytes = 16 << 20

// Server is an in-memory Contrail config API server. It is safe for
// concurrent use: one mutex serializes every request and Go API call.
type Server struct {
	logger *slog.Logger
	// tokens, when not nil, validates the X-Auth-Token of each request.
	tokens TokenValidator

	mu    sync.Mutex
	store *store

	// faultState holds the injected faults (faults.go).
	faultState faultState
}

// NewServer returns a server that holds the objects a fresh Contrail
// installation starts with: default-global-system-config, default-domain,
// default-domain:default-project and its default-network-ipam. A nil logger
// discards the log.
func NewServer(logger *slog.Logger) *Server {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{logger: logger, store: newStore()}
	defaults := []struct {
		typ string
		fq  []string
	}{
		{typeGlobalSystemConfig, defaultGlobalSystemConfig},
		{typeDomain, defaultDomain},
		{typeProject, defaultProject},
		{typeNetworkIPAM, defaultNetworkIPAM},
	}
	for _, d := range defaults {
		if _, err := s.ensureLocked(d.typ, d.fq, nil); err != nil {
			// These creates only fail if the package's own defaults are wrong.
			panic(fmt.Sprintf("configapi: create default %s %q: %v", d.typ, strings.Join(d.fq, ":"), err))
		}
	}
	return s
}

// Handler returns the HTTP handler that serves the config API routes.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.handleHome)
	mux.HandleFunc("POST /fqname-to-id", s.handleFQNameToID)
	mux.HandleFunc("POST /id-to-fqname", s.handleIDToFQName)
	mux.HandleFunc("POST /ref-update", s.handleRefUpdate)
	mux.HandleFunc("GET /{collection}", s.handleList)
	mux.HandleFunc("POST /{collection}", s.handleCreate)
	mux.HandleFunc("GET /{type}/{uuid}", s.handleRead)
	mux.HandleFunc("PUT /{type}/{uuid}", s.handleUpdate)
	mux.HandleFunc("DELETE /{type}/{uuid}", s.handleDelete)
	mux.HandleFunc("GET "+FaultsPath, s.handleFaults)
	mux.HandleFunc("PUT "+FaultsPath, s.handleFaults)
	return s.logRequests(s.injectFaults(s.authenticate(mux)))
}

// statusRecorder captures the status code a handler writes.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		s.logger.Debug("config API request",
			"method", r.Method, "path", r.URL.RequestURI(), "status", rec.status, "duration", time.Since(start))
	})
}

// baseURL returns the scheme and host that hrefs in responses start with,
// taken from the request as the API server does.
func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "Internal Server Error: encode response: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(code)
	_, _ = w.Write(body)
}

// writeError sends err as a plain-text body, as the API server's error
// handlers do, and logs it with attrs: 5xx at warn, others at info.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error, attrs ...any) {
	var httpErr *HTTPError
	if !errors.As(err, &httpErr) {
		httpErr = errorf(http.StatusInternalServerError, "Internal Server Error: %v", err)
	}
	level := slog.LevelInfo
	if httpErr.StatusCode >= http.StatusInternalServerError {
		level = slog.LevelWarn
	}
	attrs = append(attrs, "method", r.Method, "path", r.URL.Path, "status", httpErr.StatusCode, "error", httpErr.Message)
	s.logger.Log(r.Context(), level, "config API request failed", attrs...)

	w.Header().Set("Content-Type", "text/plain; charset=UTF-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(httpErr.StatusCode)
	_, _ = io.WriteString(w, httpErr.Message)
}

// decodeBody decodes a JSON request body into dst.
func decodeBody(w http.ResponseWriter, r *http.Request, dst any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err := dec.Decode(dst); err != nil {
		return badRequest("Bad Request, invalid JSON body: %v", err)
	}
	return nil
}
