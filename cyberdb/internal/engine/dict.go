package engine

import (
	"sort"
	"strings"
	"time"

	"github.com/fxamacker/cbor/v2"
)

// applyDict dispatches the dict operations.
func (e *Engine) applyDict(op *Op, res *Result) {
	if op.TTL < 0 {
		invalid(res, "negative TTL %v", time.Duration(op.TTL))
		return
	}
	switch op.Code {
	case OpDictGet, OpDictHas:
		e.dictGet(op, res)
	case OpDictLen:
		e.dictLen(op, res)
	case OpDictKeys, OpDictValues, OpDictItems:
		e.dictItems(op, res)
	case OpDictScan:
		e.dictScan(op, res)
	case OpDictUpdate:
		e.dictUpdate(op, res)
	case OpDictPopItem:
		e.dictPopItem(op, res)
	case OpDictClear:
		e.dictClear(op, res)
	case OpDictIncr, OpDictIncrFloat:
		e.dictIncr(op, res)
	case OpDictDelete, OpDictPop:
		e.dictDelete(op, res)
	default:
		e.dictWrite(op, res)
	}
}

// dictGet fills Found, and Value unless op is a Has.
func (e *Engine) dictGet(op *Op, res *Result) {
	t := e.read(op, KindDict, res)
	if t == nil {
		return
	}
	en, ok := e.find(t, op.Key)
	t.mu.RUnlock()
	res.Found, res.Version = ok, en.Ver
	if op.Code == OpDictGet {
		res.Value = en.V
	}
}

// dictLen fills Int with the number of keys.
func (e *Engine) dictLen(op *Op, res *Result) {
	t := e.read(op, KindDict, res)
	if t == nil {
		return
	}
	res.Int = int64(t.size() - t.expired(e.now().UnixNano()))
	t.mu.RUnlock()
}

// dictItems fills Keys, Values or both, in key order.
func (e *Engine) dictItems(op *Op, res *Result) {
	t := e.read(op, KindDict, res)
	if t == nil {
		return
	}
	it := items{keys: make([]string, 0, t.size())}
	if op.Code != OpDictKeys {
		it.values = make([]cbor.RawMessage, 0, t.size())
	}
	now := e.now().UnixNano()
	for k, en := range t.all() {
		if !alive(en, now) {
			continue
		}
		it.keys = append(it.keys, k)
		if it.values != nil {
			it.values = append(it.values, en.V)
		}
	}
	t.mu.RUnlock()
	sort.Sort(it)
	if op.Code != OpDictValues {
		res.Keys = it.keys
	}
	res.Values = it.values
}

// items sorts keys, and values along with them when present.
type items struct {
	keys   []string
	values []cbor.RawMessage
}

func (it items) Len() int           { return len(it.keys) }
func (it items) Less(i, j int) bool { return it.keys[i] < it.keys[j] }
func (it items) Swap(i, j int) {
	it.keys[i], it.keys[j] = it.keys[j], it.keys[i]
	if it.values != nil {
		it.values[i], it.values[j] = it.values[j], it.values[i]
	}
}

// dictUpdate stores every pair of op.Keys and op.Values; a later duplicate
// key wins.
func (e *Engine) dictUpdate(op *Op, res *Result) {
	if !e.checkPairs(op, res) {
		return
	}
	t := e.write(op, KindDict, res)
	if t == nil {
		return
	}
	exp := deadline(t, op)
	for i, k := range op.Keys {
		e.setKey(t, k, op.Values[i], exp)
	}
	e.done(t, op, res)
}

// dictPopItem removes the last key in sorted order.
func (e *Engine) dictPopItem(op *Op, res *Result) {
	t := e.write(op, KindDict, res)
	if t == nil {
		return
	}
	first := true
	for k, en := range t.all() {
		if alive(en, t.now) && (first || strings.Compare(k, res.Key) > 0) {
			res.Key, res.Value, first = k, en.V, false
		}
	}
	if !first {
		res.Found = true
		e.deleteKey(t, res.Key, EventDelete)
	}
	e.done(t, op, res)
}

// dictClear removes every key.
func (e *Engine) dictClear(op *Op, res *Result) {
	t := e.write(op, KindDict, res)
	if t == nil {
		return
	}
	e.undoTable(t)
	t.clear()
	e.record(t, Event{Type: EventClear})
	e.done(t, op, res)
}

// dictDelete removes op.Key, filling Found, and Value for a Pop.
func (e *Engine) dictDelete(op *Op, res *Result) {
	t := e.write(op, KindDict, res)
	if t == nil {
		return
	}
	old, ok := e.deleteKey(t, op.Key, EventDelete)
	e.done(t, op, res)
	res.Found = ok
	if op.Code == OpDictPop {
		res.Value = old.V
	}
}

// dictWrite applies the operations that store op.Value under op.Key.
func (e *Engine) dictWrite(op *Op, res *Result) {
	if !checkKey(op.Key, res) || !e.checkValue(op.Value, res) {
		return
	}
	if op.Code == OpDictCAS && len(op.Old) != 0 && !e.checkValue(op.Old, res) {
		res.Msg = "old " + res.Msg
		return
	}
	t := e.write(op, KindDict, res)
	if t == nil {
		return
	}
	old, ok := e.lapse(t, op.Key)
	if storeDict(op, old.V, ok, res) {
		e.replaceKey(t, op.Key, op.Value, deadline(t, op), old, ok)
		res.Version = t.cur
	} else {
		res.Version = old.Ver
	}
	e.done(t, op, res)
}

// storeDict fills res for a single-key write given the current value old
// (present when ok) and reports whether op.Value is to be stored.
func storeDict(op *Op, old []byte, ok bool, res *Result) bool {
	switch op.Code {
	case OpDictSet:
		return true
	case OpDictSetDefault:
		res.Found, res.Value = ok, op.Value
		if ok {
			res.Value = old
		}
		return !ok
	case OpDictCAS:
		res.Found = casMatches(op.Old, old, ok)
		return res.Found
	case OpDictSetNX:
		res.Found = !ok
		return !ok
	case OpDictGetAndSet:
		res.Found, res.Value = ok, old
		return true
	}
	invalid(res, "unknown dict operation code %d", op.Code)
	return false
}

// casMatches reports whether the current value (old, present when ok)
// equals want; an empty want means "absent".
func casMatches(want, old []byte, ok bool) bool {
	if len(want) == 0 {
		return !ok
	}
	return ok && string(want) == string(old)
}
