package main

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteImageLayout(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "bin", "busybox"), []byte("binary"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("busybox", filepath.Join(root, "bin", "sh")); err != nil {
		t.Fatal(err)
	}

	out := filepath.Join(t.TempDir(), "image.tar")
	spec := ImageSpec{RootFS: root, Name: "localhost/test:e2e", Architecture: "amd64", OS: "linux", Cmd: []string{"sh"}}
	if err := WriteImageLayout(spec, out); err != nil {
		t.Fatalf("WriteImageLayout: %v", err)
	}
	files := readArchive(t, out)

	if got := string(files["oci-layout"]); got != `{"imageLayoutVersion":"1.0.0"}` {
		t.Errorf("oci-layout = %q", got)
	}
	for name, data := range files {
		if filepath.Dir(name) != "blobs/sha256" || strings.HasSuffix(name, "/") {
			continue
		}
		sum := sha256.Sum256(data)
		if hex.EncodeToString(sum[:]) != filepath.Base(name) {
			t.Errorf("blob %s does not match its digest", name)
		}
	}

	var idx index
	decode(t, files["index.json"], &idx)
	if len(idx.Manifests) != 1 {
		t.Fatalf("index has %d manifests, want 1", len(idx.Manifests))
	}
	if got := idx.Manifests[0].Annotations[annotationContainerdName]; got != spec.Name {
		t.Errorf("image name annotation = %q, want %q", got, spec.Name)
	}
	if got := idx.Manifests[0].Platform; got == nil || got.Architecture != "amd64" || got.OS != "linux" {
		t.Errorf("manifest platform = %+v, want linux/amd64", got)
	}

	var m manifest
	decode(t, files[blobPath(idx.Manifests[0].Digest)], &m)
	if len(m.Layers) != 1 {
		t.Fatalf("manifest has %d layers, want 1", len(m.Layers))
	}
	var config imageConfig
	decode(t, files[blobPath(m.Config.Digest)], &config)
	if len(config.RootFS.DiffIDs) != 1 || config.RootFS.DiffIDs[0] != m.Layers[0].Digest {
		t.Errorf("config diff_ids = %v, want [%s]", config.RootFS.DiffIDs, m.Layers[0].Digest)
	}
	if len(config.Config.Cmd) != 1 || config.Config.Cmd[0] != "sh" {
		t.Errorf("config Cmd = %v, want [sh]", config.Config.Cmd)
	}

	layer := readTar(t, bytes.NewReader(files[blobPath(m.Layers[0].Digest)]))
	if got := layer["bin/sh"]; got.Typeflag != tar.TypeSymlink || got.Linkname != "busybox" {
		t.Errorf("bin/sh = type %c link %q, want symlink to busybox", got.Typeflag, got.Linkname)
	}
	if got := layer["bin/busybox"]; got.Typeflag != tar.TypeReg || got.Mode != 0o755 || got.Uid != 0 {
		t.Errorf("bin/busybox = type %c mode %o uid %d, want regular 0755 uid 0", got.Typeflag, got.Mode, got.Uid)
	}
	if _, ok := layer["bin/"]; !ok {
		t.Errorf("layer has no bin/ directory entry")
	}
}

func TestWriteImageLayoutReproducible(t *testing.T) {
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "file"), []byte("data"), 0o644); err != nil {
		t.Fatal(err)
	}
	spec := ImageSpec{RootFS: root, Name: "localhost/test:e2e", Architecture: "amd64", OS: "linux"}

	var archives [2][]byte
	for i := range archives {
		out := filepath.Join(t.TempDir(), "image.tar")
		if err := WriteImageLayout(spec, out); err != nil {
			t.Fatalf("WriteImageLayout: %v", err)
		}
		data, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		archives[i] = data
	}
	if !bytes.Equal(archives[0], archives[1]) {
		t.Errorf("two archives of the same tree differ")
	}
}

func readArchive(t *testing.T, path string) map[string][]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	files := map[string][]byte{}
	tr := tar.NewReader(f)
	for {
		header, err := tr.Next()
		if err == io.EOF {
			return files
		}
		if err != nil {
			t.Fatalf("read archive: %v", err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatalf("read archive file %s: %v", header.Name, err)
		}
		files[header.Name] = data
	}
}

func readTar(t *testing.T, r io.Reader) map[string]*tar.Header {
	t.Helper()
	headers := map[string]*tar.Header{}
	tr := tar.NewReader(r)
	for {
		header, err := tr.Next()
		if err == io.EOF {
			return headers
		}
		if err != nil {
			t.Fatalf("read layer: %v", err)
		}
		headers[header.Name] = header
	}
}

func decode(t *testing.T, data []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("decode %s: %v", data, err)
	}
}
