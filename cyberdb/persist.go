package cyberdb

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"time"

	"github.com/cyberdb-go/cyberdb/cyberdb/internal/backup"
	"github.com/cyberdb-go/cyberdb/cyberdb/internal/engine"
	"github.com/cyberdb-go/cyberdb/cyberdb/internal/journal"
)

// record is one entry of the operation log: a write and its result, so
// that replay rebuilds the tables and the deduplication of retries.
type record struct {
	Op  engine.Op     `cbor:"1,keyasint"`
	Res engine.Result `cbor:"2,keyasint"`
}

// files are the paths the leader persists to.
type files struct {
	backup string // the snapshot
	log    string // the operation log; empty when the mode keeps none
	memory string // the tmpfs directory of a None store, removed with it
}

// storeFiles returns where the store's snapshot and log live.
func (db *DB) storeFiles() (files, error) {
	f := files{backup: db.opts.BackupPath}
	if db.opts.Durability == None {
		dir, err := memoryDir(db.dir)
		if err != nil {
			return f, err
		}
		f = files{backup: filepath.Join(dir, "data.cdb"), memory: dir}
	}
	if db.opts.Durability.logged() {
		f.log = f.backup + ".log"
	}
	return f, nil
}

// replayFunc calls fn for each log record after a given LSN and returns
// the last LSN read.
type replayFunc func(after uint64, fn func(lsn uint64, rec []byte) error) (uint64, error)

// restore fills the engine and the deduplication state from the snapshot
// and the log file, and returns the last LSN restored.
func (l *leader) restore() (uint64, error) {
	return l.restoreWith(func(after uint64, fn func(uint64, []byte) error) (uint64, error) {
		return journal.Replay(l.files.log, after, l.db.opts.LockTimeout, fn)
	})
}

// reload is restore while this leader has the log open.
func (l *leader) reload() (uint64, error) {
	return l.restoreWith(l.j.ReplayOpen)
}

// restoreWith is restore reading the log with replay.
func (l *leader) restoreWith(replay replayFunc) (uint64, error) {
	tables, meta, err := backup.Read(l.files.backup)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return 0, fmt.Errorf("cyberdb: restore from %s: %w", l.files.backup, err)
	}
	saved, err := l.loadState(meta.Clients)
	if err != nil {
		return 0, corruptState(l.files.backup, err)
	}
	l.restoredHistory(tables, saved.History)
	l.eng.RestoreOwned(tables)
	d := newDedup()
	d.load(saved.Writes)
	l.dedup.Store(d)
	l.snapLSN.Store(meta.LSN)
	if l.files.log == "" {
		return meta.LSN, nil
	}
	return l.replay(replay, meta.LSN)
}

// replay applies the log records after lsn to the engine.
func (l *leader) replay(replay replayFunc, after uint64) (uint64, error) {
	n := 0
	last, err := replay(after, func(lsn uint64, rec []byte) error {
		n++
		return l.replayRecord(lsn, rec)
	})
	var tail *journal.TailError
	if errors.As(err, &tail) {
		l.db.log.Error("cyberdb: the log ends in damaged records; restored what precedes them", "log", l.files.log, "lost", tail.Error())
		l.torn, err = true, nil
	}
	if err != nil {
		return 0, fmt.Errorf("cyberdb: replay %s: %w", l.files.log, err)
	}
	l.db.log.Info("cyberdb: log replayed", "records", n, "after", after, "last", last)
	return l.alignLSNs(max(last, after)), nil
}

// alignLSNs makes sure that no table claims a change the log does not
// reach (which happens only when the log lost its end): such tables are
// brought back to last, and the store is marked for an early snapshot so
// the old one, whose tables claim those LSNs, is replaced at once.
func (l *leader) alignLSNs(last uint64) uint64 {
	if high := l.eng.LowerLSNs(last); high > last {
		l.db.log.Warn("cyberdb: tables are ahead of the log; taking a snapshot", "tables", high, "log", last)
		l.realign = true
	}
	return last
}

// replayRecord applies one log record.
func (l *leader) replayRecord(lsn uint64, b []byte) error {
	var rec record
	if err := unmarshalRecord(l.db.codec, b, &rec); err != nil {
		return fmt.Errorf("%w: log record %d: %v", ErrCorrupt, lsn, err)
	}
	l.eng.Replay(&rec.Op, lsn)
	if rec.Op.Seq != 0 {
		l.dedup.Load().record(rec.Op.Client, rec.Op.Seq, rec.Res)
	}
	return nil
}

// noneCommitDelay is how long the log of a None store waits after a write
// before it writes the pending records to tmpfs. The writes of that time
// then share one commit, instead of each waking the committer; a leader
// that crashes loses them.
const noneCommitDelay = 10 * time.Millisecond

// openLog opens the operation log for appending after last and makes the
// engine log every change to it.
func (l *leader) openLog(last uint64) error {
	if l.files.log == "" {
		return nil
	}
	o := journal.Options{
		Path:    l.files.log,
		NoSync:  l.db.opts.Durability == None,
		Timeout: l.db.opts.LockTimeout,
		Logger:  l.db.log,
	}
	switch l.db.opts.Durability {
	case Interval:
		o.Interval = l.db.opts.CommitInterval
	case None:
		o.Delay = noneCommitDelay
	}
	j, err := journal.Open(o)
	if err != nil {
		return fmt.Errorf("cyberdb: open log: %w", err)
	}
	if l.torn {
		if err := j.Truncate(last); err != nil {
			j.Close()
			return err
		}
	}
	j.SetNext(last)
	l.j = j
	l.eng.SetLog(l.logChange)
	return nil
}

// logChange encodes a change for the log; the engine calls it while it
// holds the changed table's lock.
func (l *leader) logChange(op *engine.Op, res *engine.Result) uint64 {
	if b, ok := appendRecord(make([]byte, 0, recordSize(op, res)), op, res); ok {
		return l.j.Append(b)
	}
	b, err := l.db.codec.Marshal(&record{Op: *op, Res: *res})
	if err != nil {
		// Every op and result the engine accepted is encodable.
		panic(fmt.Sprintf("cyberdb: encode log record: %v", err))
	}
	return l.j.Append(b)
}

// recordSize estimates the encoded size of a log record, so that it is
// usually encoded into one allocation.
func recordSize(op *engine.Op, res *engine.Result) int {
	n := 96 + len(op.Table) + len(op.Key) + len(op.Value) + len(op.Old) + len(op.Field) + len(res.Msg) + len(res.Value)
	for _, k := range op.Keys {
		n += len(k) + 3
	}
	for _, v := range op.Values {
		n += len(v)
	}
	return n
}

// snapshot writes a consistent copy of every table to path. When path is
// the store's own snapshot, the log records it covers are trimmed.
func (l *leader) snapshot(path string) error {
	l.saveMu.Lock()
	defer l.saveMu.Unlock()
	start := time.Now()
	var meta backup.Meta
	if l.j != nil {
		meta.LSN = l.j.Last()
	}
	tables := l.eng.Snapshot()
	if err := l.durableCopy(); err != nil {
		return err
	}
	state, err := l.saveState(tables)
	if err != nil {
		return err
	}
	meta.Clients = state
	if err := backup.Write(path, tables, meta); err != nil {
		return err
	}
	l.db.log.Debug("cyberdb: snapshot written", "path", path, "tables", len(tables), "lsn", meta.LSN, "took", time.Since(start))
	if l.j == nil || path != l.files.backup {
		return nil
	}
	l.snapLSN.Store(meta.LSN)
	return l.j.Trim(meta.LSN)
}

// durableCopy commits the log up to every change a snapshot just copied,
// before the snapshot replaces the old one: a snapshot never holds a
// write that may yet fail (Always mode), and the log always reaches the
// LSNs of the tables in the snapshot, so a later leader never numbers
// new changes with LSNs the snapshot's tables already carry.
func (l *leader) durableCopy() error {
	if l.j == nil {
		return nil
	}
	return l.j.Sync(context.Background())
}
