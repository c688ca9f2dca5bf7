// Package journal is the operation log of a store: records appended by the
// leader as it applies writes, committed to a bbolt file in batches, and
// replayed over the last snapshot when a leader starts.
//
// The file holds two buckets (names end in a slash):
//
//	meta/
//	  format   "cyberdb-go/log1"
//	log/
//	  <LSN>    uint64 big-endian -> CRC-32C (uint32 big-endian) of the record, then the record
//
// LSNs are consecutive: Append assigns the next one, and a commit writes a
// batch of consecutive records in one bbolt transaction, so a crash leaves
// every record up to some LSN and none after it. Replay stops at the first
// damaged or missing record.
//
// One goroutine commits. With Options.Interval 0 it commits as soon as
// records are pending, and the records appended during a commit form the
// next batch (group commit); otherwise it commits once per interval.
package journal

import (
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
)

// DefaultTimeout is the bbolt open timeout when Options.Timeout is 0.
const DefaultTimeout = 2 * time.Second

// mmapSize is the initial memory map of the log, so that it grows to this
// size without remapping (which would stall readers and writers).
const mmapSize = 64 << 20

// Options configure a Journal.
type Options struct {
	Path     string        // bbolt file of the log; created if missing
	NoSync   bool          // skip fsync (for a log on tmpfs); commits still happen
	Interval time.Duration // 0: group commit as soon as records are pending; >0: commit every Interval
	Timeout  time.Duration // how long Open waits for another process's lock (0: DefaultTimeout)
	Logger   *slog.Logger  // nil: slog.Default()
}

// Journal is an open operation log. Its methods are safe for concurrent
// use.
type Journal struct {
	db      *bolt.DB
	path    string
	group   bool // commit as soon as records are pending
	logger  *slog.Logger
	wake    chan struct{} // a token tells the committer records are pending
	stop    chan struct{} // closed by Close
	exited  chan struct{} // closed when the committer returns
	shut    chan struct{} // closed when Close is done; closeErr is set before
	value   []byte        // the committer's buffer of stored values
	commits atomic.Uint64 // successful commits, for tests and benchmarks

	mu       sync.Mutex // protects the fields below
	recs     [][]byte   // buffered records, LSNs last-len(recs)+1 .. last
	spare    [][]byte   // an emptied slice for recs to reuse
	cur      *batch     // the batch of the buffered records (nil: none yet)
	flying   *batch     // the batch being committed, nil if none
	flyTo    uint64     // the highest LSN of flying
	target   int        // records a group commit waits for: as many as the previous one wrote
	last     uint64     // highest assigned LSN
	durable  uint64     // highest committed LSN
	err      error      // the error of the latest commit, nil after a success
	stalled  bool       // a group commit failed: wait for Discard before the next
	closing  bool       // Close has begun
	closed   bool       // Close has failed the remaining waiters; Append drops records
	closeErr error      // what Close returned, set before shut is closed
}

// batch is the set of records one commit writes, and its outcome.
type batch struct {
	done chan struct{} // closed when the commit ends
	err  error         // set before done is closed; nil on success
}

func newBatch() *batch { return &batch{done: make(chan struct{})} }

// Open opens or creates the log at o.Path and starts its committer. A file
// that is not a log of this format is refused with ErrForeign. The next
// Append continues after the highest LSN in the file.
func Open(o Options) (*Journal, error) {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	db, last, err := openFile(o)
	if err != nil {
		return nil, fileError("open log", o.Path, err)
	}
	j := &Journal{
		db: db, path: o.Path, group: o.Interval <= 0, logger: o.Logger,
		wake: make(chan struct{}, 1), stop: make(chan struct{}), exited: make(chan struct{}),
		shut: make(chan struct{}),
		last: last, durable: last,
	}
	go j.run(o.Interval)
	return j, nil
}

// openFile opens the bbolt file, prepares a new one and returns the
// highest LSN it holds. A panic of bbolt on a damaged file is returned as
// an error.
func openFile(o Options) (db *bolt.DB, last uint64, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("bbolt failed on the file (damaged?): %v", r)
		}
	}()
	db, err = bolt.Open(o.Path, 0o600, &bolt.Options{
		Timeout:         o.Timeout,
		NoSync:          o.NoSync,
		NoGrowSync:      o.NoSync,
		NoFreelistSync:  true,
		FreelistType:    bolt.FreelistMapType,
		InitialMmapSize: mmapSize,
	})
	if err != nil {
		return nil, 0, err
	}
	err = db.Update(func(tx *bolt.Tx) error {
		if err := checkFormat(tx); err != nil {
			return err
		}
		if err := initFile(tx); err != nil {
			return err
		}
		last = lastLSN(tx)
		return nil
	})
	if err != nil {
		_ = db.Close()
		return nil, 0, err
	}
	return db, last, nil
}

// Close commits the buffered records, stops the committer and closes the
// file. It returns the error of that last commit or of closing the file.
// Records appended later are never committed; waiting for them returns
// ErrClosed. Close is idempotent: later calls return what the first
// returned, once it is done.
func (j *Journal) Close() error {
	j.mu.Lock()
	if j.closing {
		j.mu.Unlock()
		<-j.shut
		return j.closeErr
	}
	j.closing = true
	j.mu.Unlock()
	close(j.stop)
	<-j.exited
	_, err := j.commit(true)
	j.mu.Lock()
	j.failCur(ErrClosed)
	j.recs, j.closed = nil, true
	j.mu.Unlock()
	if cerr := j.db.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("cyberdb: close log %s: %w", j.path, cerr)
	}
	j.closeErr = err
	close(j.shut)
	return err
}

// failCur ends the batch of the buffered records with err.
func (j *Journal) failCur(err error) {
	if j.cur != nil {
		j.cur.err = err
		close(j.cur.done)
		j.cur = nil
	}
}
