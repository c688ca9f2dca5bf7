package cyberdb

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cyberdb-go/cyberdb/cyberdb/internal/backup"
	"github.com/cyberdb-go/cyberdb/cyberdb/internal/engine"
	"github.com/cyberdb-go/cyberdb/ipc"
	"github.com/cyberdb-go/cyberdb/transport"
)

// leader is the role of the process that holds the tables: it applies
// its own calls to the engine directly and serves the other processes.
type leader struct {
	db     *DB
	eng    *engine.Engine
	srv    *ipc.Server
	closed atomic.Bool
	stop   chan struct{} // closed by close to end the backup loop
	wg     sync.WaitGroup
	saveMu sync.Mutex // serializes snapshots and loads
}

// lead restores the tables from the backup file and starts serving. The
// caller holds the lock.
func (db *DB) lead() (*leader, error) {
	tables, err := backup.Read(db.opts.BackupPath)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("cyberdb: restore from %s: %w", db.opts.BackupPath, err)
	}
	l := &leader{db: db, eng: engine.New(db.codec), stop: make(chan struct{})}
	l.eng.Restore(tables)
	ln, err := db.listen()
	if err != nil {
		return nil, err
	}
	l.srv = ipc.NewServer(l, ipc.ServerConfig{
		Logger:    db.log,
		AllowUIDs: db.opts.AllowUIDs,
		AllowGIDs: db.opts.AllowGIDs,
		Limits:    db.opts.limits(),
		KeepAlive: db.opts.keepAlive(),
	})
	l.start(ln)
	db.log.Info("cyberdb: leading", "tables", len(tables), "backup", db.opts.BackupPath)
	return l, nil
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

// start runs the server and the periodic backup.
func (l *leader) start(ln net.Listener) {
	l.wg.Add(2)
	go func() {
		defer l.wg.Done()
		if err := l.srv.Serve(ln); err != nil {
			l.db.log.Error("cyberdb: serve", "err", err)
		}
	}()
	go func() {
		defer l.wg.Done()
		l.backupLoop()
	}()
}

func (l *leader) backupLoop() {
	if l.db.opts.BackupInterval <= 0 {
		return
	}
	t := time.NewTicker(l.db.opts.BackupInterval)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
			if err := l.snapshot(l.db.opts.BackupPath); err != nil {
				l.db.log.Error("cyberdb: backup failed; the previous backup is kept", "err", err)
			}
		}
	}
}

// snapshot writes a consistent copy of every table to path.
func (l *leader) snapshot(path string) error {
	l.saveMu.Lock()
	defer l.saveMu.Unlock()
	start := time.Now()
	tables := l.eng.Snapshot()
	if err := backup.Write(path, tables); err != nil {
		return err
	}
	l.db.log.Debug("cyberdb: snapshot written", "path", path, "tables", len(tables), "took", time.Since(start))
	return nil
}

// load replaces every table with the content of the backup file at path.
// A file that cannot be read leaves the tables untouched.
func (l *leader) load(path string) error {
	l.saveMu.Lock()
	defer l.saveMu.Unlock()
	tables, err := backup.Read(path)
	if err != nil {
		return err
	}
	l.eng.Restore(tables)
	return nil
}

func (l *leader) isLeader() bool        { return true }
func (l *leader) lost() <-chan struct{} { return nil }

// do applies the leader's own calls without a socket or encoding.
func (l *leader) do(ctx context.Context, op *engine.Op, res *engine.Result) error {
	if l.closed.Load() {
		return ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	l.apply(op, res, true)
	return nil
}

// close stops serving, writes the final snapshot and releases the lock.
func (l *leader) close() error {
	if l.closed.Swap(true) {
		return nil
	}
	err := l.srv.Close()
	close(l.stop)
	l.wg.Wait()
	if serr := l.snapshot(l.db.opts.BackupPath); serr != nil {
		err = errors.Join(err, fmt.Errorf("cyberdb: final snapshot: %w", serr))
	}
	return errors.Join(err, l.db.lock.unlock())
}
