package journal

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"time"

	bolt "go.etcd.io/bbolt"
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
// A file that is not a log returns ErrForeign; one bbolt cannot read
// returns another error. The file is opened read-only, waiting up to
// timeout (0: DefaultTimeout) for a writer's lock.
func Replay(path string, after uint64, timeout time.Duration, fn func(lsn uint64, rec []byte) error) (last uint64, err error) {
	if empty, err := isEmptyFile(path); empty || err != nil {
		return after, err
	}
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	r := &replayer{path: path, last: after, fn: fn}
	err = r.open(timeout)
	switch {
	case err == nil, r.fnErr != nil:
		return r.last, r.fnErr
	case errors.Is(err, ErrTornTail):
		return r.last, err
	}
	return r.last, fileError("replay log", path, err)
}

// isEmptyFile reports whether path is missing or empty, as a log whose
// creation was cut short can be.
func isEmptyFile(path string) (bool, error) {
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return true, nil
	case err != nil:
		return false, fmt.Errorf("cyberdb: open log %s: %w", path, err)
	}
	return fi.Size() == 0, nil
}

// replayer walks the records of a log.
type replayer struct {
	path  string
	last  uint64 // the last LSN replayed
	fn    func(uint64, []byte) error
	fnErr error // the error fn returned
}

// open opens the file read-only and replays it. A panic of bbolt on a
// damaged file is returned as an error.
func (r *replayer) open(timeout time.Duration) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("bbolt failed on the file (damaged?): %v", p)
		}
	}()
	db, err := bolt.Open(r.path, 0o400, &bolt.Options{ReadOnly: true, Timeout: timeout})
	if err != nil {
		return err
	}
	defer func() { _ = db.Close() }()
	return db.View(func(tx *bolt.Tx) error {
		if err := checkFormat(tx); err != nil || tx.Bucket(bucketLog) == nil {
			return err
		}
		return r.run(tx.Bucket(bucketLog).Cursor())
	})
}

// run replays the records after r.last from c.
func (r *replayer) run(c *bolt.Cursor) error {
	var kb [8]byte
	k, v := c.Seek(lsnKey(&kb, r.last+1))
	for ; k != nil; k, v = c.Next() {
		lsn, ok := keyLSN(k)
		reason := ""
		var rec []byte
		switch {
		case !ok:
			reason = fmt.Sprintf("malformed key %x", k)
		case lsn == r.last+2:
			reason = fmt.Sprintf("record %d is missing", r.last+1)
		case lsn != r.last+1:
			reason = fmt.Sprintf("records %d to %d are missing", r.last+1, lsn-1)
		default:
			rec, reason = decodeValue(v)
		}
		if reason != "" {
			return r.tail(c, k, reason)
		}
		if err := r.fn(lsn, bytes.Clone(rec)); err != nil {
			r.fnErr = err
			return err
		}
		r.last = lsn
	}
	return nil
}

// tail describes the records from key k, the first bad one, to the end.
func (r *replayer) tail(c *bolt.Cursor, k []byte, reason string) error {
	te := &TailError{Path: r.path, From: r.last + 1, To: r.last, Reason: reason}
	for ; k != nil; k, _ = c.Next() {
		te.Count++
		if lsn, ok := keyLSN(k); ok && lsn > te.To {
			te.To = lsn
		}
	}
	return te
}
