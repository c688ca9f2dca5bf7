package cyberdb

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cyberdb-go/cyberdb/cyberdb/internal/backup"
	"github.com/cyberdb-go/cyberdb/cyberdb/internal/engine"
	"github.com/cyberdb-go/cyberdb/cyberdb/internal/journal"
	"github.com/cyberdb-go/cyberdb/cyberdb/internal/watch"
	"github.com/cyberdb-go/cyberdb/ipc"
	"github.com/cyberdb-go/cyberdb/transport"
)

// leader is the role of the process that holds the tables: it applies
// its own calls to the engine directly and serves the other processes.
type leader struct {
	db      *DB
	uid     uint32 // this process's effective uid: its peers may save and load files
	files   files
	eng     *engine.Engine
	j       *journal.Journal // the operation log; nil in Snapshot mode
	torn    bool             // the log ended in damaged records, cut at restore
	realign bool             // the snapshot's tables are ahead of the log: replace it at once
	dedup   atomic.Pointer[dedup]
	srv     *ipc.Server
	closed  atomic.Bool
	stop    chan struct{} // closed by close to end the backup loop
	ready   chan struct{} // closed when the restore is over; startErr is set before
	wg      sync.WaitGroup

	startErr error // why the restore failed, when it did

	waits waits      // the blocking calls under way
	hub   *watch.Hub // the recent changes of each table, for watches

	// gate is held shared by every write and exclusively while the
	// tables are replaced (Load, or recovery from a failed commit).
	gate        sync.RWMutex
	failedUntil atomic.Int64  // UnixNano until which writes are refused after a failed commit
	snapLSN     atomic.Uint64 // the LSN of the last snapshot of the store's own file
	saveMu      sync.Mutex    // serializes snapshots
}

// lead starts serving, so that clients attach while it restores, then
// restores the tables from the snapshot and the log; requests wait until
// it is done. The next term is made durable meanwhile. The caller holds
// the lock.
func (db *DB) lead() (*leader, error) {
	f, err := db.storeFiles()
	if err != nil {
		return nil, err
	}
	l := &leader{db: db, uid: uint32(os.Geteuid()), files: f, eng: engine.New(db.codec), stop: make(chan struct{}), ready: make(chan struct{})}
	l.hub = l.newHub()
	l.eng.SetPublish(l.hub.Publish)
	term := l.startTerm()
	if err := l.serve(); err != nil {
		l.dropTerm(term)
		return nil, err
	}
	start := time.Now()
	last, err := l.restore()
	if err == nil {
		err = l.openLog(last)
	}
	if err != nil {
		l.abort(err)
		l.dropTerm(term)
		return nil, err
	}
	if l.realign {
		l.backup() // before any new change can reuse the LSNs it replaces
	}
	l.eng.SetRevision(l.takeTerm(term) << termShift)
	l.releaseOrphans()
	close(l.ready)
	l.wg.Add(2)
	go func() {
		defer l.wg.Done()
		l.backupLoop()
	}()
	go func() {
		defer l.wg.Done()
		l.expireLoop()
	}()
	db.log.Info("cyberdb: leading", "durability", db.opts.Durability, "backup", f.backup, "lsn", last, "restored_in", time.Since(start))
	return l, nil
}

// abort stops a leader whose restore failed; the requests waiting for it
// fail with err.
func (l *leader) abort(err error) {
	l.startErr = err
	close(l.ready)
	l.closed.Store(true)
	l.srv.Close()
	l.wg.Wait()
}

// serve listens on the socket and starts the server and the backups.
func (l *leader) serve() error {
	ln, err := l.db.listen()
	if err != nil {
		return err
	}
	l.srv = ipc.NewServer(l, ipc.ServerConfig{
		Logger:    l.db.log,
		AllowUIDs: l.db.opts.AllowUIDs,
		AllowGIDs: l.db.opts.AllowGIDs,
		Limits:    l.db.opts.limits(),
		KeepAlive: l.db.opts.keepAlive(),
	})
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		if err := l.srv.Serve(ln); err != nil {
			l.db.log.Error("cyberdb: serve", "err", err)
		}
	}()
	return nil
}

// listen replaces a stale socket with a fresh listening one.
func (db *DB) listen() (net.Listener, error) {
	path := db.sockPath()
	if err := removeStaleSocket(path); err != nil {
		return nil, err
	}
	ln, err := transport.Listen(path)
	if err != nil {
		return nil, err
	}
	if db.opts.shared() {
		if err := os.Chmod(path, 0o666); err != nil {
			ln.Close()
			return nil, fmt.Errorf("cyberdb: chmod socket: %w", err)
		}
	}
	return ln, nil
}

// backupLoop takes the periodic snapshots, forgets idle clients and
// releases every second the locks of processes that are gone (a holder
// that died while no session tied it to this leader, as in a takeover).
func (l *leader) backupLoop() {
	var snap <-chan time.Time
	if l.db.opts.BackupInterval > 0 {
		t := time.NewTicker(l.db.opts.BackupInterval)
		defer t.Stop()
		snap = t.C
	}
	sweep := time.NewTicker(time.Minute)
	defer sweep.Stop()
	grown := time.NewTicker(time.Second)
	defer grown.Stop()
	for {
		select {
		case <-l.stop:
			return
		case now := <-sweep.C:
			l.dedup.Load().sweep(now)
		case <-grown.C:
			l.releaseOrphans()
			if l.logGrown() {
				l.backup()
			}
		case <-snap:
			l.backup()
		}
	}
}

// logSnapshot is the number of log records after which a snapshot is
// taken early, so that a restore never replays much more than this.
const logSnapshot = 1 << 16

// logGrown reports whether the log holds logSnapshot records since the
// last snapshot.
func (l *leader) logGrown() bool {
	return l.j != nil && l.j.Last()-l.snapLSN.Load() >= logSnapshot
}

// backup snapshots the store, logging a failure.
func (l *leader) backup() {
	if err := l.snapshot(l.files.backup); err != nil {
		l.db.log.Error("cyberdb: backup failed; the previous backup is kept", "err", err)
	}
}

// load replaces every table with the content of the backup file at path
// and makes that the store's snapshot at once, so that the log never
// replays older writes over it. A file that cannot be read leaves the
// tables untouched.
func (l *leader) load(path string) error {
	tables, _, err := backup.Read(path)
	if err != nil {
		return err
	}
	for i := range tables {
		tables[i].LSN = 0
	}
	l.gate.Lock()
	defer l.gate.Unlock()
	names := l.eng.TableNames()
	l.eng.RestoreOwned(tables)
	l.loadedHistory(names, tables)
	return l.snapshot(l.files.backup)
}

func (l *leader) isLeader() bool        { return true }
func (l *leader) lost() <-chan struct{} { return nil }

// do applies the leader's own calls without a socket or encoding, and in
// Always mode returns once the change is durable.
func (l *leader) do(ctx context.Context, op *engine.Op, res *engine.Result) error {
	if l.closed.Load() {
		return ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if mayWait(op.Code) && op.Wait >= 0 {
		op.Wait = waitBound(ctx, op.Wait)
	}
	l.apply(op, res, caller{owner: true, pid: int64(os.Getpid()), done: ctx.Done()})
	if err := canceledError(ctx, res); err != nil {
		return err
	}
	if err := l.waitDurable(ctx, res.LSN); err != nil {
		*res = engine.Result{}
		fail(res, engine.ErrIO, "%v", err)
	}
	return nil
}

// close stops serving, releases this process's named locks, makes every
// write durable and releases the lock of the store.
// While clients wait to take over, the log is their restore point, so
// the lock is released as soon as the log is committed; with no one
// waiting (or no log) a final snapshot compacts the store first.
func (l *leader) close() error {
	if l.closed.Swap(true) {
		return nil
	}
	handover := l.srv.Sessions() > 0 && l.j != nil
	err := l.srv.Close()
	close(l.stop)
	l.wg.Wait()
	l.releaseLocks(l.db.clientID) // this process's, as a client's when it leaves
	if !handover {
		if serr := l.snapshot(l.files.backup); serr != nil {
			err = errors.Join(err, fmt.Errorf("cyberdb: final snapshot: %w", serr))
		}
	}
	err = errors.Join(err, l.closeLog())
	return errors.Join(err, l.db.lock.unlock())
}

func (l *leader) closeLog() error {
	if l.j == nil {
		return nil
	}
	return l.j.Close()
}
