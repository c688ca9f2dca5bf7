package transport

import (
	"encoding/binary"
	"errors"
	"io"
)

const (
	// readSize is the initial buffer of a FrameReader and the smallest read.
	readSize = 32 << 10
	// retainSize is the largest buffer a FrameReader keeps once it is
	// drained; a bigger one (grown for a large frame) is dropped.
	retainSize = 1 << 20
	// maxEmptyReads bounds reads that return no data and no error.
	maxEmptyReads = 100
)

// FrameReader reads frames from a stream through its own buffer, so many
// small frames cost one read. It is not safe for concurrent use.
type FrameReader struct {
	r     io.Reader
	max   int
	buf   []byte
	start int   // first unconsumed byte of buf
	end   int   // end of the bytes read into buf
	err   error // sticky: the first read or framing error
}

// NewFrameReader returns a FrameReader on r that rejects frames whose
// length field exceeds maxSize bytes; its memory stays below about
// maxSize plus 32 KiB.
func NewFrameReader(r io.Reader, maxSize int) *FrameReader {
	return &FrameReader{r: r, max: max(maxSize, frameMeta)}
}

// Next reads the next frame, blocking until it is complete. The frame's
// Body is valid until the next call. At a clean end of stream it returns
// io.EOF, inside a frame io.ErrUnexpectedEOF; a length below the header
// gives ErrFrameMalformed, above the limit a *FrameSizeError. Errors are
// sticky, except a timeout (a read deadline expiring): the next call
// resumes where it stopped.
func (fr *FrameReader) Next() (Frame, error) {
	fr.release()
	if err := fr.fill(4); err != nil {
		return Frame{}, err
	}
	n, err := fr.length()
	if err != nil {
		fr.err = err
		return Frame{}, err
	}
	if err := fr.fill(4 + n); err != nil {
		return Frame{}, err
	}
	b := fr.buf[fr.start : fr.start+4+n]
	fr.start += 4 + n
	return Frame{Type: b[4], ID: binary.BigEndian.Uint64(b[5:]), Body: b[HeaderSize:]}, nil
}

// Buffered returns the number of bytes read from the stream but not yet
// returned by Next; when it is 0 the next call will read the stream.
func (fr *FrameReader) Buffered() int {
	return fr.end - fr.start
}

// Ready reports whether a whole frame is buffered, so that Next returns
// without reading the stream.
func (fr *FrameReader) Ready() bool {
	if fr.end-fr.start < 4 {
		return false
	}
	n := int64(binary.BigEndian.Uint32(fr.buf[fr.start:]))
	return int64(fr.end-fr.start) >= 4+n
}

// isTimeout reports whether err is a deadline expiring, which leaves the
// stream usable.
func isTimeout(err error) bool {
	return err != nil && IsTimeout(err)
}

// IsTimeout reports whether err, which must not be nil, is a deadline
// expiring.
func IsTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

// length validates the length field at the start of the unread bytes.
func (fr *FrameReader) length() (int, error) {
	n := binary.BigEndian.Uint32(fr.buf[fr.start:])
	switch {
	case n < frameMeta:
		return 0, ErrFrameMalformed
	case uint64(n) > uint64(fr.max):
		return 0, &FrameSizeError{Size: n, Limit: fr.max}
	}
	return int(n), nil
}

// release recycles the buffer once every byte in it has been consumed.
func (fr *FrameReader) release() {
	if fr.start != fr.end {
		return
	}
	fr.start, fr.end = 0, 0
	if cap(fr.buf) > retainSize {
		fr.buf = nil
	}
}

// fill reads until at least need unread bytes are buffered.
func (fr *FrameReader) fill(need int) error {
	if fr.end-fr.start >= need {
		return nil
	}
	fr.reserve(need)
	for empty := 0; fr.end-fr.start < need; {
		if fr.err != nil {
			return fr.eofError(fr.err)
		}
		n, err := fr.r.Read(fr.buf[fr.end:])
		fr.end += n
		if isTimeout(err) {
			return err // not sticky: the next call resumes the frame
		}
		fr.err = err
		if n > 0 {
			empty = 0
		} else if empty++; empty >= maxEmptyReads && err == nil {
			fr.err = io.ErrNoProgress
		}
	}
	return nil
}

// eofError turns an end of stream inside a frame into io.ErrUnexpectedEOF.
func (fr *FrameReader) eofError(err error) error {
	if errors.Is(err, io.EOF) && fr.end > fr.start {
		return io.ErrUnexpectedEOF
	}
	return err
}

// reserve makes room for need bytes from fr.start, moving the unread bytes
// to the front or into a larger buffer.
func (fr *FrameReader) reserve(need int) {
	if fr.start+need <= len(fr.buf) {
		return
	}
	buf := fr.buf
	if need > len(buf) {
		buf = make([]byte, max(need, readSize))
	}
	fr.end = copy(buf, fr.buf[fr.start:fr.end])
	fr.start = 0
	fr.buf = buf
}
