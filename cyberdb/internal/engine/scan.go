package engine

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fxamacker/cbor/v2"
)

// Scan limits.
const (
	defaultScanLimit    = 1000            // keys per batch when Op.Limit is 0
	maxScanLimit        = 100000          // keys per batch at most
	cursorIdle          = 5 * time.Minute // an unused cursor is dropped after this
	sweepEvery          = time.Minute     // how often expired cursors are looked for
	maxCursorsPerClient = 1024            // open cursors one client may hold
)

// cursor is an open OpDictScan: a sorted copy of the keys of a dict and the
// position of the next batch.
type cursor struct {
	id    uint64
	owner uint64 // Op.Client of the scan that opened it
	table *table
	used  atomic.Int64 // last use, in Unix nanoseconds

	mu   sync.Mutex // protects keys and pos
	keys []string
	pos  int
}

// dictScan returns the next batch of a scan, starting one when op.Cursor
// is 0.
func (e *Engine) dictScan(op *Op, res *Result) {
	limit, ok := scanLimit(op.Limit, res)
	if !ok {
		return
	}
	if op.Cursor == 0 {
		e.scanStart(op, limit, res)
	} else {
		e.scanNext(op, limit, res)
	}
}

// scanLimit resolves the batch size of a scan.
func scanLimit(n int64, res *Result) (int, bool) {
	switch {
	case n < 0:
		invalid(res, "negative scan limit %d", n)
		return 0, false
	case n == 0:
		return defaultScanLimit, true
	}
	return int(min(n, maxScanLimit)), true
}

// scanStart copies and sorts the keys of the dict, returns the first batch
// and registers a cursor when more remain.
func (e *Engine) scanStart(op *Op, limit int, res *Result) {
	t := e.read(op, KindDict, res)
	if t == nil {
		return
	}
	keys := make([]string, 0, t.size())
	now := e.now().UnixNano()
	for k, en := range t.all() {
		if alive(en, now) {
			keys = append(keys, k)
		}
	}
	t.mu.RUnlock()
	slices.Sort(keys)
	c := &cursor{owner: op.Client, table: t, keys: keys}
	c.used.Store(e.now().UnixNano())
	if len(keys) > limit && !e.addCursor(c, res) {
		return
	}
	e.scanBatch(c, limit, res)
}

// scanNext continues the scan of an open cursor.
func (e *Engine) scanNext(op *Op, limit int, res *Result) {
	c := e.cursor(op, res)
	if c == nil {
		return
	}
	if op.Table != "" && op.Table != c.table.name {
		invalid(res, "scan cursor %d belongs to table %q, not %q", c.id, c.table.name, op.Table)
		return
	}
	e.scanBatch(c, limit, res)
}

// scanBatch fills res with up to limit of the remaining keys of c that are
// still in the table, and their values. It frees c when it is exhausted.
func (e *Engine) scanBatch(c *cursor, limit int, res *Result) {
	c.mu.Lock()
	n := min(limit, len(c.keys)-c.pos)
	res.Keys = make([]string, 0, n)
	res.Values = make([]cbor.RawMessage, 0, n)
	t := c.table
	t.mu.RLock()
	dropped := t.dropped
	for !dropped && c.pos < len(c.keys) && len(res.Keys) < limit {
		k := c.keys[c.pos]
		c.pos++
		if en, ok := e.find(t, k); ok {
			res.Keys = append(res.Keys, k)
			res.Values = append(res.Values, en.V)
		}
	}
	t.mu.RUnlock()
	done := dropped || c.pos == len(c.keys)
	c.mu.Unlock()
	if dropped {
		res.Keys, res.Values = nil, nil
		noTable(res, t.name)
	}
	if done {
		e.removeCursor(c)
	} else {
		res.Cursor = c.id
	}
}

// cursor returns the open cursor op.Cursor of op.Client, or nil after
// recording why there is none.
func (e *Engine) cursor(op *Op, res *Result) *cursor {
	now := e.now().UnixNano()
	e.curMu.Lock()
	c := e.cursors[op.Cursor]
	if c != nil && c.owner != op.Client {
		c = nil
	}
	expired := c != nil && now-c.used.Load() > int64(cursorIdle)
	if expired {
		e.removeLocked(c)
	} else if c != nil {
		c.used.Store(now)
	}
	e.curMu.Unlock()
	switch {
	case expired:
		invalid(res, "scan cursor %d expired: unused for more than %v", op.Cursor, cursorIdle)
		return nil
	case c == nil:
		invalid(res, "scan cursor %d is unknown or expired", op.Cursor)
	}
	return c
}

// addCursor registers c under a new id, or records why it cannot.
func (e *Engine) addCursor(c *cursor, res *Result) bool {
	c.id = e.nextCur.Add(1)
	e.curMu.Lock()
	defer e.curMu.Unlock()
	e.sweepLocked()
	if e.perClient[c.owner] >= maxCursorsPerClient {
		invalid(res, "too many open scan cursors (%d); finish or close some", maxCursorsPerClient)
		return false
	}
	e.cursors[c.id] = c
	e.perClient[c.owner]++
	return true
}

// sweepLocked drops expired cursors, at most once per sweepEvery.
func (e *Engine) sweepLocked() {
	now := e.now()
	if now.Sub(e.lastSweep) < sweepEvery {
		return
	}
	e.lastSweep = now
	for _, c := range e.cursors {
		if now.UnixNano()-c.used.Load() > int64(cursorIdle) {
			e.removeLocked(c)
		}
	}
}

// removeCursor frees c if it is still registered.
func (e *Engine) removeCursor(c *cursor) {
	e.curMu.Lock()
	e.removeLocked(c)
	e.curMu.Unlock()
}

// removeLocked frees c if it is still registered; e.curMu is held.
func (e *Engine) removeLocked(c *cursor) {
	if e.cursors[c.id] != c {
		return
	}
	delete(e.cursors, c.id)
	if e.perClient[c.owner]--; e.perClient[c.owner] <= 0 {
		delete(e.perClient, c.owner)
	}
}

// dropCursors frees every cursor for which drop returns true.
func (e *Engine) dropCursors(drop func(*cursor) bool) {
	e.curMu.Lock()
	for _, c := range e.cursors {
		if drop(c) {
			e.removeLocked(c)
		}
	}
	e.curMu.Unlock()
}

// closeCursor frees op.Cursor if op.Client owns it; closing an unknown or
// finished cursor does nothing.
func (e *Engine) closeCursor(op *Op, res *Result) {
	e.curMu.Lock()
	if c := e.cursors[op.Cursor]; c != nil && c.owner == op.Client {
		e.removeLocked(c)
	}
	e.curMu.Unlock()
}

// ReleaseCursors frees the scan cursors owned by client, whose session
// has ended.
func (e *Engine) ReleaseCursors(client uint64) {
	e.dropCursors(func(c *cursor) bool { return c.owner == client })
}
