package ipc

import "errors"

// Errors a caller may branch on with errors.Is.
var (
	// ErrVersionMismatch reports a peer built with another protocol version;
	// the returned error names both versions.
	ErrVersionMismatch = errors.New("cyberdb: protocol version mismatch")
	// ErrDenied reports that the leader refused the caller's uid and gid.
	ErrDenied = errors.New("cyberdb: connection refused by leader: peer credentials not allowed")
	// ErrHandshake reports a handshake that failed for another reason: a
	// peer that does not speak this protocol, a malformed or oversized
	// message, or a connection lost before the handshake finished.
	ErrHandshake = errors.New("cyberdb: handshake failed")
	// ErrSessionClosed reports that the connection to the leader is gone;
	// pending and later calls of the Client fail with it.
	ErrSessionClosed = errors.New("cyberdb: connection to leader lost")
	// ErrLeaderClosed reports that the leader closed the connection on
	// purpose (it is shutting down); it matches ErrSessionClosed.
	ErrLeaderClosed error = &subError{"cyberdb: leader closed the connection", ErrSessionClosed}
	// ErrClientClosed reports a call on a Client after its Close; it
	// matches ErrSessionClosed.
	ErrClientClosed error = &subError{"cyberdb: client closed", ErrSessionClosed}
)

// subError is a sentinel that also matches a broader one.
type subError struct {
	msg    string
	parent error
}

func (e *subError) Error() string { return e.msg }

func (e *subError) Unwrap() error { return e.parent }
