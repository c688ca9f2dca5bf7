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
// Lock order: Engine.snapMu before Engine.mu and table.mu; cursor.mu
// before table.mu; Engine.mu and Engine.curMu are never held while taking
// another lock.
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

	log    LogFunc // records each change; nil when nothing is logged
	replay uint64  // the LSN being replayed by Replay, 0 otherwise
}

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

	mu      sync.RWMutex      // protects dict, list, dropped, lsn and snap
	dict    map[string][]byte // when kind is KindDict
	list    []cbor.RawMessage // when kind is KindList
	dropped bool              // the table left the registry; retry the lookup
	lsn     uint64            // LSN of the last logged change
	snap    *overlay          // the dict's changes while a snapshot copies it
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
	switch {
	case op.Code >= OpCreateTable && op.Code <= OpDropTable:
		e.applyTable(op, res)
	case op.Code >= OpDictGet && op.Code <= OpDictGetAndSet:
		e.applyDict(op, res)
	case op.Code >= OpListGet && op.Code <= OpListLen:
		e.applyList(op, res)
	case op.Code == OpCloseCursor:
		e.closeCursor(op, res)
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
	if op.Table == "" {
		invalid(res, "empty table name")
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

// write is read with an exclusive lock.
func (e *Engine) write(op *Op, kind Kind, res *Result) *table {
	for {
		t := e.lookup(op, kind, res)
		if t == nil {
			return nil
		}
		t.mu.Lock()
		if !t.dropped {
			return t
		}
		t.mu.Unlock()
	}
}

// done logs a successful write to t and releases t's write lock.
func (e *Engine) done(t *table, op *Op, res *Result) {
	if res.Err == OK {
		e.logged(&t.lsn, op, res)
	}
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

// SetLog makes the engine call log for every change from now on. Call it
// before the engine is shared.
func (e *Engine) SetLog(log LogFunc) { e.log = log }

// Replay applies op, read back from the log at lsn, unless the table it
// changes already holds that change (its LSN is not older). It logs
// nothing. Call it only before the engine is shared.
func (e *Engine) Replay(op *Op, lsn uint64) Result {
	var res Result
	e.mu.RLock()
	t := e.tables[op.Table]
	e.mu.RUnlock()
	if t != nil && t.lsn >= lsn {
		return res
	}
	e.replay = lsn
	e.Apply(op, &res)
	e.replay = 0
	return res
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
