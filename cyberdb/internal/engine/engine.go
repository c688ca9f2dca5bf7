// Package engine applies operations to the in-memory dict and list tables
// of a store. It is shared by the leader's local calls and the calls it
// serves to clients, so both see the same semantics.
package engine

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/fxamacker/cbor/v2"

	"github.com/cyberdb-go/cyberdb/ipc"
)

// Engine holds the tables of a store and applies operations to them. An
// Engine is safe for concurrent use: operations on different tables never
// wait for each other, and readers of one table share it.
//
// Lock order: Engine.txMu before everything else; Engine.snapMu before
// Engine.mu and table.mu; cursor.mu before table.mu; table.mu before
// Engine.mu (a drop) and Engine.expMu; Engine.mu, Engine.curMu and
// Engine.expMu are never held while taking another lock.
type Engine struct {
	codec *ipc.Codec

	mu     sync.RWMutex      // protects tables
	tables map[string]*table // by name

	snapMu    sync.Mutex // held by Snapshot: a table has one overlay at most
	snapChunk int        // changes a snapshot merges per hold of a table lock
	snapStep  func()     // called between the steps of a snapshot, unlocked; for tests

	curMu     sync.Mutex         // protects cursors, perClient and lastSweep
	cursors   map[uint64]*cursor // open scan cursors by id
	perClient map[uint64]int     // number of open cursors by owner
	lastSweep time.Time          // when expired cursors were last dropped
	nextCur   atomic.Uint64      // last cursor id handed out

	now func() time.Time // the clock; replaced by tests

	log     LogFunc // records each change; nil when nothing is logged
	replay  uint64  // the LSN being replayed by Replay, 0 otherwise
	publish PublishFunc
	rev     atomic.Uint64 // the last revision handed out

	// txMu is held shared by every operation and exclusively by a
	// transaction, which therefore sees and leaves no partial state.
	txMu sync.RWMutex
	tx   *txn // the transaction being applied; only under txMu held exclusively

	expMu   sync.Mutex    // protects nextExp
	nextExp int64         // the earliest deadline pushed since the last DueExpiries (0: unknown)
	expWake chan struct{} // a token tells the expirer of an earlier deadline
}

// PublishFunc receives the changes of one write to a table, in the order
// of their revisions, while the table's lock is held. It copies what it
// keeps: evs is reused.
type PublishFunc func(table string, evs []Event)

// LogFunc records a change made by op with result res in the log and
// returns its log sequence number (LSN). The engine calls it while it
// holds the lock of the table changed, so the log's order is the order
// in which each table changed.
type LogFunc func(op *Op, res *Result) uint64

// table is one dict or list. Values are never modified in place: a write
// replaces the slice, so readers may keep stored slices after unlocking.
type table struct {
	name string
	kind Kind

	mu      sync.RWMutex      // protects every field below
	dict    map[string]Entry  // when kind is KindDict
	list    []cbor.RawMessage // when kind is KindList
	dropped bool              // the table left the registry; retry the lookup
	lsn     uint64            // LSN of the last logged change
	snap    *overlay          // the dict's changes while a snapshot copies it
	ttl     int64             // a dict's default time to live in ns (0: none)
	rev     uint64            // revision of the last change
	cur     uint64            // revision of the write in progress
	now     int64             // time of the write in progress, Unix ns
	exps    expHeap           // the dict's deadlines, earliest first; some are stale
	evs     []Event           // the changes of the write in progress
	wake    chan struct{}     // closed by the next change; nil when no one waits
}

// New returns an empty Engine that decodes and encodes values with codec
// (ipc.DefaultCodec when nil).
func New(codec *ipc.Codec) *Engine {
	if codec == nil {
		codec = ipc.DefaultCodec
	}
	return &Engine{
		codec:     codec,
		tables:    make(map[string]*table),
		cursors:   make(map[uint64]*cursor),
		perClient: make(map[uint64]int),
		snapChunk: snapChunk,
		now:       time.Now,
		expWake:   make(chan struct{}, 1),
	}
}

// Apply performs op and records the outcome in res, which must be the zero
// Result on entry. It never panics on a malformed op: problems are reported
// in res.Err and res.Msg. Values in res may share memory with the store and
// must not be modified. Apply takes ownership of the value slices in op.
func (e *Engine) Apply(op *Op, res *Result) {
	if op == nil {
		invalid(res, "nil operation")
		return
	}
	if op.Code == OpTxn {
		e.applyTxn(op, res)
		return
	}
	e.txMu.RLock()
	defer e.txMu.RUnlock()
	e.apply(op, res)
}

// apply is Apply with the transaction lock held.
func (e *Engine) apply(op *Op, res *Result) {
	switch {
	case op.Code >= OpCreateTable && op.Code <= OpDropTable:
		e.applyTable(op, res)
	case op.Code >= OpDictGet && op.Code <= OpDictGetAndSet:
		e.applyDict(op, res)
	case op.Code >= OpListGet && op.Code <= OpListLen:
		e.applyList(op, res)
	case op.Code == OpCloseCursor:
		e.closeCursor(op, res)
	case op.Code >= OpDictExpire && op.Code <= OpTableTTL:
		e.applyExpiry(op, res)
	case op.Code >= OpCheckEquals && op.Code <= OpCheckVersion:
		e.check(op, res)
	case op.Code == OpListMove:
		e.listMove(op, res)
	case op.Code == OpListBPop:
		e.listRemove(op, res)
	case op.Code == OpLock || op.Code == OpUnlock || op.Code == OpLockRefresh:
		e.applyLock(op, res)
	default:
		invalid(res, "unknown operation code %d", op.Code)
	}
}

// applyTable dispatches the operations on the set of tables.
func (e *Engine) applyTable(op *Op, res *Result) {
	switch op.Code {
	case OpCreateTable:
		e.createTable(op, res)
	case OpOpenTable:
		e.openTable(op, res)
	case OpTables:
		e.listTables(res)
	case OpDropTable:
		e.dropTable(op, res)
	}
}

// lookup returns the table named op.Table if it has the given kind, or nil
// after recording why not in res.
func (e *Engine) lookup(op *Op, kind Kind, res *Result) *table {
	if !usable(op.Table, res) {
		return nil
	}
	e.mu.RLock()
	t := e.tables[op.Table]
	e.mu.RUnlock()
	if t == nil {
		noTable(res, op.Table)
		return nil
	}
	if t.kind != kind {
		wrongKind(res, t, kind)
		return nil
	}
	return t
}

// read returns the table named op.Table, of the given kind, read-locked.
// It returns nil after recording the reason in res.
func (e *Engine) read(op *Op, kind Kind, res *Result) *table {
	for {
		t := e.lookup(op, kind, res)
		if t == nil {
			return nil
		}
		t.mu.RLock()
		if !t.dropped {
			return t
		}
		t.mu.RUnlock()
	}
}

// write is read with an exclusive lock, and starts a write to the table
// (see begin).
func (e *Engine) write(op *Op, kind Kind, res *Result) *table {
	for {
		t := e.lookup(op, kind, res)
		if t == nil {
			return nil
		}
		t.mu.Lock()
		if !t.dropped {
			e.begin(t, op)
			return t
		}
		t.mu.Unlock()
	}
}

// done ends a write to t (see finish) and releases t's write lock.
func (e *Engine) done(t *table, op *Op, res *Result) {
	e.finish(t, op, res)
	t.mu.Unlock()
}

// logged records op in the log, or marks it replayed, and stores the LSN
// in *lsn and res.
func (e *Engine) logged(lsn *uint64, op *Op, res *Result) {
	switch {
	case e.replay != 0:
		*lsn = e.replay
	case e.log != nil:
		*lsn = e.log(op, res)
		res.LSN = *lsn
	}
}

// Revision returns the last revision handed out or restored.
func (e *Engine) Revision() uint64 { return e.rev.Load() }

// SetRevision makes the next revisions follow rev, unless they already
// do. Call it only before the engine is shared.
func (e *Engine) SetRevision(rev uint64) { e.rev.Store(max(e.rev.Load(), rev)) }

// SetPublish makes the engine hand the changes of every write to
// publish from now on. Call it before the engine is shared.
func (e *Engine) SetPublish(publish PublishFunc) { e.publish = publish }

// SetLog makes the engine call log for every change from now on. Call it
// before the engine is shared.
func (e *Engine) SetLog(log LogFunc) { e.log = log }

// Replay applies op, read back from the log at lsn, unless the table it
// changes already holds that change (its LSN is not older). It logs
// nothing. Call it only before the engine is shared.
func (e *Engine) Replay(op *Op, lsn uint64) Result {
	var res Result
	if e.holds(op, lsn) {
		return res
	}
	e.replay = lsn
	e.Apply(op, &res)
	e.replay = 0
	return res
}

// holds reports whether every table op changes already holds the change
// logged at lsn (a transaction decides table by table, see replayed).
func (e *Engine) holds(op *Op, lsn uint64) bool {
	names := []string{op.Table}
	switch op.Code {
	case OpListMove:
		names = append(names, op.Field)
	case OpLock, OpUnlock, OpLockRefresh:
		names = []string{LockTable}
	case OpTxn:
		return false
	}
	e.mu.RLock()
	defer e.mu.RUnlock()
	for _, name := range names {
		if t := e.tables[name]; t == nil || t.lsn < lsn {
			return false
		}
	}
	return true
}

// LowerLSNs lowers to lsn the LSN of every table above it and returns the
// highest LSN a table had. Call it only before the engine is shared.
func (e *Engine) LowerLSNs(lsn uint64) uint64 {
	var high uint64
	for _, t := range e.tables {
		high = max(high, t.lsn)
		t.lsn = min(t.lsn, lsn)
	}
	return high
}

// checkValue reports whether v may be stored, recording the reason in res
// when not.
func (e *Engine) checkValue(v []byte, res *Result) bool {
	if len(v) == 0 {
		invalid(res, "missing value (nil or empty)")
		return false
	}
	if err := e.codec.Wellformed(v); err != nil {
		invalid(res, "value is not one well-formed CBOR item: %v", err)
		return false
	}
	return true
}

// checkValues is checkValue for each element of vs.
func (e *Engine) checkValues(vs []cbor.RawMessage, res *Result) bool {
	for i, v := range vs {
		if !e.checkValue(v, res) {
			res.Msg = fmt.Sprintf("element %d: %s", i, res.Msg)
			return false
		}
	}
	return true
}

// MaxKeySize is the longest dict key or table name, in bytes: the
// longest key a backup file can hold.
const MaxKeySize = 32768

// checkKey reports whether k may be stored as a dict key.
func checkKey(k string, res *Result) bool {
	switch {
	case len(k) > MaxKeySize:
		invalid(res, "key of %d bytes exceeds %d", len(k), MaxKeySize)
	case !utf8.ValidString(k):
		invalid(res, "key %q is not valid UTF-8", k)
	default:
		return true
	}
	return false
}
