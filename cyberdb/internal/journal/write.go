package journal

import (
	"errors"
	"os"
)

// growChunk is how much the file grows at a time when commits are synced.
// The space ahead of the records is written with zeros, so that a commit
// overwrites allocated blocks and its fdatasync has no metadata to flush.
const growChunk = 1 << 20

// errClosedFile is returned for a change of a closed log file.
var errClosedFile = errors.New("the log file is closed")

// append writes recs, the first of which has LSN first, after the last
// record with one write, and makes them durable with one fdatasync. If it
// fails, the next write cuts whatever it left and writes at the same
// offset again.
func (lf *logFile) append(first uint64, recs [][]byte) error {
	if err := lf.ensureOpen(); err != nil {
		return err
	}
	buf := lf.encode(first, recs)
	if err := lf.prepare(int64(len(buf))); err != nil {
		return err
	}
	if _, err := lf.f.WriteAt(buf, lf.end); err != nil {
		lf.cut = true
		return err
	}
	if err := lf.syncData(); err != nil {
		lf.cut = true
		return err
	}
	lf.mark(first, lf.end)
	lf.end += int64(len(buf))
	lf.alloc = max(lf.alloc, lf.end)
	lf.last = first + uint64(len(recs)) - 1
	return nil
}

// encode returns the stored form of recs, in a buffer reused by the next
// commit unless it is much larger than needed.
func (lf *logFile) encode(first uint64, recs [][]byte) []byte {
	n := 0
	for _, r := range recs {
		n += int(recordSize(len(r)))
	}
	if cap(lf.buf) < n || cap(lf.buf) > 4*n+(1<<20) {
		lf.buf = make([]byte, 0, n)
	}
	buf := lf.buf[:0]
	for i, r := range recs {
		buf = appendRecord(buf, first+uint64(i), r)
	}
	return buf
}

// prepare cuts what a failed write or a torn tail left after the last
// record, and grows the file so that n more bytes fit, if it is synced.
func (lf *logFile) prepare(n int64) error {
	if lf.cut {
		if err := lf.f.Truncate(lf.end); err != nil {
			return err
		}
		lf.alloc, lf.cut, lf.torn = lf.end, false, false
	}
	if !lf.noSync && lf.end+n > lf.alloc && lf.end >= lf.growAt {
		lf.grow(lf.end + n)
	}
	return nil
}

// grow writes zeros from the end of the file up to a multiple of
// growChunk that holds need bytes. On failure (a full disk) it gives the
// space back and tries again only after the file has grown by a chunk
// through writes, which fail on their own if the disk stays full.
func (lf *logFile) grow(need int64) {
	to := (need + growChunk - 1) / growChunk * growChunk
	if lf.zeros == nil {
		lf.zeros = make([]byte, 64<<10)
	}
	for off := lf.alloc; off < to; {
		n, err := lf.f.WriteAt(lf.zeros[:min(int64(len(lf.zeros)), to-off)], off)
		if err != nil {
			_ = lf.f.Truncate(lf.alloc)
			lf.growAt = lf.end + growChunk
			return
		}
		off += int64(n)
	}
	lf.alloc = to
}

// ensureOpen returns errClosedFile if the file is closed.
func (lf *logFile) ensureOpen() error {
	if lf.closed {
		return &os.PathError{Op: "use", Path: lf.path, Err: errClosedFile}
	}
	return nil
}
