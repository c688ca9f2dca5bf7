// Package ipc is the protocol between the processes of one store: the
// version handshake and peer check, request and response frames, the RPC
// client that pipelines calls from many goroutines over a few lanes (and
// gives calls that may block a yamux stream each), and the server that
// applies requests inline as they arrive.
// PROTOCOL.md in this directory specifies the wire format.
//
// Request and reply bodies are opaque to this package; the server hands
// them to a Handler. The package is importable but carries no stability
// promise: its API changes with the needs of the cyberdb package.
package ipc

// Locking: no two mutexes of this package are ever held at once, so there
// is no lock order to keep.
