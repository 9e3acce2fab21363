package configapi

import (
	"fmt"
	"net/http"
	"strings"
)

// HTTPError is a failed config API operation: the HTTP status code and the
// plain-text message that the server sends as the response body.
type HTTPError struct {
	StatusCode int
	Message    string
}

func (e *HTTPError) Error() string {
	return fmt.Sprintf("%d %s: %s", e.StatusCode, http.StatusText(e.StatusCode), e.Message)
}

func errorf(code int, format string, args ...any) *HTTPError {
	return &HTTPError{StatusCode: code, Message: fmt.Sprintf(format, args...)}
}

func badRequest(format string, args ...any) *HTTPError {
	return errorf(http.StatusBadRequest, format, args...)
}

func notFound(format string, args ...any) *HTTPError {
	return errorf(http.StatusNotFound, format, args...)
}

func conflict(format string, args ...any) *HTTPError {
	return errorf(http.StatusConflict, format, args...)
}

// pyList formats items the way Python prints a list of str, for example
// ['default-domain', 'k8s']. The Contrail API server builds its messages with
// Python formatting, so fq-names and href lists appear in this form.
func pyList(items []string) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, item := range items {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('\'')
		b.WriteString(strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(item))
		b.WriteByte('\'')
	}
	b.WriteByte(']')
	return b.String()
}
