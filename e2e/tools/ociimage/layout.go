package main

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// Media types and annotation keys from the OCI image specification v1.1,
// plus the annotation that `ctr images import` (containerd 1.6 and later)
// reads as the full image name.
const (
	mediaTypeIndex    = "application/vnd.oci.image.index.v1+json"
	mediaTypeManifest = "application/vnd.oci.image.manifest.v1+json"
	mediaTypeConfig   = "application/vnd.oci.image.config.v1+json"
	mediaTypeLayer    = "application/vnd.oci.image.layer.v1.tar"

	annotationRefName        = "org.opencontainers.image.ref.name"
	annotationContainerdName = "io.containerd.image.name"
)

// epoch is the modification time of every layer entry, so that the same
// root filesystem always gives the same layer digest.
var epoch = time.Unix(0, 0).UTC()

// ImageSpec describes the single-layer image to write.
type ImageSpec struct {
	RootFS       string
	Name         string
	Architecture string
	OS           string
	Entrypoint   []string
	Cmd          []string
	Env          []string
}

type descriptor struct {
	MediaType   string            `json:"mediaType"`
	Digest      string            `json:"digest"`
	Size        int64             `json:"size"`
	Platform    *platform         `json:"platform,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

type platform struct {
	Architecture string `json:"architecture"`
	OS           string `json:"os"`
}

type index struct {
	SchemaVersion int          `json:"schemaVersion"`
	MediaType     string       `json:"mediaType"`
	Manifests     []descriptor `json:"manifests"`
}

type manifest struct {
	SchemaVersion int          `json:"schemaVersion"`
	MediaType     string       `json:"mediaType"`
	Config        descriptor   `json:"config"`
	Layers        []descriptor `json:"layers"`
}

type imageConfig struct {
	Architecture string          `json:"architecture"`
	OS           string          `json:"os"`
	Config       containerConfig `json:"config"`
	RootFS       rootFS          `json:"rootfs"`
}

type containerConfig struct {
	Env        []string `json:"Env,omitempty"`
	Entrypoint []string `json:"Entrypoint,omitempty"`
	Cmd        []string `json:"Cmd,omitempty"`
	WorkingDir string   `json:"WorkingDir,omitempty"`
}

type rootFS struct {
	Type    string   `json:"type"`
	DiffIDs []string `json:"diff_ids"`
}

// WriteImageLayout writes spec as an OCI image-layout tar archive to out.
// The layer is staged in a temporary file next to out because its size must
// be known before it is added to the archive.
func WriteImageLayout(spec ImageSpec, out string) error {
	layerFile, err := os.CreateTemp(filepath.Dir(out), ".layer-*")
	if err != nil {
		return fmt.Errorf("create layer file: %w", err)
	}
	defer os.Remove(layerFile.Name())
	defer layerFile.Close()

	digester := sha256.New()
	if err := writeLayer(spec.RootFS, io.MultiWriter(layerFile, digester)); err != nil {
		return fmt.Errorf("write layer of %q: %w", spec.RootFS, err)
	}
	layerSize, err := layerFile.Seek(0, io.SeekCurrent)
	if err != nil {
		return fmt.Errorf("measure layer file: %w", err)
	}
	layer := descriptor{MediaType: mediaTypeLayer, Digest: digestOf(digester), Size: layerSize}

	configJSON, err := json.Marshal(imageConfig{
		Architecture: spec.Architecture,
		OS:           spec.OS,
		Config: containerConfig{
			Env:        spec.Env,
			Entrypoint: spec.Entrypoint,
			Cmd:        spec.Cmd,
			WorkingDir: "/",
		},
		RootFS: rootFS{Type: "layers", DiffIDs: []string{layer.Digest}},
	})
	if err != nil {
		return fmt.Errorf("encode image config: %w", err)
	}
	config := blobDescriptor(mediaTypeConfig, configJSON)

	manifestJSON, err := json.Marshal(manifest{
		SchemaVersion: 2,
		MediaType:     mediaTypeManifest,
		Config:        config,
		Layers:        []descriptor{layer},
	})
	if err != nil {
		return fmt.Errorf("encode image manifest: %w", err)
	}
	manifestDesc := blobDescriptor(mediaTypeManifest, manifestJSON)
	manifestDesc.Platform = &platform{Architecture: spec.Architecture, OS: spec.OS}
	manifestDesc.Annotations = map[string]string{
		annotationRefName:        spec.Name,
		annotationContainerdName: spec.Name,
	}

	indexJSON, err := json.Marshal(index{
		SchemaVersion: 2,
		MediaType:     mediaTypeIndex,
		Manifests:     []descriptor{manifestDesc},
	})
	if err != nil {
		return fmt.Errorf("encode image index: %w", err)
	}

	if _, err := layerFile.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("rewind layer file: %w", err)
	}
	return writeArchive(out, []archiveEntry{
		{name: "oci-layout", data: []byte(`{"imageLayoutVersion":"1.0.0"}`)},
		{name: "index.json", data: indexJSON},
		{name: blobPath(manifestDesc.Digest), data: manifestJSON},
		{name: blobPath(config.Digest), data: configJSON},
		{name: blobPath(layer.Digest), reader: layerFile, size: layerSize},
	})
}

// archiveEntry is one file of the image-layout archive, given either as
// bytes or as a reader of a known size.
type archiveEntry struct {
	name   string
	data   []byte
	reader io.Reader
	size   int64
}

// writeArchive writes entries to a temporary file and renames it to out, so
// that an interrupted run never leaves a truncated archive under that name.
func writeArchive(out string, entries []archiveEntry) error {
	tmp, err := os.CreateTemp(filepath.Dir(out), ".image-*")
	if err != nil {
		return fmt.Errorf("create archive file: %w", err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()

	tw := tar.NewWriter(tmp)
	for _, dir := range []string{"blobs/", "blobs/sha256/"} {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: dir, Mode: 0o755, ModTime: epoch}); err != nil {
			return fmt.Errorf("write archive directory %q: %w", dir, err)
		}
	}
	for _, entry := range entries {
		reader, size := entry.reader, entry.size
		if reader == nil {
			reader, size = bytes.NewReader(entry.data), int64(len(entry.data))
		}
		header := &tar.Header{Typeflag: tar.TypeReg, Name: entry.name, Mode: 0o644, Size: size, ModTime: epoch}
		if err := tw.WriteHeader(header); err != nil {
			return fmt.Errorf("write archive header %q: %w", entry.name, err)
		}
		if _, err := io.Copy(tw, reader); err != nil {
			return fmt.Errorf("write archive file %q: %w", entry.name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("finish archive: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("close archive file: %w", err)
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return fmt.Errorf("rename archive to %q: %w", out, err)
	}
	return nil
}

// writeLayer writes the tree under root as an uncompressed layer tar. Every
// entry is owned by root and carries the same timestamp. Directories, regular
// files and symbolic links are supported; hard links become separate copies.
func writeLayer(root string, w io.Writer) error {
	tw := tar.NewWriter(w)
	err := filepath.WalkDir(root, func(path string, entry fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		if rel == "." {
			return nil
		}
		info, err := entry.Info()
		if err != nil {
			return err
		}

		header := &tar.Header{
			Name:    filepath.ToSlash(rel),
			Mode:    int64(info.Mode().Perm()),
			ModTime: epoch,
			Format:  tar.FormatPAX,
		}
		switch {
		case info.Mode().IsDir():
			header.Typeflag = tar.TypeDir
			header.Name += "/"
		case info.Mode().IsRegular():
			header.Typeflag = tar.TypeReg
			header.Size = info.Size()
		case info.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(path)
			if err != nil {
				return err
			}
			header.Typeflag = tar.TypeSymlink
			header.Linkname = target
		default:
			return fmt.Errorf("unsupported file type %s of %q", info.Mode().Type(), path)
		}

		if err := tw.WriteHeader(header); err != nil {
			return err
		}
		if header.Typeflag != tar.TypeReg {
			return nil
		}
		return copyFile(tw, path)
	})
	if err != nil {
		return err
	}
	return tw.Close()
}

func copyFile(w io.Writer, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(w, f)
	return err
}

func blobDescriptor(mediaType string, data []byte) descriptor {
	sum := sha256.Sum256(data)
	return descriptor{MediaType: mediaType, Digest: "sha256:" + hex.EncodeToString(sum[:]), Size: int64(len(data))}
}

func digestOf(h hash.Hash) string {
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

func blobPath(digest string) string {
	return "blobs/sha256/" + digest[len("sha256:"):]
}
