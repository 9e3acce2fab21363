// Package vncclient is a client for the Contrail (Tungsten Fabric) config API,
// the VNC API server on port 8082. It speaks the server's wire format: bodies
// wrapped in the hyphenated type name, refs by fq-name in "to", and plain-text
// error bodies.
package vncclient

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

// DefaultTimeout bounds one request when the caller's http.Client has none.
const DefaultTimeout = 10 * time.Second

// maxErrorBody caps how much of an error body is kept in an APIError.
const maxErrorBody = 4096

// Client calls one config API server. The zero HTTP field means an
// http.Client with DefaultTimeout.
type Client struct {
	// BaseURL is the server's root, for example "http://127.0.0.1:8082".
	BaseURL string
	// HTTP sends the requests.
	HTTP *http.Client
}

// New returns a client for baseURL with a per-request timeout.
func New(baseURL string, timeout time.Duration) *Client {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	return &Client{
		BaseURL: strings.TrimRight(baseURL, "/"),
		HTTP:    &http.Client{Timeout: timeout},
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

func hasStatus(err error, code int) bool {
	var apiErr *APIError
	return errors.As(err, &apiErr) && apiErr.StatusCode == code
}

// do sends one request and decodes a JSON reply into out when out is not nil.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, body, out any) error {
	var reader io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("encode %s %s body: %w", method, path, err)
		}
		reader = bytes.NewReader(data)
	}
	target := c.BaseURL + path
	if len(query) > 0 {
		target += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, target, reader)
	if err != nil {
		return fmt.Errorf("build %s %s: %w", method, target, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json; charset=UTF-8")
	}
	req.Header.Set("Accept", "application/json")

	httpClient := c.HTTP
	if httpClient == nil {
		httpClient = &http.Client{Timeout: DefaultTimeout}
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return fmt.Errorf("config API %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		return &APIError{Method: method, Path: path, StatusCode: resp.StatusCode, Message: strings.TrimSpace(string(msg))}
	}
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("decode config API %s %s reply: %w", method, path, err)
	}
	return nil
}

// FQNameToID returns the uuid of the object of type typ named fqName.
func (c *Client) FQNameToID(ctx context.Context, typ string, fqName []string) (string, error) {
	req := map[string]any{"type": typ, "fq_name": fqName}
	var reply struct {
		UUID string `json:"uuid"`
	}
	if err := c.do(ctx, http.MethodPost, "/fqname-to-id", nil, req, &reply); err != nil {
		return "", fmt.Errorf("look up %s %q: %w", typ, strings.Join(fqName, ":"), err)
	}
	return reply.UUID, nil
}

// Create posts obj, wrapped in its type name, to the collection of typ.
// The reply carries no server-filled fields, so callers read the object back
// when they need them.
func (c *Client) Create(ctx context.Context, typ string, obj any) error {
	body := map[string]any{typ: obj}
	if err := c.do(ctx, http.MethodPost, "/"+typ+"s", nil, body, nil); err != nil {
		return fmt.Errorf("create %s: %w", typ, err)
	}
	return nil
}

// Read fetches the object typ/uuid and decodes its unwrapped body into out.
// fields, when given, limits the properties and refs the server returns.
func (c *Client) Read(ctx context.Context, typ, uuid string, out any, fields ...string) error {
	var query url.Values
	if len(fields) > 0 {
		query = url.Values{"fields": {strings.Join(fields, ",")}}
	}
	wrapped := map[string]json.RawMessage{}
	if err := c.do(ctx, http.MethodGet, "/"+typ+"/"+uuid, query, nil, &wrapped); err != nil {
		return fmt.Errorf("read %s %s: %w", typ, uuid, err)
	}
	raw, ok := wrapped[typ]
	if !ok {
		return fmt.Errorf("read %s %s: reply has no %q member", typ, uuid, typ)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("decode %s %s: %w", typ, uuid, err)
	}
	return nil
}

// Delete removes the object typ/uuid.
func (c *Client) Delete(ctx context.Context, typ, uuid string) error {
	if err := c.do(ctx, http.MethodDelete, "/"+typ+"/"+uuid, nil, nil, nil); err != nil {
		return fmt.Errorf("delete %s %s: %w", typ, uuid, err)
	}
	return nil
}

// RefOperation is the "operation" of a ref-update request.
type RefOperation string

// Ref-update operations.
const (
	RefAdd    RefOperation = "ADD"
	RefDelete RefOperation = "DELETE"
)

// RefUpdate adds or removes the ref from typ/uuid to refType/refUUID.
func (c *Client) RefUpdate(ctx context.Context, typ, uuid, refType, refUUID string, op RefOperation) error {
	req := map[string]any{
		"type":      typ,
		"uuid":      uuid,
		"ref-type":  refType,
		"ref-uuid":  refUUID,
		"operation": op,
		"attr":      nil,
	}
	if err := c.do(ctx, http.MethodPost, "/ref-update", nil, req, nil); err != nil {
		return fmt.Errorf("ref-update %s %s %s->%s %s: %w", op, typ, uuid, refType, refUUID, err)
	}
	return nil
}

// ListDetail lists objects of typ with detail=true and the given extra query
// parameters (for example fields, parent_id, back_ref_id) and returns the
// unwrapped objects.
func ListDetail[T any](ctx context.Context, c *Client, typ string, query url.Values) ([]T, error) {
	q := url.Values{}
	for k, v := range query {
		q[k] = v
	}
	q.Set("detail", "true")
	collection := typ + "s"
	var reply map[string][]map[string]json.RawMessage
	if err := c.do(ctx, http.MethodGet, "/"+collection, q, nil, &reply); err != nil {
		return nil, fmt.Errorf("list %s: %w", collection, err)
	}
	items := reply[collection]
	out := make([]T, 0, len(items))
	for _, item := range items {
		var obj T
		if err := json.Unmarshal(item[typ], &obj); err != nil {
			return nil, fmt.Errorf("decode %s in list: %w", typ, err)
		}
		out = append(out, obj)
	}
	return out, nil
}
