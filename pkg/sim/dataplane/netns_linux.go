package dataplane

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"

	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// netnsDir is the directory of the bind mounts of named network namespaces,
// used by `ip netns` and netns.NewNamed.
const netnsDir = "/run/netns"

func netnsPath(name string) string {
	return filepath.Join(netnsDir, name)
}

// createNamedNetns creates a network namespace bind-mounted at
// /run/netns/<name>, so that `ip netns exec <name>` enters it.
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

// deleteNamedNetns unmounts and removes /run/netns/<name>, and reports
// whether it existed. A plain file left by an interrupted creation is
// removed too.
func deleteNamedNetns(name string) (bool, error) {
	path := netnsPath(name)
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
