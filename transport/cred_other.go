//go:build !linux

package transport

import (
	"errors"
	"net"
)

// PeerCred returns the credentials of the peer of c; it is only supported
// on Linux and fails elsewhere, so a server denies every peer.
func PeerCred(c *net.UnixConn) (Cred, error) {
	return Cred{}, errors.New("cyberdb: peer credentials are only supported on Linux")
}
