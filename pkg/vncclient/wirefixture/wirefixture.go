// Package wirefixture loads the wire fixtures in testdata/wire (the config
// API) and testdata/wire/agent (the vRouter agent's port API) and compares
// requests and responses with them. Both sides test against the same files:
// the simulator must send the fixture responses, and the client must send
// the fixture requests and decode the responses.
//
// Fixture strings may contain placeholders, described in
// testdata/wire/README.md: <uuid:NAME> (a uuid, the same one wherever NAME
// appears), <uuid> (any uuid), <base> (the server's scheme and host) and
// <any> (any JSON value, or any text inside a string).
package wirefixture

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Fixture is one request and the response the server sends for it.
type Fixture struct {
	// Name is the file name without ".json".
	Name        string   `json:"-"`
	Description string   `json:"description"`
	Request     Request  `json:"request"`
	Response    Response `json:"response"`
}

// Request is the request of a fixture.
type Request struct {
	Method string `json:"method"`
	// Path is the path and, after "?", the query.
	Path string `json:"path"`
	// Body is the JSON body; empty for a request without one.
	Body json.RawMessage `json:"body,omitempty"`
}

// Response is the response of a fixture.
type Response struct {
	Status int `json:"status"`
	// ContentType is the media type: "application/json" for a JSON body,
	// "text/plain" for an error message, or empty for an empty body.
	ContentType string `json:"content_type,omitempty"`
	// Body is the JSON body, or a JSON string holding the plain text.
	Body json.RawMessage `json:"body,omitempty"`
}

// Text returns the plain-text body of a text/plain response.
func (r Response) Text() (string, error) {
	var s string
	if err := json.Unmarshal(r.Body, &s); err != nil {
		return "", fmt.Errorf("text/plain fixture body must be a JSON string: %w", err)
	}
	return s, nil
}

// SetupObject is an object that must exist before the fixtures run. Its
// uuid is bound to the placeholder <uuid:Bind>.
type SetupObject struct {
	Bind string          `json:"bind"`
	Type string          `json:"type"`
	Body json.RawMessage `json:"body"`
}

// setupFileName is the file of SetupObjects in the fixture directory.
const setupFileName = "setup.json"

// Dir returns the testdata/wire directory of the module that contains the
// working directory, which go test sets to the package's directory.
func Dir() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find wire fixtures: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "testdata", "wire"), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("find wire fixtures: no go.mod above the working directory")
		}
		dir = parent
	}
}

// agentDirName is the directory of the agent fixtures inside Dir.
const agentDirName = "agent"

// AgentDir returns the testdata/wire/agent directory of the module that
// contains the working directory: the fixtures of the vRouter agent's port
// API, in the same format as the config API fixtures.
func AgentDir() (string, error) {
	dir, err := Dir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, agentDirName), nil
}

// Load reads every fixture file in dir except setup.json, in file name
// order, which is the order the simulator test sends them in.
func Load(dir string) ([]Fixture, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, fmt.Errorf("list wire fixtures in %s: %w", dir, err)
	}
	slices.Sort(paths)
	var out []Fixture
	for _, path := range paths {
		if filepath.Base(path) == setupFileName {
			continue
		}
		var f Fixture
		if err := readJSON(path, &f); err != nil {
			return nil, err
		}
		f.Name = strings.TrimSuffix(filepath.Base(path), ".json")
		if f.Request.Method == "" || f.Request.Path == "" || f.Response.Status == 0 {
			return nil, fmt.Errorf("wire fixture %s: request.method, request.path and response.status are required", path)
		}
		out = append(out, f)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no wire fixtures in %s", dir)
	}
	return out, nil
}

// LoadSetup reads the objects of setup.json in dir, in creation order.
func LoadSetup(dir string) ([]SetupObject, error) {
	var setup struct {
		Description string        `json:"description"`
		Objects     []SetupObject `json:"objects"`
	}
	if err := readJSON(filepath.Join(dir, setupFileName), &setup); err != nil {
		return nil, err
	}
	return setup.Objects, nil
}

func readJSON(path string, dst any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read wire fixture: %w", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return fmt.Errorf("decode wire fixture %s: %w", path, err)
	}
	return nil
}
