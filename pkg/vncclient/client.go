// Package vncclient is a client for the Contrail (Tungsten Fabric) config API,
// the VNC API server on port 8082. It speaks the server's wire format: bodies
// wrapped in the hyphenated type name, refs by fq-name in "to", and plain-text
// error bodies.
//
// A Client bounds every request with a timeout, retries requests that failed
// for transient reasons (see RetryPolicy), authenticates with Keystone
// tokens when Auth is set (see KeystoneAuth), and verifies TLS servers
// against a configured CA (see NewTLSConfig).
package vncclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// DefaultTimeout bounds one request when the caller's http.Client has none.
const DefaultTimeout = 10 * time.Second

// maxErrorBody caps how much of an error body is kept in an APIError.
const maxErrorBody = 4096

// Client calls one config API server. Set its fields before the first
// request; it is then safe for concurrent use.
type Client struct {
	// BaseURL is the server's root, for example "http://127.0.0.1:8082".
	BaseURL string
	// HTTP sends the requests; its Timeout bounds each attempt. Nil means
	// an http.Client with DefaultTimeout. NewHTTPClient builds one for TLS.
	HTTP *http.Client
	// Auth, when not nil, supplies the X-Auth-Token of every request. On a
	// 401 the client invalidates the token and repeats the request once
	// with a new one.
	Auth Authenticator
	// Retry bounds the retries of requests that failed for transient
	// reasons. The zero value makes a single attempt; New sets
	// DefaultRetryPolicy.
	Retry RetryPolicy
	// Observer, when not nil, is called after every HTTP attempt with the
	// operation ("fqname-to-id", "id-to-fqname", "create", "read", "delete",
	// "ref-update" or "list"), the response status code (0 when no response
	// arrived) and the duration of the attempt. Use it to count requests.
	Observer func(op string, status int, d time.Duration)
	// Logger receives a line for each retry. Nil discards them. Log lines
	// and errors never contain the token or the password.
	Logger *slog.Logger
}

// New returns a client for baseURL with a per-request timeout and
// DefaultRetryPolicy. A timeout of zero or less means DefaultTimeout.
func New(baseURL string, timeout time.Duration) *Client {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	return &Client{
		BaseURL: strings.TrimRight(baseURL, "/"),
		HTTP:    &http.Client{Timeout: timeout},
		Retry:   DefaultRetryPolicy(),
	}
}

// APIError is a non-2xx reply of the config API. Message is the server's
// plain-text error body.
type APIError struct {
	Method     string
	Path       string
	StatusCode int
	Message    string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("config API %s %s returned %d: %s", e.Method, e.Path, e.StatusCode, e.Message)
}

// IsNotFound reports whether err is a 404 from the config API.
func IsNotFound(err error) bool { return hasStatus(err, http.StatusNotFound) }

// IsConflict reports whether err is a 409 from the config API: the object
// exists already, an address is in use, or a delete is blocked by refs.
func IsConflict(err error) bool { return hasStatus(err, http.StatusConflict) }

// IsBadRequest reports whether err is a 400 from the config API, which is
// also how Contrail reports an exhausted subnet.
func IsBadRequest(err error) bool { return hasStatus(err, http.StatusBadRequest) }

// IsUnauthorized reports whether err is a 401 from the config API, even
// after a fresh token, or from Keystone: the credentials are wrong.
func IsUnauthorized(err error) bool {
	var authErr *AuthError
	if errors.As(err, &authErr) && authErr.StatusCode == http.StatusUnauthorized {
		return true
	}
	return hasStatus(err, http.StatusUnauthorized)
}

func hasStatus(err error, code int) bool {
	var apiErr *APIError
	return errors.As(err, &apiErr) && apiErr.StatusCode == code
}

// request is one config API call.
type request struct {
	op     string // operation name for Observer and the log
	method string
	path   string
	query  url.Values
	body   any // encoded as JSON when not nil
	out    any // decoded from a JSON reply when not nil
}

// do sends req, retrying as c.Retry allows, and decodes the reply into
// req.out.
//
// NOTE: do retries every request, because each operation of this package is
// safe to repeat. Reads, fqname-to-id and id-to-fqname change nothing. A
// repeated DELETE gets 404, and a repeated ref-update sets the same ref. A
// repeated create gets 409 for the uuid or fq-name that the first attempt
// used, which callers treat as "exists". An operation that is not safe to
// repeat needs a way to skip the retry loop.
func (c *Client) do(ctx context.Context, req request) error {
	var body []byte
	if req.body != nil {
		data, err := json.Marshal(req.body)
		if err != nil {
			return fmt.Errorf("encode %s %s body: %w", req.method, req.path, err)
		}
		body = data
	}
	target := c.BaseURL + req.path
	if len(req.query) > 0 {
		target += "?" + req.query.Encode()
	}

	start := time.Now()
	renewed := false
	for attempt := 1; ; {
		err := c.send(ctx, req, target, body)
		if err == nil {
			return nil
		}
		if c.Auth != nil && !renewed && hasStatus(err, http.StatusUnauthorized) {
			// The token expired or was revoked before its expires_at: get a
			// new one and repeat the request once, outside the retry count.
			renewed = true
			c.Auth.Invalidate()
			continue
		}
		if ctx.Err() != nil || !isTransient(err) {
			return withAttempts(err, attempt, time.Since(start))
		}
		delay := c.Retry.delay(attempt)
		if attempt >= c.Retry.attempts() || (c.Retry.MaxElapsed > 0 && time.Since(start)+delay > c.Retry.MaxElapsed) {
			return withAttempts(err, attempt, time.Since(start))
		}

		c.logger().Info("retrying config API request", "op", req.op, "method", req.method, "path", req.path,
			"attempt", attempt, "delay", delay, "error", err)
		if waitErr := sleep(ctx, delay); waitErr != nil {
			return fmt.Errorf("%w (stopped retrying: %w)", withAttempts(err, attempt, time.Since(start)), waitErr)
		}
		attempt++
	}
}

// send makes one attempt of req.
func (c *Client) send(ctx context.Context, req request, target string, body []byte) error {
	var reader io.Reader
	if body != nil {
		reader = bytes.NewReader(body)
	}
	httpReq, err := http.NewRequestWithContext(ctx, req.method, target, reader)
	if err != nil {
		return fmt.Errorf("build %s %s: %w", req.method, req.path, err)
	}
	if body != nil {
		httpReq.Header.Set("Content-Type", "application/json; charset=UTF-8")
	}
	httpReq.Header.Set("Accept", "application/json")
	if c.Auth != nil {
		token, err := c.Auth.Token(ctx)
		if err != nil {
			return fmt.Errorf("authenticate to the config API: %w", err)
		}
		httpReq.Header.Set("X-Auth-Token", token)
	}

	start := time.Now()
	resp, err := c.httpClient().Do(httpReq)
	if err != nil {
		c.observe(req.op, 0, start)
		// The error names the method and URL; it holds no credentials,
		// because the token travels in a header.
		err = fmt.Errorf("send config API request: %w", err)
		if certificateError(err) {
			return err
		}
		return &transientError{err: err}
	}
	defer resp.Body.Close()

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		c.observe(req.op, resp.StatusCode, start)
		return &APIError{Method: req.method, Path: req.path, StatusCode: resp.StatusCode, Message: strings.TrimSpace(string(msg))}
	}
	if req.out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		c.observe(req.op, resp.StatusCode, start)
		return nil
	}
	err = json.NewDecoder(resp.Body).Decode(req.out)
	c.observe(req.op, resp.StatusCode, start)
	if err != nil {
		return fmt.Errorf("decode config API %s %s reply: %w", req.method, req.path, err)
	}
	return nil
}

func (c *Client) httpClient() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return &http.Client{Timeout: DefaultTimeout}
}

func (c *Client) observe(op string, status int, start time.Time) {
	if c.Observer != nil {
		c.Observer(op, status, time.Since(start))
	}
}

func (c *Client) logger() *slog.Logger {
	if c.Logger != nil {
		return c.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// withAttempts adds the attempt count and time to err when it took more
// than one attempt.
func withAttempts(err error, attempts int, elapsed time.Duration) error {
	if attempts <= 1 {
		return err
	}
	return fmt.Errorf("%w (gave up after %d attempts in %s)", err, attempts, elapsed.Round(time.Millisecond))
}
