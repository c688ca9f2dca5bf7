package journal

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"time"
)

// Replay calls fn, in LSN order, for each committed record of the log at
// path whose LSN is above after, and returns the last LSN it replayed
// (after if none). fn owns rec. An error of fn stops the replay and is
// returned.
//
// The records must follow after without a gap. At the first damaged
// record, or a missing LSN, Replay stops and returns the LSN before it with
// a *TailError (wrapping ErrTornTail) that says what was dropped; the
// caller keeps what was replayed. A missing or empty file is an empty log.
// A file that is not a log returns ErrForeign. The file is read without a
// lock, so a log held by a live writer can be read too (up to where its
// last commit got); timeout is not used.
func Replay(path string, after uint64, timeout time.Duration, fn func(lsn uint64, rec []byte) error) (last uint64, err error) {
	_ = timeout
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return after, nil
	}
	if err != nil {
		return after, fmt.Errorf("cyberdb: open log %s: %w", path, err)
	}
	defer func() { _ = f.Close() }()
	fi, err := f.Stat()
	switch {
	case err != nil:
		return after, fmt.Errorf("cyberdb: open log %s: %w", path, err)
	case fi.Size() == 0: // a log whose creation was cut short
		return after, nil
	}
	if err := readHeader(f, fi.Size()); err != nil {
		return after, fileError("replay log", path, err)
	}
	r := &replayer{path: path, after: after, last: after, fn: fn}
	err = r.run(newReader(f, headerSize, fi.Size()))
	switch {
	case err == nil, r.fnErr != nil:
		return r.last, r.fnErr
	case errors.Is(err, ErrTornTail):
		return r.last, err
	}
	return r.last, fileError("replay log", path, err)
}

// replayer walks the records of a log.
type replayer struct {
	path  string
	after uint64 // records up to this LSN are skipped
	last  uint64 // the last LSN replayed
	fn    func(uint64, []byte) error
	fnErr error // the error fn returned
}

// run replays the records after r.after that rd reads.
func (r *replayer) run(rd *reader) error {
	for {
		e, ok, err := rd.next()
		if err != nil || !ok {
			return err
		}
		reason := e.bad
		if reason == "" {
			if e.lsn <= r.after && r.last == r.after {
				continue
			}
			reason = r.check(e.lsn)
		}
		if reason != "" {
			return r.tail(rd, e, reason)
		}
		if err := r.fn(e.lsn, bytes.Clone(e.rec)); err != nil {
			r.fnErr = err
			return err
		}
		r.last = e.lsn
	}
}

// check returns why a record with LSN lsn cannot follow r.last, or "".
func (r *replayer) check(lsn uint64) string {
	switch {
	case lsn == r.last+1:
		return ""
	case lsn <= r.last:
		return fmt.Sprintf("record %d follows record %d", lsn, r.last)
	case lsn == r.last+2:
		return fmt.Sprintf("record %d is missing", r.last+1)
	}
	return fmt.Sprintf("records %d to %d are missing", r.last+1, lsn-1)
}

// tail describes the records from e, the first bad one, to the end, as
// far as their headers tell; To counts only intact records.
func (r *replayer) tail(rd *reader, e entry, reason string) error {
	te := &TailError{Path: r.path, From: r.last + 1, To: r.last, Reason: reason}
	for ok := true; ok; {
		te.Count++
		if e.bad == "" && e.lsn > te.To {
			te.To = e.lsn
		}
		if e.lost {
			break
		}
		var err error
		if e, ok, err = rd.next(); err != nil {
			return err
		}
	}
	return te
}
