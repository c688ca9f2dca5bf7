package engine

import "slices"

// Changes returns a channel closed by the next change to the table named
// name, or when it is dropped; calls that wait for a list to fill or a
// lock to be free take it before they try, so that no change is missed.
// It returns nil when there is no such table.
func (e *Engine) Changes(name string) <-chan struct{} {
	e.mu.RLock()
	t := e.tables[name]
	e.mu.RUnlock()
	if t == nil {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.dropped {
		return nil
	}
	if t.wake == nil {
		t.wake = make(chan struct{})
	}
	return t.wake
}

// listMove pops an element from one end of op.Table and pushes it onto an
// end of op.Field, atomically: Found reports whether there was one. The
// element is kept in op.Value, so that a replay pushes it even when the
// source already holds the change.
func (e *Engine) listMove(op *Op, res *Result) {
	if op.Field == "" {
		invalid(res, "missing destination list")
		return
	}
	src, dst := e.writeTwo(op, res)
	if src == nil {
		return
	}
	if e.replay == 0 || src.lsn < e.replay {
		res.Value, res.Found = popEnd(src, op.Index)
		op.Value = res.Value
	} else {
		res.Value, res.Found = op.Value, len(op.Value) > 0
	}
	if res.Found && (e.replay == 0 || dst.lsn < e.replay) {
		pushEnd(dst, op.Stop, res.Value)
	}
	e.finishTwo(src, dst, op, res)
}

// popEnd removes the first (end 0) or last element of t's list.
func popEnd(t *table, end int64) ([]byte, bool) {
	n := len(t.list)
	if n == 0 {
		return nil, false
	}
	i := 0
	if end != 0 {
		i = n - 1
	}
	v := t.list[i]
	if i == 0 {
		t.list[0] = nil
		t.list = t.list[1:]
	} else {
		t.list = t.list[:i]
	}
	t.shrink()
	return v, true
}

// pushEnd adds v at the front (end 0) or the back of t's list.
func pushEnd(t *table, end int64, v []byte) {
	if end == 0 {
		t.list = slices.Insert(t.list, 0, v)
		return
	}
	t.list = append(t.list, v)
}

// writeTwo write-locks the lists op.Table and op.Field (the same table
// when they are equal), in name order, and begins a write to both. A move
// is never part of a transaction (see inTxn).
func (e *Engine) writeTwo(op *Op, res *Result) (src, dst *table) {
	for {
		a := e.lookup(op, KindList, res)
		if a == nil {
			return nil, nil
		}
		b := e.lookup(&Op{Table: op.Field}, KindList, res)
		if b == nil {
			return nil, nil
		}
		if lockPair(a, b) {
			e.begin(a, op)
			b.cur, b.now = a.cur, a.now
			return a, b
		}
	}
}

// lockPair locks a and b in name order and reports whether neither has
// been dropped; if one has, it unlocks both.
func lockPair(a, b *table) bool {
	first, second := a, b
	if b.name < a.name {
		first, second = b, a
	}
	first.mu.Lock()
	if second != first {
		second.mu.Lock()
	}
	if !a.dropped && !b.dropped {
		return true
	}
	unlockPair(a, b)
	return false
}

func unlockPair(a, b *table) {
	a.mu.Unlock()
	if b != a {
		b.mu.Unlock()
	}
}

// finishTwo ends a move: both tables take its LSN and publish its events.
func (e *Engine) finishTwo(src, dst *table, op *Op, res *Result) {
	if res.Found {
		e.record(src, Event{Type: EventList, Code: OpListPop, Value: res.Value})
		e.record(dst, Event{Type: EventList, Code: OpListMove, Value: res.Value})
		e.logged(&src.lsn, op, res)
		dst.lsn = src.lsn
		e.changed(src, res.LSN)
		if dst != src {
			e.changed(dst, res.LSN)
		}
	}
	unlockPair(src, dst)
}
