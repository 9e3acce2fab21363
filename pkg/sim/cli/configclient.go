package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// requestTimeout bounds one config API request of the client commands.
const requestTimeout = 10 * time.Second

// configClient calls a Contrail config API (the simulator's or a real one
// without authentication) for the client subcommands.
type configClient struct {
	baseURL string
	http    *http.Client
}

func newConfigClient(baseURL string) *configClient {
	return &configClient{
		baseURL: strings.TrimSuffix(baseURL, "/"),
		http:    &http.Client{Timeout: requestTimeout},
	}
}

// apiError is a failed config API request. The API server sends its
// message as plain text.
type apiError struct {
	Method     string
	Path       string
	StatusCode int
	Message    string
}

func (e *apiError) Error() string {
	return fmt.Sprintf("%s %s: %d %s: %s", e.Method, e.Path, e.StatusCode, http.StatusText(e.StatusCode), e.Message)
}

// isStatus reports whether err is an apiError with the given status.
func isStatus(err error, status int) bool {
	var e *apiError
	return errors.As(err, &e) && e.StatusCode == status
}

// do sends body (nil for none) as JSON and decodes a 200 response into out
// (nil to ignore it).
func (c *configClient) do(ctx context.Context, method, path string, body, out any) error {
	var reader io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("encode %s %s body: %w", method, path, err)
		}
		reader = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.baseURL+path, reader)
	if err != nil {
		return fmt.Errorf("build %s %s: %w", method, path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json; charset=UTF-8")
	}

	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, c.baseURL+path, err)
	}
	defer resp.Body.Close()
	respBody, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("read %s %s response: %w", method, path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return &apiError{Method: method, Path: path, StatusCode: resp.StatusCode, Message: strings.TrimSpace(string(respBody))}
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(respBody, out); err != nil {
		return fmt.Errorf("decode %s %s response %q: %w", method, path, respBody, err)
	}
	return nil
}

// fqNameToID returns the uuid of the object typ named fq. A missing object
// gives an apiError with status 404.
func (c *configClient) fqNameToID(ctx context.Context, typ string, fq []string) (string, error) {
	var out struct {
		UUID string `json:"uuid"`
	}
	err := c.do(ctx, http.MethodPost, "/fqname-to-id", map[string]any{"type": typ, "fq_name": fq}, &out)
	if err != nil {
		return "", err
	}
	return out.UUID, nil
}

// create creates an object of type typ from fields (fq_name, parent_type,
// properties and refs) and returns its uuid.
func (c *configClient) create(ctx context.Context, typ string, fields map[string]any) (string, error) {
	var out map[string]struct {
		UUID string `json:"uuid"`
	}
	if err := c.do(ctx, http.MethodPost, "/"+typ+"s", map[string]any{typ: fields}, &out); err != nil {
		return "", err
	}
	uuid := out[typ].UUID
	if uuid == "" {
		return "", fmt.Errorf("POST /%ss: response has no %s uuid", typ, typ)
	}
	return uuid, nil
}

// delete deletes the object typ with uuid.
func (c *configClient) delete(ctx context.Context, typ, uuid string) error {
	return c.do(ctx, http.MethodDelete, "/"+typ+"/"+uuid, nil, nil)
}
