package journal

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
)

// reader reads the records of a log file in order.
type reader struct {
	br    *bufio.Reader
	off   int64 // offset of the next record in the file
	limit int64 // offset where the readable part of the file ends
	hdr   [recHeader]byte
	buf   []byte // the payload of the last record read
}

// readBuffer is the largest read-ahead of a reader.
const readBuffer = 1 << 20

// newReader returns a reader of the records of f from offset from (just
// after the header, or a record boundary) to limit.
func newReader(f io.ReaderAt, from, limit int64) *reader {
	n := max(limit-from, 0)
	size := int(min(max(n, 4096), readBuffer))
	return &reader{br: bufio.NewReaderSize(io.NewSectionReader(f, from, n), size), off: from, limit: limit}
}

// entry is a record read from the file, or what is wrong with it.
type entry struct {
	off  int64  // where the record begins
	lsn  uint64 // its LSN, as stored
	rec  []byte // its payload, valid until the next read
	bad  string // why the record is damaged, "" if intact
	lost bool   // the damage hides where the next record begins
}

// next reads the next record. ok is false at the end of the log: the end
// of the readable part, or a zero header. After an entry with lost set,
// the reader must not be used any more.
func (r *reader) next() (e entry, ok bool, err error) {
	e.off = r.off
	n, err := io.ReadFull(r.br, r.hdr[:])
	switch {
	case err == io.EOF:
		return e, false, nil
	case errors.Is(err, io.ErrUnexpectedEOF):
		if allZero(r.hdr[:n]) {
			return e, false, nil
		}
		e.bad, e.lost = fmt.Sprintf("record header cut short after %d of %d bytes", n, recHeader), true
		return e, true, nil
	case err != nil:
		return e, false, err
	case allZero(r.hdr[:]):
		return e, false, nil
	}
	return r.body(e)
}

// body reads the payload of the record whose header r.hdr holds.
func (r *reader) body(e entry) (entry, bool, error) {
	length := binary.LittleEndian.Uint32(r.hdr[:])
	size := recordSize(int(length) - lsnSize)
	if length < lsnSize || length > maxRecord {
		e.bad, e.lost = fmt.Sprintf("impossible record length %d", length), true
		return e, true, nil
	}
	e.lsn = binary.LittleEndian.Uint64(r.hdr[8:])
	if e.off+size > r.limit {
		e.bad, e.lost = fmt.Sprintf("record of %d bytes cut short by the end of the file", size), true
		return e, true, nil
	}
	r.buf = slices.Grow(r.buf[:0], int(length)-lsnSize)[:int(length)-lsnSize]
	if _, err := io.ReadFull(r.br, r.buf); err != nil {
		if !errors.Is(err, io.ErrUnexpectedEOF) && err != io.EOF {
			return e, false, err
		}
		e.bad, e.lost = fmt.Sprintf("record of %d bytes cut short by the end of the file", size), true
		return e, true, nil
	}
	r.off += size
	e.rec = r.buf
	if stored, computed := binary.LittleEndian.Uint32(r.hdr[4:]), recordCRC(r.hdr[8:], r.buf); stored != computed {
		e.bad = checksumMismatch(stored, computed)
	}
	return e, true, nil
}

// allZero reports whether b holds only zero bytes.
func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// readHeader checks the header of the log file f of size bytes.
func readHeader(f io.ReaderAt, size int64) error {
	h := make([]byte, min(size, headerSize))
	if _, err := f.ReadAt(h, 0); err != nil && err != io.EOF {
		return err
	}
	return checkHeader(h)
}
