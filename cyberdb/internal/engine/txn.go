package engine

import (
	"slices"

	"github.com/fxamacker/cbor/v2"
)

// A transaction holds the engine's transaction lock exclusively, so that
// no other operation sees it halfway, and applies its operations with one
// revision and one time. Each table it touches remembers what it was, and
// each dict key its first state, so that a failed check or operation
// puts everything back. It is logged as one record once it has succeeded.

// txn is the transaction being applied.
type txn struct {
	rev   uint64
	now   int64
	order []*table              // the tables touched, in order
	saved map[*table]*tableUndo // their state before the transaction
}

// tableUndo is what a table was before the transaction touched it.
type tableUndo struct {
	lsn, rev uint64
	ttl      int64
	list     []cbor.RawMessage  // a list's elements
	keys     map[string]keyUndo // a dict key's first state
	cleared  bool               // the dict was cleared: dict, snap, exps hold it before
	dict     map[string]Entry   // the map the clear replaced
	snap     *overlay           // the overlay the clear dropped
	exps     expHeap            // the deadlines the clear dropped
}

// keyUndo is a key's entry, or its absence when had is false.
type keyUndo struct {
	en  Entry
	had bool
}

// touch remembers the state of t when the transaction first writes it.
func (tx *txn) touch(t *table) {
	if _, ok := tx.saved[t]; ok {
		return
	}
	u := &tableUndo{lsn: t.lsn, rev: t.rev, ttl: t.ttl, keys: make(map[string]keyUndo)}
	if t.kind == KindList {
		u.list = slices.Clone(t.list)
	}
	tx.saved[t] = u
	tx.order = append(tx.order, t)
}

// undoKey remembers, inside a transaction, the state of k before its first
// change: en, or absence when had is false.
func (e *Engine) undoKey(t *table, k string, en Entry, had bool) {
	if e.tx == nil {
		return
	}
	u := e.tx.saved[t]
	if _, seen := u.keys[k]; !seen && !u.cleared {
		u.keys[k] = keyUndo{en, had}
	}
}

// undoTable remembers, inside a transaction, the dict t about to be
// cleared.
func (e *Engine) undoTable(t *table) {
	if e.tx == nil {
		return
	}
	if u := e.tx.saved[t]; !u.cleared {
		u.cleared, u.dict, u.snap, u.exps = true, t.dict, t.snap, t.exps
	}
}

// rollback puts every table the transaction touched back as it was.
func (tx *txn) rollback() {
	for _, t := range tx.order {
		u := tx.saved[t]
		t.mu.Lock()
		t.lsn, t.rev, t.ttl, t.evs = u.lsn, u.rev, u.ttl, nil
		if t.kind == KindList {
			t.list = u.list
		} else {
			u.restore(t)
		}
		t.mu.Unlock()
	}
}

// restore puts the dict t back as it was.
func (u *tableUndo) restore(t *table) {
	if u.cleared {
		t.dict, t.snap, t.exps = u.dict, u.snap, u.exps
		if s := t.snap; s != nil && !s.frozen {
			// The snapshot that owned the overlay is over: merge it here.
			t.merge(s, len(s.newer))
			t.snap = nil
		}
	}
	for k, ku := range u.keys {
		if ku.had {
			t.put(k, ku.en)
		} else {
			t.unset(k)
		}
	}
}

// applyTxn applies the operations of op atomically.
func (e *Engine) applyTxn(op *Op, res *Result) {
	if !validTxn(op, res) {
		return
	}
	e.txMu.Lock()
	defer e.txMu.Unlock()
	tx := &txn{saved: make(map[*table]*tableUndo)}
	if e.replay != 0 {
		tx.rev, tx.now = op.Rev, op.Now
		if op.Rev > e.rev.Load() {
			e.rev.Store(op.Rev)
		}
	} else {
		tx.rev, tx.now = e.rev.Add(1), e.now().UnixNano()
		op.Rev, op.Now = tx.rev, tx.now
	}
	e.tx = tx
	failed := e.runTxn(op, res)
	e.tx = nil
	if failed {
		tx.rollback()
		return
	}
	e.commit(tx, op, res)
}

// runTxn applies the operations of op and reports whether one failed,
// recording which in res.
func (e *Engine) runTxn(op *Op, res *Result) bool {
	res.Results = make([]Result, len(op.Ops))
	for i := range op.Ops {
		sub, r := &op.Ops[i], &res.Results[i]
		if e.replay != 0 && e.replayed(sub) {
			continue
		}
		e.apply(sub, r)
		if r.Err != OK {
			*res = Result{Err: ErrAborted, Msg: r.Msg, Int: int64(i), Results: []Result{*r}}
			return true
		}
	}
	return false
}

// replayed reports whether a replay is to skip sub, an operation of a
// transaction: a check, which passed when the transaction was applied, or
// a write to a table that already holds the transaction.
func (e *Engine) replayed(sub *Op) bool {
	if sub.Code >= OpCheckEquals && sub.Code <= OpCheckVersion {
		return true
	}
	e.mu.RLock()
	t := e.tables[sub.Table]
	e.mu.RUnlock()
	return t != nil && t.lsn >= e.replay
}

// commit logs the transaction and publishes the changes of each table.
func (e *Engine) commit(tx *txn, op *Op, res *Result) {
	var lsn uint64
	if len(tx.order) > 0 {
		e.logged(&lsn, op, res)
	}
	for _, t := range tx.order {
		t.mu.Lock()
		if lsn != 0 {
			t.lsn = lsn
		}
		e.changed(t, res.LSN)
		t.mu.Unlock()
	}
}

// validTxn reports whether op may be applied as a transaction.
func validTxn(op *Op, res *Result) bool {
	if len(op.Ops) == 0 {
		invalid(res, "empty transaction")
		return false
	}
	for i := range op.Ops {
		if c := op.Ops[i].Code; !inTxn(c) {
			invalid(res, "operation %d: code %d may not be part of a transaction", i, c)
			return false
		}
	}
	return true
}

// inTxn reports whether operations of code c may be part of a transaction:
// those on the content of dicts and lists and on deadlines, and checks.
func inTxn(c Code) bool {
	switch {
	case c == OpDictScan, c == OpDictExpireKey:
		return false
	case c >= OpDictGet && c <= OpDictGetAndSet,
		c >= OpListGet && c <= OpListLen,
		c >= OpDictExpire && c <= OpTableTTL,
		c >= OpCheckEquals && c <= OpCheckVersion:
		return true
	}
	return false
}

// check applies OpCheckEquals, OpCheckAbsent or OpCheckVersion, failing
// with ErrConflict when the key is not as required.
func (e *Engine) check(op *Op, res *Result) {
	if op.Code == OpCheckEquals && !e.checkValue(op.Value, res) {
		return
	}
	t := e.read(op, KindDict, res)
	if t == nil {
		return
	}
	en, ok := e.find(t, op.Key)
	t.mu.RUnlock()
	res.Found, res.Version = ok, en.Ver
	switch {
	case op.Code == OpCheckAbsent && ok:
		fail(res, ErrConflict, "check failed: key %q of %q exists", op.Key, op.Table)
	case op.Code == OpCheckEquals && (!ok || string(en.V) != string(op.Value)):
		fail(res, ErrConflict, "check failed: key %q of %q does not hold the value given", op.Key, op.Table)
	case op.Code == OpCheckVersion && en.Ver != op.Version:
		fail(res, ErrConflict, "check failed: key %q of %q has version %d, not %d", op.Key, op.Table, en.Ver, op.Version)
	}
}
