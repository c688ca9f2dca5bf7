package cyberdb

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	"github.com/cyberdb-go/cyberdb/cyberdb/internal/engine"
	"github.com/cyberdb-go/cyberdb/ipc"
)

// DB is a store shared by the processes that open the same directory. In
// the leader process it holds the tables; in the others it is a client of
// the leader. A DB is safe for concurrent use by many goroutines.
type DB struct {
	dir      string
	opts     Options
	log      *slog.Logger
	codec    *ipc.Codec
	lock     *lockFile
	members  *members
	clientID uint64
	seqs     *sequencer
	tags     atomic.Uint64 // the last tag given to a call that may wait
	done     chan struct{} // closed by Close
	wg       sync.WaitGroup
	cur      atomic.Pointer[roleRef] // the role calls go to; nil while electing or closed

	mu      sync.Mutex    // protects role, changed, closed, fatal
	role    role          // current role; nil while electing
	changed chan struct{} // closed and replaced when role changes
	closed  bool
	fatal   error // why electing fails for good, e.g. a version mismatch
	leading bool  // the role last reported to Options.OnRoleChange
}

// roleRef boxes a role for atomic.Pointer.
type roleRef struct{ r role }

// role is what a DB is at a moment: the leader or a client of it.
type role interface {
	// do applies op and fills res; it returns only transport errors.
	do(ctx context.Context, op *engine.Op, res *engine.Result) error
	isLeader() bool
	// lost is closed when the role ends without Close (the leader died).
	lost() <-chan struct{}
	close() error
}

// Open opens the store in dir, creating the directory (mode 0700) if
// needed. The first process to open a directory becomes its leader and
// restores the tables from the backup file; later ones attach to it. Open
// blocks until this process is the leader or attached to one, or until
// Options.OpenTimeout passes. A nil opts means DefaultOptions().
func Open(dir string, opts *Options) (*DB, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("cyberdb: %w", err)
	}
	o, err := opts.withDefaults(abs)
	if err != nil {
		return nil, err
	}
	if err := prepareDir(abs, o.shared()); err != nil {
		return nil, err
	}
	db, err := newDB(abs, o)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), o.OpenTimeout)
	defer cancel()
	r, err := db.elect(ctx)
	if err != nil {
		db.lock.close()
		db.members.leave(func() {})
		return nil, err
	}
	db.setRole(r)
	db.wg.Add(1)
	go db.watch()
	return db, nil
}

func newDB(dir string, o Options) (*DB, error) {
	codec, err := ipc.NewCodec(o.limits())
	if err != nil {
		return nil, err
	}
	lock, err := openLock(dir)
	if err != nil {
		return nil, err
	}
	m, err := joinMembers(dir)
	if err != nil {
		lock.close()
		return nil, err
	}
	return &DB{
		members:  m,
		dir:      dir,
		opts:     o,
		log:      o.Logger.With("cyberdb", dir, "pid", os.Getpid()),
		codec:    codec,
		lock:     lock,
		clientID: newClientID(),
		seqs:     newSequencer(),
		done:     make(chan struct{}),
		changed:  make(chan struct{}),
	}, nil
}

// newClientID returns a random non-zero id naming this DB to the leader.
func newClientID() uint64 {
	var b [8]byte
	for {
		rand.Read(b[:])
		if id := binary.LittleEndian.Uint64(b[:]); id != 0 {
			return id
		}
	}
}

// Dir returns the absolute path of the store's directory.
func (db *DB) Dir() string { return db.dir }

// IsLeader reports whether this process currently holds the tables and
// serves the others. It can change when a leader dies and another
// process takes over.
func (db *DB) IsLeader() bool {
	db.mu.Lock()
	defer db.mu.Unlock()
	return db.role != nil && db.role.isLeader()
}

// Close releases the store. In the leader it stops serving, makes every
// write durable (committing the log, or writing a final snapshot when no
// client is attached or the mode keeps no log) and releases the lock, and
// its clients take over at once; in a client it closes the connection.
// Close waits for the DB's goroutines and is idempotent; later calls on
// the DB return ErrClosed.
func (db *DB) Close() error {
	db.mu.Lock()
	if db.closed {
		db.mu.Unlock()
		return nil
	}
	db.closed = true
	r := db.role
	db.role = nil
	db.cur.Store(nil)
	close(db.changed)
	close(db.done)
	db.mu.Unlock()
	db.wg.Wait()
	var err error
	if r != nil {
		err = r.close()
	}
	err = errors.Join(err, db.members.leave(db.removeMemory))
	return errors.Join(err, db.lock.close())
}

// removeMemory deletes the tmpfs files of a None store when its last
// process closes it.
func (db *DB) removeMemory() {
	if db.opts.Durability != None {
		return
	}
	if f, err := db.storeFiles(); err == nil && f.memory != "" {
		os.RemoveAll(f.memory)
	}
}

// setRole installs r and wakes callers waiting for a role. It reports
// false, installing nothing, once the DB is closed.
func (db *DB) setRole(r role) bool {
	changed, ok := db.installRole(r)
	if changed && db.opts.OnRoleChange != nil {
		db.opts.OnRoleChange(r.isLeader())
	}
	return ok
}

// installRole is setRole without the notification; it reports whether
// the process's leadership changed.
func (db *DB) installRole(r role) (changed, ok bool) {
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.closed {
		return false, false
	}
	if r != nil && r.isLeader() != db.leading {
		db.leading, changed = r.isLeader(), true
	}
	db.role = r
	db.fatal = nil
	db.cur.Store(nil)
	if r != nil {
		db.cur.Store(&roleRef{r})
	}
	close(db.changed)
	db.changed = make(chan struct{})
	return changed, true
}

// current returns the role to send calls to, waiting while an election
// is under way.
func (db *DB) current(ctx context.Context) (role, error) {
	if p := db.cur.Load(); p != nil {
		return p.r, nil
	}
	for {
		db.mu.Lock()
		r, ch, closed, fatal := db.role, db.changed, db.closed, db.fatal
		db.mu.Unlock()
		switch {
		case closed:
			return nil, ErrClosed
		case r != nil:
			return r, nil
		case fatal != nil:
			return nil, fatal
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, fmt.Errorf("cyberdb: waiting for a leader: %w", ctx.Err())
		}
	}
}

// do sends op to the current role and turns the result into an error.
// A call interrupted by the loss of the leader is retried on the next
// one until ctx ends. A write sent to a leader over the socket carries a
// sequence number, which it keeps across retries, so that the leader
// applies it once and a retry gets the original result.
func (db *DB) do(ctx context.Context, op *engine.Op, res *engine.Result) error {
	op.Client = db.clientID
	defer db.endWrite(op)
	for {
		r, err := db.current(ctx)
		if err != nil {
			return err
		}
		db.number(op, r)
		err = r.do(ctx, op, res)
		if err == nil {
			return resultError(res)
		}
		if errors.Is(err, ErrLeaderLost) && db.isClosed() {
			return ErrClosed
		}
		if !errors.Is(err, ErrLeaderLost) {
			return err
		}
		if err := db.awaitChange(ctx, r); err != nil {
			return err
		}
		*res = engine.Result{}
	}
}

// number gives a write bound for another process its sequence number,
// or refreshes the acknowledgement of a retried one. Each write of a
// batch is numbered on its own, so the leader deduplicates it alone.
func (db *DB) number(op *engine.Op, r role) {
	switch {
	case op.Code == engine.OpBatch:
		for i := range op.Ops {
			db.number(&op.Ops[i], r)
		}
	case readOnly(op):
	case op.Seq != 0:
		op.Ack = db.seqs.ack()
	case !r.isLeader():
		op.Seq, op.Ack = db.seqs.begin()
	}
}

// endWrite marks a numbered write, or those of a batch, answered.
func (db *DB) endWrite(op *engine.Op) {
	for i := range op.Ops {
		db.endWrite(&op.Ops[i])
	}
	if op.Seq != 0 {
		db.seqs.end(op.Seq)
	}
}

// awaitChange waits until the role is no longer r, or ctx ends.
func (db *DB) awaitChange(ctx context.Context, r role) error {
	for {
		db.mu.Lock()
		cur, ch, closed := db.role, db.changed, db.closed
		db.mu.Unlock()
		if closed {
			return ErrClosed
		}
		if cur != r {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("%w; retrying until the context ended: %w", ErrLeaderLost, ctx.Err())
		}
	}
}

func (db *DB) isClosed() bool {
	db.mu.Lock()
	defer db.mu.Unlock()
	return db.closed
}
