package keystone

import (
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"slices"
	"time"
)

// maxBodyBytes bounds a request body.
const maxBodyBytes = 1 << 20

// keystoneTime is the layout of Keystone's issued_at and expires_at: UTC
// with microseconds and a Z suffix.
const keystoneTime = "2006-01-02T15:04:05.000000Z"

// unauthorizedMessage is the message Keystone returns for every failed
// authentication. It does not say whether the user, the password or the
// scope was wrong.
const unauthorizedMessage = "The request you have made requires authentication."

// domainRef names a domain by id or by name.
type domainRef struct {
	ID   string `json:"id,omitempty"`
	Name string `json:"name,omitempty"`
}

// projectRef names a project by id, or by name and domain.
type projectRef struct {
	ID     string     `json:"id,omitempty"`
	Name   string     `json:"name,omitempty"`
	Domain *domainRef `json:"domain,omitempty"`
}

// authRequest is the body of POST /v3/auth/tokens with the password method.
type authRequest struct {
	Auth struct {
		Identity struct {
			Methods  []string `json:"methods"`
			Password *struct {
				User struct {
					ID       string     `json:"id"`
					Name     string     `json:"name"`
					Domain   *domainRef `json:"domain"`
					Password string     `json:"password"`
				} `json:"user"`
			} `json:"password"`
		} `json:"identity"`
		// Scope is {"project": ...}, {"domain": ...}, the string
		// "unscoped", or absent.
		Scope json.RawMessage `json:"scope"`
	} `json:"auth"`
}

type scopeRequest struct {
	Project *projectRef `json:"project"`
	Domain  *domainRef  `json:"domain"`
}

// Handler returns the HTTP handler that serves POST /v3/auth/tokens.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v3/auth/tokens", s.handleIssueToken)
	return mux
}

func (s *Server) handleIssueToken(w http.ResponseWriter, r *http.Request) {
	var req authRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err := dec.Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "Invalid JSON body: "+err.Error())
		return
	}
	identity := req.Auth.Identity
	if !slices.Contains(identity.Methods, "password") || identity.Password == nil {
		writeError(w, http.StatusBadRequest, "Expecting to find password method with a password.user object in auth.identity.")
		return
	}
	creds := identity.Password.User
	var scope scopeRequest
	if len(req.Auth.Scope) > 0 && string(req.Auth.Scope) != `"unscoped"` && string(req.Auth.Scope) != "null" {
		if err := json.Unmarshal(req.Auth.Scope, &scope); err != nil {
			writeError(w, http.StatusBadRequest, "Invalid auth.scope: "+err.Error())
			return
		}
	}

	s.mu.Lock()
	id, ok := s.authenticateLocked(creds.ID, creds.Name, creds.Domain, creds.Password, scope)
	var body map[string]any
	var expiresAt time.Time
	if ok {
		t := s.tokens[id]
		body = s.tokenBody(t)
		expiresAt = t.expiresAt
	}
	s.mu.Unlock()
	if !ok {
		// Log the user name only: never the password.
		s.logger.Info("keystone authentication failed", "user", creds.Name, "user_id", creds.ID)
		writeError(w, http.StatusUnauthorized, unauthorizedMessage)
		return
	}
	s.logger.Info("keystone issued token", "user", creds.Name, "expires_at", expiresAt)

	w.Header().Set("X-Subject-Token", id)
	writeJSON(w, http.StatusCreated, body)
}

// authenticateLocked checks the credentials and the scope, and issues a
// token when both are valid. It returns the token and whether the request
// was accepted. The caller holds s.mu.
func (s *Server) authenticateLocked(userID, name string, domain *domainRef, password string, scope scopeRequest) (string, bool) {
	u := s.findUserLocked(userID, name, domain)
	if u == nil || subtle.ConstantTimeCompare([]byte(u.password), []byte(password)) != 1 {
		return "", false
	}

	t := token{user: u}
	switch {
	case scope.Project != nil:
		projectID, _, ok := s.projectByRef(scope.Project)
		if !ok || !u.mayScopeTo(projectID) {
			return "", false
		}
		t.projectID = projectID
	case scope.Domain != nil:
		domainID, ok := s.domainByRef(scope.Domain)
		if !ok || domainID != u.domainID {
			return "", false
		}
		t.domainID = domainID
	}
	return s.issueLocked(t), true
}

func (s *Server) findUserLocked(id, name string, domain *domainRef) *user {
	if id != "" {
		for _, u := range s.users {
			if u.id == id {
				return u
			}
		}
		return nil
	}
	domainID, ok := s.domainByRef(domain)
	if !ok {
		return nil
	}
	return s.users[domainID+"/"+name]
}

// tokenBody renders the {"token": ...} body of a token response.
func (s *Server) tokenBody(t token) map[string]any {
	u := t.user
	domain := func(id string) map[string]any {
		return map[string]any{"id": id, "name": s.domainName(id)}
	}
	body := map[string]any{
		"methods":    []string{"password"},
		"user":       map[string]any{"id": u.id, "name": u.name, "domain": domain(u.domainID), "password_expires_at": nil},
		"audit_ids":  []string{t.auditID},
		"issued_at":  t.issuedAt.UTC().Format(keystoneTime),
		"expires_at": t.expiresAt.UTC().Format(keystoneTime),
	}
	roles := []map[string]any{{"id": s.roleID, "name": adminRole}}
	switch {
	case t.projectID != "":
		_, domainID, _ := s.projectByRef(&projectRef{ID: t.projectID})
		body["project"] = map[string]any{"id": t.projectID, "name": s.projectName(t.projectID), "domain": domain(domainID)}
		body["is_domain"] = false
		body["roles"] = roles
		body["catalog"] = []any{}
	case t.domainID != "":
		body["domain"] = domain(t.domainID)
		body["roles"] = roles
		body["catalog"] = []any{}
	}
	return map[string]any{"token": body}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "encode response: "+err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(body)
}

// writeError sends Keystone's JSON error body: {"error": {"code",
// "message", "title"}}.
func writeError(w http.ResponseWriter, code int, message string) {
	body, _ := json.Marshal(map[string]any{"error": map[string]any{
		"code": code, "message": message, "title": http.StatusText(code),
	}})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(body)
}
