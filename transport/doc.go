// Package transport moves bytes between the processes of one store: it
// listens on and dials Unix sockets with safe permissions, reads the peer's
// credentials, sets up tuned yamux sessions, and frames messages on a stream.
//
// It knows nothing about CBOR or tables. The package is importable but
// carries no stability promise: its API changes with the needs of the
// cyberdb and ipc packages.
package transport
