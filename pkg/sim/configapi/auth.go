package configapi

import (
	"net/http"
	"strings"
)

// TokenValidator checks a Keystone token. keystone.Server implements it.
// ValidateToken returns nil for a valid token; its error message must not
// contain the token, because it goes into the 401 response.
type TokenValidator interface {
	ValidateToken(token string) error
}

// RequireTokens makes every request need a valid Keystone token in the
// X-Auth-Token header, as the API server does with auth=keystone. Only "/"
// and "/documentation" (and paths below it) stay open. Call it before
// Handler; a nil v turns authentication off again.
func (s *Server) RequireTokens(v TokenValidator) {
	s.tokens = v
}

// authenticate wraps next with the token check, or returns next unchanged
// when authentication is off.
func (s *Server) authenticate(next http.Handler) http.Handler {
	validator := s.tokens
	if validator == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if openPath(r.URL.Path) {
			next.ServeHTTP(w, r)
			return
		}
		// Header.Get canonicalizes the name, so X-AUTH-TOKEN, which vnc_api
		// sends, matches too.
		token := r.Header.Get("X-Auth-Token")
		if token == "" {
			s.writeError(w, r, errorf(http.StatusUnauthorized, "Authentication required: the request has no X-Auth-Token header"))
			return
		}
		if err := validator.ValidateToken(token); err != nil {
			s.writeError(w, r, errorf(http.StatusUnauthorized, "Authentication failed: %v", err))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// openPath reports whether path is served without a token.
func openPath(path string) bool {
	// The simulator's own control routes under /_sim/ are not Contrail's
	// and stay open so that tests can inject faults without a token.
	return path == "/" || path == "/documentation" || strings.HasPrefix(path, "/documentation/") ||
		strings.HasPrefix(path, "/_sim/")
}
