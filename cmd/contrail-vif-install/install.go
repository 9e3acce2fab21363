package main

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
)

// binaryMode is the mode of the installed plugin: CNI runtimes exec it as
// root, and other users may read and run it like the reference plugins.
const binaryMode fs.FileMode = 0o755

// Installer copies one CNI plugin binary into a node's CNI binary
// directory.
type Installer struct {
	// Source is the plugin binary to install, normally inside the image.
	Source string
	// BinDir is the CNI binary directory, normally the host's /opt/cni/bin
	// mounted into the container.
	BinDir string
	// Log receives what the installer does. Required.
	Log *slog.Logger
}

// Dest returns the path of the installed plugin: BinDir plus the file name
// of Source, which is the "type" that network configs name.
func (in *Installer) Dest() string {
	return filepath.Join(in.BinDir, filepath.Base(in.Source))
}

// tempPrefix starts the names of the temporary copies in BinDir. The
// leading dot keeps them apart from plugin names, which never start with a
// dot.
func (in *Installer) tempPrefix() string {
	return "." + filepath.Base(in.Source) + ".tmp-"
}

// Install copies Source to Dest unless Dest already has the same content
// and is executable. The copy is written to a temporary file in BinDir,
// synced, and renamed over Dest, so that a runtime that execs the plugin
// at any moment finds either the old binary or the complete new one.
// Temporary files that an earlier, interrupted Install left are removed.
func (in *Installer) Install() error {
	in.removeStaleTemps()

	if err := in.Check(); err == nil {
		in.Log.Info("plugin already installed", "path", in.Dest())
		return nil
	}

	src, err := os.Open(in.Source)
	if err != nil {
		return fmt.Errorf("open plugin binary: %w", err)
	}
	defer src.Close()

	tmp, err := os.CreateTemp(in.BinDir, in.tempPrefix()+"*")
	if err != nil {
		return fmt.Errorf("create temporary file in CNI binary directory %s: %w", in.BinDir, err)
	}
	// Removing the temporary file fails harmlessly once it is renamed.
	defer os.Remove(tmp.Name())
	defer tmp.Close()

	if _, err := io.Copy(tmp, src); err != nil {
		return fmt.Errorf("copy %s to %s: %w", in.Source, tmp.Name(), err)
	}
	if err := tmp.Chmod(binaryMode); err != nil {
		return fmt.Errorf("make %s executable: %w", tmp.Name(), err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("close %s: %w", tmp.Name(), err)
	}
	if err := os.Rename(tmp.Name(), in.Dest()); err != nil {
		return fmt.Errorf("rename %s to %s: %w", tmp.Name(), in.Dest(), err)
	}
	if err := syncDir(in.BinDir); err != nil {
		return err
	}
	in.Log.Info("installed plugin", "source", in.Source, "path", in.Dest())
	return nil
}

// Check returns nil when Dest is a regular, executable file with the same
// content as Source, and otherwise an error that names the difference. The
// readiness probe of the DaemonSet runs it.
func (in *Installer) Check() error {
	dest := in.Dest()
	info, err := os.Stat(dest)
	if err != nil {
		return fmt.Errorf("plugin not installed: %w", err)
	}
	if !info.Mode().IsRegular() {
		return fmt.Errorf("installed plugin %s is not a regular file (mode %s)", dest, info.Mode())
	}
	if info.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("installed plugin %s is not executable (mode %s)", dest, info.Mode().Perm())
	}

	want, err := fileDigest(in.Source)
	if err != nil {
		return fmt.Errorf("read plugin binary: %w", err)
	}
	have, err := fileDigest(dest)
	if err != nil {
		return fmt.Errorf("read installed plugin: %w", err)
	}
	if !bytes.Equal(want, have) {
		return fmt.Errorf("installed plugin %s differs from %s (sha256 %x, expected %x)", dest, in.Source, have, want)
	}
	return nil
}

// removeStaleTemps deletes the temporary files of an interrupted Install.
// Failures are only logged: they do not stop a new installation.
func (in *Installer) removeStaleTemps() {
	entries, err := os.ReadDir(in.BinDir)
	if err != nil {
		// Install reports the unreadable directory when it creates its file.
		in.Log.Error("list CNI binary directory", "path", in.BinDir, "error", err)
		return
	}
	for _, e := range entries {
		if !e.Type().IsRegular() || !strings.HasPrefix(e.Name(), in.tempPrefix()) {
			continue
		}
		path := filepath.Join(in.BinDir, e.Name())
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			in.Log.Error("remove temporary file of an earlier installation", "path", path, "error", err)
			continue
		}
		in.Log.Info("removed temporary file of an earlier installation", "path", path)
	}
}

func fileDigest(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return h.Sum(nil), nil
}

// syncDir makes the rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open CNI binary directory %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync CNI binary directory %s: %w", dir, err)
	}
	return nil
}
