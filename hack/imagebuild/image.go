package main

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// epoch is the timestamp of every layer entry and of the image config, so
// that the same inputs always give the same digests.
var epoch = time.Unix(0, 0).UTC()

// NonrootUID is the user and group id of the "nonroot" account in the
// image's /etc/passwd, the value distroless images use.
const NonrootUID = 65532

// CABundlePath is the path of the CA certificates in the image, the file
// that Go's crypto/x509 reads first on Linux.
const CABundlePath = "etc/ssl/certs/ca-certificates.crt"

// File is one file to put into the image.
type File struct {
	// Source is the file on the build machine.
	Source string
	// Dest is the absolute path in the image.
	Dest string
}

// Spec describes a single-layer image made of a few static binaries.
type Spec struct {
	Files []File
	// CABundle is the PEM file of the build machine copied to
	// /etc/ssl/certs/ca-certificates.crt.
	CABundle string
	// Entrypoint is the command the image runs.
	Entrypoint []string
	// User is the "uid:gid" the container runs as unless the pod sets
	// runAsUser.
	User string
	// Architecture and OS of the binaries, in Go's spelling (amd64, linux).
	Architecture string
	OS           string
	// Labels are added to the image config.
	Labels map[string]string
}

// entry is one file or directory of the layer.
type entry struct {
	dir  bool
	mode int64
	uid  int
	data []byte
}

// Build returns the OCI image that spec describes.
func Build(spec Spec) (v1.Image, error) {
	if len(spec.Entrypoint) == 0 {
		return nil, fmt.Errorf("missing entrypoint")
	}
	if !hasFile(spec.Files, spec.Entrypoint[0]) {
		return nil, fmt.Errorf("entrypoint %s is none of the files given", spec.Entrypoint[0])
	}
	layerTar, err := buildLayer(spec)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, fmt.Errorf("create layer: %w", err)
	}

	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err = mutate.Append(img, mutate.Addendum{
		Layer:   layer,
		History: v1.History{Created: v1.Time{Time: epoch}, CreatedBy: "hack/imagebuild", Comment: "static binaries, /etc/passwd, CA certificates"},
	})
	if err != nil {
		return nil, fmt.Errorf("append layer: %w", err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("read image config: %w", err)
	}
	cfg = cfg.DeepCopy()
	cfg.Architecture = spec.Architecture
	cfg.OS = spec.OS
	cfg.Created = v1.Time{Time: epoch}
	cfg.Config.Entrypoint = spec.Entrypoint
	cfg.Config.User = spec.User
	cfg.Config.WorkingDir = "/"
	cfg.Config.Env = []string{"PATH=/"}
	cfg.Config.Labels = spec.Labels
	img, err = mutate.ConfigFile(img, cfg)
	if err != nil {
		return nil, fmt.Errorf("set image config: %w", err)
	}
	return img, nil
}

func hasFile(files []File, dest string) bool {
	for _, f := range files {
		if path.Clean(f.Dest) == path.Clean(dest) {
			return true
		}
	}
	return false
}

// buildLayer returns the uncompressed layer tar: the files of spec, the
// accounts root and nonroot, the CA bundle, and /tmp.
func buildLayer(spec Spec) ([]byte, error) {
	entries := map[string]entry{
		"etc/passwd": {mode: 0o644, data: []byte(
			"root:x:0:0:root:/root:/sbin/nologin\n" +
				fmt.Sprintf("nonroot:x:%d:%d:nonroot:/home/nonroot:/sbin/nologin\n", NonrootUID, NonrootUID))},
		"etc/group": {mode: 0o644, data: []byte(
			"root:x:0:\n" + fmt.Sprintf("nonroot:x:%d:\n", NonrootUID))},
		"home/nonroot": {dir: true, mode: 0o755, uid: NonrootUID},
		"root":         {dir: true, mode: 0o700},
		"tmp":          {dir: true, mode: 0o1777},
	}

	bundle, err := os.ReadFile(spec.CABundle)
	if err != nil {
		return nil, fmt.Errorf("read CA bundle (install Debian's ca-certificates or pass -ca-bundle): %w", err)
	}
	entries[CABundlePath] = entry{mode: 0o644, data: bundle}

	for _, f := range spec.Files {
		dest := strings.TrimPrefix(path.Clean("/"+f.Dest), "/")
		if dest == "" || !path.IsAbs(f.Dest) {
			return nil, fmt.Errorf("invalid image path %q of %s: want an absolute file path", f.Dest, f.Source)
		}
		if _, dup := entries[dest]; dup {
			return nil, fmt.Errorf("image path %q of %s is already taken by another file of the image", f.Dest, f.Source)
		}
		info, err := os.Stat(f.Source)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", f.Source, err)
		}
		if !info.Mode().IsRegular() {
			return nil, fmt.Errorf("%s is not a regular file", f.Source)
		}
		data, err := os.ReadFile(f.Source)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", f.Source, err)
		}
		mode := int64(0o644)
		if info.Mode().Perm()&0o111 != 0 {
			mode = 0o755
		}
		entries[dest] = entry{mode: mode, data: data}
	}

	addParents(entries)
	return writeTar(entries)
}

// addParents adds a root-owned 0755 directory for every parent path that
// has no entry of its own, because some runtimes do not create them.
func addParents(entries map[string]entry) {
	for name := range entries {
		for dir := path.Dir(name); dir != "."; dir = path.Dir(dir) {
			if _, ok := entries[dir]; !ok {
				entries[dir] = entry{dir: true, mode: 0o755}
			}
		}
	}
}

// writeTar writes entries in name order with fixed timestamps.
func writeTar(entries map[string]entry) ([]byte, error) {
	names := make([]string, 0, len(entries))
	for name := range entries {
		names = append(names, name)
	}
	sort.Strings(names)

	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, name := range names {
		e := entries[name]
		hdr := &tar.Header{
			Name:    name,
			Mode:    e.mode,
			Uid:     e.uid,
			Gid:     e.uid,
			ModTime: epoch,
			Format:  tar.FormatPAX,
		}
		if e.dir {
			hdr.Typeflag = tar.TypeDir
			hdr.Name += "/"
		} else {
			hdr.Typeflag = tar.TypeReg
			hdr.Size = int64(len(e.data))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, fmt.Errorf("write layer entry %s: %w", name, err)
		}
		if _, err := tw.Write(e.data); err != nil {
			return nil, fmt.Errorf("write layer entry %s: %w", name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("finish layer: %w", err)
	}
	return buf.Bytes(), nil
}
