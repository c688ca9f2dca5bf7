package transport

import (
	"encoding/binary"
	"net"
)

// yamux header layout (spec.md of hashicorp/yamux): version, type, flags,
// stream id, length.
const (
	yamuxHeaderSize = 12
	yamuxTypeData   = 0
)

// headerJoiner sends a yamux data header together with the body that
// follows it in one writev, instead of the two writes yamux makes; the
// reader then wakes once per frame instead of twice. yamux writes from a
// single goroutine, so no lock is needed.
type headerJoiner struct {
	net.Conn
	held bool                  // hdr holds a data header awaiting its body
	hdr  [yamuxHeaderSize]byte // the held header
	vec  [2][]byte             // backing array of bufs
	bufs net.Buffers
}

func newHeaderJoiner(c net.Conn) *headerJoiner {
	return &headerJoiner{Conn: c}
}

// Write holds a data header that announces a body, and joins it with the
// next write; every other write goes through in order.
func (j *headerJoiner) Write(b []byte) (int, error) {
	if j.held {
		return j.writeJoined(b)
	}
	if announcesBody(b) {
		j.held = true
		copy(j.hdr[:], b)
		return len(b), nil
	}
	return j.Conn.Write(b)
}

func (j *headerJoiner) writeJoined(b []byte) (int, error) {
	j.held = false
	j.vec[0], j.vec[1] = j.hdr[:], b
	j.bufs = j.vec[:]
	n, err := j.bufs.WriteTo(j.Conn)
	j.vec[1] = nil
	return max(int(n)-yamuxHeaderSize, 0), err
}

// announcesBody reports whether b is exactly a yamux data header with a
// non-zero length, which yamux always follows with the body.
func announcesBody(b []byte) bool {
	return len(b) == yamuxHeaderSize && b[1] == yamuxTypeData && binary.BigEndian.Uint32(b[8:]) > 0
}
