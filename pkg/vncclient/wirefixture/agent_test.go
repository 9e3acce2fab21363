package wirefixture

import (
	"path/filepath"
	"testing"
)

func TestLoadAgentFixtures(t *testing.T) {
	dir, err := AgentDir()
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(dir) != "agent" {
		t.Errorf("AgentDir = %q, want a directory named agent", dir)
	}
	fixtures, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fixtures {
		if f.Description == "" {
			t.Errorf("fixture %s has no description", f.Name)
		}
		// The agent sends JSON for every status, errors included.
		if f.Response.ContentType != "application/json" {
			t.Errorf("fixture %s: content_type %q, want application/json", f.Name, f.Response.ContentType)
		}
		if len(f.Response.Body) == 0 {
			t.Errorf("fixture %s has no response body", f.Name)
		}
	}
	setup, err := LoadSetup(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(setup) == 0 {
		t.Error("agent setup.json has no objects")
	}
}
