package transport

import (
	"context"
	"fmt"
	"net"
	"os"

	"golang.org/x/sys/unix"
)

// maxPathLen is the longest socket path the kernel accepts (sun_path minus
// the terminating NUL).
const maxPathLen = len(unix.RawSockaddrUnix{}.Path) - 1

// Listen creates a Unix socket at path with file mode 0600 and listens on
// it; the parent directory must exist and a stale socket must have been
// removed by the caller. Closing the listener removes the socket file.
func Listen(path string) (*net.UnixListener, error) {
	if err := checkPath(path); err != nil {
		return nil, err
	}
	fd, err := boundSocket(path)
	if err != nil {
		return nil, fmt.Errorf("cyberdb: listen on %s: %w", path, err)
	}
	l, err := fileListener(fd, path)
	if err != nil {
		_ = os.Remove(path)
		return nil, fmt.Errorf("cyberdb: listen on %s: %w", path, err)
	}
	return l, nil
}

// Dial connects to the Unix socket at path; ctx bounds the connect.
func Dial(ctx context.Context, path string) (*net.UnixConn, error) {
	if err := checkPath(path); err != nil {
		return nil, err
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return nil, fmt.Errorf("cyberdb: dial %s: %w", path, err)
	}
	return c.(*net.UnixConn), nil
}

func checkPath(path string) error {
	if path == "" || len(path) > maxPathLen {
		return fmt.Errorf("cyberdb: socket path %q must have 1 to %d bytes, has %d", path, maxPathLen, len(path))
	}
	return nil
}

// boundSocket returns a listening socket bound to path. The mode is set on
// the socket before bind, so the file never exists with looser permissions.
func boundSocket(path string) (int, error) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, os.NewSyscallError("socket", err)
	}
	if err := bindListen(fd, path); err != nil {
		_ = unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

func bindListen(fd int, path string) error {
	// Linux applies a socket's mode to the file bind creates; elsewhere
	// fchmod may fail, and the chmod below still applies.
	_ = unix.Fchmod(fd, 0o600)
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: path}); err != nil {
		return os.NewSyscallError("bind", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		_ = os.Remove(path)
		return err
	}
	if err := unix.Listen(fd, unix.SOMAXCONN); err != nil {
		_ = os.Remove(path)
		return os.NewSyscallError("listen", err)
	}
	return nil
}

// fileListener wraps fd (which it closes) in a *net.UnixListener that
// removes path on Close.
func fileListener(fd int, path string) (*net.UnixListener, error) {
	f := os.NewFile(uintptr(fd), path)
	defer f.Close()
	l, err := net.FileListener(f)
	if err != nil {
		return nil, err
	}
	ul := l.(*net.UnixListener)
	ul.SetUnlinkOnClose(true)
	return ul, nil
}
