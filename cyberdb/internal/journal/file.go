package journal

import (
	"errors"
	"io"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/cyberdb-go/cyberdb/cyberdb/internal/durable"
)

// logFile is the open, locked file of a journal. Its methods must be
// called with the journal's fmu held.
type logFile struct {
	f      *os.File
	path   string
	noSync bool
	end    int64  // offset just after the last committed record
	alloc  int64  // size of the file: zeros from end on, unless cut
	cut    bool   // the bytes from end on may be garbage: truncate them before the next write
	torn   bool   // Open found damaged records from end on
	last   uint64 // LSN of the last record in the file, 0 if none
	index  []mark // some records and their offsets, in file order
	growAt int64  // end must reach this before the file is grown again after a failure
	buf    []byte // the encoded records of a commit
	zeros  []byte // a block of zeros to grow the file with
	closed bool
}

// mark is a record and its offset in the file.
type mark struct {
	lsn uint64
	off int64
}

// markEvery is the least distance between two marks of the index, which
// bounds how far Trim and Truncate read to find a record.
const markEvery = 64 << 10

// zeroCheckMax bounds how many bytes after the last record Open reads to
// check that they are zeros; a longer rest is cut before the next write.
const zeroCheckMax = 8 << 20

// openLog opens and locks the log at o.Path, creating it if missing or
// empty, and finds its last record.
func openLog(o Options) (*logFile, error) {
	f, err := openLocked(o.Path, o.Timeout)
	if err != nil {
		return nil, err
	}
	lf := &logFile{f: f, path: o.Path, noSync: o.NoSync}
	if err := lf.load(); err != nil {
		_ = f.Close()
		return nil, err
	}
	_ = os.Remove(lf.tmpPath()) // left by a Trim cut short; only the lock holder writes it
	return lf, nil
}

// load writes the header of a new file, or checks and scans an existing
// one.
func (lf *logFile) load() error {
	fi, err := lf.f.Stat()
	if err != nil {
		return err
	}
	if fi.Size() == 0 {
		return lf.create()
	}
	if err := readHeader(lf.f, fi.Size()); err != nil {
		return err
	}
	return lf.scan(fi.Size())
}

// create writes the header of a new log and makes it durable.
func (lf *logFile) create() error {
	if _, err := lf.f.WriteAt(appendHeader(nil), 0); err != nil {
		return err
	}
	lf.end, lf.alloc = headerSize, headerSize
	if lf.noSync {
		return nil
	}
	if err := lf.f.Sync(); err != nil {
		return err
	}
	return durable.SyncDir(filepath.Dir(lf.path))
}

// scan walks the records of a file of size bytes and positions end after
// the last intact one. Records must have increasing LSNs; from the first
// that is damaged or out of order on, the file is torn.
func (lf *logFile) scan(size int64) error {
	lf.end, lf.alloc = headerSize, size
	rd := newReader(lf.f, headerSize, size)
	for {
		e, ok, err := rd.next()
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		if e.bad != "" || e.lsn <= lf.last {
			lf.torn = true
			break
		}
		lf.mark(e.lsn, e.off)
		lf.last, lf.end = e.lsn, rd.off
	}
	zero, err := lf.zeroFrom(lf.end, size)
	lf.cut = lf.torn || !zero
	return err
}

// zeroFrom reports whether the file holds only zeros from offset from to
// size. It gives up (false) on a long rest.
func (lf *logFile) zeroFrom(from, size int64) (bool, error) {
	switch {
	case from >= size:
		return true, nil
	case size-from > zeroCheckMax:
		return false, nil
	}
	buf := make([]byte, min(size-from, 64<<10))
	r := io.NewSectionReader(lf.f, from, size-from)
	for {
		n, err := io.ReadFull(r, buf)
		if !allZero(buf[:n]) {
			return false, nil
		}
		if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
			return true, nil
		}
		if err != nil {
			return false, err
		}
	}
}

// mark adds the record lsn at offset off to the index, if the last mark
// is far enough before it.
func (lf *logFile) mark(lsn uint64, off int64) {
	if n := len(lf.index); n == 0 || off-lf.index[n-1].off >= markEvery {
		lf.index = append(lf.index, mark{lsn: lsn, off: off})
	}
}

// syncData makes the written data durable, unless noSync is set.
func (lf *logFile) syncData() error {
	if lf.noSync {
		return nil
	}
	if err := unix.Fdatasync(int(lf.f.Fd())); err != nil {
		return &os.PathError{Op: "fdatasync", Path: lf.path, Err: err}
	}
	return nil
}

// close closes the file, which releases its lock. Every commit is durable
// already.
func (lf *logFile) close() error {
	if lf.closed {
		return nil
	}
	lf.closed = true
	return lf.f.Close()
}
