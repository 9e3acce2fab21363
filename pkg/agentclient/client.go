// Package agentclient is a client for the vRouter agent's local port API
// (TCP port 9091 by default): the config view of a virtual-machine's
// interfaces and the calls that bind and unbind a host interface to a VMI.
package agentclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// DefaultRequestTimeout bounds one HTTP request when New is given no timeout.
const DefaultRequestTimeout = 5 * time.Second

// maxReplyBytes caps how much of a reply the client reads. A /vm-cfg reply
// for a VM with many interfaces stays far below it.
const maxReplyBytes = 1 << 20

// probeUUID is a well-formed VMI uuid that no VMI has. Ping requests its
// port because the agent serves GET /port cheaply, without a task switch.
const probeUUID = "00000000-0000-0000-0000-000000000000"

// ErrNotFound matches (with errors.Is) a 404 reply: the agent has no such
// VM, VMI or port, or has it without the data that the reply needs.
var ErrNotFound = errors.New("not found")

// ErrInvalidReply matches (with errors.Is) a 200 reply whose body is not
// the JSON that the route returns, or is larger than the client reads. A
// retry is unlikely to help: the agent, or something in front of it, speaks
// another format.
var ErrInvalidReply = errors.New("invalid reply from the vRouter agent")

// ErrUnreachable matches (with errors.Is) a request that got no HTTP reply:
// the connection was refused or reset, or the request outlived the client's
// timeout. A request that the caller's context ends does not match it.
var ErrUnreachable = errors.New("vRouter agent unreachable")

// StatusError is a reply with a status code other than 200. The agent always
// sends the reason phrase "OK", so only Code carries the outcome.
type StatusError struct {
	Method string
	URL    string
	Code   int
	// Message is the "error" member of the agent's JSON error body, or the
	// raw body when it is not such JSON.
	Message string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("%s %s: status %d: %s", e.Method, e.URL, e.Code, e.Message)
}

// Is reports a 404 reply as ErrNotFound.
func (e *StatusError) Is(target error) bool {
	return target == ErrNotFound && e.Code == http.StatusNotFound
}

// Client calls one vRouter agent. Its methods are safe for concurrent use.
type Client struct {
	// BaseURL is the agent's URL without a path, such as "http://127.0.0.1:9091".
	BaseURL string
	// HTTP sends the requests; its Timeout bounds each request.
	HTTP *http.Client
}

// New returns a Client for the agent at baseURL whose requests each time
// out after timeout, or after DefaultRequestTimeout when timeout is 0.
func New(baseURL string, timeout time.Duration) *Client {
	if timeout <= 0 {
		timeout = DefaultRequestTimeout
	}
	return &Client{
		BaseURL: strings.TrimRight(baseURL, "/"),
		HTTP:    &http.Client{Timeout: timeout},
	}
}

// VMConfig returns the VMIs of the virtual-machine named vmName as the
// agent received them from config. It returns an error matching ErrNotFound
// while the agent has no such VM or the VM has no VMI.
func (c *Client) VMConfig(ctx context.Context, vmName string) ([]VMConfigEntry, error) {
	var entries []VMConfigEntry
	err := c.do(ctx, http.MethodGet, "/vm-cfg/"+url.PathEscape(vmName), nil, func(body []byte) error {
		var err error
		entries, err = DecodeVMConfig(body)
		return err
	})
	if err != nil {
		return nil, err
	}
	return entries, nil
}

// Port returns the port of the VMI vmiUUID. It returns an error matching
// ErrNotFound while the VMI, its network or its address is unknown to the
// agent.
func (c *Client) Port(ctx context.Context, vmiUUID string) (*Port, error) {
	if err := CheckUUID(vmiUUID); err != nil {
		return nil, err
	}
	var port *Port
	err := c.do(ctx, http.MethodGet, "/port/"+vmiUUID, nil, func(body []byte) error {
		var err error
		port, err = DecodePort(body)
		return err
	})
	if err != nil {
		return nil, err
	}
	return port, nil
}

// AddPort binds the host interface req.SystemName to the VMI req.ID.
func (c *Client) AddPort(ctx context.Context, req PortRequest) error {
	if err := CheckUUID(req.ID); err != nil {
		return err
	}
	body, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("encode port request for VMI %s: %w", req.ID, err)
	}
	return c.do(ctx, http.MethodPost, "/port", body, nil)
}

// DeletePort unbinds the VMI vmiUUID from its host interface. The agent
// replies 200 also when it has no such port.
func (c *Client) DeletePort(ctx context.Context, vmiUUID string) error {
	if err := CheckUUID(vmiUUID); err != nil {
		return err
	}
	return c.do(ctx, http.MethodDelete, "/port/"+vmiUUID, nil, nil)
}

// Ping checks that the agent replies to HTTP requests. Any reply counts,
// including the 404 that the agent sends for the unknown port Ping requests.
func (c *Client) Ping(ctx context.Context) error {
	err := c.do(ctx, http.MethodGet, "/port/"+probeUUID, nil, nil)
	if errors.Is(err, ErrUnreachable) {
		return err
	}
	return nil
}

// CheckUUID rejects a uuid that the agent's routes would not match: they
// accept lowercase hex only and reply 404 "Unknown Request" to the rest.
func CheckUUID(s string) error {
	if len(s) != 36 {
		return fmt.Errorf("invalid uuid %q: expected 36 characters such as %q", s, probeUUID)
	}
	for i, r := range s {
		switch {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if r != '-' {
				return fmt.Errorf("invalid uuid %q: expected '-' at position %d", s, i)
			}
		case (r < '0' || r > '9') && (r < 'a' || r > 'f'):
			return fmt.Errorf("invalid uuid %q: the agent accepts lowercase hex digits only", s)
		}
	}
	return nil
}

// do sends one request and passes the body of a 200 reply to decode unless
// decode is nil.
func (c *Client) do(ctx context.Context, method, path string, body []byte, decode func([]byte) error) error {
	target := c.BaseURL + path
	var reader io.Reader
	if body != nil {
		reader = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, reader)
	if err != nil {
		return fmt.Errorf("build request %s %s: %w", method, target, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")

	resp, err := c.HTTP.Do(req)
	if err != nil {
		// A caller's deadline or cancellation is no sign of an unreachable agent.
		if ctxErr := ctx.Err(); ctxErr != nil {
			return fmt.Errorf("%s %s: %w", method, target, ctxErr)
		}
		// err is a *url.Error, which names the method and URL.
		return fmt.Errorf("%w: %w", ErrUnreachable, err)
	}
	defer resp.Body.Close()

	// Reading one byte more than the limit distinguishes a reply at the
	// limit from a longer one.
	reply, err := io.ReadAll(io.LimitReader(resp.Body, maxReplyBytes+1))
	if err != nil {
		return fmt.Errorf("read reply to %s %s: %w", method, target, err)
	}
	tooLong := len(reply) > maxReplyBytes
	if tooLong {
		reply = reply[:maxReplyBytes]
	}
	if resp.StatusCode != http.StatusOK {
		return &StatusError{Method: method, URL: target, Code: resp.StatusCode, Message: errorMessage(reply)}
	}
	if decode == nil {
		return nil
	}
	if tooLong {
		return fmt.Errorf("%w: reply to %s %s is larger than %d bytes", ErrInvalidReply, method, target, maxReplyBytes)
	}
	if err := decode(reply); err != nil {
		return fmt.Errorf("decode reply to %s %s: %w", method, target, err)
	}
	return nil
}

// errorMessage extracts the message of an agent error body {"error":"..."}.
func errorMessage(body []byte) string {
	var e struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal(body, &e); err == nil && e.Error != "" {
		return e.Error
	}
	text := strings.TrimSpace(string(body))
	if text == "" {
		return "empty reply body"
	}
	return text
}
