package ipc

import "github.com/cyberdb-go/cyberdb/transport"

// ProtocolVersion is the version of the wire protocol this package speaks;
// peers with different versions refuse each other at the handshake.
const ProtocolVersion uint16 = 2

// Frame types on a lane or request stream.
const (
	frameRequest  uint8 = 1 // client to server: a request body, with a client-chosen id
	frameResponse uint8 = 2 // server to client: the reply body for the request of the same id
	frameGoodbye  uint8 = 3 // server to client: the leader is closing; id 0, empty body
)

// maxBody returns the largest body a frame may carry within l.
func maxBody(l Limits) int {
	return l.MaxMessageSize - (transport.HeaderSize - 4)
}

// orDefault returns DefaultLimits when l is the zero value.
func orDefault(l Limits) Limits {
	if l == (Limits{}) {
		return DefaultLimits()
	}
	return l
}
