package dataplane

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// NetnsDir is the directory of the bind mounts of named network namespaces,
// used by `ip netns` and netns.NewNamed.
const NetnsDir = "/run/netns"

// maxNetnsName is the longest namespace name the data plane accepts: a
// file name, at most NAME_MAX bytes.
const maxNetnsName = 255

// NetnsPath returns the path of the named network namespace name,
// /run/netns/<name>.
func NetnsPath(name string) string {
	return filepath.Join(NetnsDir, name)
}

// checkNetnsName returns an error when name cannot be a file in NetnsDir.
func checkNetnsName(name string) error {
	switch {
	case name == "":
		return errors.New("empty netns name")
	case len(name) > maxNetnsName:
		return fmt.Errorf("netns name %q is longer than %d bytes", name, maxNetnsName)
	case strings.ContainsAny(name, "/ \t\n\x00") || strings.HasPrefix(name, "."):
		return fmt.Errorf("netns name %q contains '/' or white space, or starts with '.'", name)
	}
	return nil
}

// CreateNamedNetns creates a network namespace bind-mounted at
// /run/netns/<name>, so that `ip netns exec <name>` enters it. It fails
// when the name is taken.
func CreateNamedNetns(name string) error {
	if err := checkNetnsName(name); err != nil {
		return err
	}
	if _, err := os.Lstat(NetnsPath(name)); err == nil {
		return fmt.Errorf("netns %q: %w", name, fs.ErrExist)
	}
	return createNamedNetns(name)
}

// createNamedNetns creates the namespace without checking the name.
func createNamedNetns(name string) error {
	errc := make(chan error, 1)
	go func() {
		// netns.NewNamed moves the calling thread into the new namespace.
		// The thread stays locked so that the runtime discards it when this
		// goroutine ends instead of running other goroutines in there.
		runtime.LockOSThread()
		handle, err := netns.NewNamed(name)
		if err == nil {
			err = handle.Close()
		}
		errc <- err
	}()
	return <-errc
}

// DeleteNamedNetns unmounts and removes /run/netns/<name>, and reports
// whether it existed. A plain file left by an interrupted creation is
// removed too. The kernel destroys the namespace, and the links in it, once
// no process uses it any more.
func DeleteNamedNetns(name string) (bool, error) {
	if err := checkNetnsName(name); err != nil {
		return false, err
	}
	path := NetnsPath(name)
	if _, err := os.Lstat(path); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return false, nil
		}
		return false, err
	}
	// EINVAL means the file is not a mount point.
	if err := unix.Unmount(path, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) {
		return false, fmt.Errorf("unmount %s: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, fmt.Errorf("remove %s: %w", path, err)
	}
	return true, nil
}

// inNetns runs fn on an OS thread in the named namespace name, or on the
// calling goroutine when name is empty.
func inNetns(name string, fn func() error) error {
	if name == "" {
		return fn()
	}
	return ns.WithNetNSPath(NetnsPath(name), func(ns.NetNS) error {
		return fn()
	})
}

// isNetnsGone reports whether err is the error of opening a namespace
// path that does not exist.
func isNetnsGone(err error) bool {
	var notExist ns.NSPathNotExistErr
	return errors.As(err, &notExist)
}
