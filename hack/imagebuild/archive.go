package main

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Annotation keys of the image-layout index: the OCI image spec's
// reference name (the tag, as `ctr images export` writes it), and the full
// image name that `ctr images import`, and so `kind load image-archive`,
// give the imported image.
const (
	annotationRefName        = "org.opencontainers.image.ref.name"
	annotationContainerdName = "io.containerd.image.name"
)

// WriteArchive writes img, named ref, as an OCI image-layout tar archive
// to out. It writes a temporary file next to out and renames it, so an
// interrupted run never leaves a truncated archive under that name.
func WriteArchive(img v1.Image, ref name.Tag, out string) error {
	manifest, err := img.RawManifest()
	if err != nil {
		return fmt.Errorf("encode image manifest: %w", err)
	}
	config, err := img.RawConfigFile()
	if err != nil {
		return fmt.Errorf("encode image config: %w", err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return fmt.Errorf("read image config: %w", err)
	}
	layers, err := img.Layers()
	if err != nil {
		return fmt.Errorf("read image layers: %w", err)
	}

	desc := v1.Descriptor{
		MediaType: types.OCIManifestSchema1,
		Size:      int64(len(manifest)),
		Digest:    digestOf(manifest),
		Platform:  &v1.Platform{Architecture: cfg.Architecture, OS: cfg.OS},
		Annotations: map[string]string{
			annotationRefName:        ref.TagStr(),
			annotationContainerdName: ref.Name(),
		},
	}
	index, err := json.Marshal(v1.IndexManifest{
		SchemaVersion: 2,
		MediaType:     types.OCIImageIndex,
		Manifests:     []v1.Descriptor{desc},
	})
	if err != nil {
		return fmt.Errorf("encode image index: %w", err)
	}

	tmp, err := os.CreateTemp(filepath.Dir(out), ".image-*.tar")
	if err != nil {
		return fmt.Errorf("create archive file: %w", err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()

	tw := tar.NewWriter(tmp)
	for _, dir := range []string{"blobs/", "blobs/sha256/"} {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: dir, Mode: 0o755, ModTime: epoch}); err != nil {
			return fmt.Errorf("write archive directory %s: %w", dir, err)
		}
	}
	files := []struct {
		name string
		data []byte
	}{
		{"oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`)},
		{"index.json", index},
		{blobPath(desc.Digest), manifest},
		{blobPath(digestOf(config)), config},
	}
	for _, f := range files {
		if err := writeArchiveFile(tw, f.name, int64(len(f.data)), bytes.NewReader(f.data)); err != nil {
			return err
		}
	}
	for _, layer := range layers {
		if err := writeLayerBlob(tw, layer); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("finish archive: %w", err)
	}
	// CreateTemp makes the file private, but an image archive is not secret.
	if err := tmp.Chmod(0o644); err != nil {
		return fmt.Errorf("set archive file mode: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("close archive file: %w", err)
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return fmt.Errorf("rename archive to %s: %w", out, err)
	}
	return nil
}

// writeLayerBlob writes the compressed layer under its digest.
func writeLayerBlob(tw *tar.Writer, layer v1.Layer) error {
	digest, err := layer.Digest()
	if err != nil {
		return fmt.Errorf("compute layer digest: %w", err)
	}
	size, err := layer.Size()
	if err != nil {
		return fmt.Errorf("compute layer size: %w", err)
	}
	rc, err := layer.Compressed()
	if err != nil {
		return fmt.Errorf("compress layer %s: %w", digest, err)
	}
	defer rc.Close()
	return writeArchiveFile(tw, blobPath(digest), size, rc)
}

func writeArchiveFile(tw *tar.Writer, name string, size int64, r io.Reader) error {
	hdr := &tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: size, ModTime: epoch}
	if err := tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("write archive header %s: %w", name, err)
	}
	n, err := io.Copy(tw, r)
	if err != nil {
		return fmt.Errorf("write archive file %s: %w", name, err)
	}
	if n != size {
		return fmt.Errorf("write archive file %s: wrote %d bytes, expected %d", name, n, size)
	}
	return nil
}

func digestOf(data []byte) v1.Hash {
	// Reading a bytes.Reader cannot fail, so neither can SHA256.
	h, _, _ := v1.SHA256(bytes.NewReader(data))
	return h
}

func blobPath(h v1.Hash) string {
	return "blobs/" + h.Algorithm + "/" + h.Hex
}
