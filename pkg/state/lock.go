package state

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// lockPollInterval is how often LockVMI retries a lock that another plugin
// process holds.
const lockPollInterval = 20 * time.Millisecond

// Lock is an exclusive flock(2) lock on one VMI's lock file.
type Lock struct {
	file *os.File
	path string
}

// LockVMI takes the lock that serializes changes to the tap, the port
// binding and the owner record of the VMI vmiUUID among plugin processes on
// this node. It waits until ctx is done.
func (s *Store) LockVMI(ctx context.Context, vmiUUID string) (*Lock, error) {
	path, err := s.ownerPath(vmiUUID, ".lock")
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), dirMode); err != nil {
		return nil, fmt.Errorf("create state directory: %w", err)
	}
	for {
		lock, held, err := tryLock(path)
		if err != nil {
			return nil, err
		}
		if held {
			return lock, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("lock VMI %s: %w", vmiUUID, context.Cause(ctx))
		case <-time.After(lockPollInterval):
		}
	}
}

// tryLock returns a held lock on path, or false when another process holds
// it or removed the file after this call opened it.
func tryLock(path string) (*Lock, bool, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, fileMode)
	if err != nil {
		return nil, false, fmt.Errorf("open lock file: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) || errors.Is(err, syscall.EINTR) {
			return nil, false, nil
		}
		return nil, false, fmt.Errorf("lock %s: %w", path, err)
	}

	// The previous holder may have removed the file while this call waited.
	// A lock on the removed inode excludes no other process, so start again
	// with a new file.
	held, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, false, fmt.Errorf("stat lock file: %w", err)
	}
	current, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) || (err == nil && !os.SameFile(held, current)) {
		_ = f.Close()
		return nil, false, nil
	}
	if err != nil {
		_ = f.Close()
		return nil, false, fmt.Errorf("stat lock file: %w", err)
	}
	return &Lock{file: f, path: path}, true, nil
}

// Unlock releases the lock. Closing the file releases the flock.
func (l *Lock) Unlock() error {
	if err := l.file.Close(); err != nil {
		return fmt.Errorf("release lock %s: %w", l.path, err)
	}
	return nil
}

// UnlockAndRemove deletes the lock file and then releases the lock. Use it
// when the VMI has no owner any more, so that lock files do not pile up.
func (l *Lock) UnlockAndRemove() error {
	err := removeFile(l.path)
	return errors.Join(err, l.Unlock())
}
