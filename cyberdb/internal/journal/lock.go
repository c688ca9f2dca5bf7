package journal

import (
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// lockPoll is how often Open retries the lock of a log another process
// holds.
const lockPoll = 10 * time.Millisecond

// openLocked opens the file at path for reading and writing, creating it
// if missing, and takes its exclusive lock, waiting up to timeout for
// another holder to let go. (Go opens files close-on-exec, so the lock does
// not leak into child processes.) If the file was replaced while it
// waited, as Trim does, it locks the new one.
func openLocked(path string, timeout time.Duration) (*os.File, error) {
	deadline := time.Now().Add(timeout)
	for {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return nil, err
		}
		current := false
		err = waitLock(f, deadline, timeout)
		if err == nil {
			current, err = isCurrent(f, path)
		}
		if err == nil && current {
			return f, nil
		}
		_ = f.Close()
		if err != nil {
			return nil, err
		}
	}
}

// waitLock takes the exclusive lock of f, retrying until deadline.
func waitLock(f *os.File, deadline time.Time, timeout time.Duration) error {
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		switch {
		case err == nil:
			return nil
		case !errors.Is(err, unix.EWOULDBLOCK) && !errors.Is(err, unix.EINTR):
			return os.NewSyscallError("flock", err)
		case time.Now().After(deadline):
			return fmt.Errorf("the file is locked by another process (waited %v): %w", timeout, unix.EWOULDBLOCK)
		}
		time.Sleep(lockPoll)
	}
}

// isCurrent reports whether f is still the file at path.
func isCurrent(f *os.File, path string) (bool, error) {
	fi, err := f.Stat()
	if err != nil {
		return false, err
	}
	pi, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return os.SameFile(fi, pi), nil
}

// tryLock takes the exclusive lock of a file no other process should
// hold, without waiting.
func tryLock(f *os.File) error {
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		return os.NewSyscallError("flock", err)
	}
	return nil
}
