package engine

import (
	"container/heap"
	"maps"
	"slices"
	"time"
)

// A dict key with a deadline is never returned once it has passed, and
// the leader removes it soon after with an OpDictExpireKey, which logs the
// removal and publishes it. Each dict keeps its deadlines in a heap; an
// item whose key has since been rewritten or deleted is stale and is
// dropped when it reaches the top.

// deadlineItem is a key's deadline in the heap of its dict.
type deadlineItem struct {
	at  int64
	key string
}

// expHeap orders deadlines, earliest first.
type expHeap []deadlineItem

func (h expHeap) Len() int           { return len(h) }
func (h expHeap) Less(i, j int) bool { return h[i].at < h[j].at }
func (h expHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *expHeap) Push(x any)        { *h = append(*h, x.(deadlineItem)) }
func (h *expHeap) Pop() any {
	old := *h
	it := old[len(old)-1]
	*h = old[:len(old)-1]
	return it
}

// pushDeadline adds the deadline at of k to t's heap and tells the
// expirer when it is the earliest one it knows of.
func (e *Engine) pushDeadline(t *table, k string, at int64) {
	heap.Push(&t.exps, deadlineItem{at, k})
	e.expMu.Lock()
	earlier := e.nextExp == 0 || at < e.nextExp
	if earlier {
		e.nextExp = at
	}
	e.expMu.Unlock()
	if earlier {
		select {
		case e.expWake <- struct{}{}:
		default:
		}
	}
}

// current reports whether it is the deadline k has in t.
func (t *table) current(it deadlineItem) bool {
	en, ok := t.get(it.key)
	return ok && en.Exp == it.at
}

// expired counts the keys of t whose deadline has passed at now but
// which are still there; it visits only the heap items due by now.
func (t *table) expired(now int64) int {
	n := 0
	var seen map[string]bool // a key may have two items with the same deadline
	var visit func(i int)
	visit = func(i int) {
		if i >= len(t.exps) || t.exps[i].at > now {
			return
		}
		if it := t.exps[i]; t.current(it) && !seen[it.key] {
			if seen == nil {
				seen = make(map[string]bool)
			}
			seen[it.key] = true
			n++
		}
		visit(2*i + 1)
		visit(2*i + 2)
	}
	visit(0)
	return n
}

// ExpiryWake returns a channel that receives a token when a deadline
// earlier than those known to the last DueExpiries is set.
func (e *Engine) ExpiryWake() <-chan struct{} { return e.expWake }

// DueExpiries returns up to limit operations removing keys whose deadline
// has passed at now, and the earliest deadline still pending (0: none),
// which is among those of the operations returned until they are
// applied. The caller applies the operations as writes before it calls
// again; a key rewritten meanwhile is left alone by its operation.
func (e *Engine) DueExpiries(now time.Time, limit int) ([]Op, int64) {
	e.txMu.RLock() // no transaction halfway: it could undo what the scan sees
	defer e.txMu.RUnlock()
	e.expMu.Lock()
	e.nextExp = 0 // until the scan is over, every new deadline wakes the expirer
	e.expMu.Unlock()
	e.mu.RLock()
	tables := slices.Collect(maps.Values(e.tables))
	e.mu.RUnlock()
	var ops []Op
	var next int64
	for _, t := range tables {
		var at int64
		ops, at = t.due(now.UnixNano(), limit, ops)
		if at != 0 && (next == 0 || at < next) {
			next = at
		}
	}
	e.expMu.Lock()
	if next != 0 && (e.nextExp == 0 || next < e.nextExp) {
		e.nextExp = next
	}
	e.expMu.Unlock()
	return ops, next
}

// due appends to ops the removal of the keys of t due at now, up to limit
// in all, and returns the earliest deadline left in t (0: none). The
// items of those keys stay in the heap, where Len counts them, until
// their removal makes them stale; a removal that failed is handed out
// again by the next call.
func (t *table) due(now int64, limit int, ops []Op) ([]Op, int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var taken []deadlineItem
	defer func() {
		for _, it := range taken {
			heap.Push(&t.exps, it)
		}
	}()
	for len(t.exps) > 0 {
		it := t.exps[0]
		if !t.current(it) {
			heap.Pop(&t.exps)
			continue
		}
		if it.at > now || len(ops) >= limit {
			return ops, it.at
		}
		taken = append(taken, heap.Pop(&t.exps).(deadlineItem))
		ops = append(ops, t.expiry(it.key))
	}
	return ops, 0
}

// expiry returns the operation that removes the expired key k of t: an
// unlock, in the hidden table of locks, whose lapse of the lease removes
// it as OpDictExpireKey does in a dict of the user's, and which leaves a
// lease refreshed meanwhile alone.
func (t *table) expiry(k string) Op {
	en, _ := t.get(k)
	if t.name == LockTable {
		return Op{Code: OpUnlock, Key: k, Version: en.Ver, TTL: lapsedOnly}
	}
	return Op{Code: OpDictExpireKey, Table: t.name, Key: k, Version: en.Ver}
}

// applyExpiry dispatches the operations on deadlines.
func (e *Engine) applyExpiry(op *Op, res *Result) {
	switch op.Code {
	case OpDictTTL:
		e.dictTTL(op, res)
	case OpTableTTL:
		e.tableTTL(op, res)
	default:
		e.dictDeadline(op, res)
	}
}

// dictTTL fills Found and Int with the time op.Key has left.
func (e *Engine) dictTTL(op *Op, res *Result) {
	t := e.read(op, KindDict, res)
	if t == nil {
		return
	}
	en, ok := e.find(t, op.Key)
	t.mu.RUnlock()
	res.Found, res.Int = ok, -1
	if ok && en.Exp != 0 {
		res.Int = max(en.Exp-e.now().UnixNano(), 1)
	}
}

// tableTTL sets the default time to live of the dict's new keys.
func (e *Engine) tableTTL(op *Op, res *Result) {
	if op.TTL < 0 {
		invalid(res, "negative TTL %v", time.Duration(op.TTL))
		return
	}
	t := e.write(op, KindDict, res)
	if t == nil {
		return
	}
	t.ttl = op.TTL
	e.done(t, op, res)
}

// dictDeadline sets, removes or enforces the deadline of op.Key.
func (e *Engine) dictDeadline(op *Op, res *Result) {
	if op.Code == OpDictExpire && op.TTL <= 0 {
		invalid(res, "TTL %v is not positive", time.Duration(op.TTL))
		return
	}
	t := e.write(op, KindDict, res)
	if t == nil {
		return
	}
	switch op.Code {
	case OpDictExpireKey:
		e.expireKey(t, op, res)
	default:
		e.redeadline(t, op, res)
	}
	e.done(t, op, res)
}

// redeadline gives op.Key the deadline of an OpDictExpire or removes it
// for an OpDictPersist; its value and version stay.
func (e *Engine) redeadline(t *table, op *Op, res *Result) {
	en, ok := e.lapse(t, op.Key)
	if !ok || (op.Code == OpDictPersist && en.Exp == 0) {
		return
	}
	e.undoKey(t, op.Key, en, true)
	res.Found = true
	old := en.Exp
	en.Exp = 0
	if op.Code == OpDictExpire {
		en.Exp = addTTL(t.now, op.TTL)
	}
	t.put(op.Key, en)
	if en.Exp != 0 && en.Exp != old {
		e.pushDeadline(t, op.Key, en.Exp)
	}
}

// expireKey removes op.Key if it still has version op.Version and its
// deadline has passed.
func (e *Engine) expireKey(t *table, op *Op, res *Result) {
	en, ok := t.get(op.Key)
	if !ok || en.Ver != op.Version || alive(en, t.now) {
		return
	}
	e.lapse(t, op.Key)
	res.Found = true
}
