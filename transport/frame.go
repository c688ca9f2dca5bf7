package transport

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Frame layout: a 4-byte big-endian length of everything after it, a 1-byte
// type, an 8-byte big-endian id, then the body.
const (
	// HeaderSize is the number of bytes before a frame's body.
	HeaderSize = 4 + frameMeta
	// frameMeta is the smallest valid length: type and id, empty body.
	frameMeta = 1 + 8
)

// ErrFrameMalformed reports a frame whose length field is too small to hold
// its type and id.
var ErrFrameMalformed = errors.New("cyberdb: malformed frame")

// ErrFrameTooLarge matches (with errors.Is) every *FrameSizeError.
var ErrFrameTooLarge = errors.New("cyberdb: frame too large")

// FrameSizeError reports a frame whose length field exceeds the reader's
// limit; it matches ErrFrameTooLarge.
type FrameSizeError struct {
	Size  uint32 // the length field of the frame
	Limit int    // the largest length the reader accepts
}

// Error returns a message naming the size and the limit.
func (e *FrameSizeError) Error() string {
	return fmt.Sprintf("cyberdb: frame too large: %d bytes, limit %d", e.Size, e.Limit)
}

// Is reports whether target is ErrFrameTooLarge.
func (e *FrameSizeError) Is(target error) bool {
	return target == ErrFrameTooLarge
}

// Frame is one message on a stream. A Frame returned by FrameReader.Next
// borrows the reader's buffer: Body is valid until the next call to Next.
type Frame struct {
	Type uint8
	ID   uint64
	Body []byte
}

// AppendFrame appends a frame of typ, id and body to dst and returns the
// extended buffer, so header and body leave in one write.
func AppendFrame(dst []byte, typ uint8, id uint64, body []byte) []byte {
	dst = AppendHeader(dst, typ, id, len(body))
	return append(dst, body...)
}

// AppendHeader appends the header of a frame whose body of bodyLen bytes
// the caller appends next.
func AppendHeader(dst []byte, typ uint8, id uint64, bodyLen int) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(frameMeta+bodyLen))
	dst = append(dst, typ)
	return binary.BigEndian.AppendUint64(dst, id)
}

// PutHeader writes into b[:HeaderSize] the header of a frame of typ and id
// whose body is the rest of b; it lets a caller reserve the header, append
// the body, then fill the header in without copying the body.
func PutHeader(b []byte, typ uint8, id uint64) {
	binary.BigEndian.PutUint32(b, uint32(len(b)-4))
	b[4] = typ
	binary.BigEndian.PutUint64(b[5:], id)
}
