// Package keystone simulates the part of the OpenStack Identity service
// (Keystone) v3 that a Contrail config API client needs: password
// authentication through POST /v3/auth/tokens, which returns a token in the
// X-Subject-Token header. The simulated config API validates those tokens in
// process through Server.ValidateToken.
//
// Users, their passwords and the projects they may scope a token to are
// configured in Go with AddUser. Tokens live in memory only.
package keystone

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"
)

// DefaultTokenTTL is the token lifetime when Server.TokenTTL is zero: the
// default of Keystone's [token] expiration option, 3600 seconds
// (keystone/conf/token.py).
const DefaultTokenTTL = time.Hour

// DefaultDomain is the name of the domain that every Keystone has, whose id
// is "default".
const DefaultDomain = "Default"

// defaultDomainID is the id of DefaultDomain.
const defaultDomainID = "default"

// adminRole is the role every configured user holds on its projects.
const adminRole = "admin"

// Errors that ValidateToken returns.
var (
	ErrTokenInvalid = errors.New("invalid token")
	ErrTokenExpired = errors.New("token expired")
)

// User is an account that may authenticate with a password.
type User struct {
	Name     string
	Password string
	// Domain is the name of the user's domain; empty means DefaultDomain.
	Domain string
	// Projects are the names of the projects, in the user's domain, that the
	// user holds the admin role on and so may scope a token to.
	Projects []string
}

// Server is a simulated Keystone v3 identity service. Set its fields before
// the first request; it is then safe for concurrent use.
type Server struct {
	// TokenTTL is the lifetime of issued tokens; zero means DefaultTokenTTL.
	TokenTTL time.Duration
	// Now returns the current time; nil means time.Now. Tests set it to
	// expire tokens without waiting.
	Now func() time.Time

	logger *slog.Logger

	mu       sync.Mutex
	domains  map[string]string // domain name to id
	users    map[string]*user  // key: domain id + "/" + user name
	projects map[string]string // key: domain id + "/" + project name, value: project id
	roleID   string
	tokens   map[string]token
}

type user struct {
	id       string
	name     string
	domainID string
	password string
	projects []string // project ids
}

// token is an issued token. Exactly one of projectID and domainID is set for
// a scoped token; both are empty for an unscoped one.
type token struct {
	user      *user
	projectID string
	domainID  string
	issuedAt  time.Time
	expiresAt time.Time
	auditID   string
}

// NewServer returns a server with the Default domain and no users. A nil
// logger discards the log.
func NewServer(logger *slog.Logger) *Server {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Server{
		logger:   logger,
		domains:  map[string]string{DefaultDomain: defaultDomainID},
		users:    map[string]*user{},
		projects: map[string]string{},
		roleID:   newID(),
		tokens:   map[string]token{},
	}
}

// AddUser adds u, its domain and its projects. It fails when a user of the
// same name exists in that domain.
func (s *Server) AddUser(u User) error {
	if u.Name == "" || u.Password == "" {
		return errors.New("add user: name and password must not be empty")
	}
	if u.Domain == "" {
		u.Domain = DefaultDomain
	}
	s.mu.Lock()
	defer s.mu.Unlock()

	domainID, ok := s.domains[u.Domain]
	if !ok {
		domainID = newID()
		s.domains[u.Domain] = domainID
	}
	key := domainID + "/" + u.Name
	if _, ok := s.users[key]; ok {
		return fmt.Errorf("add user %q: user exists in domain %q", u.Name, u.Domain)
	}
	stored := &user{id: newID(), name: u.Name, domainID: domainID, password: u.Password}
	for _, p := range u.Projects {
		pkey := domainID + "/" + p
		id, ok := s.projects[pkey]
		if !ok {
			id = newID()
			s.projects[pkey] = id
		}
		stored.projects = append(stored.projects, id)
	}
	s.users[key] = stored
	return nil
}

// ValidateToken returns nil when tok is an issued, unexpired token, and
// ErrTokenInvalid or ErrTokenExpired otherwise.
func (s *Server) ValidateToken(tok string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tokens[tok]
	if !ok {
		return ErrTokenInvalid
	}
	if !s.now().Before(t.expiresAt) {
		delete(s.tokens, tok)
		return ErrTokenExpired
	}
	return nil
}

func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Server) ttl() time.Duration {
	if s.TokenTTL > 0 {
		return s.TokenTTL
	}
	return DefaultTokenTTL
}

// issueLocked stores a new token for t and returns its id. It also drops
// expired tokens, so the store holds at most the tokens of one lifetime.
func (s *Server) issueLocked(t token) string {
	now := s.now()
	for id, old := range s.tokens {
		if !now.Before(old.expiresAt) {
			delete(s.tokens, id)
		}
	}
	t.issuedAt = now
	t.expiresAt = now.Add(s.ttl())
	t.auditID = randomString(16)
	id := randomString(32)
	s.tokens[id] = t
	return id
}

// domainByRef resolves a domain given by id or by name.
func (s *Server) domainByRef(ref *domainRef) (string, bool) {
	if ref == nil {
		return "", false
	}
	if ref.ID != "" {
		for _, id := range s.domains {
			if id == ref.ID {
				return id, true
			}
		}
		return "", false
	}
	id, ok := s.domains[ref.Name]
	return id, ok
}

func (s *Server) domainName(id string) string {
	for name, did := range s.domains {
		if did == id {
			return name
		}
	}
	return ""
}

// projectByRef resolves a project given by id, or by name and domain.
func (s *Server) projectByRef(ref *projectRef) (id, domainID string, ok bool) {
	for key, pid := range s.projects {
		did, name, _ := strings.Cut(key, "/")
		if ref.ID != "" && pid == ref.ID {
			return pid, did, true
		}
		if ref.ID == "" && ref.Name == name {
			if want, found := s.domainByRef(ref.Domain); found && want == did {
				return pid, did, true
			}
		}
	}
	return "", "", false
}

func (s *Server) projectName(id string) string {
	for key, pid := range s.projects {
		if pid == id {
			_, name, _ := strings.Cut(key, "/")
			return name
		}
	}
	return ""
}

func (u *user) mayScopeTo(projectID string) bool {
	return slices.Contains(u.projects, projectID)
}

// newID returns a Keystone-style id: 32 lowercase hex digits.
func newID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // Since Go 1.24 crypto/rand.Read never returns an error.
	return hex.EncodeToString(b)
}

// randomString returns n random bytes in unpadded URL-safe base64.
func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
