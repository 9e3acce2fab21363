//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

	"github.com/contrail-vif/contrail-vif/pkg/netconf"
)

// exampleObject is the part of a manifest in examples/ that the test reads
// itself: enough to count the objects and find NAD configs.
type exampleObject struct {
	Kind     string `json:"kind"`
	Metadata struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Spec struct {
		Config string `json:"config"`
	} `json:"spec"`
}

// TestExamplesApply sends every examples/*.yaml to the apiserver as a
// server-side dry run with strict field validation, so a manifest that the
// apiserver or a CRD schema rejects fails here. The apiserver does not look
// inside a NAD's spec.config, so the test also parses each contrail-vif
// config as the plugin and the controller do.
func TestExamplesApply(t *testing.T) {
	files, err := filepath.Glob(examplePath("*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no examples in %s", examplePath(""))
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			objects := readExampleObjects(t, path)
			if len(objects) == 0 {
				t.Fatalf("%s contains no objects", path)
			}

			// A failed dry run still lets the config checks below run.
			out, err := cluster.Kubectl(context.Background(), "apply", "--dry-run=server", "--validate=strict", "-o", "name", "-f", path)
			if err != nil {
				t.Error(err)
			} else if applied := strings.Fields(out); len(applied) != len(objects) {
				t.Errorf("the dry run applied %d objects %v, want the %d objects of the file", len(applied), applied, len(objects))
			}

			for _, obj := range objects {
				if obj.Kind != "NetworkAttachmentDefinition" {
					continue
				}
				checkExampleNADConfig(t, obj)
			}
		})
	}
}

// readExampleObjects decodes every document of the YAML file at path,
// skipping empty ones.
func readExampleObjects(t *testing.T, path string) []exampleObject {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	decoder := utilyaml.NewYAMLOrJSONDecoder(f, 4096)
	var objects []exampleObject
	for {
		var raw json.RawMessage
		err := decoder.Decode(&raw)
		if errors.Is(err, io.EOF) {
			return objects
		}
		if err != nil {
			t.Fatalf("decode %s: %v", path, err)
		}
		if len(raw) == 0 || string(raw) == "null" {
			continue
		}
		var obj exampleObject
		if err := json.Unmarshal(raw, &obj); err != nil {
			t.Fatalf("decode an object of %s: %v", path, err)
		}
		objects = append(objects, obj)
	}
}

// checkExampleNADConfig parses the NAD's spec.config with netconf.Parse
// when its type is contrail-vif. Configs of other plugins only need to be
// JSON objects.
func checkExampleNADConfig(t *testing.T, obj exampleObject) {
	t.Helper()
	var header struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal([]byte(obj.Spec.Config), &header); err != nil {
		t.Errorf("NAD %s: spec.config is not a JSON object: %v", obj.Metadata.Name, err)
		return
	}
	if header.Type != "contrail-vif" {
		return
	}
	if _, err := netconf.Parse([]byte(obj.Spec.Config)); err != nil {
		t.Errorf("NAD %s: invalid contrail-vif config: %v", obj.Metadata.Name, err)
	}
}
