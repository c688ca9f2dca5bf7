//go:build unix

package main

import (
	"context"
	"errors"
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// listenReusePort listens on addr with SO_REUSEPORT, so that every worker
// can bind the same address; on Linux the kernel then balances new
// connections among the workers.
func listenReusePort(ctx context.Context, addr string) (net.Listener, error) {
	lc := net.ListenConfig{Control: setReusePort}
	return lc.Listen(ctx, "tcp", addr)
}

// setReusePort sets SO_REUSEPORT on a socket before it is bound.
func setReusePort(network, address string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
	})
	return errors.Join(err, serr)
}
