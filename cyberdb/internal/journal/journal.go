// Package journal is the operation log of a store: records appended by the
// leader as it applies writes, committed to an append-only file in batches,
// and replayed over the last snapshot when a leader starts.
//
// The file (see format.go) is a header and then the records back to back,
// each with its length, a CRC-32C and its LSN. LSNs are consecutive:
// Append assigns the next one, and a commit writes a batch of consecutive
// records after the last one with one write and one fdatasync, so a crash
// leaves every record up to some LSN and none after it. Replay stops at the
// first damaged or missing record.
//
// One goroutine commits. With Options.Interval 0 it commits as soon as
// records are pending, and the records appended during a commit form the
// next batch (group commit); with Options.Delay as well, it commits that
// long after a record is appended to an empty batch; otherwise it commits
// once per interval.
package journal

import (
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultTimeout is how long Open waits for another process's lock when
// Options.Timeout is 0.
const DefaultTimeout = 2 * time.Second

// Options configure a Journal.
type Options struct {
	Path     string        // file of the log; created if missing
	NoSync   bool          // skip fsync (for a log on tmpfs); commits still happen
	Interval time.Duration // 0: group commit as soon as records are pending; >0: commit every Interval
	Delay    time.Duration // with Interval 0: commit this long after the first pending record (0: at once)
	Timeout  time.Duration // how long Open waits for another process's lock (0: DefaultTimeout)
	Logger   *slog.Logger  // nil: slog.Default()
}

// Journal is an open operation log. Its methods are safe for concurrent
// use.
type Journal struct {
	path    string
	group   bool // commit as soon as records are pending
	logger  *slog.Logger
	delay   time.Duration // Options.Delay, in group mode
	wake    chan struct{} // a token tells the committer records are pending
	now     chan struct{} // a token from Sync cuts a delay short
	stop    chan struct{} // closed by Close
	exited  chan struct{} // closed when the committer returns
	shut    chan struct{} // closed when Close is done; closeErr is set before
	commits atomic.Uint64 // successful commits, for tests and benchmarks
	failing atomic.Bool   // the latest commit failed (j.err is set); read without mu

	fmu  sync.Mutex // held by a commit's I/O, Trim and Truncate
	file *logFile   // protected by fmu

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
	failTo   uint64     // the highest LSN of the failed group commit, while stalled
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

// Open opens or creates the log at o.Path, takes its exclusive lock and
// starts its committer. A file that is not a log of this format is refused
// with ErrForeign; a file another process holds is refused after
// o.Timeout. The next Append continues after the highest LSN in the file.
// Damaged records at the end of the file are logged, and cut by Truncate
// or the first commit.
func Open(o Options) (*Journal, error) {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	lf, err := openLog(o)
	if err != nil {
		return nil, fileError("open log", o.Path, err)
	}
	if lf.torn {
		o.Logger.Warn("cyberdb: the log ends in damaged records; the next commit cuts them", "path", o.Path, "last", lf.last)
	}
	j := &Journal{
		file: lf, path: o.Path, group: o.Interval <= 0, logger: o.Logger,
		wake: make(chan struct{}, 1), now: make(chan struct{}, 1), stop: make(chan struct{}), exited: make(chan struct{}),
		shut: make(chan struct{}),
		last: lf.last, durable: lf.last,
	}
	if j.group {
		j.delay = max(o.Delay, 0)
	}
	go j.run(o.Interval)
	return j, nil
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
	j.fmu.Lock()
	cerr := j.file.close()
	j.fmu.Unlock()
	if err == nil && cerr != nil {
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
