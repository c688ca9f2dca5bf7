package engine

import "math"

// A write to a table runs under its lock between begin and finish. begin
// gives it a revision and a time: new ones on the leader, those logged
// with the op during a replay, and the transaction's inside one. Every
// change of a dict key goes through setKey or deleteKey, which stamp the
// entry with the revision and record the change as an event; finish logs
// the write, publishes its events and wakes the calls waiting for the
// table to change.

// begin starts a write of op to the write-locked table t.
func (e *Engine) begin(t *table, op *Op) {
	switch {
	case e.replay != 0:
		t.cur, t.now = op.Rev, op.Now
		if op.Rev > e.rev.Load() {
			e.rev.Store(op.Rev)
		}
		if e.tx != nil {
			e.tx.touch(t)
		}
	case e.tx != nil:
		t.cur, t.now = e.tx.rev, e.tx.now
		e.tx.touch(t)
	default:
		t.cur, t.now = e.rev.Add(1), e.now().UnixNano()
	}
	op.Rev, op.Now = t.cur, t.now
}

// finish logs the write op to t when it succeeded or changed something,
// and publishes its events. Inside a transaction the transaction does so
// once it has succeeded.
func (e *Engine) finish(t *table, op *Op, res *Result) {
	quiet := res.Err != OK || unchanged(op, res)
	if t.kind == KindList && !quiet {
		e.record(t, listEvent(op, res))
	}
	if e.tx != nil || (quiet && len(t.evs) == 0) {
		return
	}
	e.logged(&t.lsn, op, res)
	e.changed(t, res.LSN)
}

// unchanged reports whether op, which succeeded, found nothing to do and
// need not be logged: a blocking pop of an empty list, a lock not taken,
// a key no longer due to expire.
func unchanged(op *Op, res *Result) bool {
	switch op.Code {
	case OpListBPop, OpLock, OpUnlock, OpLockRefresh, OpDictExpireKey:
		return !res.Found
	}
	return false
}

// changed marks t changed at its current revision: it publishes the
// pending events with the log position lsn and wakes the waiting calls.
func (e *Engine) changed(t *table, lsn uint64) {
	t.rev = max(t.rev, t.cur)
	if len(t.evs) > 0 {
		for i := range t.evs {
			t.evs[i].LSN = lsn
		}
		if e.publish != nil && t.cur != 0 { // 0: a record of a release without revisions
			e.publish(t.name, t.evs)
		}
		clear(t.evs) // the next write reuses the slice, unless it grew large
		t.evs = t.evs[:0]
		if cap(t.evs) > 64 {
			t.evs = nil
		}
	}
	if t.wake != nil {
		close(t.wake)
		t.wake = nil
	}
}

// listEvent describes the list write op, with result res.
func listEvent(op *Op, res *Result) Event {
	ev := Event{Type: EventList, Code: op.Code, Value: op.Value, Values: op.Values}
	switch op.Code {
	case OpListPop, OpListBPop:
		ev.Value = res.Value
	case OpListClear:
		ev = Event{Type: EventClear}
	}
	return ev
}

// record adds ev to the events of the write in progress on t.
func (e *Engine) record(t *table, ev Event) {
	ev.Rev, ev.Table = t.cur, t.name
	t.evs = append(t.evs, ev)
}

// alive reports whether en has not expired at now (Unix ns).
func alive(en Entry, now int64) bool {
	return en.Exp == 0 || en.Exp > now
}

// find returns the entry of k in a read-locked dict unless it has
// expired.
func (e *Engine) find(t *table, k string) (Entry, bool) {
	en, ok := t.get(k)
	if ok && en.Exp != 0 && !alive(en, e.now().UnixNano()) {
		return Entry{}, false
	}
	return en, ok
}

// lapse returns the entry of k in a dict being written, unless it has
// expired by the time of the write: then it removes it, with an expiry
// event, and reports it absent.
func (e *Engine) lapse(t *table, k string) (Entry, bool) {
	en, ok := t.get(k)
	if !ok || alive(en, t.now) {
		return en, ok
	}
	e.undoKey(t, k, en, true)
	t.unset(k)
	e.record(t, Event{Type: EventExpire, Key: k, Old: en.V})
	return Entry{}, false
}

// setKey stores v under k with the deadline exp (0: none).
func (e *Engine) setKey(t *table, k string, v []byte, exp int64) {
	old, had := e.lapse(t, k)
	e.replaceKey(t, k, v, exp, old, had)
}

// replaceKey is setKey for a caller that has just looked k up with lapse,
// which found old (when had).
func (e *Engine) replaceKey(t *table, k string, v []byte, exp int64, old Entry, had bool) {
	e.undoKey(t, k, old, had)
	t.put(k, Entry{V: v, Ver: t.cur, Exp: exp})
	if exp != 0 && !(had && old.Exp == exp) {
		e.pushDeadline(t, k, exp)
	}
	ev := Event{Type: EventSet, Key: k, Value: v}
	if had {
		ev.Old = old.V
	}
	e.record(t, ev)
}

// deleteKey removes k, recording an event of type typ, and returns the
// entry it had unless it had expired.
func (e *Engine) deleteKey(t *table, k string, typ EventType) (Entry, bool) {
	old, ok := e.lapse(t, k)
	if ok {
		e.undoKey(t, k, old, true)
		t.unset(k)
		e.record(t, Event{Type: typ, Key: k, Old: old.V})
	}
	return old, ok
}

// deadline returns the deadline of a key that op writes to t: from op's
// TTL, or else the table's default, or 0 for none.
func deadline(t *table, op *Op) int64 {
	switch {
	case op.TTL > 0:
		return addTTL(t.now, op.TTL)
	case t.ttl > 0:
		return addTTL(t.now, t.ttl)
	}
	return 0
}

// addTTL returns the deadline ttl (> 0) after now, at most the latest
// time there is.
func addTTL(now, ttl int64) int64 {
	if now > math.MaxInt64-ttl {
		return math.MaxInt64
	}
	return now + ttl
}
