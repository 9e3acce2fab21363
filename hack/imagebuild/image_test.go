package main

import (
	"archive/tar"
	"crypto/sha256"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

// testSpec returns a spec with a binary and a CA bundle in a temporary
// directory.
func testSpec(t *testing.T) Spec {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "tool")
	if err := os.WriteFile(bin, []byte("#!binary\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, []byte("-----BEGIN CERTIFICATE-----\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return Spec{
		Files:        []File{{Source: bin, Dest: "/usr/bin/tool"}},
		CABundle:     ca,
		Entrypoint:   []string{"/usr/bin/tool"},
		User:         "65532:65532",
		Architecture: "amd64",
		OS:           "linux",
	}
}

// layerEntries returns the headers and contents of the image's one layer.
func layerEntries(t *testing.T, img v1.Image) (map[string]*tar.Header, map[string]string) {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	if len(layers) != 1 {
		t.Fatalf("image has %d layers, expected 1", len(layers))
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()

	headers := map[string]*tar.Header{}
	contents := map[string]string{}
	tr := tar.NewReader(rc)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		headers[hdr.Name] = hdr
		contents[hdr.Name] = string(data)
	}
	return headers, contents
}

func TestBuildLayer(t *testing.T) {
	img, err := Build(testSpec(t))
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	headers, contents := layerEntries(t, img)

	tests := []struct {
		name string
		mode int64
		uid  int
	}{
		{"usr/", 0o755, 0},
		{"usr/bin/", 0o755, 0},
		{"usr/bin/tool", 0o755, 0},
		{"etc/passwd", 0o644, 0},
		{"etc/group", 0o644, 0},
		{"etc/ssl/certs/ca-certificates.crt", 0o644, 0},
		{"home/nonroot/", 0o755, NonrootUID},
		{"tmp/", 0o1777, 0},
	}
	for _, tt := range tests {
		hdr, ok := headers[tt.name]
		if !ok {
			t.Errorf("layer has no %s", tt.name)
			continue
		}
		if hdr.Mode != tt.mode {
			t.Errorf("%s has mode %o, expected %o", tt.name, hdr.Mode, tt.mode)
		}
		if hdr.Uid != tt.uid || hdr.Gid != tt.uid {
			t.Errorf("%s is owned by %d:%d, expected %d:%d", tt.name, hdr.Uid, hdr.Gid, tt.uid, tt.uid)
		}
		if !hdr.ModTime.Equal(epoch) {
			t.Errorf("%s has time %s, expected %s", tt.name, hdr.ModTime, epoch)
		}
	}
	if got := contents["usr/bin/tool"]; got != "#!binary\n" {
		t.Errorf("usr/bin/tool holds %q", got)
	}
	if !strings.Contains(contents["etc/passwd"], "nonroot:x:65532:65532:") {
		t.Errorf("etc/passwd has no nonroot user 65532:\n%s", contents["etc/passwd"])
	}
	if !strings.HasPrefix(contents["etc/ssl/certs/ca-certificates.crt"], "-----BEGIN CERTIFICATE-----") {
		t.Errorf("CA bundle not copied: %q", contents["etc/ssl/certs/ca-certificates.crt"])
	}
}

func TestBuildConfig(t *testing.T) {
	img, err := Build(testSpec(t))
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Config.User; got != "65532:65532" {
		t.Errorf("user %q, expected 65532:65532", got)
	}
	if got := cfg.Config.Entrypoint; len(got) != 1 || got[0] != "/usr/bin/tool" {
		t.Errorf("entrypoint %q, expected [/usr/bin/tool]", got)
	}
	if cfg.Architecture != "amd64" || cfg.OS != "linux" {
		t.Errorf("platform %s/%s, expected linux/amd64", cfg.OS, cfg.Architecture)
	}
	if !cfg.Created.Time.Equal(epoch) {
		t.Errorf("created %s, expected %s", cfg.Created.Time, epoch)
	}
}

func TestBuildReproducible(t *testing.T) {
	spec := testSpec(t)
	first, err := Build(spec)
	if err != nil {
		t.Fatal(err)
	}
	// A later modification time of the input must not change the image.
	if err := os.Chtimes(spec.Files[0].Source, epoch, epoch); err != nil {
		t.Fatal(err)
	}
	second, err := Build(spec)
	if err != nil {
		t.Fatal(err)
	}
	d1, err := first.Digest()
	if err != nil {
		t.Fatal(err)
	}
	d2, err := second.Digest()
	if err != nil {
		t.Fatal(err)
	}
	if d1 != d2 {
		t.Errorf("two builds of the same inputs have digests %s and %s", d1, d2)
	}
}

func TestBuildInvalidSpec(t *testing.T) {
	tests := []struct {
		name   string
		modify func(s *Spec)
		want   string
	}{
		{"relative path", func(s *Spec) { s.Files[0].Dest = "usr/bin/tool"; s.Entrypoint = []string{"usr/bin/tool"} }, "invalid image path"},
		{"root path", func(s *Spec) { s.Files = append(s.Files, File{Source: s.Files[0].Source, Dest: "/"}) }, "invalid image path"},
		{"taken path", func(s *Spec) { s.Files = append(s.Files, File{Source: s.Files[0].Source, Dest: "/etc/passwd"}) }, "already taken"},
		{"entrypoint not a file", func(s *Spec) { s.Entrypoint = []string{"/bin/sh"} }, "entrypoint /bin/sh is none of the files"},
		{"no entrypoint", func(s *Spec) { s.Entrypoint = nil }, "missing entrypoint"},
		{"missing CA bundle", func(s *Spec) { s.CABundle = filepath.Join(os.TempDir(), "absent-ca.pem") }, "read CA bundle"},
		{"missing source", func(s *Spec) { s.Files[0].Source += ".absent" }, "read "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := testSpec(t)
			tt.modify(&spec)
			_, err := Build(spec)
			if err == nil {
				t.Fatal("Build succeeded, expected an error")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

// TestWriteArchive writes an archive, unpacks it, and reads it back as an
// OCI image layout.
func TestWriteArchive(t *testing.T) {
	img, err := Build(testSpec(t))
	if err != nil {
		t.Fatal(err)
	}
	tag, err := name.NewTag("localhost/contrail-vif/test:dev", name.StrictValidation)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "image.tar")
	if err := WriteArchive(img, tag, out); err != nil {
		t.Fatalf("WriteArchive: %v", err)
	}
	info, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o644 {
		t.Errorf("archive mode %s, expected -rw-r--r--", info.Mode().Perm())
	}
	again := filepath.Join(dir, "again.tar")
	if err := WriteArchive(img, tag, again); err != nil {
		t.Fatalf("second WriteArchive: %v", err)
	}
	if fileSum(t, out) != fileSum(t, again) {
		t.Error("two archives of the same image differ")
	}

	unpacked := filepath.Join(dir, "layout")
	untar(t, out, unpacked)
	index, err := layout.ImageIndexFromPath(unpacked)
	if err != nil {
		t.Fatalf("read image layout: %v", err)
	}
	manifest, err := index.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(manifest.Manifests) != 1 {
		t.Fatalf("index lists %d manifests, expected 1", len(manifest.Manifests))
	}
	desc := manifest.Manifests[0]
	if got := desc.Annotations[annotationContainerdName]; got != "localhost/contrail-vif/test:dev" {
		t.Errorf("%s = %q, expected the full image name", annotationContainerdName, got)
	}
	if got := desc.Annotations[annotationRefName]; got != "dev" {
		t.Errorf("%s = %q, expected the tag", annotationRefName, got)
	}
	if desc.Platform == nil || desc.Platform.Architecture != "amd64" || desc.Platform.OS != "linux" {
		t.Errorf("index platform %+v, expected linux/amd64", desc.Platform)
	}
	read, err := index.Image(desc.Digest)
	if err != nil {
		t.Fatalf("read image %s from the layout: %v", desc.Digest, err)
	}
	if err := validate.Image(read); err != nil {
		t.Errorf("image read back is not valid: %v", err)
	}
	want, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	if desc.Digest != want {
		t.Errorf("index points at %s, expected %s", desc.Digest, want)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".image-") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
}

func fileSum(t *testing.T, path string) [32]byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(data)
}

func untar(t *testing.T, archive, dir string) {
	t.Helper()
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		target := filepath.Join(dir, filepath.FromSlash(hdr.Name))
		if hdr.Typeflag == tar.TypeDir {
			if err := os.MkdirAll(target, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(target, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
