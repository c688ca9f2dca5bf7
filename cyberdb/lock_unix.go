//go:build unix

package cyberdb

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// Files in the store's directory.
const (
	lockName = "lock"
	sockName = "sock"
)

// prepareDir creates dir (mode 0700) if needed and checks that it is ours,
// private unless the store is shared, and not on a network file system,
// where flock does not elect reliably.
func prepareDir(dir string, shared bool) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("cyberdb: create directory: %w", err)
	}
	if err := checkOwned(dir); err != nil {
		return err
	}
	var st unix.Stat_t
	if err := unix.Stat(dir, &st); err != nil {
		return fmt.Errorf("cyberdb: stat directory: %w", err)
	}
	if !shared && st.Mode&0o077 != 0 {
		return fmt.Errorf("cyberdb: directory %s has mode %04o; it must not be accessible to other users (chmod 0700), or set Options.AllowUIDs/AllowGIDs to share it", dir, st.Mode&0o777)
	}
	return checkLocalFS(dir)
}

// checkOwned returns an error unless this process's user owns dir.
func checkOwned(dir string) error {
	var st unix.Stat_t
	if err := unix.Stat(dir, &st); err != nil {
		return fmt.Errorf("cyberdb: stat directory: %w", err)
	}
	if uid := uint32(os.Geteuid()); st.Uid != uid {
		return fmt.Errorf("cyberdb: directory %s is owned by uid %d, not by this process's uid %d", dir, st.Uid, uid)
	}
	return nil
}

// Magic numbers of network file systems (statfs f_type).
var networkFS = map[int64]string{
	0x6969:     "NFS",
	0xff534d42: "CIFS",
	0xfe534d42: "SMB2",
	0x517b:     "SMB",
}

func checkLocalFS(dir string) error {
	var fs unix.Statfs_t
	if err := unix.Statfs(dir, &fs); err != nil {
		return fmt.Errorf("cyberdb: statfs: %w", err)
	}
	if name, ok := networkFS[int64(fs.Type)]; ok {
		return fmt.Errorf("cyberdb: directory %s is on %s, where file locks cannot elect a leader reliably; use a local directory", dir, name)
	}
	return nil
}

// lockFile is the leader lock: an exclusive flock on dir/lock. The file is
// opened close-on-exec so a child process never inherits it.
type lockFile struct {
	f *os.File
}

func openLock(dir string) (*lockFile, error) {
	fd, err := unix.Open(filepath.Join(dir, lockName), unix.O_RDWR|unix.O_CREAT|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0o600)
	if err != nil {
		return nil, fmt.Errorf("cyberdb: open lock file: %w", err)
	}
	return &lockFile{f: os.NewFile(uintptr(fd), filepath.Join(dir, lockName))}, nil
}

// tryLock takes the lock without blocking and reports whether it did.
func (l *lockFile) tryLock() (bool, error) {
	err := unix.Flock(int(l.f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, unix.EWOULDBLOCK):
		return false, nil
	case errors.Is(err, unix.EINTR):
		return false, nil
	}
	return false, fmt.Errorf("cyberdb: lock %s: %w", l.f.Name(), err)
}

// unlock releases the lock, keeping the file open for a later tryLock.
func (l *lockFile) unlock() error {
	return unix.Flock(int(l.f.Fd()), unix.LOCK_UN)
}

func (l *lockFile) close() error {
	return l.f.Close()
}

// removeStaleSocket removes the socket left by a dead leader. It must be
// called only while holding the lock. It refuses to remove anything that
// is not a socket or that another user owns.
func removeStaleSocket(path string) error {
	var st unix.Stat_t
	err := unix.Lstat(path, &st)
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("cyberdb: stat socket: %w", err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFSOCK {
		return fmt.Errorf("cyberdb: %s exists and is not a socket; refusing to remove it", path)
	}
	if uid := uint32(os.Geteuid()); st.Uid != uid {
		return fmt.Errorf("cyberdb: socket %s is owned by uid %d, not by this process's uid %d; refusing to remove it", path, st.Uid, uid)
	}
	if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("cyberdb: remove stale socket: %w", err)
	}
	return nil
}

// members is a file every open DB of a store holds a shared flock on, so
// that the last one to close can tell it is the last.
type members struct {
	f *os.File
}

// joinMembers takes a shared lock on dir/members, close-on-exec.
func joinMembers(dir string) (*members, error) {
	path := filepath.Join(dir, "members")
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_CREAT|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0o600)
	if err != nil {
		return nil, fmt.Errorf("cyberdb: open %s: %w", path, err)
	}
	m := &members{f: os.NewFile(uintptr(fd), path)}
	if err := flockRetry(fd, unix.LOCK_SH); err != nil {
		m.f.Close()
		return nil, fmt.Errorf("cyberdb: lock %s: %w", path, err)
	}
	return m, nil
}

// leave releases the shared lock and reports whether this was the last
// member; if so, last runs while no other process can join.
func (m *members) leave(last func()) error {
	defer m.f.Close()
	fd := int(m.f.Fd())
	if err := unix.Flock(fd, unix.LOCK_UN); err != nil {
		return err
	}
	if unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB) == nil {
		last()
	}
	return nil
}

// flockRetry is flock retried when a signal interrupts it.
func flockRetry(fd, how int) error {
	for {
		err := unix.Flock(fd, how)
		if !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}
